"""``/v1/regions``: the administrative division code list (read-only, public data)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from indicator_service.auth.dependencies import AUTH_RESPONSES, ReaderDep
from indicator_service.core.errors import ErrorItem, NotFound, Problem
from indicator_service.core.i18n import _
from indicator_service.regions import names
from indicator_service.regions.schemas import RegionDetail, RegionList, RegionOut

router = APIRouter(prefix="/v1/regions", tags=["regions"], responses=AUTH_RESPONSES)


def region_out(r: names.Region) -> dict[str, Any]:
    return {
        "code": r.code,
        "name_zh": r.name_zh,
        "name_en": r.name_en,
        "level": r.level,
        "parent": r.parent,
        "full_name": names.region_name(r.code),
    }


@router.get("", response_model=RegionList, summary="Administrative divisions (行政区划)")
async def list_regions(
    _reader: ReaderDep,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=40,
            pattern=r"^[^\x00]*$",
            description="code prefix, or part of the Chinese or English name",
        ),
    ] = None,
    level: names.Level | None = None,
    parent: Annotated[
        str | None, Query(pattern=r"^[0-9]{6}$", description="direct children of this code")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> RegionList:
    found = names.search(q, level, parent)
    return RegionList.model_validate(
        {
            "total": len(found),
            "limit": limit,
            "offset": offset,
            "source": names.SOURCE,
            "source_date": names.SOURCE_DATE,
            "items": [region_out(r) for r in found[offset : offset + limit]],
        }
    )


@router.get(
    "/{code}",
    response_model=RegionDetail,
    summary="One administrative division: its names, ancestors and children",
    responses={
        404: {
            "model": Problem,
            "description": "Not in the code list",
            "content": {"application/problem+json": {}},
        }
    },
)
async def get_region(
    _reader: ReaderDep,
    code: Annotated[str, Path(pattern=r"^[0-9]{6}$", description="six-digit code")],
) -> RegionDetail:
    region = names.get(code)
    if region is None:
        raise NotFound(
            _("Region {code} is not in the administrative division list", code=code),
            errors=[ErrorItem(loc=["path", "code"], msg=_("not found"), type="not_found")],
        )
    return RegionDetail.model_validate(
        {
            **region_out(region),
            "chain": [region_out(r) for r in names.chain(code)[1:]],
            "children": [region_out(r) for r in names.children(code)],
            "source": names.SOURCE,
            "source_date": names.SOURCE_DATE,
        }
    )


__all__ = ["RegionOut", "router"]
