"""What a rectification can be attached to, and what it copies from it.

A subject kind is a resolver: (session, id, reader) → the :class:`Subject` the reader may
read, or None. Two kinds: ``evaluation`` (a stored evaluation; its "leaves" are the receipt's
leaf ids) and ``monitoring`` (a stored monitoring record, docs/monitoring.md; its "leaves" are
its flags' keys, e.g. ``R1.likely_missed``, so a rectification names the flag it answers). A
further kind is one more resolver in :data:`RESOLVERS` and its name in ``schemas.SubjectKind``:
the table keys subjects by (kind, id)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from indicator_service.auth.principal import Principal
from indicator_service.core.errors import NotFound
from indicator_service.monitoring.service import get_monitoring
from indicator_service.rectification.deadlines import local_date
from indicator_service.scoring.models import Evaluation
from indicator_service.scoring.owned import find_owned
from indicator_service.scoring.ownership import readable_by


@dataclass(frozen=True)
class Subject:
    kind: str
    id: int
    region: str
    project: str | None
    fiscal_year: int | None
    owner_key_id: int | None
    """The key that stored the subject: the evaluated party, who may read the rectification
    and report on it."""
    dated: date
    """The subject's date (an evaluation's: when it was stored, CST): the feedback deadline
    runs from it."""
    leaves: frozenset[str]
    """Ids of the subject's leaves a rectification may name."""


def _evaluation(session: Session, subject_id: int, reader: Principal) -> Subject | None:
    ev = find_owned(session, Evaluation, subject_id, readable_by(reader))
    if ev is None or ev.id is None:
        return None
    leaves = frozenset(str(lf["id"]) for lf in (ev.result or {}).get("leaves", ()))
    return Subject(
        kind="evaluation",
        id=ev.id,
        region=ev.region,
        project=ev.project,
        fiscal_year=ev.fiscal_year,
        owner_key_id=ev.owner_key_id,
        dated=local_date(ev.created_at),
        leaves=leaves,
    )


def _monitoring(session: Session, subject_id: int, reader: Principal) -> Subject | None:
    try:
        row = get_monitoring(session, subject_id, reader)  # 404 for records it may not read
    except NotFound:
        return None
    if row.id is None:
        return None
    keys = frozenset(str(f["key"]) for f in (row.result or {}).get("flags", ()) if "key" in f)
    return Subject(
        kind="monitoring",
        id=row.id,
        region=row.region,
        project=row.project,
        fiscal_year=row.fiscal_year,
        owner_key_id=row.owner_key_id,
        dated=row.as_of,  # the monitoring date: the feedback deadline runs from it
        leaves=keys,
    )


RESOLVERS: dict[str, Callable[[Session, int, Principal], Subject | None]] = {
    "evaluation": _evaluation,
    "monitoring": _monitoring,
}
