"""Stored monitoring records (migration ``0008_monitoring``): the inputs, the framework version
whose thresholds applied, the result with its flags, and the key that stored it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class MonitoringRecord(SQLModel, table=True):
    __tablename__ = "monitoring_record"
    __table_args__ = (
        Index("ix_monitoring_record_lookup", "project", "region", "fiscal_year"),
        Index("ix_monitoring_record_owner_key_id", "owner_key_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    framework_code: str = Field(max_length=40)
    framework_version: str = Field(max_length=40)
    project: str = Field(max_length=80)
    unit: str | None = Field(default=None, max_length=80)
    region: str = Field(max_length=6)
    fiscal_year: int
    as_of: date
    flags: int  # number of flags
    pending: int  # flags awaiting 偏离原因 or 纠偏措施
    request: Any = Field(sa_column=Column(JSON, nullable=False))
    result: Any = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now)
    owner_key_id: int | None = Field(default=None, foreign_key="api_key.id")
