"""One implementation of a versioned artefact: namespaces and frameworks alike.

A namespace and a framework are both a code (``CatalogueNamespace`` / ``CatalogueFramework``)
with versions (``…Version`` rows holding the source document without its version label, its
content hash and its status). Everything that does not depend on what the document contains
lives here once, parameterised by an :class:`ArtefactKind`: storing a document as a version,
reading a version row, the write lock, drafts (create, If-Match, compare-and-set, rewrite),
publishing (bump check, content hash recomputed), deprecating and diffs. The kind-specific
parts (the owner row, the derived rows, the draft validation) are the small ``ArtefactKind``
values in :mod:`.namespaces` and :mod:`.frameworks`.

Functions take a ``Session`` and never commit. Published versions are immutable: every write
path checks the status and raises :class:`Conflict`, and a mapper event refuses any UPDATE of
a published version row as a last line of defence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import event, inspect, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapper, defer
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from indicator_service.catalogue.models import CatalogueFrameworkVersion, CatalogueNamespaceVersion
from indicator_service.catalogue.source import FrameworkDoc, NamespaceDoc
from indicator_service.catalogue.versioning import (
    BumpTooSmall,
    Diff,
    Version,
    check_bump,
    content_hash,
    document_content,
    release_of,
)
from indicator_service.core.errors import (
    Conflict,
    ErrorItem,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
)
from indicator_service.core.i18n import _
from indicator_service.rules.labels import label

PUBLISHED = "published"
DRAFT = "draft"
SUBMITTED = "submitted"
DEPRECATED = "deprecated"
READABLE = (PUBLISHED, DEPRECATED)
#: Statuses of a version that is not (yet) published: editable (draft) or under review.
UNPUBLISHED = (DRAFT, SUBMITTED)
#: Frameworks belong to the finance bureau: their audit entries and write scopes use this
#: namespace.
FRAMEWORK_OWNER = "common"

Kind = Literal["namespace", "framework"]
VersionRow = CatalogueNamespaceVersion | CatalogueFrameworkVersion
DocT = TypeVar("DocT", NamespaceDoc, FrameworkDoc)


def now() -> datetime:
    return datetime.now(UTC)


def not_found(message: str, loc: Sequence[str | int]) -> NotFound:
    """A 404 with ``message`` (translated by the caller) as its detail and its item's message."""
    return NotFound(message, errors=[ErrorItem(loc=list(loc), msg=message, type="not_found")])


@dataclass(frozen=True, eq=False)
class ArtefactKind(Generic[DocT]):
    """What differs between namespaces and frameworks; everything else is generic."""

    name: Kind
    owner_model: Any  # CatalogueNamespace | CatalogueFramework (has ``id`` and ``code``)
    version_model: Any  # CatalogueNamespaceVersion | CatalogueFrameworkVersion
    owner_fk: str  # the version row's column naming its owner
    doc_model: type[DocT]
    #: the path parameter that names the code (404 locations)
    code_loc: str
    code_of: Callable[[DocT], str]
    diff: Callable[[DocT, DocT], Diff]
    #: the owner row of a document being stored (created when new; 409 when it clashes)
    ensure_owner: Callable[[Session, DocT], Any]
    #: checks before a new version row is written (e.g. required namespaces exist)
    before_store: Callable[[Session, DocT], None]
    #: copies header fields of the document onto the version row
    set_header: Callable[[Any, DocT], None]
    #: rewrites the rows derived from a version's document (indicators, standards, nodes)
    write_rows: Callable[[Session, Any, DocT], None]
    #: every check a draft edit runs: (session, code, version, body) → document; 422
    validate_draft: Callable[[Session, str, str, Mapping[str, Any]], DocT]

    @property
    def audit_namespace(self) -> Callable[[str], str]:
        return (lambda code: code) if self.name == "namespace" else (lambda _c: FRAMEWORK_OWNER)

    def fk(self) -> Any:
        return getattr(self.version_model, self.owner_fk)


@dataclass(frozen=True)
class VersionDoc:
    """One version of an artefact as the API shows it: its full source document."""

    code: str
    version: str
    status: str
    content_hash: str
    document: dict[str, Any]


def version_doc(code: str, row: VersionRow) -> VersionDoc:
    return VersionDoc(
        code, row.version, row.status, row.content_hash, {**row.document, "version": row.version}
    )


def doc_of(kind: ArtefactKind[DocT], row: VersionRow) -> DocT:
    return kind.doc_model.model_validate({**row.document, "version": row.version})


# --- immutability guard ---------------------------------------------------------------------------


def _refuse_published_update(_mapper: Mapper[Any], _conn: Any, target: Any) -> None:
    state = inspect(target)
    status_hist = state.attrs.status.history
    was = status_hist.deleted[0] if status_hist.deleted else target.status
    if was != PUBLISHED:
        return
    changed = [a.key for a in state.attrs if a.history.has_changes()]
    if changed == ["status"] and target.status == DEPRECATED:
        return  # deprecation is the one allowed transition
    raise Conflict(
        _(
            "version {version} is published and immutable (attempted change: {changed})",
            version=target.version,
            changed=", ".join(changed),
        ),
        slug="published-immutable",
    )


for _model in (CatalogueNamespaceVersion, CatalogueFrameworkVersion):
    event.listen(_model, "before_update", _refuse_published_update)
    event.listen(
        _model,
        "before_delete",
        lambda _m, _c, t: _refuse_published_update(_m, _c, t) if t.status == PUBLISHED else None,
    )


# --- the lock and version rows --------------------------------------------------------------------


def lock(session: Session, kind: ArtefactKind[Any], code: str) -> None:
    """Take the write lock of namespace or framework ``code``: its row, until the transaction
    ends (PostgreSQL ``SELECT … FOR UPDATE``; SQLite has a single writer anyway).

    Every writer of an artefact's versions takes this lock *first*, before it reads or writes
    any version row: whole-document PUT, item edits, imports, submit, return, approve, publish
    and deprecate. One lock order means no deadlock between them; loaded rows are expired so
    that the state checks that follow read what the previous writer committed. Without it, two
    replicas publishing the same draft at once both answer 200, and two concurrent PUTs with the
    same If-Match both pass the check."""
    model = kind.owner_model
    session.exec(select(model.id).where(model.code == code).with_for_update()).first()
    session.expire_all()


def owner_row(session: Session, kind: ArtefactKind[Any], code: str) -> Any:
    """The namespace or framework ``code`` (404 when unknown)."""
    model = kind.owner_model
    found = session.exec(select(model).where(model.code == code)).first()
    if found is None:
        raise not_found(
            _("unknown {kind} {code!r}", kind=label("artefact_kind", kind.name), code=code),
            ["path", kind.code_loc],
        )
    return found


def order_desc(model: Any) -> list[Any]:
    return [col(model.major).desc(), col(model.minor).desc(), col(model.patch).desc()]


def version_row(
    session: Session,
    kind: ArtefactKind[Any],
    code: str,
    version: str | None,
    *,
    loc: str = "version",
) -> Any:
    """A pinned version (any status), or the latest published one; the document column is
    loaded on first use."""
    owner = owner_row(session, kind, code)
    vm = kind.version_model
    q = select(vm).where(kind.fk() == owner.id).options(defer(vm.document))
    if version is not None:
        row = session.exec(q.where(vm.version == version)).first()
        if row is None:
            raise not_found(
                _(
                    "unknown version {version!r} of {kind} {code!r}",
                    version=version,
                    kind=label("artefact_kind", kind.name),
                    code=code,
                ),
                ["query", loc],
            )
        return row
    row = session.exec(q.where(vm.status == PUBLISHED).order_by(*order_desc(vm))).first()
    if row is None:
        raise not_found(
            _(
                "no published version of {kind} {code!r}",
                kind=label("artefact_kind", kind.name),
                code=code,
            ),
            ["path", kind.code_loc],
        )
    return row


def versions_of(session: Session, kind: ArtefactKind[Any], owner_id: int | None) -> list[Any]:
    return list(session.exec(select(kind.version_model).where(kind.fk() == owner_id)))


def latest_and_head(rows: Sequence[VersionRow]) -> tuple[VersionRow | None, VersionRow]:
    """The latest published row (None when none is) and the row whose header a listing shows
    (the latest published, else the highest version)."""
    published = [r for r in rows if r.status == PUBLISHED]
    latest = max(published, key=lambda r: (r.major, r.minor, r.patch)) if published else None
    head = latest or max(rows, key=lambda r: Version.parse(r.version).sort_key())
    return latest, head


@dataclass(frozen=True)
class VersionInfo:
    version: str
    status: str
    content_hash: str
    created_at: datetime
    published_at: datetime | None


def version_infos(rows: Iterable[VersionRow]) -> list[VersionInfo]:
    ordered = sorted(rows, key=lambda r: Version.parse(r.version).sort_key())
    return [
        VersionInfo(r.version, r.status, r.content_hash, r.created_at, r.published_at)
        for r in ordered
    ]


def diff_versions(
    session: Session, kind: ArtefactKind[Any], code: str, from_v: str, to_v: str
) -> Diff:
    a = version_row(session, kind, code, from_v, loc="from")
    b = version_row(session, kind, code, to_v, loc="to")
    return kind.diff(doc_of(kind, a), doc_of(kind, b))


# --- storing documents ---------------------------------------------------------------------------


def _latest_published_before(rows: Iterable[VersionRow], version: str) -> str | None:
    target = Version.parse(version).sort_key()
    older = [
        r.version
        for r in rows
        if r.status in READABLE and Version.parse(r.version).sort_key() < target
    ]
    return max(older, key=lambda v: Version.parse(v).sort_key()) if older else None


def flush_new_version(session: Session, what: str) -> None:
    """Flush a new version row; a concurrent writer that stored the same version first is a
    409, not a 500 (the unit of work rolls back)."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            _("{what} was stored concurrently; retry", what=what), slug="conflict"
        ) from exc


def store(
    session: Session, kind: ArtefactKind[DocT], doc: DocT, status: str = PUBLISHED
) -> tuple[Any, bool]:
    """Store ``doc`` as a version; returns (row, created). Identical content at an existing
    version is a no-op; different content at an existing version is a Conflict; a published
    version must bump at least as much as its changes since the previous one require."""
    code = kind.code_of(doc)
    owner = kind.ensure_owner(session, doc)
    h = content_hash(doc)
    rows = versions_of(session, kind, owner.id)
    existing = next((r for r in rows if r.version == doc.version), None)
    if existing is not None:
        if existing.content_hash == h:
            return existing, False
        raise Conflict(
            _(
                "{name} {code} {version} is {status} with different content (stored hash "
                "{content_hash}…, new {h}…): publish the change as a new version",
                name=label("artefact_kind", kind.name),
                code=code,
                version=doc.version,
                status=label("version_status", existing.status),
                content_hash=existing.content_hash[:12],
                h=h[:12],
            ),
            slug="published-immutable",
        )
    if status == PUBLISHED:
        prev = _latest_published_before(rows, doc.version)
        if prev is not None:
            old = doc_of(kind, next(r for r in rows if r.version == prev))
            try:
                check_bump(prev, doc.version, kind.diff(old, doc))
            except BumpTooSmall as exc:
                raise Conflict(
                    _(
                        "{name} {code}: {exc}",
                        name=label("artefact_kind", kind.name),
                        code=code,
                        exc=exc,
                    ),
                    slug="bump-too-small",
                ) from exc
    kind.before_store(session, doc)
    v = Version.parse(doc.version)
    row = kind.version_model(
        **{kind.owner_fk: owner.id},
        version=doc.version,
        major=v.major,
        minor=v.minor,
        patch=v.patch,
        status=status,
        content_hash=h,
        document=document_content(doc),
        published_at=now() if status == PUBLISHED else None,
    )
    kind.set_header(row, doc)
    session.add(row)
    flush_new_version(session, f"{kind.name} {code} {doc.version}")
    kind.write_rows(session, row, doc)
    return row, True


# --- drafts ---------------------------------------------------------------------------------------


def create_draft(session: Session, kind: ArtefactKind[Any], code: str) -> VersionDoc:
    """A new draft copied from the latest published version, labelled ``<next patch>-draft``
    (409 while another draft or submitted version exists)."""
    lock(session, kind, code)
    owner = owner_row(session, kind, code)
    drafts = [r for r in versions_of(session, kind, owner.id) if r.status in UNPUBLISHED]
    if drafts:
        raise Conflict(
            _(
                "{name} {code} already has a draft ({version}); edit or publish it first",
                name=label("artefact_kind", kind.name),
                code=code,
                version=drafts[0].version,
            ),
            slug="draft-exists",
        )
    latest = version_row(session, kind, code, None)
    draft_version = f"{Version.parse(latest.version).bump('patch')}-draft"
    doc = kind.doc_model.model_validate({**latest.document, "version": draft_version})
    row, _created = store(session, kind, doc, status=DRAFT)
    return version_doc(code, row)


def require_editable(row: VersionRow) -> None:
    """409 unless ``row`` is a draft that is not under review, saying what to do instead."""
    if row.status == SUBMITTED:
        raise Conflict(
            _(
                "cannot edit a submitted draft ({version}); a reviewer must return it first",
                version=row.version,
            ),
            slug="draft-submitted",
        )
    if row.status != DRAFT:
        raise Conflict(
            _(
                "version {version} is {status} and immutable; create a draft",
                version=row.version,
                status=row.status,
            ),
            slug="published-immutable",
        )


def check_if_match(row: VersionRow, if_match: str | None) -> str:
    """The content hash an edit may replace: 428 without ``If-Match``, 412 when stale."""
    if if_match is None:
        raise PreconditionRequired(_("If-Match is required to edit a draft (use its ETag)"))
    tag = if_match.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if tag not in (row.content_hash, "*"):
        raise PreconditionFailed(
            _(
                'the draft changed since you read it (ETag "{content_hash}")',
                content_hash=row.content_hash,
            )
        )
    return row.content_hash


def compare_and_set_hash(session: Session, row: VersionRow, expected: str, new_hash: str) -> None:
    """Atomically move ``row``'s content hash from ``expected`` to ``new_hash``.

    ``UPDATE … SET content_hash = :new WHERE id = :id AND content_hash = :expected AND status =
    'draft'``: on PostgreSQL a concurrent writer of the same draft blocks on the row lock and,
    once the first commits, matches no row — it gets 412 and changes nothing. The rest of the
    edit is written in the same transaction.
    """
    model = type(row)
    result = session.execute(
        update(model)
        .where(
            col(model.id) == row.id,
            col(model.content_hash) == expected,
            col(model.status) == DRAFT,
        )
        .values(content_hash=new_hash)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise PreconditionFailed(
            _(
                "the draft changed since you read it (another edit was saved "
                "first); read it again and reapply your change"
            )
        )
    set_committed_value(row, "content_hash", new_hash)


def store_draft(
    session: Session,
    kind: ArtefactKind[Any],
    code: str,
    row: VersionRow,
    body: Mapping[str, Any],
    expected_hash: str,
) -> VersionDoc:
    """Validate ``body`` as the new content of draft ``row`` (every problem at once), then
    compare-and-set its hash from ``expected_hash`` and rewrite its derived rows."""
    doc = kind.validate_draft(session, code, row.version, body)
    compare_and_set_hash(session, row, expected_hash, content_hash(doc))
    row.document = document_content(doc)
    kind.set_header(row, doc)
    session.add(row)
    session.flush()
    kind.write_rows(session, row, doc)
    return version_doc(code, row)


def update_draft(
    session: Session,
    kind: ArtefactKind[Any],
    code: str,
    version: str,
    body: Mapping[str, Any],
    if_match: str | None,
) -> VersionDoc:
    """Replace a draft's whole document (lock, editable check, If-Match, compare-and-set)."""
    lock(session, kind, code)
    row = version_row(session, kind, code, version)
    require_editable(row)
    expected = check_if_match(row, if_match)
    return store_draft(session, kind, code, row, body, expected)


# --- publishing -----------------------------------------------------------------------------------


def _release_number(target: str) -> Version:
    try:
        v = Version.parse(target)
    except ValueError as exc:
        raise Unprocessable(
            str(exc), errors=[ErrorItem(loc=["body", "version"], msg=str(exc), type="value_error")]
        ) from exc
    if v.draft:
        raise Unprocessable(
            _("a published version cannot be a draft"),
            errors=[
                ErrorItem(
                    loc=["body", "version"], msg=_("drop the -draft suffix"), type="value_error"
                )
            ],
        )
    return v


def publish(
    session: Session,
    kind: ArtefactKind[DocT],
    code: str,
    version: str,
    target: str | None = None,
) -> tuple[VersionDoc, Diff]:
    """Publish a draft (or submitted) version as ``target`` (default: the draft's release
    number), refusing a bump smaller than the changes since the latest published version
    require. The content hash is recomputed from the stored document."""
    lock(session, kind, code)
    row = version_row(session, kind, code, version)
    if row.status not in UNPUBLISHED:
        raise Conflict(
            _(
                "version {version} is {status} and immutable; create a draft",
                version=row.version,
                status=row.status,
            ),
            slug="published-immutable",
        )
    new_version = target or release_of(row.version)
    nv = _release_number(new_version)
    latest = version_row(session, kind, code, None)
    draft_doc = doc_of(kind, row)
    diff = kind.diff(doc_of(kind, latest), draft_doc)
    diff = Diff(diff.kind, diff.code, latest.version, new_version, diff.changes)
    try:
        check_bump(latest.version, new_version, diff)
    except BumpTooSmall as exc:
        raise Conflict(
            str(exc),
            slug="bump-too-small",
            errors=[
                ErrorItem(
                    loc=["body", "version"],
                    msg=_("requires a {required} bump", required=exc.required),
                    type="bump_too_small",
                )
            ],
        ) from exc
    vm = kind.version_model
    clash = session.exec(
        select(vm.id).where(kind.fk() == getattr(row, kind.owner_fk), vm.version == new_version)
    ).first()
    if clash is not None:
        raise Conflict(
            _(
                "version {new_version} of {name} {code} already exists",
                new_version=new_version,
                name=label("artefact_kind", kind.name),
                code=code,
            )
        )
    row.version, row.major, row.minor, row.patch = new_version, nv.major, nv.minor, nv.patch
    row.status = PUBLISHED
    row.published_at = now()
    row.content_hash = content_hash(draft_doc)
    session.add(row)
    session.flush()
    return version_doc(code, row), diff


def deprecate(session: Session, kind: ArtefactKind[Any], code: str, version: str) -> VersionDoc:
    """Deprecate a published version (it stays readable)."""
    lock(session, kind, code)
    row = version_row(session, kind, code, version)
    if row.status != PUBLISHED:
        raise Conflict(
            _(
                "only a published version can be deprecated ({version} is {status})",
                version=version,
                status=row.status,
            )
        )
    row.status = DEPRECATED
    session.add(row)
    session.flush()
    return version_doc(code, row)


def smallest_version(
    session: Session, kind: ArtefactKind[Any], code: str, version: str
) -> tuple[str, Diff]:
    """The smallest release number the changes of ``version`` since the latest published
    version allow (a patch when nothing changed)."""
    latest = version_row(session, kind, code, None).version
    diff = diff_versions(session, kind, code, latest, version)
    bump = diff.required_bump
    return str(Version.parse(latest).bump("patch" if bump == "none" else bump)), diff
