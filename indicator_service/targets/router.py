"""Target review API under ``/v1/targets``: review and store a target table (JSON, or the
绩效目标申报表 workbook), read one stored review, list the caller's (docs/targets.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from indicator_service.auth.dependencies import AUTH_RESPONSES, EvaluatorDep, ensure_region
from indicator_service.auth.principal import Principal
from indicator_service.core.database import SessionDep, session_scope
from indicator_service.core.errors import NotFound, Unprocessable, UnsupportedMediaType, excerpt
from indicator_service.core.i18n import _
from indicator_service.core.idempotency import IdempotencyKeyHeader
from indicator_service.core.paging import Limit, Offset
from indicator_service.targets import service
from indicator_service.targets.schemas import (
    TargetReviewList,
    TargetReviewOut,
    TargetReviewRequest,
)
from indicator_service.targets.workbook import read_form

router = APIRouter(prefix="/v1/targets", tags=["targets"], responses=AUTH_RESPONSES)

MAX_ID = 2**31 - 1
ReviewId = Annotated[int, Path(ge=1, le=MAX_ID, description="target review id")]
REVIEW_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown framework or version"},
    409: {"description": "Idempotency-Key reused with a different body"},
}


@router.post(
    "/review",
    response_model=TargetReviewOut,
    status_code=201,
    summary="Review a project's target table (完整性, 相关性, 适当性, 可行性) and store the review",
    responses=REVIEW_RESPONSES,
)
def review_targets(
    body: TargetReviewRequest,
    session: SessionDep,
    evaluator: EvaluatorDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    ensure_region(evaluator, body.region)
    payload, status = service.create_review(session, body, evaluator, idempotency_key)
    return JSONResponse(
        payload, status_code=status, headers={"Location": f"/v1/targets/reviews/{payload['id']}"}
    )


@router.get(
    "/reviews",
    response_model=TargetReviewList,
    summary="List the stored target reviews the key may read",
)
def list_target_reviews(
    session: SessionDep,
    evaluator: EvaluatorDep,
    project: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    fiscal_year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    verdict: Annotated[str | None, Query(pattern=r"^(pass|revise|reject)$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> TargetReviewList:
    return service.list_reviews(
        session,
        reader=evaluator,
        project=project,
        region=region,
        fiscal_year=fiscal_year,
        verdict=verdict,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/reviews/{review_id}",
    response_model=TargetReviewOut,
    summary="A stored target review: its inputs and result",
    responses={404: {"description": "No such review, or not one the key may read"}},
)
def get_target_review(
    review_id: ReviewId, session: SessionDep, evaluator: EvaluatorDep
) -> TargetReviewOut:
    return service.review_out(service.get_review(session, review_id, evaluator))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"
CSV = "text/csv"
FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the 绩效目标申报表 in the national layout (project block, 项目资金 with "
        "年度资金总额 in 万元, 年度总体目标, the table 一级指标 / 二级指标 / 三级指标 / 指标值, an "
        "optional 指标编码 column): XLSX, XLS, or CSV in UTF-8 or GB18030; see docs/targets.md",
        "content": {
            XLSX: {"schema": {"type": "string", "format": "binary"}},
            XLS: {"schema": {"type": "string", "format": "binary"}},
            CSV: {"schema": {"type": "string"}},
        },
    }
}
Short = Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[^\x00]*$")]


@router.post(
    "/review/form",
    response_model=TargetReviewOut,
    status_code=201,
    summary="Review an uploaded 绩效目标申报表 (XLSX, XLS or CSV) and store the review",
    openapi_extra=FORM_BODY,
    responses={
        **REVIEW_RESPONSES,
        413: {"description": "The workbook is too large or has too many sheets, rows or columns"},
        415: {"description": "Neither XLSX, XLS nor CSV"},
    },
)
async def review_target_form(
    request: Request,
    evaluator: EvaluatorDep,
    region: Annotated[str, Query(pattern=r"^\d{6}$", description="GB/T 2260 region code")],
    framework: Short = None,
    version: Short = None,
    sector: Short = None,
    project_type: Short = None,
    fiscal_year: Annotated[
        int | None, Query(ge=1990, le=2100, description="default: the form's （2024年度） line")
    ] = None,
    budget: Annotated[
        float | None, Query(ge=0, le=1e12, description="万元; default: the form's 年度资金总额")
    ] = None,
    include_illustrative: bool = False,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in (CSV, XLSX, XLS):
        raise UnsupportedMediaType(
            _(
                "send the form as {csv}, {xlsx} or {xls}, not {media}",
                csv=CSV,
                xlsx=XLSX,
                xls=XLS,
                media=excerpt(media),
            )
        )
    ensure_region(evaluator, region, loc=("query", "region"))
    raw = await request.body()
    context = {
        "framework": framework,
        "version": version,
        "sector": sector,
        "project_type": project_type,
        "region": region,
        "fiscal_year": fiscal_year,
        "budget": budget,
        "include_illustrative": include_illustrative,
    }
    payload, status = await run_in_threadpool(
        _review_form, request.app.state.engine, raw, context, evaluator, idempotency_key
    )
    return JSONResponse(
        payload, status_code=status, headers={"Location": f"/v1/targets/reviews/{payload['id']}"}
    )


def _review_form(
    engine: Engine,
    raw: bytes,
    context: dict[str, Any],
    evaluator: Principal,
    idempotency_key: str | None,
) -> tuple[dict[str, Any], int]:
    form = read_form(raw, context)
    with session_scope(engine) as session:  # commits when the review is stored
        try:
            return service.create_review(session, form.request, evaluator, idempotency_key)
        except (Unprocessable, NotFound) as exc:
            raise form.relocate(exc) from exc
