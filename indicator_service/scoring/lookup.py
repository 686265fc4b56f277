"""Where scoring finds its catalogue: the :class:`CatalogueLookup` protocol (framework by
code and version, indicator by code, standard resolution) and its two implementations:
:class:`DocumentCatalogue` over parsed catalogue documents (the YAML source, tests, the CLI)
and :class:`DatabaseCatalogue` over the published versions in the database (releases are
cached per immutable version).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlmodel import Session

from indicator_service import rules
from indicator_service.catalogue.artefacts import UNPUBLISHED
from indicator_service.catalogue.matching import match_standard
from indicator_service.catalogue.source import (
    FrameworkDoc,
    NamespaceDoc,
    StandardDef,
)
from indicator_service.core.cache import LRU
from indicator_service.core.errors import ErrorItem, NotFound
from indicator_service.core.i18n import _, localized
from indicator_service.rules.labels import label

if TYPE_CHECKING:  # prepare imports this module: the name is for the type checker only
    from indicator_service.catalogue.frameworks import FrameworkRelease
    from indicator_service.scoring.prepare import Structure

# --- catalogue access ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedFramework:
    code: str
    version: str
    doc: FrameworkDoc
    namespaces: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IndicatorInfo:
    """What scoring needs from a catalogue indicator."""

    code: str
    unit: str | None
    operator: str | None
    value_type: str
    rule: dict[str, Any] | None

    def effective_rule(self) -> dict[str, Any] | None:
        if self.rule is not None:
            return dict(self.rule)
        op = "定性" if self.value_type == "qualitative" else self.operator
        kind = rules.operator_kind(op) if op else None
        return {"kind": kind} if kind else None


@dataclass(frozen=True)
class StandardHit:
    value: float | None
    levels: list[float] | None
    unit: str | None
    type: str
    region: str
    fiscal_year: int | None
    source: dict[str, Any] | None  # the cited document (a source.Citation as JSON)


AUTO_STANDARD = "auto"


def find_standard(
    catalogue: CatalogueLookup,
    indicator: str,
    type_: str,
    region: str,
    fiscal_year: int | None,
    precedence: Sequence[str] | None = None,
) -> StandardHit | None:
    """The standard a row asks for: the catalogue's best row of one type on the region's chain,
    or for ``auto`` the standards resolver's answer under the framework's precedence (default
    plan → industry → professional → historical, all regions of a type before the next type):
    the same resolution as ``GET /v1/standards/resolve``."""
    if type_ != AUTO_STANDARD:
        return catalogue.standard(indicator, type_, region, fiscal_year)
    from indicator_service.standards.resolve import DEFAULT_PRECEDENCE, resolve

    winner = resolve(
        lambda t, reg: catalogue.standard(indicator, t, reg, fiscal_year),
        region=region,
        precedence=precedence or DEFAULT_PRECEDENCE,
    ).winner
    return winner if isinstance(winner, StandardHit) else None


def standard_words(type_: str, precedence: Sequence[str] | None = None) -> str:
    """The standard type a row asks for in words of the current language (计划标准, plan
    standard); for ``auto`` every type of the precedence (计划标准、行业标准或专业标准)."""
    if type_ != AUTO_STANDARD:
        return label("standard_type", type_) or type_
    from indicator_service.standards.resolve import DEFAULT_PRECEDENCE

    *head, last = (label("standard_type", t) or t for t in precedence or DEFAULT_PRECEDENCE)
    if not head:
        return last
    return _("{types} or {last}", types=localized(", ", "、").join(head), last=last)


class CatalogueLookup(Protocol):
    def framework(self, code: str, version: str | None) -> ResolvedFramework: ...

    def indicator(self, code: str) -> IndicatorInfo | None: ...

    def standard(
        self, indicator: str, type_: str, region: str, fiscal_year: int | None
    ) -> StandardHit | None: ...


def _version_key(v: str) -> tuple[int, int, int, int]:
    core, _dash, pre = v.partition("-")
    a, b, c = (int(x) for x in core.split("."))
    return (a, b, c, 0 if pre else 1)


class DocumentCatalogue:
    """The lookup over parsed documents (``load_catalogue(path)`` or built in code)."""

    def __init__(self, frameworks: Iterable[FrameworkDoc], namespaces: Iterable[NamespaceDoc]):
        self._frameworks: dict[str, list[FrameworkDoc]] = {}
        for fw in frameworks:
            self._frameworks.setdefault(fw.framework, []).append(fw)
        self._namespaces = list(namespaces)
        self._indicators = {
            i.code: IndicatorInfo(i.code, i.unit, i.operator, i.value_type, i.rule)
            for ns in self._namespaces
            for i in ns.indicators
        }
        # Documents do not change: prepared structures are kept across calls (see prepare).
        self.structures = StructureCache()
        self._standards: dict[str, list[StandardDef]] = {}
        for ns in self._namespaces:
            for s in ns.standards:
                self._standards.setdefault(s.indicator, []).append(s)

    def framework(self, code: str, version: str | None) -> ResolvedFramework:
        docs = self._frameworks.get(code, [])
        if version is not None:
            docs = [d for d in docs if d.version == version]
        else:
            docs = [d for d in docs if "-" not in d.version] or docs
        if not docs:
            message = (
                _("unknown framework {code!r} version {version!r}", code=code, version=version)
                if version
                else _("unknown framework {code!r}", code=code)
            )
            raise NotFound(
                message,
                errors=[ErrorItem(loc=["body", "framework"], msg=_("not found"), type="not_found")],
            )
        doc = max(docs, key=lambda d: _version_key(d.version))
        return ResolvedFramework(doc.framework, doc.version, doc, dict(doc.requires))

    def indicator(self, code: str) -> IndicatorInfo | None:
        return self._indicators.get(code)

    def standard(
        self, indicator: str, type_: str, region: str, fiscal_year: int | None
    ) -> StandardHit | None:
        # The database catalogue's ranking (region chain, nearest earlier year, validity).
        match = match_standard(
            self._standards.get(indicator, ()), type=type_, region=region, fiscal_year=fiscal_year
        )
        if match is None:
            return None
        s = match.row
        value = s.value if s.value is not None else (s.min if s.min is not None else s.max)
        return StandardHit(
            value,
            s.levels,
            s.unit,
            s.type,
            s.region,
            s.fiscal_year,
            s.source.model_dump(mode="json", exclude_none=True) if s.source else None,
        )


def release_document(rel: FrameworkRelease) -> FrameworkDoc:
    """The document scoring reads for a published release: the stored document itself (every
    field, so that none is dropped on the way), its nodes in the release's tree order with the
    rules resolved (the indicator's rule when the node has none, the framework's variants
    applied). Already validated when published: copied, not re-validated."""
    by_code = {n.code: n for n in rel.document.nodes}
    nodes = [by_code[n.code].model_copy(update={"rule": n.rule}) for n in rel.nodes]
    return rel.document.model_copy(update={"nodes": nodes})


#: What a database catalogue does when a submission names a draft framework version (code,
#: version; a draft submitted for review is one too), after the 404 of an unknown one: raise
#: the caller's problem, or return to let it be used. A draft is the finance bureau's work in
#: progress and can still change: the API lets only those who may read it score against it
#: (``scoring.router``) and stores nothing against one; the operator's CLI uses
#: :func:`allow_drafts`.
DraftCheck = Callable[[str, str], None]


def allow_drafts(code: str, version: str) -> None:
    """A :data:`DraftCheck` that lets every draft be used (the operator, tests)."""


class DatabaseCatalogue:
    """The lookup over the catalogue service (published versions, latest unless pinned).
    Indicators and standards are read in the namespace versions the last resolved framework
    pins (``requires``), else in the latest published namespace version. A draft framework
    version goes through ``drafts`` first (:data:`DraftCheck`)."""

    def __init__(self, session: Session, *, drafts: DraftCheck) -> None:
        from indicator_service.catalogue.service import IndicatorReader

        self._session = session
        self._drafts = drafts
        self._pins: dict[str, str] = {}
        # set by framework(): the structures of the framework version just resolved
        self.structures: ScopedStructures | None = None
        self._indicators = IndicatorReader(session)

    def framework(self, code: str, version: str | None) -> ResolvedFramework:
        from indicator_service.catalogue import service as cat

        try:
            rel = cat.get_framework(self._session, code, version)
        except NotFound as exc:
            raise NotFound(
                exc.detail,
                errors=[ErrorItem(loc=["body", "framework"], msg=exc.detail, type="not_found")],
            ) from exc
        if rel.status in UNPUBLISHED:  # a draft, or one submitted for review
            self._drafts(rel.code, rel.version)
        key = (rel.code, rel.version, rel.content_hash)
        hit = _RELEASE_DOCS.get(key)
        if hit is None:
            doc = release_document(rel)
            hit = ResolvedFramework(rel.code, rel.version, doc, dict(rel.requires))
            if rel.status != "draft":
                _RELEASE_DOCS[key] = hit
        self._pins = dict(hit.namespaces)
        self.structures = _published_structures(self._session, rel.code, rel.version)
        return hit

    def indicator(self, code: str) -> IndicatorInfo | None:

        try:
            rel = self._indicators.get(code)
            pin = self._pins.get(rel.namespace)
            if pin is not None and pin != rel.namespace_version:
                rel = self._indicators.get(code, pin)
        except NotFound:
            return None
        return IndicatorInfo(rel.code, rel.unit, rel.operator, rel.value_type, rel.rule)

    def standard(
        self, indicator: str, type_: str, region: str, fiscal_year: int | None
    ) -> StandardHit | None:
        from indicator_service.catalogue import service as cat

        try:
            pin = None
            if self._pins:
                rel = self._indicators.get(indicator)
                pin = self._pins.get(rel.namespace)
            match = cat.resolve_standard(
                self._session,
                indicator,
                type=type_,
                region=region,
                fiscal_year=fiscal_year,
                namespace_version=pin,
            )
        except NotFound:
            return None
        r = match.row
        value = r.value if r.value is not None else (r.min if r.min is not None else r.max)
        return StandardHit(value, r.levels, r.unit, r.type, r.region, r.fiscal_year, r.source)


# (code, version, content hash) → the framework document rebuilt from a published release.
_RELEASE_DOCS: LRU[tuple[str, str, str], ResolvedFramework] = LRU(256)


class StructureCache(LRU[Any, "Structure"]):
    """A bounded, locked LRU map of submission structure → :class:`Structure`, for catalogues
    whose content cannot change under it (documents; the database catalogue through
    :class:`ScopedStructures`, for published versions)."""

    def __init__(self, size: int = 1024) -> None:
        super().__init__(size)


class ScopedStructures:
    """A view of a shared structure cache whose keys are prefixed with ``scope``."""

    def __init__(self, cache: StructureCache, scope: Hashable) -> None:
        self._cache = cache
        self._scope = scope

    def get(self, key: Hashable) -> Structure | None:
        return self._cache.get((self._scope, key))

    def __setitem__(self, key: Hashable, structure: Structure) -> None:
        self._cache[(self._scope, key)] = structure


# Prepared submission structures over published versions, shared by every request. A structure
# depends on the framework version and on what its rows' indicator and standard look-ups read:
# the scope names the framework version's content and every readable namespace version (a new
# namespace version, or one deprecated, starts a new scope), so a cached structure is exactly
# the one the database would give. Drafts (mutable) are never cached.
_PUBLISHED_STRUCTURES = StructureCache()


def _published_structures(session: Session, code: str, version: str) -> ScopedStructures | None:
    from indicator_service.catalogue.heads import heads

    snapshot = heads(session)
    fw = snapshot.framework(code, version)
    if fw is None:  # a draft, or not in the snapshot: structures are not shared
        return None
    return ScopedStructures(_PUBLISHED_STRUCTURES, (fw.tag, snapshot.namespaces_tag))
