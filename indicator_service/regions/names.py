"""The national administrative division code list (行政区划代码: province, prefecture and county
levels), shipped as ``data/regions.csv`` (source and date in ``data/SOURCE.md``), and pure
lookups over it: a region by code, its full name (浙江省杭州市西湖区), its chain of ancestors,
its children, a search by name.

Pure code: imports the standard library only; the list is read once, on first use.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

DATA = Path(__file__).parent / "data" / "regions.csv"
NATIONAL = "000000"
#: Where the list comes from (shown by the API and the docs).
SOURCE = (
    "国家统计局 统计用区划和城乡划分代码 2023 (截止 2023-06-30, 发布 2023-09-11), republished by "
    "github.com/modood/Administrative-divisions-of-China (commit 57a0aa9, dist/provinces.csv, "
    "cities.csv, areas.csv)"
)
SOURCE_DATE = "2023-06-30"

Level = Literal["national", "province", "prefecture", "county"]
LEVELS: tuple[Level, ...] = ("national", "province", "prefecture", "county")
#: Names the statistical list gives to groups rather than places (市辖区 of a municipality,
#: 省直辖县级行政区划 …): kept on the row, left out of full names.
PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@dataclass(frozen=True)
class Region:
    code: str
    name_zh: str
    name_en: str | None
    level: Level
    parent: str | None


def level_of(code: str) -> Level:
    if code == NATIONAL:
        return "national"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


@cache
def _table() -> tuple[dict[str, Region], dict[str | None, list[str]]]:
    by_code: dict[str, Region] = {}
    children: dict[str | None, list[str]] = {}
    with DATA.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            code = row["code"]
            parent = row["parent"] or None
            by_code[code] = Region(
                code, row["name_zh"], row["name_en"] or None, level_of(code), parent
            )
            children.setdefault(parent, []).append(code)
    return by_code, children


def get(code: str) -> Region | None:
    """The region with this six-digit code, or ``None``."""
    return _table()[0].get(code)


def chain(code: str) -> list[Region]:
    """The region and its ancestors, the region first and 全国 last (empty when unknown)."""
    by_code = _table()[0]
    out: list[Region] = []
    cur = by_code.get(code)
    while cur is not None:
        out.append(cur)
        cur = by_code.get(cur.parent) if cur.parent else None
    return out


def children(code: str | None) -> list[Region]:
    by_code, kids = _table()
    return [by_code[c] for c in kids.get(code, [])]


def all_regions() -> Iterator[Region]:
    return iter(_table()[0].values())


def full_name(code: str) -> dict[str, str] | None:
    """The region's full name in both languages, largest unit first in Chinese
    (``浙江省杭州市西湖区``) and last in English (``西湖区, 杭州市, Zhejiang``); 全国 / National
    for the national code; placeholder groups (市辖区 …) are left out; a name without English
    is given in Chinese. ``None`` for a code not in the list."""
    regions = chain(code)
    if not regions:
        return None
    if regions[0].code == NATIONAL:
        r = regions[0]
        return {"zh": r.name_zh, "en": r.name_en or r.name_zh}
    named = [r for r in regions if r.code != NATIONAL and r.name_zh not in PLACEHOLDER_NAMES]
    if not named:  # a placeholder itself (e.g. 110100 市辖区): its province's name
        named = [r for r in regions if r.level == "province"]
    zh = "".join(r.name_zh for r in reversed(named))
    en = ", ".join(r.name_en or r.name_zh for r in named)
    return {"zh": zh, "en": en}


def region_name(code: str) -> dict[str, str]:
    """:func:`full_name`, or the code itself in both languages for a code not in the list (a
    receipt always has a name to show)."""
    return full_name(code) or {"zh": code, "en": code}


def search(
    q: str | None = None, level: Level | None = None, parent: str | None = None
) -> list[Region]:
    """Regions whose code starts with ``q`` or whose Chinese or English name contains it
    (case-insensitive), of a level, under a parent (direct children), in code order of the
    list."""
    out = list(all_regions()) if parent is None else children(parent)
    if level is not None:
        out = [r for r in out if r.level == level]
    if q:
        needle = q.casefold()
        out = [
            r
            for r in out
            if r.code.startswith(q)
            or needle in r.name_zh
            or (r.name_en is not None and needle in r.name_en.casefold())
        ]
    return out
