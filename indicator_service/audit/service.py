"""Writing and reading the audit trail.

``record`` adds an entry to the caller's session: it commits or rolls back with the change it
describes (call it inside the same unit of work, after the change). Nothing here updates or
deletes an entry; the database refuses both (triggers created by migration ``0004_auth_audit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import func
from sqlmodel import Session, col, select

from indicator_service.audit.models import AuditEntry
from indicator_service.auth.principal import Principal
from indicator_service.core.errors import ErrorItem, Forbidden
from indicator_service.core.i18n import _
from indicator_service.core.logging import request_id_var


def _jsonable(value: Any) -> Any:
    """A JSON-compatible copy of ``value``: pydantic models and dataclasses (also nested in
    dicts and lists), dates, decimals, enums; anything else by its ``str``."""
    if value is None:
        return None
    return to_jsonable_python(value, fallback=str)


def record(
    session: Session,
    principal: Principal,
    action: str,
    *,
    object_type: str,
    object_id: str,
    namespace: str | None = None,
    version: str | None = None,
    before: Any = None,
    after: Any = None,
    comment: str | None = None,
    request_id: str | None = None,
) -> AuditEntry:
    """Append one audit entry in ``session``'s transaction and return it (flushed, with id).

    ``action`` is a dotted verb such as ``draft.create``, ``indicator.update``,
    ``version.publish``; ``before`` / ``after`` are JSON-serialisable snapshots (pydantic
    models are dumped in JSON mode) of the object around the change.
    """
    entry = AuditEntry(
        at=datetime.now(UTC),
        actor_key_id=principal.key_id,
        actor_name=principal.name,
        actor_role=principal.role.value,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        namespace=namespace,
        version=version,
        before=_jsonable(before),
        after=_jsonable(after),
        comment=comment,
        request_id=request_id if request_id is not None else request_id_var.get(),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditQuery:
    namespace: str | None = None
    actor: str | None = None
    actor_key_id: int | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    version: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def visible_namespaces(principal: Principal) -> tuple[str, ...] | None:
    """The namespaces whose entries ``principal`` may read (None: every entry)."""
    return None if principal.all_namespaces else principal.namespaces


def search(
    session: Session, principal: Principal, query: AuditQuery, *, limit: int, offset: int
) -> tuple[Sequence[AuditEntry], int]:
    """Entries matching ``query`` that ``principal`` may see, newest first, and their total.

    Keys scoped to some namespaces see only entries of those namespaces; asking for another
    namespace explicitly is a 403.
    """
    scope = visible_namespaces(principal)
    if query.namespace is not None and scope is not None and query.namespace not in scope:
        raise Forbidden(
            _(
                "The key {name!r} may read the audit trail of "
                "namespaces {scope}; not of {namespace!r}",
                name=principal.name,
                scope=list(scope),
                namespace=query.namespace,
            ),
            errors=[
                ErrorItem(
                    loc=["query", "namespace"],
                    msg=_("namespace outside the key's scope"),
                    type="namespace_out_of_scope",
                )
            ],
        )
    conditions: list[Any] = []
    if scope is not None:
        conditions.append(col(AuditEntry.namespace).in_(scope))
    if query.namespace is not None:
        conditions.append(col(AuditEntry.namespace) == query.namespace)
    if query.actor is not None:
        conditions.append(col(AuditEntry.actor_name) == query.actor)
    if query.actor_key_id is not None:
        conditions.append(col(AuditEntry.actor_key_id) == query.actor_key_id)
    if query.action is not None:
        conditions.append(col(AuditEntry.action) == query.action)
    if query.object_type is not None:
        conditions.append(col(AuditEntry.object_type) == query.object_type)
    if query.object_id is not None:
        conditions.append(col(AuditEntry.object_id) == query.object_id)
    if query.version is not None:
        conditions.append(col(AuditEntry.version) == query.version)
    if query.since is not None:
        conditions.append(col(AuditEntry.at) >= _utc(query.since))
    if query.until is not None:
        conditions.append(col(AuditEntry.at) < _utc(query.until))
    total = session.exec(select(func.count()).select_from(AuditEntry).where(*conditions)).one()
    rows = session.exec(
        select(AuditEntry)
        .where(*conditions)
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, int(total)


def get_entry(session: Session, principal: Principal, entry_id: int) -> AuditEntry | None:
    """One entry, or None when it does not exist or lies outside the principal's scope."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        return None
    scope = visible_namespaces(principal)
    if scope is not None and entry.namespace not in scope:
        return None
    return entry
