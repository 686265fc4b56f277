"""Namespaces (indicator libraries) as a versioned artefact: what is specific to them.

The generic store / drafts / publish / diff / lock are :mod:`.artefacts`; here are the owner
row (kind, sector and code prefix fixed per namespace), the derived indicator and standard rows,
the draft checks (fields, then cross-document against the latest published namespaces) and the
namespace listings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, delete, select

from indicator_service.catalogue import artefacts
from indicator_service.catalogue.artefacts import PUBLISHED, ArtefactKind, VersionInfo
from indicator_service.catalogue.heads import heads
from indicator_service.catalogue.models import (
    CatalogueIndicator,
    CatalogueNamespace,
    CatalogueNamespaceVersion,
    CatalogueStandard,
)
from indicator_service.catalogue.source import IndicatorDef, NamespaceDoc, StandardDef
from indicator_service.catalogue.validation import SourceDoc, validate_documents
from indicator_service.catalogue.versioning import diff_namespaces
from indicator_service.core.cache import LRU
from indicator_service.core.errors import Conflict, ErrorItem, Unprocessable
from indicator_service.core.i18n import _, validation_message


def _ensure_owner(session: Session, doc: NamespaceDoc) -> CatalogueNamespace:
    ns = session.exec(
        select(CatalogueNamespace).where(CatalogueNamespace.code == doc.namespace)
    ).first()
    if ns is None:
        clash = session.exec(
            select(CatalogueNamespace).where(CatalogueNamespace.code_prefix == doc.code_prefix)
        ).first()
        if clash is not None:
            raise Conflict(
                _(
                    "code prefix {code_prefix} is already used by namespace {code}",
                    code_prefix=doc.code_prefix,
                    code=clash.code,
                )
            )
        ns = CatalogueNamespace(
            code=doc.namespace, kind=doc.kind, sector=doc.sector, code_prefix=doc.code_prefix
        )
        session.add(ns)
        session.flush()
    elif (ns.kind, ns.sector, ns.code_prefix) != (doc.kind, doc.sector, doc.code_prefix):
        raise Conflict(
            _(
                "namespace {namespace} exists with kind {kind}, sector {sector}, "
                "prefix {code_prefix}; a version cannot change them",
                namespace=doc.namespace,
                kind=ns.kind,
                sector=ns.sector,
                code_prefix=ns.code_prefix,
            )
        )
    return ns


def _set_header(row: CatalogueNamespaceVersion, doc: NamespaceDoc) -> None:
    row.name_zh, row.name_en, row.owner = doc.name_zh, doc.name_en, doc.owner


def _indicator_row(nv_id: int, pos: int, ns: NamespaceDoc, ind: IndicatorDef) -> CatalogueIndicator:
    data = ind.model_dump(mode="json")
    data["rule"] = ind.effective_rule()
    return CatalogueIndicator(
        namespace_version_id=nv_id,
        position=pos,
        code=ind.code,
        name_zh=ind.name_zh,
        name_en=ind.name_en,
        kind=ns.kind,
        sector=ns.sector,
        level=ind.level,
        parent=ind.parent,
        class_l1=ind.class_l1,
        class_l2=ind.class_l2,
        value_type=ind.value_type,
        operator=ind.operator,
        unit=ind.unit,
        project_types="|" + "|".join(ind.tags.project_types) + "|",
        data=data,
    )


def _standard_row(nv_id: int, pos: int, st: StandardDef) -> CatalogueStandard:
    return CatalogueStandard(
        namespace_version_id=nv_id,
        position=pos,
        indicator_code=st.indicator,
        type=st.type,
        region=st.region,
        fiscal_year=st.fiscal_year,
        sector=st.sector,
        project_type=st.project_type,
        valid_from=st.valid_from,
        valid_to=st.valid_to,
        data=st.model_dump(mode="json"),
    )


def _write_rows(session: Session, nv: CatalogueNamespaceVersion, doc: NamespaceDoc) -> None:
    assert nv.id is not None
    session.exec(
        delete(CatalogueIndicator).where(col(CatalogueIndicator.namespace_version_id) == nv.id)
    )
    session.exec(
        delete(CatalogueStandard).where(col(CatalogueStandard.namespace_version_id) == nv.id)
    )
    session.add_all(_indicator_row(nv.id, i, doc, ind) for i, ind in enumerate(doc.indicators))
    session.add_all(_standard_row(nv.id, j, st) for j, st in enumerate(doc.standards))


def parse_namespace_document(
    code: str, version: str, body: Mapping[str, Any], loc: Sequence[str | int] = ("body",)
) -> NamespaceDoc:
    """The namespace document ``body`` as draft ``version`` of ``code`` (422 with every
    field problem at once)."""
    data = dict(body)
    if data.get("namespace", code) != code:
        raise Unprocessable(
            _("namespace mismatch"),
            errors=[
                ErrorItem(
                    loc=[*loc, "namespace"],
                    msg=_("must be {code!r}", code=code),
                    type="value_error",
                )
            ],
        )
    data.setdefault("namespace", code)
    data["version"] = version
    try:
        return NamespaceDoc.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable(
            _("invalid namespace document"),
            errors=[
                ErrorItem(loc=[*loc, *e["loc"]], msg=validation_message(e), type=e["type"])
                for e in exc.errors(include_url=False)
            ],
        ) from exc


def validate_namespace_draft(
    session: Session, code: str, version: str, body: Mapping[str, Any]
) -> NamespaceDoc:
    """Every check a draft edit runs (fields, then cross-document against the latest published
    namespaces, then the fixed header); 422 listing every problem."""
    doc = parse_namespace_document(code, version, body)
    _validate_against_catalogue(session, doc)
    ns = artefacts.owner_row(session, NAMESPACE, code)
    if (doc.kind, doc.sector, doc.code_prefix) != (ns.kind, ns.sector, ns.code_prefix):
        raise Unprocessable(
            _("kind, sector and code_prefix of a namespace cannot change"),
            errors=[
                ErrorItem(
                    loc=["body", "code_prefix"], msg=_("fixed per namespace"), type="value_error"
                )
            ],
        )
    return doc


def _validate_against_catalogue(session: Session, doc: NamespaceDoc) -> None:
    """Cross-document checks of a draft against the latest published namespaces."""
    docs = [SourceDoc(f"{doc.namespace}@{doc.version}", doc.model_dump(mode="json"), {})]
    for code, nv in latest_namespace_versions(session).items():
        if code != doc.namespace:
            docs.append(
                SourceDoc(f"{code}@{nv.version}", {**nv.document, "version": nv.version}, {})
            )
    issues = [i for i in validate_documents(docs).issues if i.file == docs[0].file]
    if issues:
        raise Unprocessable(
            _("the draft has {n_issues} problem(s)", n_issues=len(issues)),
            errors=[ErrorItem(loc=["body"], msg=i.message, type="catalogue") for i in issues],
        )


def _no_check(_session: Session, _doc: NamespaceDoc) -> None:
    return None


NAMESPACE: ArtefactKind[NamespaceDoc] = ArtefactKind(
    name="namespace",
    owner_model=CatalogueNamespace,
    version_model=CatalogueNamespaceVersion,
    owner_fk="namespace_id",
    doc_model=NamespaceDoc,
    code_loc="namespace",
    code_of=lambda d: d.namespace,
    diff=diff_namespaces,
    ensure_owner=_ensure_owner,
    before_store=_no_check,
    set_header=_set_header,
    write_rows=_write_rows,
    validate_draft=validate_namespace_draft,
)


# --- reads ----------------------------------------------------------------------------------------


def namespace_version_row(
    session: Session, code: str, version: str | None, *, loc: str = "version"
) -> CatalogueNamespaceVersion:
    """A pinned version (any status), or the latest published one."""
    row: CatalogueNamespaceVersion = artefacts.version_row(
        session, NAMESPACE, code, version, loc=loc
    )
    return row


def latest_namespace_versions(session: Session) -> dict[str, CatalogueNamespaceVersion]:
    """namespace code → its latest published version row."""
    rows = session.exec(
        select(CatalogueNamespace.code, CatalogueNamespaceVersion)
        .join(
            CatalogueNamespaceVersion,
            col(CatalogueNamespaceVersion.namespace_id) == col(CatalogueNamespace.id),
        )
        .where(CatalogueNamespaceVersion.status == PUBLISHED)
        .options(defer(CatalogueNamespaceVersion.document))
    ).all()
    best: dict[str, CatalogueNamespaceVersion] = {}
    for code, nv in rows:
        if code not in best or (nv.major, nv.minor, nv.patch) > (
            best[code].major,
            best[code].minor,
            best[code].patch,
        ):
            best[code] = nv
    return best


@dataclass(frozen=True)
class NamespaceInfo:
    code: str
    kind: str
    sector: str | None
    code_prefix: str
    name_zh: str
    name_en: str
    owner: str
    latest_published: str | None
    versions: list[VersionInfo]


def _namespace_info(session: Session, ns: CatalogueNamespace) -> NamespaceInfo:
    rows = artefacts.versions_of(session, NAMESPACE, ns.id)
    latest, head = artefacts.latest_and_head(rows)
    assert isinstance(head, CatalogueNamespaceVersion)
    return NamespaceInfo(
        ns.code,
        ns.kind,
        ns.sector,
        ns.code_prefix,
        head.name_zh,
        head.name_en,
        head.owner,
        latest.version if latest else None,
        artefacts.version_infos(rows),
    )


def list_namespaces(session: Session) -> list[NamespaceInfo]:
    return [
        _namespace_info(session, ns)
        for ns in session.exec(select(CatalogueNamespace).order_by(col(CatalogueNamespace.code)))
    ]


def get_namespace(session: Session, code: str) -> NamespaceInfo:
    return _namespace_info(session, artefacts.owner_row(session, NAMESPACE, code))


# (version id, content hash, status) → the document of a published version
_DOCUMENT_CACHE: LRU[tuple[int, str, str], artefacts.VersionDoc] = LRU(256)


def get_namespace_version(session: Session, code: str, version: str | None) -> artefacts.VersionDoc:
    """A version's full document; published and deprecated ones from memory (:mod:`.heads`)."""
    head = heads(session).namespace(code, version)
    if head is None:
        return artefacts.version_doc(code, namespace_version_row(session, code, version))
    return _DOCUMENT_CACHE.get_or_set(
        (head.id, head.content_hash, head.status),
        lambda: artefacts.version_doc(code, namespace_version_row(session, code, head.version)),
    )
