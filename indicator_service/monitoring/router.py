"""Monitoring API under ``/v1/monitoring``: compute and store, read, list, and the 绩效监控表
workbook. Thin handlers: the work is in :mod:`.service` and :mod:`.workbook`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from indicator_service.auth.dependencies import AUTH_RESPONSES, EvaluatorDep, ensure_region
from indicator_service.core.database import SessionDep
from indicator_service.core.idempotency import IdempotencyKeyHeader
from indicator_service.core.paging import Limit, Offset
from indicator_service.monitoring import service, workbook
from indicator_service.monitoring.schemas import MonitoringList, MonitoringOut, MonitoringRequest

router = APIRouter(prefix="/v1", tags=["monitoring"], responses=AUTH_RESPONSES)

MAX_ID = 2**31 - 1
MonitoringId = Annotated[int, Path(ge=1, le=MAX_ID, description="monitoring record id")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post(
    "/monitoring",
    response_model=MonitoringOut,
    status_code=201,
    summary="Monitor a project in the year (运行监控) and store the result "
    "(Idempotency-Key replays the first response)",
    responses={
        404: {"description": "Unknown framework or version"},
        409: {"description": "Idempotency-Key reused with a different body"},
    },
)
def create_monitoring(
    body: MonitoringRequest,
    session: SessionDep,
    evaluator: EvaluatorDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    ensure_region(evaluator, body.region)
    created = service.create_monitoring(session, body, evaluator, idempotency_key)
    return JSONResponse(
        created.body, status_code=created.status_code, headers={"Location": created.location}
    )


@router.get(
    "/monitoring",
    response_model=MonitoringList,
    summary="List the monitoring records the key may read, by project, region, fiscal year or "
    "pending explanations",
)
def list_monitoring(
    session: SessionDep,
    evaluator: EvaluatorDep,
    project: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    fiscal_year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    pending: Annotated[
        bool | None, Query(description="true: records with flags awaiting an explanation")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> MonitoringList:
    return service.list_monitoring(
        session,
        reader=evaluator,
        project=project,
        region=region,
        fiscal_year=fiscal_year,
        pending=pending,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/monitoring/{monitoring_id}",
    response_model=MonitoringOut,
    summary="A stored monitoring record: inputs, result, flags",
    responses={404: {"description": "No such record, or not one the key may read"}},
)
def get_monitoring(
    monitoring_id: MonitoringId, session: SessionDep, evaluator: EvaluatorDep
) -> MonitoringOut:
    return service.record_out(service.get_monitoring(session, monitoring_id, evaluator))


@router.get(
    "/monitoring/{monitoring_id}/workbook",
    summary="The stored monitoring record as a 绩效监控表 workbook (XLSX)",
    response_class=Response,
    responses={
        200: {
            "description": "项目支出绩效目标执行监控表: funds, indicators, flags, explanations",
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
        },
        404: {"description": "No such record, or not one the key may read"},
    },
)
def export_monitoring(
    monitoring_id: MonitoringId, session: SessionDep, evaluator: EvaluatorDep
) -> Response:
    rec = service.record_out(service.get_monitoring(session, monitoring_id, evaluator))
    return Response(
        workbook.render(rec),
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="monitoring-{monitoring_id}.xlsx"',
            "Cache-Control": "no-store",
        },
    )
