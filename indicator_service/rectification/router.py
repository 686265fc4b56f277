"""Rectification (整改) API under ``/v1/rectifications`` (evaluator keys; docs/security.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import JSONResponse

from indicator_service.auth.dependencies import AUTH_RESPONSES, EvaluatorDep
from indicator_service.core.database import SessionDep
from indicator_service.core.idempotency import IdempotencyKeyHeader
from indicator_service.core.paging import Limit, Offset
from indicator_service.rectification import service
from indicator_service.rectification.schemas import (
    Day,
    OverdueList,
    RectificationCreate,
    RectificationList,
    RectificationOut,
    RectificationUpdate,
    Status,
    SubjectKind,
)
from indicator_service.scoring.schemas import MAX_ID

router = APIRouter(prefix="/v1/rectifications", tags=["rectification"], responses=AUTH_RESPONSES)

RectificationId = Annotated[int, Path(ge=1, le=MAX_ID, description="rectification id")]
Region = Annotated[
    str | None,
    Query(
        pattern=r"^\d{6}$",
        description="a region code: this region and the regions under it (330000: the province)",
    ),
]


@router.post(
    "",
    response_model=RectificationOut,
    status_code=201,
    summary="整改: attach a rectification demand to an evaluation (or one of its leaves)",
    responses={
        409: {"description": "Idempotency-Key reused with a different body"},
        422: {"description": "Unknown or unreadable subject, unknown leaf, deadlines out of order"},
    },
)
def create_rectification(
    body: RectificationCreate,
    session: SessionDep,
    evaluator: EvaluatorDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    created = service.create(session, body, evaluator, idempotency_key)
    return JSONResponse(
        created.body,
        status_code=created.status_code,
        headers={"Location": created.location, "ETag": created.etag, "Cache-Control": "no-store"},
    )


@router.get(
    "",
    response_model=RectificationList,
    summary="List the rectifications the key may read, by subject, status or region",
)
def list_rectifications(
    session: SessionDep,
    evaluator: EvaluatorDep,
    subject_kind: Annotated[SubjectKind | None, Query()] = None,
    subject_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[Status | None, Query()] = None,
    region: Region = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RectificationList:
    return service.list_rectifications(
        session,
        reader=evaluator,
        subject_kind=subject_kind,
        subject_id=subject_id,
        status=status,
        region=region,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/overdue",
    response_model=OverdueList,
    summary="逾期整改: rectifications past their running deadline, per region",
)
def list_overdue_rectifications(
    session: SessionDep,
    evaluator: EvaluatorDep,
    region: Region = None,
    as_of: Annotated[
        Day | None, Query(description="the day to judge on, YYYY-MM-DD (default: today, CST)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> OverdueList:
    return service.overdue(session, reader=evaluator, region=region, as_of=as_of, limit=limit)


@router.get(
    "/{rectification_id:int}",
    response_model=RectificationOut,
    summary="A rectification (with its ETag)",
    responses={404: {"description": "No such rectification, or not one the key may read"}},
)
def get_rectification(
    rectification_id: RectificationId,
    session: SessionDep,
    evaluator: EvaluatorDep,
    response: Response,
) -> RectificationOut:
    row = service.get(session, rectification_id, evaluator)
    response.headers["ETag"] = service.etag(row)
    response.headers["Cache-Control"] = "no-store"
    return service.out(row)


@router.patch(
    "/{rectification_id:int}",
    response_model=RectificationOut,
    summary="Move a rectification forward: feedback_given, reported, closed (If-Match: its ETag)",
    responses={
        404: {"description": "No such rectification, or not one the key may read"},
        409: {"description": "Not a forward move"},
        412: {"description": "Stale If-Match"},
        422: {"description": "Dates out of order, a report deadline where none is taken"},
        428: {"description": "If-Match missing"},
    },
)
def update_rectification(
    rectification_id: RectificationId,
    body: RectificationUpdate,
    session: SessionDep,
    evaluator: EvaluatorDep,
    response: Response,
    if_match: Annotated[
        str | None, Header(max_length=100, description="the rectification's ETag (428 if missing)")
    ] = None,
) -> RectificationOut:
    row = service.update(session, rectification_id, body, evaluator, if_match)
    response.headers["ETag"] = service.etag(row)
    response.headers["Cache-Control"] = "no-store"
    return service.out(row)
