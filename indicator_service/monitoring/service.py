"""Stored monitoring records: compute (the pure core) and store with the audit entry and the
Idempotency-Key replay, read and list, each limited to what the caller may read.

Who may read a record is the rule of stored evaluations (docs/security.md): admins read every
record; other keys read those they stored and, with a region scope, those of other keys in the
regions their scope covers. Any other id is a 404, never a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col

from indicator_service.audit.service import record
from indicator_service.auth.principal import Principal
from indicator_service.catalogue.service import UNPUBLISHED, get_framework, refuse_draft
from indicator_service.core.errors import ErrorItem, NotFound, Unprocessable
from indicator_service.core.i18n import _
from indicator_service.core.idempotency import Answer, idempotent_create
from indicator_service.monitoring import core
from indicator_service.monitoring.models import MonitoringRecord
from indicator_service.monitoring.schemas import (
    MonitoringList,
    MonitoringOut,
    MonitoringRequest,
    MonitoringSchedulePointIn,
    MonitoringSummary,
)
from indicator_service.scoring.owned import equal_to, get_owned, owned_page
from indicator_service.scoring.ownership import owned_or_in_scope

IDEMPOTENCY_SCOPE = "monitoring.records"


# --- ownership ------------------------------------------------------------------------------


def readable_by(principal: Principal) -> list[ColumnElement[bool]]:
    """The conditions that keep the records ``principal`` may read (scoring.ownership's rule)."""
    return owned_or_in_scope(
        principal, col(MonitoringRecord.owner_key_id), col(MonitoringRecord.region)
    )


# --- computing ------------------------------------------------------------------------------


def _schedule(points: list[MonitoringSchedulePointIn]) -> tuple[core.SchedulePoint, ...]:
    return tuple(core.SchedulePoint(p.date, p.share) for p in points)


def thresholds_of(monitoring: dict[str, Any]) -> core.Thresholds:
    return core.Thresholds(
        execution_gap=float(monitoring["execution_gap"]),
        miss_tolerance=float(monitoring["miss_tolerance"]),
    )


def compute(req: MonitoringRequest, thresholds: core.Thresholds) -> core.MonitoringResult:
    """The core's result for a request; every bad input at once as a 422 (body locations)."""
    budget = (
        core.BudgetInput(  # the core's locations are the request's field names
            req.budget.budget,
            req.budget.executed,
            _schedule(req.budget.schedule),
            req.budget.reason,
            req.budget.measure,
        )
        if req.budget is not None
        else None
    )
    rows = [
        core.IndicatorInput(
            r.id,
            r.name,
            r.operator,
            r.target,
            r.actual,
            r.kind,
            r.unit,
            _schedule(r.schedule),
            r.reason,
            r.measure,
        )
        for r in req.indicators
    ]
    try:
        return core.monitor(req.as_of, req.fiscal_year, thresholds, budget, rows)
    except core.MonitoringError as exc:
        raise Unprocessable(
            _("{count} problem(s) in the monitoring request", count=len(exc.problems)),
            errors=[
                ErrorItem(loc=["body", *loc], msg=msg, type=kind) for loc, msg, kind in exc.problems
            ],
        ) from exc


def result_json(result: core.MonitoringResult, record_id: int) -> dict[str, Any]:
    data = result.to_dict()
    data["as_of"] = result.as_of.isoformat()
    for f in data["flags"]:
        f["id"] = f"{record_id}:{f['key']}"
    return data


# --- storing and reading --------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    body: dict[str, Any]
    status_code: int

    @property
    def location(self) -> str:
        return f"/v1/monitoring/{self.body['id']}"


def _summary(r: MonitoringRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "framework": r.framework_code,
        "version": r.framework_version,
        "project": r.project,
        "unit": r.unit,
        "region": r.region,
        "fiscal_year": r.fiscal_year,
        "as_of": r.as_of,
        "flags": r.flags,
        "pending": r.pending,
        "created_at": r.created_at,
    }


def record_out(r: MonitoringRecord) -> MonitoringOut:
    return MonitoringOut.model_validate({**_summary(r), "request": r.request, "result": r.result})


def create_monitoring(
    session: Session, req: MonitoringRequest, owner: Principal, idempotency_key: str | None = None
) -> Created:
    """Compute and store a monitoring record owned by ``owner`` with its audit entry (the
    caller's transaction commits); nothing is stored when the input is bad. An
    ``idempotency_key`` replays this caller's first response for it (another body: 409)."""
    answer: Answer[None] = idempotent_create(
        session,
        IDEMPOTENCY_SCOPE,
        idempotency_key,
        req,
        lambda: Answer(_store(session, req, owner)),
        owner_key_id=owner.owner_id,
    )
    return Created(answer.body, answer.status_code)


def _store(session: Session, req: MonitoringRequest, owner: Principal) -> dict[str, Any]:
    """The monitoring record stored with its audit entry: its JSON body."""
    try:
        fw = get_framework(session, req.framework, req.version)
    except NotFound as exc:
        raise NotFound(
            exc.detail,
            errors=[ErrorItem(loc=["body", "framework"], msg=exc.detail, type="not_found")],
        ) from exc
    if fw.status in UNPUBLISHED:  # a draft, or one submitted for review
        refuse_draft(fw.code, fw.version)
    result = compute(req, thresholds_of(fw.monitoring))
    pending = sum(f.status == "pending_explanation" for f in result.flags)
    row = MonitoringRecord(
        owner_key_id=owner.owner_id,
        framework_code=fw.code,
        framework_version=fw.version,
        project=req.project,
        unit=req.unit,
        region=req.region,
        fiscal_year=req.fiscal_year,
        as_of=req.as_of,
        flags=len(result.flags),
        pending=pending,
        # the version whose thresholds applied is pinned, so that the inputs reproduce it
        request=req.model_copy(update={"version": fw.version}).model_dump(mode="json"),
        result={},
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    row.result = result_json(result, row.id)
    session.add(row)
    session.flush()
    out = record_out(row)
    record(
        session,
        owner,
        "monitoring.create",
        object_type="monitoring",
        object_id=str(row.id),
        version=fw.version,
        after={
            "framework": fw.code,
            "version": fw.version,
            "project": req.project,
            "region": req.region,
            "fiscal_year": req.fiscal_year,
            "as_of": req.as_of.isoformat(),
            "flags": [f.key for f in result.flags],
            "pending": pending,
        },
    )
    return out.model_dump(mode="json")


def get_monitoring(session: Session, record_id: int, reader: Principal) -> MonitoringRecord:
    """The record ``reader`` may read; 404 for any other id, whether it exists or not."""
    detail = _("No monitoring record {record_id}", record_id=record_id)
    return get_owned(
        session, MonitoringRecord, record_id, readable_by(reader), detail, param="monitoring_id"
    )


def list_monitoring(
    session: Session,
    *,
    reader: Principal,
    project: str | None,
    region: str | None,
    fiscal_year: int | None,
    pending: bool | None,
    limit: int,
    offset: int,
) -> MonitoringList:
    conditions: list[Any] = equal_to(
        (col(MonitoringRecord.project), project),
        (col(MonitoringRecord.region), region),
        (col(MonitoringRecord.fiscal_year), fiscal_year),
    )
    if pending is not None:
        conditions.append(
            col(MonitoringRecord.pending) > 0 if pending else col(MonitoringRecord.pending) == 0
        )
    conditions += readable_by(reader)
    total, rows = owned_page(session, MonitoringRecord, conditions, limit=limit, offset=offset)
    return MonitoringList(
        total=total,
        limit=limit,
        offset=offset,
        items=[MonitoringSummary(**_summary(r)) for r in rows],
    )


def find_flag(session: Session, flag_id: str, reader: Principal) -> dict[str, Any]:
    """The stored flag ``flag_id`` (``<monitoring id>:<key>``, e.g. ``12:R1.likely_missed``) of
    a record ``reader`` may read, as stored in the record's result; 404 otherwise (for records
    that attach to a flag, such as 整改 rectification)."""
    head, sep, key = flag_id.partition(":")
    if not sep or not head.isdigit() or not 1 <= int(head) <= 2**31 - 1:
        raise NotFound(
            _("No monitoring flag {flag_id!r}", flag_id=flag_id[:60]),
            errors=[
                ErrorItem(
                    loc=["flag_id"], msg=_("expected <monitoring id>:<key>"), type="not_found"
                )
            ],
        )
    row = get_monitoring(session, int(head), reader)
    for flag in row.result.get("flags", []):
        if flag.get("key") == key:
            return dict(flag)
    raise NotFound(
        _("Monitoring record {head} has no flag {key!r}", head=head, key=key[:60]),
        errors=[ErrorItem(loc=["flag_id"], msg=_("not found"), type="not_found")],
    )
