"""The review state machine of namespace and framework versions, next to its lock.

States of a version (``status``)::

    draft ──submit──▶ submitted ──approve──▶ published ──deprecate──▶ deprecated
      ▲                   │
      └──────return───────┘

Only a ``draft`` is editable. A curator submits it; a reviewer whose key is not the submitter's
approves it (publishing it under the smallest version its changes allow, unless one is given)
or returns it with a comment. Every illegal move is a 409 that says why.

Functions take a ``Session`` and never commit; auditing is the caller's (:mod:`.service`).
Every step takes the artefact's write lock first (:func:`lock_for_write`, the lock that
whole-document PUT, item edits and publish take) and checks the version's state after it: two
callers of one version are serialised in one lock order (no deadlock), and the second sees what
the first committed (a returned draft is not approved, a published version is not returned).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from indicator_service.auth.principal import Principal
from indicator_service.catalogue import artefacts
from indicator_service.catalogue.artefacts import (
    DRAFT,
    SUBMITTED,
    ArtefactKind,
    Kind,
    VersionDoc,
    VersionRow,
)
from indicator_service.catalogue.frameworks import FRAMEWORK
from indicator_service.catalogue.namespaces import NAMESPACE
from indicator_service.catalogue.versioning import Diff, release_of
from indicator_service.core.errors import Conflict, ErrorItem, NotFound, Unprocessable
from indicator_service.core.i18n import _

KINDS: dict[Kind, ArtefactKind[Any]] = {"namespace": NAMESPACE, "framework": FRAMEWORK}


def lock_for_write(session: Session, kind: Kind, code: str) -> None:
    """Take the write lock of namespace or framework ``code`` (:func:`.artefacts.lock`): every
    writer of its versions takes it first."""
    artefacts.lock(session, KINDS[kind], code)


def version_row(
    session: Session, kind: Kind, code: str, version: str, *, lock: bool = False
) -> VersionRow:
    """A version row (404 when unknown). ``lock``: take the write lock first and read the row
    after it, as every writer does: its state is then what the previous writer committed, and
    stays so until this transaction ends."""
    if lock:
        lock_for_write(session, kind, code)
    row: VersionRow = artefacts.version_row(session, KINDS[kind], code, version)
    return row


@dataclass(frozen=True)
class ReviewState:
    kind: Kind
    code: str
    version: str
    status: str
    content_hash: str
    submitted_by: str | None
    submitted_at: datetime | None
    review_comment: str | None


def review_state(kind: Kind, code: str, row: VersionRow) -> ReviewState:
    return ReviewState(
        kind,
        code,
        row.version,
        row.status,
        row.content_hash,
        row.submitted_by,
        row.submitted_at,
        row.review_comment,
    )


def read_review(session: Session, kind: Kind, code: str, version: str) -> ReviewState:
    """A version's review state (404 for an unknown namespace, framework or version)."""
    return review_state(kind, code, version_row(session, kind, code, version))


def review_queue(
    session: Session, statuses: Sequence[str], may_see: Callable[[Kind, str], bool]
) -> list[ReviewState]:
    """Namespace and framework versions in ``statuses`` that ``may_see(kind, code)`` allows,
    the longest waiting first (by submission time; never-submitted drafts last)."""
    found: list[tuple[Kind, str, VersionRow]] = []
    for name, kind in KINDS.items():
        owner, vm = kind.owner_model, kind.version_model
        rows = session.exec(
            select(owner.code, vm)
            .join(owner, col(kind.fk()) == owner.id)
            .where(col(vm.status).in_(list(statuses)))
            .options(defer(vm.document))
        ).all()
        found += [(name, code, row) for code, row in rows]
    visible = [(kind, code, row) for kind, code, row in found if may_see(kind, code)]
    visible.sort(key=lambda x: (x[2].submitted_at is None, x[2].submitted_at or datetime.min))
    return [review_state(kind, code, row) for kind, code, row in visible]


def _review_row(session: Session, kind: Kind, code: str, version: str, action: str) -> VersionRow:
    """The version a review step acts on, read under the write lock. A draft label that a
    concurrent approval has just published (as its release number) is a 409 saying so, not a
    404: the caller lost a race, the version exists."""
    try:
        return version_row(session, kind, code, version, lock=True)
    except NotFound as unknown:
        release = release_of(version)
        if release == version:
            raise
        try:
            published = version_row(session, kind, code, release)
        except NotFound:
            raise unknown from None
        raise Conflict(
            _(
                "cannot {action} version {version}: it has been published as "
                "{version2} ({status}); published versions are immutable",
                action=action,
                version=version,
                version2=published.version,
                status=published.status,
            ),
            slug="published-immutable",
        ) from None


def _same_key(principal: Principal, row: VersionRow) -> bool:
    return principal.key_id is not None and principal.key_id == row.submitted_by_key_id


def submit(session: Session, kind: Kind, code: str, version: str, who: Principal) -> ReviewState:
    row = _review_row(session, kind, code, version, "submit")
    if row.status == SUBMITTED:
        raise Conflict(
            _(
                "version {version} is already submitted (by "
                "{submitted_by}); a reviewer approves or returns it",
                version=version,
                submitted_by=row.submitted_by,
            ),
            slug="already-submitted",
        )
    if row.status != DRAFT:
        raise Conflict(
            _(
                "version {version} is {status}; only a draft can be submitted",
                version=version,
                status=row.status,
            ),
            slug="published-immutable",
        )
    row.status = SUBMITTED
    row.submitted_by_key_id = who.key_id
    row.submitted_by = who.name
    row.submitted_at = artefacts.now()
    session.add(row)
    session.flush()
    return review_state(kind, code, row)


def _require_submitted(row: VersionRow, action: str) -> None:
    if row.status == DRAFT:
        raise Conflict(
            _(
                "cannot {action} version {version}: it is a draft that has not "
                "been submitted; the curator submits it first",
                action=action,
                version=row.version,
            ),
            slug="not-submitted",
        )
    if row.status != SUBMITTED:
        raise Conflict(
            _(
                "cannot {action} version {version}: it is {status}, not submitted",
                action=action,
                version=row.version,
                status=row.status,
            ),
            slug="not-submitted",
        )


def require_comment(comment: str | None) -> str:
    if comment is None or not comment.strip():
        raise Unprocessable(
            _("returning a draft needs a comment saying what to fix"),
            errors=[ErrorItem(loc=["body", "comment"], msg=_("required"), type="missing")],
        )
    return comment.strip()


def return_draft(
    session: Session, kind: Kind, code: str, version: str, who: Principal, comment: str | None
) -> ReviewState:
    """Back to draft with the reviewer's comment (422 without one)."""
    text = require_comment(comment)
    row = _review_row(session, kind, code, version, "return")
    _require_submitted(row, "return")
    if _same_key(who, row):
        raise Conflict(
            _("the submitter's key cannot review its own submission; another reviewer returns it"),
            slug="own-submission",
        )
    row.status = DRAFT
    row.review_comment = text
    session.add(row)
    session.flush()
    return review_state(kind, code, row)


def approve(
    session: Session,
    kind: Kind,
    code: str,
    version: str,
    who: Principal,
    target: str | None,
) -> tuple[VersionDoc, Diff]:
    """Publish a submitted draft as ``target`` or the smallest acceptable version."""
    row = _review_row(session, kind, code, version, "approve")
    _require_submitted(row, "approve")
    if _same_key(who, row):
        raise Conflict(
            _(
                "the submitter's key cannot approve its own "
                "submission; another reviewer approves it"
            ),
            slug="own-submission",
        )
    if target is None:
        target, _version = artefacts.smallest_version(session, KINDS[kind], code, version)
    return artefacts.publish(session, KINDS[kind], code, version, target)
