"""Catalogue service: the workflows of the catalogue, each with its audit entry.

Every change to the catalogue goes through a function here, whoever asks (the HTTP routers,
the CLI's ``catalog import``): it does the change with :mod:`.artefacts` (store, drafts,
publish, deprecate), :mod:`.curation` (item edits, file imports) or :mod:`.review` (submit,
return, approve), and records the audit entry in the same transaction. Functions take a
``Session`` and never commit (the request or CLI unit of work does).

Reads live in :mod:`.namespaces`, :mod:`.frameworks` and :mod:`.indicators`; the names other
packages call are re-exported here (stable names): :func:`get_framework`,
:func:`get_indicator`, :class:`IndicatorReader`, :func:`resolve_standard`,
:func:`store_namespace`, :func:`store_framework`, :func:`import_catalogue`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from indicator_service.audit.service import record
from indicator_service.auth.principal import CLI_OPERATOR, Principal
from indicator_service.catalogue import artefacts, curation, review
from indicator_service.catalogue.artefacts import (
    DEPRECATED,
    DRAFT,
    FRAMEWORK_OWNER,
    PUBLISHED,
    READABLE,
    SUBMITTED,
    UNPUBLISHED,
    Kind,
    VersionDoc,
    VersionInfo,
)
from indicator_service.catalogue.frameworks import (
    DEFAULT_QUALITATIVE_LEVELS,
    FRAMEWORK,
    FrameworkInfo,
    FrameworkRelease,
    NodeRelease,
    apply_variants,
    get_framework,
    get_framework_document,
    list_frameworks,
    refuse_draft,
)
from indicator_service.catalogue.indicators import (
    IndicatorFilters,
    IndicatorReader,
    IndicatorRelease,
    StandardRow,
    get_indicator,
    list_indicators,
    resolve_standard,
    standards_for,
)
from indicator_service.catalogue.models import CatalogueFrameworkVersion, CatalogueNamespaceVersion
from indicator_service.catalogue.namespaces import (
    NAMESPACE,
    NamespaceInfo,
    get_namespace,
    get_namespace_version,
    latest_namespace_versions,
    list_namespaces,
)
from indicator_service.catalogue.review import KINDS, ReviewState
from indicator_service.catalogue.schemas import ImportReportOut
from indicator_service.catalogue.source import FrameworkDoc, NamespaceDoc
from indicator_service.catalogue.validation import Catalogue
from indicator_service.catalogue.versioning import Diff, Version
from indicator_service.core.errors import ErrorItem, Unprocessable
from indicator_service.core.i18n import _

__all__ = [
    "DEFAULT_QUALITATIVE_LEVELS",
    "DEPRECATED",
    "DRAFT",
    "FRAMEWORK_OWNER",
    "PUBLISHED",
    "READABLE",
    "SUBMITTED",
    "UNPUBLISHED",
    "FrameworkInfo",
    "FrameworkRelease",
    "ImportReport",
    "IndicatorFilters",
    "IndicatorReader",
    "IndicatorRelease",
    "NamespaceInfo",
    "NodeRelease",
    "ReviewState",
    "StandardRow",
    "VersionDoc",
    "VersionInfo",
    "apply_variants",
    "catalogue_readiness",
    "get_framework",
    "get_framework_document",
    "get_indicator",
    "get_namespace",
    "get_namespace_version",
    "import_catalogue",
    "latest_namespace_versions",
    "list_frameworks",
    "list_indicators",
    "list_namespaces",
    "refuse_draft",
    "resolve_standard",
    "standards_for",
    "store_framework",
    "store_namespace",
]


def _summary(rel: VersionDoc) -> dict[str, Any]:
    return {"version": rel.version, "status": rel.status, "content_hash": rel.content_hash}


def _audit(
    session: Session,
    who: Principal,
    action: str,
    kind: Kind,
    code: str,
    version: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    before: Any = None,
    after: Any = None,
    comment: str | None = None,
) -> None:
    record(
        session,
        who,
        action,
        object_type=object_type or f"{kind}_version",
        object_id=object_id or f"{code}@{version}",
        namespace=KINDS[kind].audit_namespace(code),
        version=version,
        before=before,
        after=after,
        comment=comment,
    )


# --- storing and importing ------------------------------------------------------------------------


def store_namespace(
    session: Session, doc: NamespaceDoc, status: str = PUBLISHED
) -> tuple[CatalogueNamespaceVersion, bool]:
    """Store ``doc`` as a version; returns (row, created) (:func:`.artefacts.store`)."""
    return artefacts.store(session, NAMESPACE, doc, status)


def store_framework(
    session: Session, doc: FrameworkDoc, status: str = PUBLISHED
) -> tuple[CatalogueFrameworkVersion, bool]:
    """Store ``doc`` as a version; returns (row, created) (:func:`.artefacts.store`)."""
    return artefacts.store(session, FRAMEWORK, doc, status)


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"published {x}" for x in self.created] + [f"unchanged {x}" for x in self.unchanged]


#: The audit comment of versions published by importing a catalogue folder.
IMPORT_COMMENT = "published by importing the catalogue source (catalog import)"


def import_catalogue(
    session: Session, cat: Catalogue, who: Principal = CLI_OPERATOR
) -> ImportReport:
    """Store every validated document as a published version (in the caller's transaction:
    all or nothing), with a ``version.publish`` audit entry per new version (identical content
    is a no-op and records nothing). Refuses a catalogue with validation problems."""
    if cat.issues:
        raise Unprocessable(
            _("the catalogue has {n_issues} problem(s)", n_issues=len(cat.issues)),
            errors=[
                ErrorItem(loc=[i.file, i.line], msg=i.message, type="catalogue")
                for i in cat.issues[:200]
            ],
        )
    report = ImportReport()
    docs: list[tuple[Kind, str, Any]] = [
        ("namespace", ns.namespace, ns)
        for _src, ns in sorted(
            cat.namespaces, key=lambda p: (p[1].namespace, Version.parse(p[1].version).sort_key())
        )
    ] + [
        ("framework", fw.framework, fw)
        for _src, fw in sorted(
            cat.frameworks, key=lambda p: (p[1].framework, Version.parse(p[1].version).sort_key())
        )
    ]
    for kind, code, doc in docs:
        row, created = artefacts.store(session, KINDS[kind], doc)
        label = f"{kind} {code} {doc.version}"
        if not created:
            report.unchanged.append(label)
            continue
        report.created.append(label)
        _audit(
            session,
            who,
            "version.publish",
            kind,
            code,
            row.version,
            after=_summary(artefacts.version_doc(code, row)),
            comment=IMPORT_COMMENT,
        )
    return report


def diff_versions(session: Session, kind: Kind, code: str, from_v: str, to_v: str) -> Diff:
    """Differences between two versions and the bump they require."""
    return artefacts.diff_versions(session, KINDS[kind], code, from_v, to_v)


def version_row(session: Session, kind: Kind, code: str, version: str) -> Any:
    """A version row of any status (404 when unknown), for reads that check who may see it."""
    return artefacts.version_row(session, KINDS[kind], code, version)


# --- drafts, publishing, deprecation --------------------------------------------------------------


def create_draft(session: Session, who: Principal, kind: Kind, code: str) -> VersionDoc:
    """A new draft copied from the latest published version (``draft.create``)."""
    rel = artefacts.create_draft(session, KINDS[kind], code)
    _audit(session, who, "draft.create", kind, code, rel.version, after=_summary(rel))
    return rel


def replace_draft(
    session: Session,
    who: Principal,
    kind: Kind,
    code: str,
    version: str,
    body: Mapping[str, Any],
    if_match: str | None,
) -> VersionDoc:
    """Replace a draft's whole document (``draft.update`` with both documents)."""
    before = artefacts.version_doc(code, artefacts.version_row(session, KINDS[kind], code, version))
    rel = artefacts.update_draft(session, KINDS[kind], code, version, body, if_match)
    _audit(session, who, "draft.update", kind, code, version, before=before, after=rel)
    return rel


def publish(
    session: Session,
    who: Principal,
    kind: Kind,
    code: str,
    version: str,
    target: str | None,
) -> tuple[VersionDoc, Diff]:
    """Publish a draft directly, without review (administrators; ``version.publish``)."""
    rel, diff = artefacts.publish(session, KINDS[kind], code, version, target)
    _audit(
        session,
        who,
        "version.publish",
        kind,
        code,
        rel.version,
        before={"version": version, "status": "draft"},
        after={**_summary(rel), "diff": diff.as_dict()},
        comment="direct publish by an administrator (no review)",
    )
    return rel, diff


def deprecate(session: Session, who: Principal, kind: Kind, code: str, version: str) -> VersionDoc:
    """Deprecate a published version (``version.deprecate``)."""
    rel = artefacts.deprecate(session, KINDS[kind], code, version)
    _audit(
        session,
        who,
        "version.deprecate",
        kind,
        code,
        version,
        before={"version": version, "status": "published"},
        after=_summary(rel),
    )
    return rel


# --- item edits -----------------------------------------------------------------------------------


def edit_item(
    session: Session,
    who: Principal,
    kind: Kind,
    code: str,
    version: str,
    if_match: str | None,
    mutate: curation.Mutation,
    *,
    action: str,
    object_id: Callable[[curation.Edited], str],
    before: Callable[[dict[str, Any]], Any],
    after: Callable[[dict[str, Any]], Any],
    comment: str | None,
) -> tuple[curation.Edited, Any]:
    """Apply an item edit to a draft (:func:`.curation.edit_draft`) and record ``action``
    (``indicator.create`` …) with the item before and after; returns the edit and the item
    after it."""
    ed = curation.edit_draft(session, kind, code, version, if_match, mutate)
    item_after = after(ed.after)
    record(
        session,
        who,
        action,
        object_type=action.split(".")[0],
        object_id=object_id(ed),
        namespace=KINDS[kind].audit_namespace(code),
        version=version,
        before=before(ed.before),
        after=item_after,
        comment=comment,
    )
    return ed, item_after


def import_file(
    session: Session,
    who: Principal,
    kind: Kind,
    code: str,
    version: str,
    data: bytes,
    content_type: str | None,
    if_match: str | None,
    validate_only: bool,
    comment: str | None,
) -> ImportReportOut:
    """Parse, merge, validate (all problems at once) and — unless validate-only or invalid —
    store with one compare-and-set and a ``draft.import`` entry; a failed import changes
    nothing (422 with every problem)."""
    got = curation.merge_file(
        session, kind, code, version, data, content_type, if_match, validate_only
    )
    report = ImportReportOut.build(
        got.fmt,
        validate_only,
        got.results,
        got.problems,
        applied=False,
        content_hash=got.row.content_hash,
    )
    if got.row_errors or got.problems:
        if validate_only:
            return report
        raise Unprocessable(
            _(
                "the import has {value} problem(s); nothing was changed",
                value=len(got.row_errors) + len(got.problems),
            ),
            errors=got.row_errors + got.problems,
        )
    if validate_only:
        return report
    ed = curation.store_document(session, kind, code, got.row, got.before, got.after, got.expected)
    report = report.model_copy(update={"applied": True, "content_hash": ed.content_hash})
    _audit(
        session,
        who,
        "draft.import",
        kind,
        code,
        version,
        before={"content_hash": got.expected},
        after={"content_hash": ed.content_hash, "format": got.fmt, "counts": report.counts},
        comment=comment,
    )
    return report


# --- review ---------------------------------------------------------------------------------------


def submit(
    session: Session, who: Principal, kind: Kind, code: str, version: str, comment: str | None
) -> ReviewState:
    state = review.submit(session, kind, code, version, who)
    _audit(
        session,
        who,
        "version.submit",
        kind,
        code,
        version,
        before={"status": "draft"},
        after={"status": state.status, "content_hash": state.content_hash},
        comment=comment,
    )
    return state


def return_draft(
    session: Session, who: Principal, kind: Kind, code: str, version: str, comment: str | None
) -> ReviewState:
    state = review.return_draft(session, kind, code, version, who, comment)
    _audit(
        session,
        who,
        "version.return",
        kind,
        code,
        version,
        before={"status": "submitted"},
        after={"status": state.status},
        comment=state.review_comment,
    )
    return state


def approve(
    session: Session,
    who: Principal,
    kind: Kind,
    code: str,
    version: str,
    target: str | None,
    comment: str | None,
) -> tuple[VersionDoc, Diff]:
    rel, diff = review.approve(session, kind, code, version, who, target)
    _audit(
        session,
        who,
        "version.approve",
        kind,
        code,
        rel.version,
        before={"version": version, "status": "submitted"},
        after={**_summary(rel), "diff": diff.as_dict()},
        comment=comment,
    )
    return rel, diff


# --- readiness ------------------------------------------------------------------------------------


def catalogue_readiness(session: Session) -> tuple[bool, str]:
    """A readiness check (``core.health.ReadinessCheck``): ready when at least one namespace and
    one framework version are published."""
    counts = [
        session.exec(select(func.count()).select_from(model).where(model.status == PUBLISHED)).one()
        for model in (CatalogueNamespaceVersion, CatalogueFrameworkVersion)
    ]
    n_ns, n_fw = counts
    detail = _(
        "{namespaces} namespace version(s), {frameworks} framework version(s) published",
        namespaces=n_ns,
        frameworks=n_fw,
    )
    return bool(n_ns and n_fw), detail
