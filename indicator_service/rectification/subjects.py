"""What a rectification can be attached to, and what it copies from it.

A subject kind is a resolver: (session, id, reader) → the :class:`Subject` the reader may
read, or None. ``evaluation`` (a stored evaluation) is the one kind today; a monitoring flag
becomes the second by adding its resolver to :data:`RESOLVERS` and its name to
``schemas.SubjectKind`` — the table already keys subjects by (kind, id)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from indicator_service.auth.principal import Principal
from indicator_service.rectification.deadlines import local_date
from indicator_service.scoring.models import Evaluation
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
    ev = session.exec(
        select(Evaluation).where(col(Evaluation.id) == subject_id, *readable_by(reader))
    ).first()
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


RESOLVERS: dict[str, Callable[[Session, int, Principal], Subject | None]] = {
    "evaluation": _evaluation,
}
