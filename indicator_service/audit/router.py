"""The audit trail, read-only: ``GET /v1/audit`` and ``GET /v1/audit/{id}``.

No route edits or deletes entries; other methods on these paths are 405.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from indicator_service.audit import service
from indicator_service.audit.schemas import AuditEntryOut, AuditPage
from indicator_service.auth.dependencies import AUTH_RESPONSES, AuditReaderDep
from indicator_service.core.database import SessionDep
from indicator_service.core.errors import ErrorItem, NotFound, Problem, Unprocessable
from indicator_service.core.i18n import _

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns (PostgreSQL INTEGER)
router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=AUTH_RESPONSES)

DATE_TIME: dict[str, Any] = {"format": "date-time"}
ShortText = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


def _parse_time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 / RFC 3339 date or date-time (a bare number is not a time), or 422."""
    if value is None:
        return None
    try:
        if not value[:4].isdigit() or len(value) < 10:
            raise ValueError(
                _("expected an ISO 8601 date or date-time such as 2026-11-01T08:00:00Z")
            )
        return datetime.fromisoformat(value.upper())
    except ValueError as exc:
        raise Unprocessable(
            _("{name} is not a valid date or date-time: {value!r}", name=name, value=value),
            errors=[ErrorItem(loc=["query", name], msg=str(exc), type="datetime_parsing")],
        ) from exc


@router.get(
    "",
    response_model=AuditPage,
    summary="Audit entries, newest first (admin; reviewers and curators: their namespaces)",
)
def list_audit_entries(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: AuditReaderDep,
    namespace: ShortText = None,
    actor: Annotated[
        str | None,
        Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$", description="Key name"),
    ] = None,
    actor_key_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: ShortText = None,
    object_type: ShortText = None,
    object_id: ShortText = None,
    version: ShortText = None,
    since: Annotated[
        str | None,
        Query(
            max_length=64,
            json_schema_extra=DATE_TIME,
            description="Entries at or after this ISO 8601 time (no offset = UTC)",
            examples=["2026-11-01T00:00:00+08:00"],
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            max_length=64,
            json_schema_extra=DATE_TIME,
            description="Entries before this ISO 8601 time (no offset = UTC)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> AuditPage:
    query = service.AuditQuery(
        namespace=namespace,
        actor=actor,
        actor_key_id=actor_key_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        version=version,
        since=_parse_time(since, "since"),
        until=_parse_time(until, "until"),
    )
    rows, total = service.search(session, principal, query, limit=limit, offset=offset)
    next_url = None
    if offset + len(rows) < total:
        next_url = str(request.url.include_query_params(offset=offset + limit, limit=limit))
    response.headers["Cache-Control"] = "no-store"
    return AuditPage(
        items=[AuditEntryOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
        next=next_url,
    )


@router.get(
    "/{entry_id}",
    response_model=AuditEntryOut,
    responses={
        404: {
            "model": Problem,
            "description": "No such entry (or not visible to this key)",
            "content": {"application/problem+json": {}},
        }
    },
    summary="One audit entry",
)
def get_audit_entry(
    entry_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    response: Response,
    session: SessionDep,
    principal: AuditReaderDep,
) -> AuditEntryOut:
    entry = service.get_entry(session, principal, entry_id)
    if entry is None:
        raise NotFound(
            _("No audit entry {entry_id} visible to this key", entry_id=entry_id),
            errors=[ErrorItem(loc=["path", "entry_id"], msg=_("unknown entry"), type="not_found")],
        )
    response.headers["Cache-Control"] = "no-store"
    return AuditEntryOut.model_validate(entry, from_attributes=True)
