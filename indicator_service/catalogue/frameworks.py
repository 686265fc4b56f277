"""Frameworks (indicator trees with points) as a versioned artefact: what is specific to them.

The generic store / drafts / publish / diff / lock are :mod:`.artefacts`; here are the derived
node rows, the draft checks (fields, then cross-document against the namespace versions the
framework requires), and the resolved release the scoring engine reads (:func:`get_framework`,
cached per published version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, delete, select

from indicator_service.catalogue import artefacts
from indicator_service.catalogue.artefacts import DRAFT, ArtefactKind, VersionInfo
from indicator_service.catalogue.heads import heads
from indicator_service.catalogue.models import (
    CatalogueFramework,
    CatalogueFrameworkNode,
    CatalogueFrameworkVersion,
    CatalogueIndicator,
)
from indicator_service.catalogue.namespaces import namespace_version_row
from indicator_service.catalogue.source import DEFAULT_BANDS, FrameworkDoc, MonitoringRules
from indicator_service.catalogue.validation import SourceDoc, validate_documents
from indicator_service.catalogue.versioning import diff_frameworks
from indicator_service.core.cache import LRU
from indicator_service.core.errors import ErrorItem, NotFound, Unprocessable
from indicator_service.core.i18n import _, validation_message
from indicator_service.rules import DEFAULT_QUALITATIVE_LEVELS


def _ensure_owner(session: Session, doc: FrameworkDoc) -> CatalogueFramework:
    fw = session.exec(
        select(CatalogueFramework).where(CatalogueFramework.code == doc.framework)
    ).first()
    if fw is None:
        fw = CatalogueFramework(code=doc.framework, kind=doc.kind)
        session.add(fw)
        session.flush()
    return fw


def _require_namespaces(session: Session, doc: FrameworkDoc) -> None:
    for ns_code, v in doc.requires.items():
        namespace_version_row(session, ns_code, v)  # 404 when the pinned namespace is missing


def _set_header(row: CatalogueFrameworkVersion, doc: FrameworkDoc) -> None:
    row.name_zh, row.name_en = doc.name_zh, doc.name_en


def _write_rows(session: Session, fv: CatalogueFrameworkVersion, doc: FrameworkDoc) -> None:
    assert fv.id is not None
    session.exec(
        delete(CatalogueFrameworkNode).where(
            col(CatalogueFrameworkNode.framework_version_id) == fv.id
        )
    )
    session.add_all(
        CatalogueFrameworkNode(
            framework_version_id=fv.id,
            position=i,
            code=n.code,
            parent=n.parent,
            level=n.level,
            points=n.points,
            open=n.open,
            indicator=n.indicator,
            data=n.model_dump(mode="json"),
        )
        for i, n in enumerate(doc.nodes)
    )


def validate_framework_draft(
    session: Session, code: str, version: str, body: Mapping[str, Any]
) -> FrameworkDoc:
    """Every check a framework draft edit runs; 422 listing every problem."""
    data = dict(body)
    if data.get("framework", code) != code:
        raise Unprocessable(
            _("framework mismatch"),
            errors=[
                ErrorItem(
                    loc=["body", "framework"],
                    msg=_("must be {code!r}", code=code),
                    type="value_error",
                )
            ],
        )
    data["framework"] = code
    data["version"] = version
    try:
        doc = FrameworkDoc.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable(
            _("invalid framework document"),
            errors=[
                ErrorItem(loc=["body", *e["loc"]], msg=validation_message(e), type=e["type"])
                for e in exc.errors(include_url=False)
            ],
        ) from exc
    # cross-document checks against the namespace versions the draft requires
    docs = [SourceDoc(f"{code}@{doc.version}", doc.model_dump(mode="json"), {})]
    for ns_code, v in doc.requires.items():
        try:
            nv = namespace_version_row(session, ns_code, v)
        except NotFound:
            continue  # reported by the validator as a missing requirement
        docs.append(SourceDoc(f"{ns_code}@{v}", {**nv.document, "version": v}, {}))
    issues = [i for i in validate_documents(docs).issues if i.file == docs[0].file]
    if issues:
        raise Unprocessable(
            _("the draft has {n_issues} problem(s)", n_issues=len(issues)),
            errors=[ErrorItem(loc=["body"], msg=i.message, type="catalogue") for i in issues],
        )
    return doc


FRAMEWORK: ArtefactKind[FrameworkDoc] = ArtefactKind(
    name="framework",
    owner_model=CatalogueFramework,
    version_model=CatalogueFrameworkVersion,
    owner_fk="framework_id",
    doc_model=FrameworkDoc,
    code_loc="code",
    code_of=lambda d: d.framework,
    diff=diff_frameworks,
    ensure_owner=_ensure_owner,
    before_store=_require_namespaces,
    set_header=_set_header,
    write_rows=_write_rows,
    validate_draft=validate_framework_draft,
)


def framework_version_row(
    session: Session, code: str, version: str | None
) -> CatalogueFrameworkVersion:
    """A pinned version (any status), or the latest published one."""
    row: CatalogueFrameworkVersion = artefacts.version_row(session, FRAMEWORK, code, version)
    return row


# (version id, content hash, status) → the source document of a published version
_DOCUMENT_CACHE: LRU[tuple[int, str, str], artefacts.VersionDoc] = LRU(256)


def get_framework_document(
    session: Session, code: str, version: str | None
) -> artefacts.VersionDoc:
    """A version's source document; published and deprecated ones from memory."""
    head = heads(session).framework(code, version)
    if head is None:
        return artefacts.version_doc(code, framework_version_row(session, code, version))
    return _DOCUMENT_CACHE.get_or_set(
        (head.id, head.content_hash, head.status),
        lambda: artefacts.version_doc(code, framework_version_row(session, code, head.version)),
    )


# --- the resolved release -------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeRelease:
    code: str
    parent: str | None
    level: int
    points: float
    name_zh: str
    name_en: str
    open: bool
    indicator: str | None
    rule: dict[str, Any] | None
    target: float | None
    standard_type: str | None
    children: tuple[str, ...]
    target_is_minimum: bool = False


@dataclass(frozen=True)
class FrameworkRelease:
    code: str
    version: str
    status: str
    content_hash: str
    kind: str
    name_zh: str
    name_en: str
    bands: tuple[dict[str, Any], ...]
    missing_policy: str
    not_applicable_policy: str
    rule_variants: dict[str, Any]
    requires: dict[str, str]
    constraints: tuple[dict[str, Any], ...]
    nodes: tuple[NodeRelease, ...]
    document: FrameworkDoc  # the stored document, every field
    consequences_source: dict[str, Any] | None = None  # where the bands' consequences come from
    level_synonyms: dict[str, list[str]] | None = None
    standard_precedence: tuple[str, ...] | None = None
    # in-year monitoring thresholds, the defaults filled in (catalogue.source.MonitoringRules)
    monitoring: dict[str, float] = field(default_factory=dict)
    reevaluation: dict[str, Any] | None = None  # the distortion rule (自评失真), when stated


def apply_variants(
    rule: Mapping[str, Any] | None, variants: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A rule with the framework's variants applied (lower-is-better variant, qualitative
    levels)."""
    if rule is None:
        return None
    out = dict(rule)
    if out.get("kind") == "lower_better" and "variant" not in out:
        out["variant"] = variants.get("lower_better") or "linear"
    if out.get("kind") == "qualitative" and "levels" not in out:
        out["levels"] = [
            dict(x) for x in (variants.get("qualitative_levels") or DEFAULT_QUALITATIVE_LEVELS)
        ]
    return out


# (code, version, content hash) → resolved published release (immutable). Bounded: the key
# comes from the caller's pinned version, and deprecated versions stay readable.
_FRAMEWORK_CACHE: LRU[tuple[str, str, str], FrameworkRelease] = LRU(256)


def _build_release(session: Session, row: CatalogueFrameworkVersion, code: str) -> FrameworkRelease:
    doc = artefacts.doc_of(FRAMEWORK, row)
    variants = doc.rule_variants.model_dump(mode="json")
    indicator_rules: dict[str, dict[str, Any] | None] = {}
    for ns_code, v in doc.requires.items():
        nv = namespace_version_row(session, ns_code, v)
        for ir in session.exec(
            select(CatalogueIndicator).where(CatalogueIndicator.namespace_version_id == nv.id)
        ):
            indicator_rules[ir.code] = ir.data.get("rule")
    children: dict[str | None, list[int]] = {}
    for i, n in enumerate(doc.nodes):
        children.setdefault(n.parent, []).append(i)
    ordered: list[NodeRelease] = []

    def visit(i: int) -> None:
        n = doc.nodes[i]
        rule = n.rule if n.rule is not None else indicator_rules.get(n.indicator or "")
        ordered.append(
            NodeRelease(
                code=n.code,
                parent=n.parent,
                level=n.level,
                points=n.points,
                name_zh=n.name_zh,
                name_en=n.name_en,
                open=n.open,
                indicator=n.indicator,
                rule=apply_variants(rule, variants),
                target=n.target,
                standard_type=n.standard_type,
                children=tuple(doc.nodes[k].code for k in children.get(n.code, [])),
                target_is_minimum=n.target_is_minimum,
            )
        )
        for k in children.get(n.code, []):
            visit(k)

    for i in children.get(None, []):
        visit(i)
    return FrameworkRelease(
        code=code,
        version=row.version,
        status=row.status,
        content_hash=row.content_hash,
        kind=doc.kind,
        name_zh=doc.name_zh,
        name_en=doc.name_en,
        bands=tuple(b.model_dump(mode="json") for b in doc.bands) or DEFAULT_BANDS,
        missing_policy=doc.missing_policy,
        not_applicable_policy=doc.not_applicable_policy,
        rule_variants=variants,
        requires=dict(doc.requires),
        constraints=tuple(c.model_dump(mode="json") for c in doc.constraints),
        nodes=tuple(ordered),
        consequences_source=(
            doc.consequences_source.model_dump(mode="json") if doc.consequences_source else None
        ),
        level_synonyms=(
            {k: list(v) for k, v in doc.level_synonyms.items()} if doc.level_synonyms else None
        ),
        standard_precedence=(
            tuple(doc.standard_precedence) if doc.standard_precedence is not None else None
        ),
        monitoring=(doc.monitoring or MonitoringRules()).model_dump(mode="json"),
        document=doc,
        reevaluation=doc.reevaluation.model_dump(mode="json") if doc.reevaluation else None,
    )


def refuse_draft(code: str, version: str) -> None:
    """What is stored (evaluations, target reviews, monitoring records) is pinned to published
    framework versions: a draft changes under its version, and a stored record must be
    reproducible from the versions it echoes. 422 ``draft_version`` at ``body.version``, for
    every key."""
    detail = _(
        "a record is stored against a published framework version: {code} {version} is a "
        "draft and can still change",
        code=code,
        version=version,
    )
    raise Unprocessable(
        detail, errors=[ErrorItem(loc=["body", "version"], msg=detail, type="draft_version")]
    )


def get_framework(session: Session, code: str, version: str | None = None) -> FrameworkRelease:
    """The resolved framework (latest published unless pinned). Published releases are cached
    in-process by (code, version, content hash): they are immutable. Which version is the
    latest, and its status, come from the in-memory map of versions (:mod:`.heads`): a cache
    hit costs no query. Drafts, and versions that map does not know, are read from the
    database."""
    head = heads(session).framework(code, version)
    if head is not None:
        key = (code, head.version, head.content_hash)
        cached = _FRAMEWORK_CACHE.get(key)
        if cached is None:
            row = framework_version_row(session, code, head.version)
            cached = _build_release(session, row, code)
            _FRAMEWORK_CACHE[key] = cached
        return cached if cached.status == head.status else _replace_status(cached, head.status)
    row = framework_version_row(session, code, version)  # 404 problems come from here
    key = (code, row.version, row.content_hash)
    if row.status != DRAFT:
        hit = _FRAMEWORK_CACHE.get(key)
        if hit is not None:
            return hit if hit.status == row.status else _replace_status(hit, row.status)
    release = _build_release(session, row, code)
    if row.status != DRAFT:
        _FRAMEWORK_CACHE[key] = release
    return release


def _replace_status(r: FrameworkRelease, status: str) -> FrameworkRelease:
    return replace(r, status=status)


@dataclass(frozen=True)
class FrameworkInfo:
    code: str
    kind: str
    name_zh: str
    name_en: str
    latest_published: str | None
    versions: list[VersionInfo]


def list_frameworks(session: Session) -> list[FrameworkInfo]:
    out = []
    for fw in session.exec(select(CatalogueFramework).order_by(col(CatalogueFramework.code))):
        rows = artefacts.versions_of(session, FRAMEWORK, fw.id)
        latest, head = artefacts.latest_and_head(rows)
        out.append(
            FrameworkInfo(
                fw.code,
                fw.kind,
                head.name_zh,
                head.name_en,
                latest.version if latest else None,
                artefacts.version_infos(rows),
            )
        )
    return out
