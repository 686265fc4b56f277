"""Curation: fine-grained draft edits and the review state machine.

States of a version (``status``)::

    draft ──submit──▶ submitted ──approve──▶ published ──deprecate──▶ deprecated
      ▲                   │
      └──────return───────┘

Only a ``draft`` is editable. A curator submits it; a reviewer whose key is not the submitter's
approves it (publishing it under the smallest version its changes allow, unless one is given)
or returns it with a comment. Every illegal move is a 409 that says why.

Functions take a ``Session`` and never commit. Every edit and every review step takes the
namespace's or framework's write lock first (``version_row(..., lock=True)``), the lock that
whole-document PUT and publish take, and checks the version's state after it: two callers of
one version are serialised in one lock order (no deadlock), the second sees what the first
committed (a returned draft is not approved, a published version is not returned), and every
edit still runs through :func:`service.compare_and_set_hash`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from indicator_service.auth.principal import Principal
from indicator_service.catalogue import service
from indicator_service.catalogue.edits import EditError
from indicator_service.catalogue.models import (
    CatalogueFramework,
    CatalogueFrameworkVersion,
    CatalogueNamespace,
    CatalogueNamespaceVersion,
)
from indicator_service.catalogue.versioning import Diff, Version, release_of
from indicator_service.core.errors import (
    Conflict,
    ErrorItem,
    NotFound,
    ServiceError,
    Unprocessable,
)

Kind = Literal["namespace", "framework"]
VersionRow = CatalogueNamespaceVersion | CatalogueFrameworkVersion
Mutation = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Edited:
    """The outcome of an edit: the document before and after, and the new content hash."""

    kind: Kind
    code: str
    version: str
    status: str
    before: dict[str, Any]
    after: dict[str, Any]
    content_hash: str


def as_service_error(exc: EditError) -> ServiceError:
    errors = [ErrorItem(loc=list(e.loc), msg=e.msg, type=e.type) for e in exc.errors]
    if exc.status == 404:
        return NotFound(
            exc.message,
            errors=errors or [ErrorItem(loc=["path"], msg=exc.message, type="not_found")],
        )
    if exc.status == 409:
        return Conflict(exc.message, errors=errors)
    return Unprocessable(exc.message, errors=errors)


def version_row(
    session: Session, kind: Kind, code: str, version: str, *, lock: bool = False
) -> VersionRow:
    """A version row (404 when unknown). ``lock``: take the namespace's or framework's write
    lock first (:func:`service.lock_for_write`) and read the row after it, as every writer does:
    its state is then what the previous writer committed, and stays so until this transaction
    ends."""
    if lock:
        service.lock_for_write(session, kind, code)
    if kind == "namespace":
        return service.namespace_draft_row(session, code, version)
    return service.framework_draft_row(session, code, version)


def document_of(row: VersionRow) -> dict[str, Any]:
    return copy.deepcopy({**row.document, "version": row.version})


def edit_draft(
    session: Session,
    kind: Kind,
    code: str,
    version: str,
    if_match: str | None,
    mutate: Mutation,
) -> Edited:
    """Apply ``mutate`` to a draft's document: 409 unless an unsubmitted draft, 428/412 on
    If-Match, 404/409/422 from the edit itself, 422 with every problem of the resulting
    document; then an atomic compare-and-set write."""
    row = version_row(session, kind, code, version, lock=True)
    service.require_editable(row)
    expected = service.check_if_match(row, if_match)
    before = document_of(row)
    try:
        after = mutate(copy.deepcopy(before))
    except EditError as exc:
        raise as_service_error(exc) from exc
    return store_document(session, kind, code, row, before, after, expected)


def store_document(
    session: Session,
    kind: Kind,
    code: str,
    row: VersionRow,
    before: dict[str, Any],
    after: dict[str, Any],
    expected: str,
) -> Edited:
    if isinstance(row, CatalogueNamespaceVersion):
        rel = service.store_namespace_draft(session, code, row, after, expected)
        return Edited(kind, code, rel.version, rel.status, before, rel.document, rel.content_hash)
    doc = service.store_framework_draft(session, code, row, after, expected)
    return Edited(kind, code, doc.version, doc.status, before, doc.document, doc.content_hash)


# --- review ---------------------------------------------------------------------------------------


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
    ns_rows = session.exec(
        select(CatalogueNamespace.code, CatalogueNamespaceVersion)
        .join(
            CatalogueNamespace, col(CatalogueNamespaceVersion.namespace_id) == CatalogueNamespace.id
        )
        .where(col(CatalogueNamespaceVersion.status).in_(list(statuses)))
        .options(defer(CatalogueNamespaceVersion.document))
    ).all()
    found += [("namespace", code, row) for code, row in ns_rows]
    fw_rows = session.exec(
        select(CatalogueFramework.code, CatalogueFrameworkVersion)
        .join(
            CatalogueFramework, col(CatalogueFrameworkVersion.framework_id) == CatalogueFramework.id
        )
        .where(col(CatalogueFrameworkVersion.status).in_(list(statuses)))
        .options(defer(CatalogueFrameworkVersion.document))
    ).all()
    found += [("framework", code, row) for code, row in fw_rows]
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
            f"cannot {action} version {version}: it has been published as {published.version} "
            f"({published.status}); published versions are immutable",
            slug="published-immutable",
        ) from None


def _same_key(principal: Principal, row: VersionRow) -> bool:
    return principal.key_id is not None and principal.key_id == row.submitted_by_key_id


def submit(session: Session, kind: Kind, code: str, version: str, who: Principal) -> ReviewState:
    row = _review_row(session, kind, code, version, "submit")
    if row.status == service.SUBMITTED:
        raise Conflict(
            f"version {version} is already submitted (by {row.submitted_by}); a reviewer "
            "approves or returns it",
            slug="already-submitted",
        )
    if row.status != service.DRAFT:
        raise Conflict(
            f"version {version} is {row.status}; only a draft can be submitted",
            slug="published-immutable",
        )
    row.status = service.SUBMITTED
    row.submitted_by_key_id = who.key_id
    row.submitted_by = who.name
    row.submitted_at = datetime.now(UTC)
    session.add(row)
    session.flush()
    return review_state(kind, code, row)


def _require_submitted(row: VersionRow, action: str) -> None:
    if row.status == service.DRAFT:
        raise Conflict(
            f"cannot {action} version {row.version}: it is a draft that has not been submitted; "
            "the curator submits it first",
            slug="not-submitted",
        )
    if row.status != service.SUBMITTED:
        raise Conflict(
            f"cannot {action} version {row.version}: it is {row.status}, not submitted",
            slug="not-submitted",
        )


def return_draft(
    session: Session, kind: Kind, code: str, version: str, who: Principal, comment: str
) -> ReviewState:
    row = _review_row(session, kind, code, version, "return")
    _require_submitted(row, "return")
    if _same_key(who, row):
        raise Conflict(
            "the submitter's key cannot review its own submission; another reviewer returns it",
            slug="own-submission",
        )
    row.status = service.DRAFT
    row.review_comment = comment
    session.add(row)
    session.flush()
    return review_state(kind, code, row)


def smallest_version(session: Session, kind: Kind, code: str, version: str) -> tuple[str, Diff]:
    """The smallest release number the changes since the latest published version allow
    (a patch when nothing changed)."""
    if kind == "namespace":
        latest = service.get_namespace(session, code).latest_published
        if latest is None:
            raise NotFound(f"namespace {code} has no published version")
        diff = service.diff_namespace_versions(session, code, latest, version)
    else:
        latest = service.get_framework_document(session, code, None).version
        diff = service.diff_framework_versions(session, code, latest, version)
    bump = diff.required_bump
    return str(Version.parse(latest).bump("patch" if bump == "none" else bump)), diff


def approve(
    session: Session,
    kind: Kind,
    code: str,
    version: str,
    who: Principal,
    target: str | None,
) -> tuple[Any, Diff]:
    """Publish a submitted draft as ``target`` or the smallest acceptable version."""
    row = _review_row(session, kind, code, version, "approve")
    _require_submitted(row, "approve")
    if _same_key(who, row):
        raise Conflict(
            "the submitter's key cannot approve its own submission; another reviewer approves it",
            slug="own-submission",
        )
    if target is None:
        target, _ = smallest_version(session, kind, code, version)
    if kind == "namespace":
        return service.publish_namespace_draft(session, code, version, target)
    return service.publish_framework_draft(session, code, version, target)


def require_comment(comment: str | None) -> str:
    if comment is None or not comment.strip():
        raise Unprocessable(
            "returning a draft needs a comment saying what to fix",
            errors=[ErrorItem(loc=["body", "comment"], msg="required", type="missing")],
        )
    return comment.strip()
