"""Indicators and standards as published in namespace versions: lookups for the API and the
scoring engine (:func:`get_indicator`, :class:`IndicatorReader`, :func:`resolve_standard`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from indicator_service.catalogue.artefacts import not_found
from indicator_service.catalogue.heads import Heads, VersionHead, heads
from indicator_service.catalogue.matching import StandardMatch, match_standard
from indicator_service.catalogue.models import (
    CatalogueIndicator,
    CatalogueNamespace,
    CatalogueNamespaceVersion,
    CatalogueStandard,
)
from indicator_service.catalogue.namespaces import (
    latest_namespace_versions,
    namespace_version_row,
)
from indicator_service.core.cache import LRU
from indicator_service.core.errors import ErrorItem, NotFound
from indicator_service.core.i18n import _


@dataclass(frozen=True)
class IndicatorRelease:
    """One indicator definition as published in one namespace version."""

    code: str
    namespace: str
    namespace_version: str
    namespace_status: str
    kind: str
    sector: str | None
    name_zh: str
    name_en: str
    level: int
    parent: str | None
    class_l1: str | None
    class_l2: str | None
    value_type: str
    operator: str | None
    unit: str | None
    rule: dict[str, Any] | None
    definition: dict[str, Any]


class _VersionLike(Protocol):
    @property
    def version(self) -> str: ...
    @property
    def status(self) -> str: ...


def _indicator_release(row: CatalogueIndicator, ns_code: str, nv: _VersionLike) -> IndicatorRelease:
    return IndicatorRelease(
        code=row.code,
        namespace=ns_code,
        namespace_version=nv.version,
        namespace_status=nv.status,
        kind=row.kind,
        sector=row.sector,
        name_zh=row.name_zh,
        name_en=row.name_en,
        level=row.level,
        parent=row.parent,
        class_l1=row.class_l1,
        class_l2=row.class_l2,
        value_type=row.value_type,
        operator=row.operator,
        unit=row.unit,
        rule=row.data.get("rule"),
        definition=dict(row.data),
    )


def _namespace_of_code(session: Session, code: str) -> CatalogueNamespace:
    ns = session.exec(
        select(CatalogueNamespace).where(CatalogueNamespace.code_prefix == code.split("-", 1)[0])
    ).first()
    if ns is None:
        raise not_found(_("unknown indicator {code!r}", code=code), ["path", "code"])
    return ns


def get_indicator(
    session: Session, code: str, namespace_version: str | None = None
) -> IndicatorRelease:
    """The indicator ``code`` in its namespace's pinned version, or the latest published one."""
    return IndicatorReader(session).get(code, namespace_version)


class IndicatorReader:
    """:func:`get_indicator` for many codes in one session: the namespace of each code prefix
    and each namespace version are read once, and the indicators of a published (immutable)
    version come from a process-wide cache filled with one query (a 20-row submission's
    lookups went from 80 queries to 3). For one unit of work: it does not see versions
    published after it read them."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._namespaces: dict[str, CatalogueNamespace] = {}
        self._versions: dict[tuple[str, str | None], CatalogueNamespaceVersion] = {}

    def get(self, code: str, namespace_version: str | None = None) -> IndicatorRelease:
        snapshot = heads(self._session)
        ns_code = snapshot.namespace_of(code)
        head = snapshot.namespace(ns_code, namespace_version) if ns_code else None
        if ns_code is not None and head is not None:  # a published version: from memory
            found = published_indicators(self._session, head).get(code)
            if found is None:
                raise not_found(
                    _(
                        "unknown indicator {code!r} in namespace {namespace} {version}",
                        code=code,
                        namespace=ns_code,
                        version=head.version,
                    ),
                    ["path", "code"],
                )
            return found
        prefix = code.split("-", 1)[0]
        ns = self._namespaces.get(prefix)
        if ns is None:
            ns = self._namespaces[prefix] = _namespace_of_code(self._session, code)
        nv = self._versions.get((ns.code, namespace_version))
        if nv is None:
            nv = namespace_version_row(self._session, ns.code, namespace_version)
            self._versions[(ns.code, namespace_version)] = nv
        return _indicator_in(self._session, code, ns, nv)


# (namespace version id, content hash, status) → its indicators in code order: published
# content never changes (the status may: published → deprecated, a new key). Shared: treat as
# read-only.
_PUBLISHED_INDICATORS: LRU[tuple[int, str, str], dict[str, IndicatorRelease]] = LRU(64)


def published_indicators(session: Session, head: VersionHead) -> dict[str, IndicatorRelease]:
    """Every indicator of a published (or deprecated) namespace version, by code (in code
    order), read once per process."""

    def load() -> dict[str, IndicatorRelease]:
        rows = session.exec(
            select(CatalogueIndicator)
            .where(CatalogueIndicator.namespace_version_id == head.id)
            .order_by(col(CatalogueIndicator.code))
        ).all()
        return {row.code: _indicator_release(row, head.code, head) for row in rows}

    return _PUBLISHED_INDICATORS.get_or_set((head.id, head.content_hash, head.status), load)


def _indicator_in(
    session: Session, code: str, ns: CatalogueNamespace, nv: CatalogueNamespaceVersion
) -> IndicatorRelease:
    row = session.exec(
        select(CatalogueIndicator).where(
            CatalogueIndicator.namespace_version_id == nv.id, CatalogueIndicator.code == code
        )
    ).first()
    if row is None:
        raise not_found(
            _(
                "unknown indicator {code!r} in namespace {namespace} {version}",
                code=code,
                namespace=ns.code,
                version=nv.version,
            ),
            ["path", "code"],
        )
    return _indicator_release(row, ns.code, nv)


@dataclass(frozen=True)
class IndicatorFilters:
    namespace: str | None = None
    version: str | None = None
    sector: str | None = None
    level: int | None = None
    class_l1: str | None = None
    class_l2: str | None = None
    project_type: str | None = None
    value_type: str | None = None
    q: str | None = None


def listed_versions(snapshot: Heads, f: IndicatorFilters) -> list[VersionHead] | None:
    """The namespace versions an indicator search reads, when all are published or deprecated
    (its answer then comes from memory); None when the database must answer (a draft, an
    unknown namespace or version)."""
    if f.namespace is not None:
        head = snapshot.namespace(f.namespace, f.version)
        return None if head is None else [head]
    if f.version is not None:
        return snapshot.namespaces_with(f.version)
    return list(snapshot.latest_namespaces.values())


def _matches(ind: IndicatorRelease, f: IndicatorFilters, text: str | None) -> bool:
    """The search's conditions, as the SQL of :func:`list_indicators` states them."""
    if f.sector is not None and ind.sector != f.sector:
        return False
    if f.level is not None and ind.level != f.level:
        return False
    if f.class_l1 is not None and ind.class_l1 != f.class_l1:
        return False
    if f.class_l2 is not None and ind.class_l2 != f.class_l2:
        return False
    if f.value_type is not None and ind.value_type != f.value_type:
        return False
    if f.project_type is not None:
        tags = ind.definition.get("tags") or {}
        if f.project_type not in (tags.get("project_types") or ()):
            return False
    if text:
        return any(text in x.lower() for x in (ind.code, ind.name_zh, ind.name_en))
    return True


def list_indicators(
    session: Session, f: IndicatorFilters, limit: int, offset: int
) -> tuple[list[IndicatorRelease], int]:
    """A page of the indicators matching ``f`` in code order, and how many match. Published
    versions are searched in memory (their indicators are cached per version)."""
    listed = listed_versions(heads(session), f)
    if listed is not None:
        text = f.q.strip().lower() if f.q else None
        found = [
            ind
            for head in listed
            for ind in published_indicators(session, head).values()
            if _matches(ind, f, text)
        ]
        found.sort(key=lambda ind: ind.code)
        return found[offset : offset + limit], len(found)
    if f.namespace is not None:
        nv = namespace_version_row(session, f.namespace, f.version)
        versions = {f.namespace: nv}
    elif f.version is not None:
        # every namespace that has this version (any status)
        pinned = session.exec(
            select(CatalogueNamespace.code, CatalogueNamespaceVersion)
            .join(
                CatalogueNamespaceVersion,
                col(CatalogueNamespaceVersion.namespace_id) == col(CatalogueNamespace.id),
            )
            .where(CatalogueNamespaceVersion.version == f.version)
        ).all()
        versions = dict(pinned)
    else:
        versions = latest_namespace_versions(session)
    by_id = {nv.id: (code, nv) for code, nv in versions.items()}
    conds: list[Any] = [col(CatalogueIndicator.namespace_version_id).in_(list(by_id))]
    if f.sector is not None:
        conds.append(CatalogueIndicator.sector == f.sector)
    if f.level is not None:
        conds.append(CatalogueIndicator.level == f.level)
    if f.class_l1 is not None:
        conds.append(CatalogueIndicator.class_l1 == f.class_l1)
    if f.class_l2 is not None:
        conds.append(CatalogueIndicator.class_l2 == f.class_l2)
    if f.value_type is not None:
        conds.append(CatalogueIndicator.value_type == f.value_type)
    if f.project_type is not None:
        conds.append(
            col(CatalogueIndicator.project_types).contains(f"|{f.project_type}|", autoescape=True)
        )
    if f.q:
        text = f.q.strip().lower()
        conds.append(
            or_(
                func.lower(CatalogueIndicator.code).contains(text, autoescape=True),
                func.lower(CatalogueIndicator.name_zh).contains(text, autoescape=True),
                func.lower(CatalogueIndicator.name_en).contains(text, autoescape=True),
            )
        )
    total = session.exec(select(func.count()).select_from(CatalogueIndicator).where(*conds)).one()
    rows = session.exec(
        select(CatalogueIndicator)
        .where(*conds)
        .order_by(col(CatalogueIndicator.code))
        .offset(offset)
        .limit(limit)
    ).all()
    out = []
    for r in rows:
        code, nv = by_id[r.namespace_version_id]
        out.append(_indicator_release(r, code, nv))
    return out, int(total)


# --- standards ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StandardRow:
    indicator: str
    type: str
    namespace: str
    namespace_version: str
    region: str
    fiscal_year: int | None
    sector: str | None
    project_type: str | None
    valid_from: date | None
    valid_to: date | None
    operator: str | None
    value: float | None
    min: float | None
    max: float | None
    levels: list[float] | None
    unit: str | None
    derivation: str | None
    source: dict[str, Any] | None  # a citation (source.Citation as JSON)
    illustrative: bool = False


def _citation(source: Any) -> dict[str, Any] | None:
    """A stored citation without its empty optional fields."""
    if not isinstance(source, dict):
        return None
    return {k: v for k, v in source.items() if v is not None}


def _standard(row: CatalogueStandard, ns_code: str, version: str) -> StandardRow:
    d = row.data
    return StandardRow(
        indicator=row.indicator_code,
        type=row.type,
        namespace=ns_code,
        namespace_version=version,
        region=row.region,
        fiscal_year=row.fiscal_year,
        sector=row.sector,
        project_type=row.project_type,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        operator=d.get("operator"),
        value=d.get("value"),
        min=d.get("min"),
        max=d.get("max"),
        levels=d.get("levels"),
        unit=d.get("unit"),
        derivation=d.get("derivation"),
        source=_citation(d.get("source")),
        illustrative=bool(d.get("illustrative", False)),
    )


# (namespace version id, content hash) → indicator code → (position, row) of its standards
_PUBLISHED_STANDARDS: LRU[tuple[int, str], dict[str, list[tuple[int, StandardRow]]]] = LRU(64)


def _published_standards(
    session: Session, head: VersionHead
) -> dict[str, list[tuple[int, StandardRow]]]:
    def load() -> dict[str, list[tuple[int, StandardRow]]]:
        out: dict[str, list[tuple[int, StandardRow]]] = {}
        for r in session.exec(
            select(CatalogueStandard)
            .where(CatalogueStandard.namespace_version_id == head.id)
            .order_by(col(CatalogueStandard.position))
        ):
            out.setdefault(r.indicator_code, []).append(
                (r.position, _standard(r, head.code, head.version))
            )
        return out

    return _PUBLISHED_STANDARDS.get_or_set((head.id, head.content_hash), load)


def standard_versions(
    snapshot: Heads, indicator_code: str, namespace_version: str | None
) -> list[VersionHead] | None:
    """The namespace versions :func:`standards_for` reads, when all are published or
    deprecated; None when the database must answer."""
    versions = dict(snapshot.latest_namespaces)
    owner = snapshot.namespace_of(indicator_code)
    if owner is None:
        return None
    if namespace_version is not None:
        pinned = snapshot.namespace(owner, namespace_version)
        if pinned is None:
            return None
        versions[owner] = pinned
    return list(versions.values())


def standards_for(
    session: Session, indicator_code: str, namespace_version: str | None = None
) -> list[StandardRow]:
    """Every standard row for an indicator: from the latest published version of every
    namespace, except the indicator's own namespace which follows the pin. Published versions'
    standards come from memory."""
    listed = standard_versions(heads(session), indicator_code, namespace_version)
    if listed is not None:
        found = [
            pair
            for head in listed
            for pair in _published_standards(session, head).get(indicator_code, ())
        ]
        found.sort(key=lambda pair: pair[0])
        return [row for _pos, row in found]
    versions = latest_namespace_versions(session)
    owner = _namespace_of_code(session, indicator_code)
    if namespace_version is not None:
        versions[owner.code] = namespace_version_row(session, owner.code, namespace_version)
    by_id = {nv.id: (code, nv.version) for code, nv in versions.items()}
    rows = session.exec(
        select(CatalogueStandard)
        .where(
            col(CatalogueStandard.namespace_version_id).in_(list(by_id)),
            CatalogueStandard.indicator_code == indicator_code,
        )
        .order_by(col(CatalogueStandard.position))
    ).all()
    return [_standard(r, *by_id[r.namespace_version_id]) for r in rows]


def resolve_standard(
    session: Session,
    indicator_code: str,
    *,
    type: str | None,
    region: str | None,
    fiscal_year: int | None,
    sector: str | None = None,
    project_type: str | None = None,
    namespace_version: str | None = None,
    include_illustrative: bool = False,
) -> StandardMatch[StandardRow]:
    """The best-matching standard row and why (:func:`.matching.match_standard`): exact region
    beats parent region beats national; exact year beats the nearest earlier year beats a
    year-less row; the validity period must cover the year; exact sector/project type beat rows
    that leave them open."""
    rows = standards_for(session, indicator_code, namespace_version)
    match = match_standard(
        rows,
        type=type,
        region=region,
        fiscal_year=fiscal_year,
        sector=sector,
        project_type=project_type,
        include_illustrative=include_illustrative,
    )
    if match is None:
        detail = _(
            "no standard for {indicator_code}{value}",
            indicator_code=indicator_code,
            value="".join(
                (
                    f" {k}={v}"
                    for k, v in (
                        ("type", type),
                        ("region", region),
                        ("fiscal_year", fiscal_year),
                        ("sector", sector),
                        ("project_type", project_type),
                    )
                    if v is not None
                )
            ),
        )
        raise NotFound(
            detail, errors=[ErrorItem(loc=["query", "indicator"], msg=detail, type="not_found")]
        )
    return match
