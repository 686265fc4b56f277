"""Response models of the region API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from indicator_service.regions.names import Level


class LocalName(BaseModel):
    """A name in both languages (English falls back to Chinese where the list has none)."""

    zh: str
    en: str


class RegionOut(BaseModel):
    code: str = Field(description="six-digit administrative division code (行政区划代码)")
    name_zh: str = Field(description="the list's own name (市辖区 for a municipality's group)")
    name_en: str | None = Field(description="English name (provinces and 全国 only)")
    level: Level
    parent: str | None
    full_name: LocalName = Field(description="e.g. 浙江省杭州市西湖区 / 西湖区, 杭州市, Zhejiang")


class RegionDetail(RegionOut):
    chain: list[RegionOut] = Field(description="the region's ancestors, its parent first")
    children: list[RegionOut]
    source: str
    source_date: str


class RegionList(BaseModel):
    total: int
    limit: int
    offset: int
    source: str = Field(description="where the code list comes from, with its edition")
    source_date: str = Field(description="the date the list is valid at (截止时间)")
    items: list[RegionOut]
