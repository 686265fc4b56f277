"""Scoring service: turns a submission (framework + the project's rows or values) into an
engine tree, scores it and renders the receipt.

The catalogue is reached through the small :class:`CatalogueLookup` protocol (framework by code
and version, indicator by code, standard resolution). :class:`DocumentCatalogue` implements it
over parsed catalogue documents (the YAML source, tests, the CLI). Compiled trees are cached
by the structure of the submission (published
framework versions are immutable; two submissions with the same rows, points, rules and targets
share one compiled tree).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, cast

import numpy as np
import orjson
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, col, func, select

from indicator_service.auth.principal import Principal
from indicator_service.catalogue.matching import match_standard
from indicator_service.catalogue.source import (
    BandDef,
    Citation,
    FrameworkDoc,
    NamespaceDoc,
    NodeDef,
    RuleVariants,
    StandardDef,
    citation_label,
    normalise_operator,
    rule_problems,
)
from indicator_service.core.cache import LRU
from indicator_service.core.errors import ErrorItem, NotFound, Unprocessable
from indicator_service.core.gcpause import gc_paused
from indicator_service.scoring import engine
from indicator_service.scoring.csvform import read_batch_csv, validated
from indicator_service.scoring.models import Evaluation
from indicator_service.scoring.ownership import readable_by
from indicator_service.scoring.schemas import (
    MAX_BATCH_ITEMS,
    BatchEnvelope,
    BatchItemOut,
    BatchRequest,
    BatchResponse,
    BudgetIn,
    Comparison,
    EvaluationList,
    EvaluationOut,
    EvaluationSummary,
    NodeDiff,
    Overrides,
    Receipt,
    RescoreResponse,
    RowIn,
    ScoreRequest,
    TargetSource,
    WhatIfResponse,
)

_normalise_operator = functools.lru_cache(maxsize=64)(normalise_operator)

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
        kind = engine.OPERATOR_KIND.get(op) if op else None
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


def _standard_words(type_: str, precedence: Sequence[str] | None = None) -> str:
    if type_ != AUTO_STANDARD:
        return type_
    from indicator_service.standards.resolve import DEFAULT_PRECEDENCE

    *head, last = precedence or DEFAULT_PRECEDENCE
    return f"{', '.join(head)} or {last}" if head else last


class CatalogueLookup(Protocol):
    def framework(self, code: str, version: str | None) -> ResolvedFramework: ...

    def indicator(self, code: str) -> IndicatorInfo | None: ...

    def standard(
        self, indicator: str, type_: str, region: str, fiscal_year: int | None
    ) -> StandardHit | None: ...


def _version_key(v: str) -> tuple[int, int, int, int]:
    core, _, pre = v.partition("-")
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
            what = f"framework {code!r}" + (f" version {version!r}" if version else "")
            raise NotFound(
                f"unknown {what}",
                errors=[ErrorItem(loc=["body", "framework"], msg="not found", type="not_found")],
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


class DatabaseCatalogue:
    """The lookup over the catalogue service (published versions, latest unless pinned).
    Indicators and standards are read in the namespace versions the last resolved framework
    pins (``requires``), else in the latest published namespace version."""

    def __init__(self, session: Session) -> None:
        from indicator_service.catalogue.service import IndicatorReader

        self._session = session
        self._pins: dict[str, str] = {}
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
        key = (rel.code, rel.version, rel.content_hash)
        hit = _RELEASE_DOCS.get(key)
        if hit is None:
            # Already validated when published: construct without re-validating.
            nodes = [
                NodeDef.model_construct(
                    **{f: getattr(n, f) for f in NodeDef.model_fields if hasattr(n, f)}
                )
                for n in rel.nodes
            ]
            fields: dict[str, Any] = {
                "framework": rel.code,
                "name_zh": rel.name_zh,
                "name_en": rel.name_en,
                "kind": rel.kind,
                "version": rel.version,
                "requires": dict(rel.requires),
                "bands": [BandDef.model_validate(b) for b in rel.bands],
                "missing_policy": rel.missing_policy,
                "rule_variants": RuleVariants.model_validate(rel.rule_variants),
                "standard_precedence": (
                    list(rel.standard_precedence) if rel.standard_precedence else None
                ),
                "nodes": nodes,
                "consequences_source": (
                    None
                    if rel.consequences_source is None
                    else Citation.model_validate(rel.consequences_source)
                ),
                "level_synonyms": rel.level_synonyms,
            }
            doc = FrameworkDoc.model_construct(**fields)
            hit = ResolvedFramework(rel.code, rel.version, doc, dict(rel.requires))
            if rel.status != "draft":
                _RELEASE_DOCS[key] = hit
        self._pins = dict(hit.namespaces)
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


# --- submission → tree --------------------------------------------------------------------------


@dataclass(frozen=True)
class LeafMeta:
    """What the receipt says about a leaf besides its scores."""

    id: str
    indicator: str | None
    name: str | None
    unit: str | None
    loc: tuple[str | int, ...]  # where its value sits in the request
    target_source: TargetSource


@dataclass
class Prepared:
    """A submission ready for the engine (or the problems that stop it)."""

    framework: ResolvedFramework
    tree: engine.Tree | None
    meta: list[LeafMeta]
    # the request's values as the engine reads them (ValueIn / RowIn are ObservationLike)
    observations: dict[str, engine.ObservationLike]
    node_names: dict[tuple[str, ...], str]
    errors: list[ErrorItem]
    request: ScoreRequest
    loc0: tuple[str | int, ...] = ("body",)
    structure: Structure | None = None


@dataclass
class Structure:
    """The value-independent part of a prepared submission (locations relative to it)."""

    tree: engine.Tree | None
    meta: list[LeafMeta]
    node_names: dict[tuple[str, ...], str]
    errors: list[ErrorItem]
    # (leaf id, rule kind, "values" | "rows" | "budget", key or row index, relative location)
    sources: list[tuple[str, str, str, Any, tuple[str | int, ...]]]
    compiled: engine.CompiledTree | None = None
    # The value-independent parts of the receipt (leaves and nodes), built on first use.
    static: tuple[list[StaticLeaf], list[dict[str, Any]]] | None = None


def _err(loc: Sequence[str | int], msg: str, type_: str) -> ErrorItem:
    return ErrorItem(loc=list(loc), msg=msg, type=type_)


# Rule kinds whose values are checked beyond "one of value, level or not_applicable".
_VALUE_CHECKED_KINDS = frozenset({"qualitative", "rank_table"})


def _value_problems(
    v: engine.ObservationLike,
    kind: str,
    loc0: tuple[str | int, ...],
    rel: tuple[str | int, ...],
) -> list[ErrorItem]:
    """The problems of one value at ``loc0 + rel`` (``[]`` for the common case, at once)."""
    if (
        v.level is None
        and v.level_score is None
        and not v.not_applicable
        and not v.deduction
        and kind not in _VALUE_CHECKED_KINDS
    ):  # a plain number (or nothing) on a quantitative rule: the common case, nothing to check
        return []
    loc = (*loc0, *rel)
    out: list[ErrorItem] = []
    given = [v.value is not None, v.level is not None, v.not_applicable]
    if sum(given) > 1:
        out.append(_err(loc, "give one of value, level or not_applicable", "ambiguous_value"))
    if v.level is not None and kind != "qualitative":
        out.append(
            _err(
                (*loc, "level"),
                "a qualitative level was given for a quantitative row",
                "qualitative_for_quantitative",
            )
        )
    if v.value is not None and kind == "qualitative":
        out.append(
            _err((*loc, "value"), "a qualitative row takes a level code", "number_for_qualitative")
        )
    if v.level_score is not None and v.level is None:
        out.append(_err((*loc, "level_score"), "level_score needs a level", "level_required"))
    if v.deduction and not v.deduction_reason:
        out.append(_err((*loc, "deduction_reason"), "a manual deduction needs a reason", "missing"))
    if kind == "rank_table" and v.value is not None and (v.value < 1 or v.value % 1):
        out.append(_err((*loc, "value"), "a rank must be an integer ≥ 1", "invalid_rank"))
    return out


def _rule_kind(rule: Mapping[str, Any] | None, operator: str | None) -> str | None:
    if rule and "kind" in rule:
        return str(rule["kind"])
    if operator is not None:
        return engine.OPERATOR_KIND.get(operator)
    return None


def _children(doc: FrameworkDoc) -> dict[str | None, list[NodeDef]]:
    out: dict[str | None, list[NodeDef]] = {}
    for n in doc.nodes:
        out.setdefault(n.parent, []).append(n)
    return out


def _node_path(doc: FrameworkDoc, node: NodeDef) -> tuple[str, ...]:
    by_code = {n.code: n for n in doc.nodes}
    path: list[str] = []
    cur = node.parent
    while cur is not None:
        path.append(cur)
        cur = by_code[cur].parent
    return tuple(reversed(path))


def _match(nodes: Sequence[NodeDef], key: str) -> NodeDef | None:
    for n in nodes:
        if key in (n.code, n.name_zh, n.name_en):
            return n
    return None


def _row_leaf(
    row: RowIn,
    rloc: tuple[str | int, ...],
    path: tuple[str, ...],
    req: ScoreRequest,
    catalogue: CatalogueLookup,
    errors: list[ErrorItem],
    seen_indicators: dict[tuple[tuple[str, ...], str], tuple[str | int, ...]],
    precedence: Sequence[str] | None = None,
) -> tuple[engine.Leaf, LeafMeta, str] | None:
    """One project row as an engine leaf: indicator, unit, operator, rule and target resolved.
    Problems are appended to ``errors`` (None when the row cannot become a leaf)."""
    ind: IndicatorInfo | None = None
    if row.indicator is not None:
        ind = catalogue.indicator(row.indicator)
        if ind is None:
            errors.append(
                _err((*rloc, "indicator"), f"unknown indicator {row.indicator!r}", "unknown_code")
            )
            return None
        dup = (path, row.indicator)
        if dup in seen_indicators:
            errors.append(
                _err(
                    (*rloc, "indicator"),
                    "this indicator is already a row of the class",
                    "duplicate_row",
                )
            )
        seen_indicators[dup] = rloc
        if row.unit is not None and ind.unit is not None and row.unit != ind.unit:
            errors.append(
                _err(
                    (*rloc, "unit"),
                    f"unit {row.unit!r} does not match the indicator's unit {ind.unit!r}",
                    "unit_mismatch",
                )
            )
    operator: str | None = None
    ind_operator = None
    if ind is not None:
        ind_operator = ind.operator if ind.value_type != "qualitative" else "定性"
    if row.operator is not None:
        try:
            operator = normalise_operator(row.operator)
        except ValueError as exc:
            errors.append(_err((*rloc, "operator"), str(exc), "unknown_operator"))
            return None
        if (
            ind_operator is not None
            and not row.rule
            and engine.OPERATOR_KIND.get(operator) != engine.OPERATOR_KIND.get(ind_operator)
        ):
            # the rule follows the operator (计算符号); the catalogue's would silently win
            errors.append(
                _err(
                    (*rloc, "operator"),
                    f"operator {operator} contradicts the indicator {row.indicator}'s "
                    f"{ind_operator}; leave it out or give the rule explicitly",
                    "operator_mismatch",
                )
            )
            return None
    else:
        operator = ind_operator
    rule: dict[str, Any] = dict(row.rule) if row.rule else {}
    if not rule and ind is not None:
        rule = ind.effective_rule() or {}
    if row.rule:
        problems = rule_problems(row.rule)
        if problems:
            errors.extend(_err((*rloc, "rule"), p, "invalid_rule") for p in problems)
            return None
    kind = _rule_kind(rule, operator)
    if kind is None:
        errors.append(_err((*rloc, "operator"), "give an operator or a rule", "missing"))
        return None
    target = row.target
    source = TargetSource(kind="submitted" if target is not None else "none")
    if target is None and row.standard_type is not None:
        code = row.indicator
        hit = (
            find_standard(
                catalogue, code, row.standard_type, req.region, req.fiscal_year, precedence
            )
            if code
            else None
        )
        if hit is None or (hit.value is None and hit.levels is None):
            errors.append(
                _err(
                    (*rloc, "standard_type"),
                    f"no {_standard_words(row.standard_type, precedence)} standard for "
                    f"{code or 'a row without indicator'}"
                    f" in region {req.region}"
                    + (f", year {req.fiscal_year}" if req.fiscal_year else ""),
                    "standard_not_found",
                )
            )
            return None
        if kind == "efficacy" and hit.levels is not None and "levels" not in rule:
            rule["levels"] = list(hit.levels)
        target = hit.value
        source = TargetSource(
            kind="standard",
            standard_type=hit.type,
            region=hit.region,
            fiscal_year=hit.fiscal_year,
            source=citation_label(hit.source),
        )
    if target is None and kind in ("higher_better", "equal", "lower_better"):
        errors.append(_err((*rloc, "target"), "this row needs a target", "missing"))
        return None
    if kind == "budget_execution" and target is None:
        target = 100.0
    if kind != "qualitative" and row.unit is None and ind is None:
        errors.append(_err((*rloc, "unit"), "a quantitative row needs a unit", "missing"))
    leaf = engine.Leaf(row.id, row.points, rule, target, path, operator, row.name or "")
    unit = row.unit or (ind.unit if ind else None)
    return leaf, LeafMeta(row.id, row.indicator, row.name, unit, rloc, source), kind


def _structure(req: ScoreRequest, fw: ResolvedFramework, catalogue: CatalogueLookup) -> Structure:
    """Everything about a submission that does not depend on its values: the framework's fixed
    leaves, the rows' indicators, rules and targets, and the structural problems (locations
    relative to the submission)."""
    loc0: tuple[str | int, ...] = ()
    doc = fw.doc
    kids = _children(doc)
    errors: list[ErrorItem] = []
    leaves: list[engine.Leaf] = []
    meta: list[LeafMeta] = []
    sources: list[tuple[str, str, str, Any, tuple[str | int, ...]]] = []
    node_names: dict[tuple[str, ...], str] = {}
    for n in doc.nodes:
        node_names[(*_node_path(doc, n), n.code)] = n.name_zh

    # Fixed leaves of the framework (nodes without children that are not open classes).
    used_values: set[str] = set()
    for node in doc.nodes:
        if node.open or kids.get(node.code):
            continue
        ind = catalogue.indicator(node.indicator) if node.indicator else None
        rule = dict(node.rule) if node.rule else (ind.effective_rule() if ind else None) or {}
        operator = ind.operator if ind else None
        kind = _rule_kind(rule, operator)
        target = node.target
        source = TargetSource(kind="framework" if target is not None else "none")
        value_key = node.code if node.code in req.values else node.indicator
        vloc: tuple[str | int, ...] = (*loc0, "values", value_key or node.code)
        has_value = bool(value_key) and value_key in req.values
        if value_key:
            used_values.add(value_key)
        if kind == "budget_execution" and req.budget is not None:
            # Scored as the execution rate in % against 100 (= executed / adjusted); the
            # receipt shows the executed amount and the adjusted budget.
            target = 100.0
            source = TargetSource(kind="budget")
            has_value = False
            vloc = (*loc0, "budget")
            if kind is not None:
                sources.append((node.code, kind, "budget", None, vloc))
        elif kind == "budget_execution" and target is None:
            target = 100.0  # an execution rate given in %
        if target is None and node.standard_type and node.indicator:
            hit = catalogue.standard(
                node.indicator, node.standard_type, req.region, req.fiscal_year
            )
            if hit is not None and hit.value is not None:
                target = hit.value
                source = TargetSource(
                    kind="standard",
                    standard_type=hit.type,
                    region=hit.region,
                    fiscal_year=hit.fiscal_year,
                    source=citation_label(hit.source),
                )
        declared = req.values[value_key].target if has_value and value_key else None
        if declared is not None:
            if source.kind == "none" or (
                node.target_is_minimum
                and source.kind == "framework"
                and target is not None
                and declared >= target
            ):
                target, source = declared, TargetSource(kind="submitted")
            elif node.target_is_minimum and source.kind == "framework" and target is not None:
                errors.append(
                    _err(
                        (*vloc, "target"),
                        f"目标值不得低于框架规定的 {target:g} / the framework requires a "
                        f"target of at least {target:g}",
                        "target_below_minimum",
                    )
                )
            elif target != declared:
                fixed = (
                    f"at {target:g}"
                    if source.kind in ("framework", "budget")
                    else f"from the {source.standard_type} standard ({target:g})"
                )
                errors.append(
                    _err(
                        (*vloc, "target"),
                        f"the framework fixes this leaf's target {fixed}",
                        "target_fixed",
                    )
                )
        if target is None and has_value and kind in ("higher_better", "equal", "lower_better"):
            errors.append(
                _err(
                    (*vloc, "target"),
                    f"{node.code} needs a target and the framework gives none: send the "
                    "project's declared target (指标值) as its target",
                    "missing",
                )
            )
        if kind is None:
            errors.append(_err((*loc0, "framework"), f"node {node.code} has no rule", "no_rule"))
            continue
        if has_value:
            sources.append((node.code, kind, "values", value_key, vloc))
        leaves.append(
            engine.Leaf(node.code, node.points, rule, target, _node_path(doc, node), operator)
        )
        meta.append(
            LeafMeta(
                node.code,
                node.indicator,
                node.name_zh,
                ind.unit if ind else None,
                vloc,
                source,
            )
        )
    if req.budget is not None and not any(src[2] == "budget" for src in sources):
        errors.append(
            _err(("budget",), "this framework has no budget-execution leaf", "unexpected_budget")
        )
    for key in req.values:
        if key not in used_values:
            errors.append(
                _err((*loc0, "values", key), "no fixed leaf has this code", "unknown_code")
            )

    # The project's own rows under open classes.
    fixed_codes = {lf.code for lf in leaves}
    # rows counted under each framework class node on their path (level 1, and level 2 when
    # the row names a level-2 class of the framework)
    class_rows: dict[str, list[int]] = {}
    seen_ids: dict[str, int] = {}
    seen_indicators: dict[tuple[tuple[str, ...], str], tuple[str | int, ...]] = {}
    level1 = kids.get(None, [])
    for i, row in enumerate(req.rows):
        rloc: tuple[str | int, ...] = (*loc0, "rows", i)
        if row.id in seen_ids or row.id in fixed_codes:
            errors.append(_err((*rloc, "id"), f"duplicate row id {row.id!r}", "duplicate_row"))
            continue
        seen_ids[row.id] = i
        l1 = _match(level1, row.class_l1)
        if l1 is None:
            errors.append(
                _err((*rloc, "class_l1"), f"no level-1 class {row.class_l1!r}", "unknown_class")
            )
            continue
        path: tuple[str, ...] = (l1.code,)
        classes = [l1.code]
        open_node: NodeDef | None = l1 if l1.open else None
        if row.class_l2 is not None:
            l2 = _match(kids.get(l1.code, []), row.class_l2)
            if l2 is not None:
                path = (l1.code, l2.code)
                classes.append(l2.code)
                open_node = l2 if l2.open else open_node if l1.open else None
            elif l1.open:
                path = (l1.code, row.class_l2)
                node_names.setdefault(path, row.class_l2)
            else:
                errors.append(
                    _err((*rloc, "class_l2"), f"no class {row.class_l2!r}", "unknown_class")
                )
                continue
        if open_node is None:
            errors.append(
                _err((*rloc, "class_l1"), "this class takes no project rows", "class_not_open")
            )
            continue
        for code in classes:
            class_rows.setdefault(code, []).append(i)

        made = _row_leaf(
            row, rloc, path, req, catalogue, errors, seen_indicators, doc.standard_precedence
        )
        if made is not None:
            leaves.append(made[0])
            meta.append(made[1])
            sources.append((row.id, made[2], "rows", i, rloc))

    errors.extend(_class_total_problems(doc, kids, req, class_rows, loc0))
    if not req.rows and not req.values and req.budget is None:
        errors.append(
            _err(
                loc0,
                "提交内容为空：没有指标行、实际完成值或预算数 / the submission is empty: no rows, "
                "no values and no budget",
                "empty_submission",
            )
        )

    tree = None
    if not errors:
        tree = engine.Tree(
            tuple(leaves),
            bands=tuple(engine.Band(**b.model_dump()) for b in doc.bands),
            missing_policy=doc.missing_policy,
            rule_variants=doc.rule_variants.model_dump(exclude_none=True),
        )
    return Structure(tree, meta, node_names, errors, sources)


def _class_total_problems(
    doc: FrameworkDoc,
    kids: Mapping[str | None, Sequence[NodeDef]],
    req: ScoreRequest,
    class_rows: Mapping[str, Sequence[int]],
    loc0: tuple[str | int, ...],
) -> list[ErrorItem]:
    """Every class that takes project rows (an open node, or a node with one below it) and
    whose points the framework fixes (points > 0, at any level) must get exactly its points
    from its fixed leaves and the project's rows. A class without rows is a problem too: a
    submission marks a class not applicable with its rows, each ``not_applicable``."""

    def walk(node: NodeDef) -> tuple[bool, float]:
        """(takes rows, fixed leaf points) of the subtree under ``node``."""
        children = kids.get(node.code, [])
        if not children:
            return node.open, 0.0 if node.open else node.points
        takes, fixed = node.open, 0.0
        for c in children:
            t, f = walk(c)
            takes, fixed = takes or t, fixed + f
        return takes, fixed

    out: list[ErrorItem] = []
    for node in doc.nodes:
        takes_rows, fixed = walk(node)
        if not takes_rows or not node.points:
            continue
        members = class_rows.get(node.code, [])
        total = math.fsum(req.rows[i].points for i in members)
        if math.isclose(fixed + total, node.points, abs_tol=1e-6):
            continue
        zh, given = node.name_zh, f"{node.points - fixed:g}"  # the rows' share of the class
        if not members:
            out.append(
                _err(
                    (*loc0, "rows"),
                    f"{zh}（{node.code}）没有指标行，框架规定为 {given} 分；不适用时请列出该类"
                    f"指标并标记为不适用 / {zh} ({node.code}) has no rows; the framework gives "
                    f"{given} (mark an inapplicable class by its rows with not_applicable)",
                    "class_without_rows",
                )
            )
            continue
        msg = (
            f"{zh}各行分值合计 {total:g}，框架规定为 {given} / {zh} rows add up to {total:g}; "
            f"the framework gives {given}"
        )
        out.extend(_err((*loc0, "rows", i, "points"), msg, "points_do_not_add_up") for i in members)
    return out


# A row's value-independent fields, as one tuple (the rule, a dict, is keyed apart).
_ROW_STRUCTURE = operator.attrgetter(
    "id",
    "indicator",
    "class_l1",
    "class_l2",
    "name",
    "points",
    "operator",
    "target",
    "standard_type",
    "unit",
)


def _structure_key(req: ScoreRequest, fw: ResolvedFramework) -> Any:
    return (
        fw.code,
        fw.version,
        req.region,
        req.fiscal_year,
        req.budget is None,
        tuple(sorted((k, v.target) for k, v in req.values.items())),
        tuple(map(_ROW_STRUCTURE, req.rows)),
        # free-form rules, type-exact (validated fields above are already of one type each)
        tuple((i, _freeze(r.rule)) for i, r in enumerate(req.rows) if r.rule is not None),
    )


class StructureCache(LRU[Any, Structure]):
    """A bounded, locked LRU map of submission structure → :class:`Structure`, for catalogues
    whose content cannot change under it (documents). The database catalogue shares structures
    within one batch only."""

    def __init__(self, size: int = 1024) -> None:
        super().__init__(size)


def _prefixed(e: ErrorItem, loc0: tuple[str | int, ...]) -> ErrorItem:
    return ErrorItem(loc=[*loc0, *e.loc], msg=e.msg, type=e.type)


def prepare(
    req: ScoreRequest,
    catalogue: CatalogueLookup,
    loc0: tuple[str | int, ...] = ("body",),
    cache: dict[Any, Structure] | StructureCache | None = None,
) -> Prepared:
    """Resolve the framework, the rows' indicators, rules and targets; collect every problem.
    ``cache`` shares the value-independent part between submissions of one batch; a catalogue
    with a ``structures`` cache (documents) shares it between calls."""
    if cache is None:
        cache = getattr(catalogue, "structures", None)
    fw = catalogue.framework(req.framework, req.version)
    key = _structure_key(req, fw) if cache is not None else None
    st = cache.get(key) if cache is not None else None
    if st is None:
        st = _structure(req, fw, catalogue)
        if cache is not None:
            cache[key] = st
    errors = [_prefixed(e, loc0) for e in st.errors]
    obs: dict[str, engine.ObservationLike] = {}
    rows = req.rows
    for leaf_id, kind, where, k, rel in st.sources:
        value: engine.ObservationLike
        if where == "rows":
            value = rows[k]
        elif where == "budget":
            assert req.budget is not None
            rate = req.budget.executed * 100.0 / req.budget.adjusted
            if not math.isfinite(rate):  # e.g. 1e300 executed of 1e-300: no rate to score
                errors.append(
                    _err(
                        (*loc0, *rel), "the execution rate is not a finite number", "finite_number"
                    )
                )
                rate = math.nan
            value = engine.Observation(value=None if rate != rate else rate)
        else:
            value = req.values[k]
        problems = _value_problems(value, kind, loc0, rel)
        if problems:
            errors.extend(problems)
        obs[leaf_id] = value
    return Prepared(fw, st.tree, st.meta, obs, st.node_names, errors, req, loc0, st)


# --- compiled-tree cache ------------------------------------------------------------------------


class _TreeCache:
    """Compiled trees by (framework, version, tree content): a bounded, locked LRU."""

    def __init__(self, size: int = 512) -> None:
        self._d: LRU[Any, engine.CompiledTree] = LRU(size)

    def compiled(self, fw: ResolvedFramework, tree: engine.Tree) -> engine.CompiledTree:
        key = (fw.code, fw.version, _tree_key(tree))
        return self._d.get_or_set(key, lambda: engine.compile_tree(tree))

    def clear(self) -> None:
        self._d.clear()

    def __len__(self) -> int:
        return len(self._d)


def _freeze(x: Any) -> Any:
    """A hashable, type-exact key of JSON-like data (1, 1.0 and True stay apart, so cached
    structures echo exactly what was sent)."""
    if isinstance(x, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    if isinstance(x, list | tuple):
        return tuple(_freeze(v) for v in x)
    if isinstance(x, bool | int | float):
        return (type(x), x)
    return x


def _tree_key(tree: engine.Tree) -> Any:
    return (
        tuple(
            (lf.code, lf.points, _freeze(lf.rule), lf.target, lf.path, lf.operator)
            for lf in tree.leaves
        ),
        tree.bands,
        tree.missing_policy,
        _freeze(tree.rule_variants),
    )


TREE_CACHE = _TreeCache()


def compile_prepared(p: Prepared) -> engine.CompiledTree:
    assert p.tree is not None
    if p.structure is not None and p.structure.compiled is not None:
        return p.structure.compiled
    try:
        compiled = TREE_CACHE.compiled(p.framework, p.tree)
        if p.structure is not None:
            p.structure.compiled = compiled
        return compiled
    except engine.RuleError as exc:
        loc: list[str | int] = ["body"]
        if len(exc.loc) >= 2 and exc.loc[0] == "leaves":
            leaf = next((m for m in p.meta if m.id == exc.loc[1]), None)
            if leaf is not None:
                loc = [*p.loc0, *leaf.loc, *exc.loc[2:]]
        raise Unprocessable(str(exc), errors=[_err(loc, exc.msg, "invalid_rule")]) from exc


# --- scoring and receipts -------------------------------------------------------------------------


def _hashed_request(req: ScoreRequest) -> dict[str, Any]:
    """The request as hashed: fields added after the first release (``values.*.target``) are
    left out while unset, so that earlier requests keep the hash they were stored with."""
    data = req.model_dump(mode="json", exclude={"version"})
    for value in data.get("values", {}).values():
        if value.get("target") is None:
            value.pop("target", None)
    for item in (*data.get("rows", ()), *data.get("values", {}).values()):
        if item.get("explanation") is None:
            item.pop("explanation", None)
    if data.get("form") is None:
        data.pop("form", None)
    return data


def input_hash(req: ScoreRequest, fw: ResolvedFramework) -> str:
    payload = {
        "request": _hashed_request(req),
        "framework": [fw.code, fw.version],
        "namespaces": fw.namespaces,
    }
    return hashlib.sha256(canonical_json(payload)).hexdigest()


# Where orjson's text can differ from ``json.dumps``: exponents (1e+16, 5e-324), numbers below
# 1e-4 (orjson 0.00001, json 1e-05) and \u escapes. Strings containing these patterns merely
# take the slow path. (Separate checks: one regex with alternatives scans 10× slower.)
_EXPONENT = re.compile(rb"e[-+]")


def canonical_json(payload: Any) -> bytes:
    """``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` as
    UTF-8, byte for byte (the input hash depends on it), computed with orjson when its output
    is known to be identical and with ``json`` otherwise."""
    try:
        out = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # e.g. integers beyond 64 bits
        out = None
    if out is None or b"\\u" in out or b"0.0000" in out or _EXPONENT.search(out):
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8")
    return out


def _leaf_errors(p: Prepared, result: engine.BatchResult, offset: int = 0) -> list[ErrorItem]:
    out: list[ErrorItem] = []
    for i, m in enumerate(p.meta):
        code = int(result.leaf_error[offset + i])
        if code:
            type_, msg = engine.ERROR_CODES[code]
            field_ = {3: "level_score", 2: "level"}.get(code, "value")
            rel = list(m.loc) if m.loc[-1:] == ("budget",) else [*m.loc, field_]
            loc = [*p.loc0, *rel]
            out.append(ErrorItem(loc=loc, msg=msg, type=type_))
    return out


#: A leaf without an explanation (偏差原因分析及改进措施) carries ``explanation_missing`` when it
#: loses points (a target not reached must be explained with its cause and the corrective
#: measure) or has one of these warnings (over-achievement, execution below the threshold:
#: docs/scoring.md, rules 6 and 8).
EXPLAINED_WARNINGS = frozenset({"over_achievement", "execution_below_threshold"})
EXPLANATION_MISSING = "explanation_missing"


@dataclass(frozen=True)
class StaticLeaf:
    """A receipt leaf's value-independent fields, JSON-ready: ``head`` (id … unit) and ``mid``
    (target_source, rule, points) keep the model's field order around the values."""

    head: dict[str, Any]
    mid: dict[str, Any]
    target: float | None
    budget: bool


def _static_parts(
    p: Prepared, compiled: engine.CompiledTree
) -> tuple[list[StaticLeaf], list[dict[str, Any]]]:
    """The receipt's value-independent leaf and node fields, cached on the submission's
    structure."""
    st = p.structure
    if st is not None and st.static is not None and st.compiled is compiled:
        return st.static
    leaves = [
        StaticLeaf(
            head={
                "id": leaf.code,
                "indicator": m.indicator,
                "name": m.name,
                "path": list(leaf.path),
                "unit": m.unit,
            },
            mid={
                "target_source": m.target_source.model_dump(mode="json"),
                "rule": _jsonable(compiled.rules[i]),
                "points": float(leaf.points),
            },
            target=None if leaf.target is None else float(leaf.target),
            budget=m.target_source.kind == "budget",
        )
        for i, (leaf, m) in enumerate(zip(compiled.leaves, p.meta, strict=True))
    ]
    nodes = [
        {
            "code": path[-1],
            "name": p.node_names.get(path, path[-1]),
            "level": len(path),
            "path": list(path),
            "points": float(
                sum(lf.points for lf in compiled.leaves if lf.path[: len(path)] == path)
            ),
        }
        for path in compiled.node_paths
    ]
    if st is not None and st.compiled is compiled:
        st.static = (leaves, nodes)
    return leaves, nodes


def _jsonable(x: Any) -> Any:
    """A rule's parameters as JSON values (what ``model_dump(mode="json")`` gives)."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def receipt_dict(
    p: Prepared,
    compiled: engine.CompiledTree,
    result: engine.BatchResult,
    item: int = 0,
    leaf_offset: int = 0,
    node_offset: int = 0,
) -> dict[str, Any]:
    """The receipt as plain JSON data, equal to ``Receipt.model_dump(mode="json")`` (the hot
    path: no models per leaf; the value-independent parts come from the structure's cache and
    are shared between receipts: serialise the dict, do not mutate it)."""
    req = p.request
    fw = p.framework
    static_leaves, static_nodes = _static_parts(p, compiled)
    n = len(static_leaves)
    sl = slice(leaf_offset, leaf_offset + n)
    applicable = result.leaf_applicable[sl].tolist()
    fraction = result.leaf_fraction[sl].tolist()
    score_ = result.leaf_score[sl].tolist()
    lost = result.leaf_lost[sl].tolist()
    eff = result.leaf_effective_weight[sl].tolist()
    warn = result.leaf_warnings[sl].tolist()
    budget = req.budget
    observations = p.observations
    leaves_out: list[dict[str, Any]] = []
    all_warnings: set[str] = set()
    for i, st in enumerate(static_leaves):
        ob = observations.get(st.head["id"])
        if ob is None:
            status = "missing"
        elif ob.not_applicable:
            status = "not_applicable"
        elif ob.value is None and ob.level is None:
            status = "missing"
        else:
            status = "value"
        if st.budget and budget is not None:
            raw_value: float | None = float(budget.executed)
            target: float | None = float(budget.adjusted)
            explanation = budget.explanation
        else:
            raw_value = None if ob is None or ob.value is None else float(ob.value)
            target = st.target
            explanation = getattr(ob, "explanation", None)  # request values carry one
        warnings = engine.warning_names(warn[i]) if warn[i] else []
        f, sc, lo = fraction[i], score_[i], lost[i]
        if explanation is None and (lo > 0 or not EXPLAINED_WARNINGS.isdisjoint(warnings)):
            warnings.append(EXPLANATION_MISSING)  # lost is NaN (not > 0) without a score
        all_warnings.update(warnings)
        leaves_out.append(
            {
                **st.head,
                "status": status,
                "raw_value": raw_value,
                "level": ob.level if ob else None,
                "target": target,
                **st.mid,
                "applicable": applicable[i],
                "fraction": None if f != f else f,
                "score": None if sc != sc else sc,
                "lost": None if lo != lo else lo,
                "effective_weight": eff[i],
                "deduction": (float(ob.deduction) if ob.deduction else None) if ob else None,
                "deduction_reason": ob.deduction_reason if ob else None,
                "explanation": explanation,
                "warnings": warnings,
            }
        )
    nn = len(static_nodes)
    node_points = result.node_points[node_offset : node_offset + nn].tolist()
    subtotal = result.node_subtotal[node_offset : node_offset + nn].tolist()
    nodes_out = [
        {
            "code": st["code"],
            "name": st["name"],
            "level": st["level"],
            "path": st["path"],
            "points": st["points"],
            "applicable_points": node_points[k],
            "subtotal": subtotal[k],
        }
        for k, st in enumerate(static_nodes)
    ]
    band = result.band(item)
    total = float(result.item_total[item])
    out = {
        "framework": {
            "code": fw.code,
            "version": fw.version,
            "name_zh": fw.doc.name_zh,
            "name_en": fw.doc.name_en,
        },
        "namespaces": dict(fw.namespaces),
        "project": req.project,
        "unit": req.unit,
        "region": req.region,
        "fiscal_year": req.fiscal_year,
        "missing_policy": fw.doc.missing_policy,
        "rounding": engine.ROUNDING_RULE,
        "leaves": leaves_out,
        "nodes": nodes_out,
        "applicable_points": float(result.item_applicable_points[item]),
        "score_sum": float(result.item_score_sum[item]),
        "total": None if total != total else total,
        "grade": {
            "grade": band.grade,
            "name_en": band.name_en,
            "min": float(band.min),
            "max": float(band.max),
            "recommendation_zh": band.recommendation_zh,
            "recommendation_en": band.recommendation_en,
            "consequences_source": _consequences_source(fw),
        }
        if band
        else None,
        "warnings": sorted(all_warnings),
        "input_hash": input_hash(req, fw),
    }
    if req.form is not None:
        out["form"] = req.form.model_dump(mode="json")
    return out


def _consequences_source(fw: ResolvedFramework) -> dict[str, Any] | None:
    src = fw.doc.consequences_source
    return None if src is None else src.model_dump(mode="json")


def receipt(
    p: Prepared,
    compiled: engine.CompiledTree,
    result: engine.BatchResult,
    item: int = 0,
    leaf_offset: int = 0,
    node_offset: int = 0,
) -> Receipt:
    return Receipt.model_validate(receipt_dict(p, compiled, result, item, leaf_offset, node_offset))


def score(req: ScoreRequest, catalogue: CatalogueLookup) -> Receipt:
    """Score one submission; a 422 names every offending row and field."""
    return Receipt.model_validate(receipt_dict(*_score(req, catalogue)))


def score_json(req: ScoreRequest, catalogue: CatalogueLookup) -> bytes:
    """``score`` serialised: the receipt as JSON bytes, built without per-leaf models."""
    return orjson.dumps(receipt_dict(*_score(req, catalogue)))


def _score(
    req: ScoreRequest, catalogue: CatalogueLookup
) -> tuple[Prepared, engine.CompiledTree, engine.BatchResult]:
    p = prepare(req, catalogue)
    if p.errors:
        raise Unprocessable("the submission has problems", errors=p.errors)
    compiled = compile_prepared(p)
    cols, conv = engine.observations_to_columns(compiled, [p.observations])
    result = engine.evaluate(compiled, cols)
    errors = _leaf_errors(p, result)
    if conv:
        errors += [_err(("body", c), msg, t) for _, c, t, msg in conv]
    if errors:
        raise Unprocessable("the submission has problems", errors=errors)
    return p, compiled, result


def score_batch(
    items: Sequence[ScoreRequest | list[ErrorItem]],
    catalogue: CatalogueLookup,
    *,
    validate_only: bool = False,
    detail: bool = False,
) -> BatchResponse:
    """Score many submissions in one engine call; one bad item does not sink the others."""
    prepared: list[Prepared | None] = []
    compiled: list[engine.CompiledTree] = []
    shared: StructureCache | None = getattr(catalogue, "structures", None)
    structures: dict[Any, Structure] | StructureCache = shared if shared is not None else {}
    out: list[BatchItemOut] = []
    for i, req in enumerate(items):
        loc0: tuple[str | int, ...] = ("body", "items", i)
        if isinstance(req, list):  # failed request validation
            out.append(BatchItemOut(index=i, ok=False, errors=req))
            prepared.append(None)
            continue
        try:
            p = prepare(req, catalogue, loc0, structures)
        except NotFound as exc:
            out.append(
                BatchItemOut(
                    index=i,
                    ok=False,
                    errors=[ErrorItem(loc=[*loc0, "framework"], msg=exc.detail, type="not_found")],
                )
            )
            prepared.append(None)
            continue
        if p.errors:
            out.append(BatchItemOut(index=i, ok=False, errors=p.errors))
            prepared.append(None)
            continue
        try:
            compiled.append(compile_prepared(p))
        except Unprocessable as exc:
            out.append(BatchItemOut(index=i, ok=False, errors=exc.errors))
            prepared.append(None)
            continue
        prepared.append(p)
        out.append(BatchItemOut(index=i, ok=True))
    # One engine call per compiled tree: submissions of one structure (the common case: a
    # batch of one framework's forms) share a tiled tree and one set of columns.
    groups: dict[int, tuple[engine.CompiledTree, list[tuple[int, Prepared]]]] = {}
    good = [(i, q) for i, q in enumerate(prepared) if q is not None]
    for t, (i, q) in zip(compiled, good, strict=True):
        groups.setdefault(id(t), (t, []))[1].append((i, q))
    for t, members in groups.values():
        cols, conv = engine.observations_to_columns(t, [p.observations for _, p in members])
        result = engine.evaluate(t.tile(len(members)), cols)
        bad_items = {item for item, *_ in conv}
        failed = set(np.flatnonzero(result.item_error).tolist()) | bad_items
        totals = result.item_total.tolist()
        for item, (i, p) in enumerate(members):
            leaf_off, node_off = item * t.n_leaves, item * t.n_nodes
            if item in failed:
                errs = _leaf_errors(p, result, leaf_off)
                errs += [
                    _err(("body", "items", i, c), msg, ty) for it, c, ty, msg in conv if it == item
                ]
                if errs:
                    out[i] = BatchItemOut(index=i, ok=False, errors=errs)
                    continue
            if not validate_only:
                band = result.band(item)
                total = totals[item]
                out[i] = BatchItemOut(
                    index=i,
                    ok=True,
                    total=None if total != total else total,
                    grade=band.grade if band else None,
                    result=receipt(p, t, result, item, leaf_off, node_off) if detail else None,
                )
    ok = sum(1 for o in out if o.ok)
    return BatchResponse(
        count=len(out), ok=ok, failed=len(out) - ok, validate_only=validate_only, items=out
    )


_VALUE_FIELDS = ("value", "level", "level_score", "not_applicable", "deduction", "explanation")


def score_columnar(
    template: ScoreRequest,
    values: Sequence[Sequence[float | None]],
    budgets: Sequence[BudgetIn] | None,
    catalogue: CatalogueLookup,
) -> bytes:
    """Score N submissions that share ``template``'s structure, given as an (N, rows) matrix of
    numeric actuals (+ optional per-submission budgets), in one vectorised engine call. The
    structure is prepared and compiled once; per submission only numbers are read. Returns the
    :class:`ColumnarBatchResponse` as JSON bytes. Totals equal those of the JSON batch for the
    same submissions."""
    return orjson.dumps(columnar_scores(template, values, budgets, catalogue))


def columnar_scores(
    template: ScoreRequest,
    values: Sequence[Sequence[float | None]],
    budgets: Sequence[BudgetIn] | None,
    catalogue: CatalogueLookup,
) -> dict[str, Any]:
    """:func:`score_columnar`'s response as plain data (count, ok, failed, totals, grades,
    errors)."""
    loc0: tuple[str | int, ...] = ("body", "template")
    errors = [
        _err((*loc0, "rows", i, f), "the template's rows take no values (use values)", "extra")
        for i, r in enumerate(template.rows)
        for f in _VALUE_FIELDS
        if f in r.model_fields_set
    ]
    if template.values:
        errors.append(_err((*loc0, "values"), "not in the columnar form", "extra"))
    if template.budget is not None:
        errors.append(_err((*loc0, "budget"), "give per-submission budgets", "extra"))
    n, r = len(values), len(template.rows)
    errors += [
        _err(("body", "values", k), f"expected {r} values (one per template row)", "length")
        for k, vs in enumerate(values)
        if len(vs) != r
    ]
    if budgets is not None and len(budgets) != n:
        errors.append(_err(("body", "budgets"), f"expected {n} budgets", "length"))
    if errors:
        raise Unprocessable("the columnar batch has problems", errors=errors)
    req = template
    if budgets:
        req = template.model_copy(update={"budget": budgets[0]})
    p = prepare(req, catalogue, loc0)
    if p.errors:
        raise Unprocessable("the template has problems", errors=p.errors)
    compiled = compile_prepared(p)
    assert p.structure is not None
    matrix = np.array(values, dtype=np.float64) if r else np.empty((n, 0))  # None → NaN
    actual = np.full((n, compiled.n_leaves), np.nan)
    column = {leaf.code: i for i, leaf in enumerate(compiled.leaves)}
    where: dict[int, tuple[str | int, ...]] = {}  # leaf column → location of its value
    for leaf_id, _kind, source, k, _rel in p.structure.sources:
        i = column[leaf_id]
        if source == "rows":
            actual[:, i] = matrix[:, k]
            where[i] = ("values", k)
        elif source == "budget" and budgets:
            executed = np.array([b.executed for b in budgets], dtype=np.float64)
            adjusted = np.array([b.adjusted for b in budgets], dtype=np.float64)
            with np.errstate(over="ignore"):  # an infinite rate is the engine's error 7
                actual[:, i] = executed * 100.0 / adjusted  # as prepare() computes it
            where[i] = ("budgets",)
    result = engine.score_columns(compiled, actual)
    leaf_error = result.leaf_error.reshape(n, compiled.n_leaves)
    failed_items = np.flatnonzero(leaf_error.any(axis=1)).tolist()
    totals: list[float | None] = [None if t != t else t for t in result.item_total.tolist()]
    bands = compiled.band_sets[int(compiled.band_set[0])]
    grades: list[str | None] = [
        bands[g].grade if g >= 0 else None for g in result.item_grade.tolist()
    ]
    item_errors = []
    for item in failed_items:
        totals[item] = grades[item] = None
        found = []
        for i in np.flatnonzero(leaf_error[item]).tolist():
            code = int(leaf_error[item, i])
            type_, msg = engine.ERROR_CODES[code]
            rel = where.get(i)
            if rel is None:  # a fixed leaf of the framework that the columnar form cannot fill
                loc: list[str | int] = [*loc0, "framework"]
            elif rel[0] == "values":
                loc = ["body", "values", item, rel[1]]
            else:
                loc = ["body", "budgets", item]
            found.append({"loc": loc, "msg": msg, "type": type_})
        item_errors.append({"index": item, "errors": found})
    return {
        "count": n,
        "ok": n - len(failed_items),
        "failed": len(failed_items),
        "totals": totals,
        "grades": grades,
        "errors": item_errors,
    }


# What may differ between submissions scored as one structure (besides their rows' values).
_PER_SUBMISSION = ("rows", "project", "budget")
_PROJECT_FIELD = ScoreRequest.model_fields["project"]
_PROJECT: TypeAdapter[Any] = TypeAdapter(
    cast(Any, Annotated[_PROJECT_FIELD.annotation, _PROJECT_FIELD])  # the field as declared
)
_BUDGETS = TypeAdapter(list[BudgetIn])


def score_shared_structure(
    subs: Sequence[Any], catalogue: CatalogueLookup, *, exact: bool = False
) -> dict[str, Any] | None:
    """The :class:`BatchResponse` (as data) of submission dicts that share one structure, scored
    as one columnar batch; ``None`` when they do not qualify and must go the general way.

    They qualify when every submission has the first one's fields (but for project, budget and
    its rows' numeric ``value``), row for row, each row carrying no other value field (level,
    not applicable, deduction …), and every submission scores: a batch with a problem anywhere
    takes the general path, which locates each problem in its own item. The template is
    validated once as a :class:`ScoreRequest`, the budgets and projects one by one; totals are
    those of the general path (the same engine on the same numbers).

    ``exact``: compare fields by their canonical JSON (1, 1.0 and true differ), for parsed JSON;
    without it, Python equality, enough for dicts read from a table (text and float cells)."""
    first = subs[0] if subs else None
    if not isinstance(first, dict) or not isinstance(first.get("rows"), list):
        return None
    head = {k: v for k, v in first.items() if k not in _PER_SUBMISSION}
    if not first["rows"] or not all(isinstance(r, dict) for r in first["rows"]):
        return None
    shape = [{k: v for k, v in r.items() if k != "value"} for r in first["rows"]]
    if any(f in r for r in shape for f in _VALUE_FIELDS):
        return None
    budgeted = "budget" in first
    values: list[list[float | None]] = []
    try:
        same_head = _sameness(head, exact)
        same_rows = _sameness(shape, exact)
        for sub in subs:
            rows = sub.get("rows") if isinstance(sub, dict) else None
            if (
                not isinstance(rows, list)
                or len(rows) != len(shape)
                or ("budget" in sub) != budgeted
                or not same_head({k: v for k, v in sub.items() if k not in _PER_SUBMISSION})
                or not all(type(row) is dict for row in rows)
            ):
                return None
            # The rows without their values must be the first submission's, all at once
            # (the values are taken out for the comparison and put back at once).
            taken = [row.pop("value", _ABSENT) for row in rows]
            try:
                same = same_rows(rows)
            finally:
                for row, value in zip(rows, taken, strict=True):
                    if value is not _ABSENT:
                        row["value"] = value
            if not same:
                return None
            numbers: list[float | None] = []
            for value in taken:
                if value is _ABSENT or value is None:
                    numbers.append(None)
                elif type(value) is float and math.isfinite(value):
                    numbers.append(value)
                elif type(value) is int and abs(value) <= 2**53:  # exactly a float
                    numbers.append(float(value))
                else:
                    return None
            values.append(numbers)
        projects = {s.get("project") for s in subs}
    except (TypeError, orjson.JSONEncodeError):  # unhashable or unencodable: not a plain batch
        return None
    try:
        template = ScoreRequest.model_validate({**head, "rows": shape})
        budgets = _BUDGETS.validate_python([s["budget"] for s in subs]) if budgeted else None
        for project in projects:
            _PROJECT.validate_python(project)
        scored = columnar_scores(template, values, budgets, catalogue)
    except (ValidationError, Unprocessable, NotFound):
        return None
    if scored["failed"]:
        return None
    return {
        "count": scored["count"],
        "ok": scored["ok"],
        "failed": 0,
        "validate_only": False,
        "items": [
            {"index": i, "ok": True, "result": None, "total": t, "grade": g, "errors": []}
            for i, (t, g) in enumerate(zip(scored["totals"], scored["grades"], strict=True))
        ],
    }


_ABSENT = object()  # a row without a value field


def _sameness(want: Any, exact: bool) -> Callable[[Any], bool]:
    """``x → x is the same data as want``: by canonical JSON bytes when ``exact``."""
    if not exact:
        return lambda x: bool(x == want)
    encoded = orjson.dumps(want, option=orjson.OPT_SORT_KEYS)
    return lambda x: orjson.dumps(x, option=orjson.OPT_SORT_KEYS) == encoded


def score_batch_body(
    raw: bytes,
    media: str,
    catalogue: CatalogueLookup,
    *,
    validate_only: bool,
    detail: bool,
) -> bytes:
    """A JSON or CSV batch body (``POST /v1/score/batch``) → the :class:`BatchResponse` as JSON
    bytes. One structure goes the columnar way (:func:`score_shared_structure`), the rest is
    validated item by item and scored by :func:`score_batch`. Run it off the event loop."""
    with gc_paused():  # millions of short-lived objects: see core.gcpause
        items: list[ScoreRequest | list[ErrorItem]]
        if media == "text/csv":
            keys, subs = read_batch_csv(raw)
            if not (validate_only or detail):  # a form's lines for many units: one structure
                shared = score_shared_structure(subs, catalogue)
                if shared is not None:
                    return orjson.dumps(shared)
            items = validated(keys, subs)
        else:
            if not (validate_only or detail):
                shared = _shared_json_batch(raw, catalogue)
                if shared is not None:
                    return orjson.dumps(shared)
            try:  # the common case, every item valid: one pass of parsing and validation
                whole = BatchRequest.model_validate_json(raw)
                items = list(whole.items)
                validate_only = validate_only or whole.validate_only
            except ValidationError:
                try:
                    envelope = BatchEnvelope.model_validate_json(raw)
                except ValidationError as exc:
                    raise Unprocessable(
                        "invalid batch", errors=_validation_errors(exc, ["body"])
                    ) from exc
                items = []
                for i, raw_item in enumerate(envelope.items):
                    try:
                        items.append(ScoreRequest.model_validate(raw_item))
                    except ValidationError as exc:
                        items.append(_validation_errors(exc, ["body", "items", i]))
                validate_only = validate_only or envelope.validate_only
        out = score_batch(items, catalogue, validate_only=validate_only, detail=detail)
        return orjson.dumps(out.model_dump(mode="json"))


def _shared_json_batch(raw: bytes, catalogue: CatalogueLookup) -> dict[str, Any] | None:
    """A JSON batch of one structure scored as one columnar batch (see
    :func:`score_shared_structure`), or ``None`` for the general path."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or set(data) - {"items", "validate_only"}:
        return None
    items = data.get("items")
    if data.get("validate_only", False) is not False or not isinstance(items, list):
        return None
    if not 1 <= len(items) <= MAX_BATCH_ITEMS:
        return None
    return score_shared_structure(items, catalogue, exact=True)


def _validation_errors(exc: ValidationError, prefix: list[str | int]) -> list[ErrorItem]:
    return [ErrorItem(loc=[*prefix, *e["loc"]], msg=e["msg"], type=e["type"]) for e in exc.errors()]


def what_if(req: ScoreRequest, overrides: Overrides, catalogue: CatalogueLookup) -> WhatIfResponse:
    """Re-score with overridden points, targets or bands; compare with the official result."""
    official = score(req, catalogue)
    p = prepare(req, catalogue)
    assert p.tree is not None
    ids = {lf.code for lf in p.tree.leaves}
    errors = [
        _err(("body", "overrides", part, k), "no leaf with this id", "unknown_code")
        for part, mapping in (("points", overrides.points), ("targets", overrides.targets))
        for k in mapping
        if k not in ids
    ]
    if errors:
        raise Unprocessable("unknown leaves in the overrides", errors=errors)
    leaves = tuple(
        engine.Leaf(
            lf.code,
            overrides.points.get(lf.code, lf.points),
            lf.rule,
            overrides.targets.get(lf.code, lf.target),
            lf.path,
            lf.operator,
            lf.name,
        )
        for lf in p.tree.leaves
    )
    bands = p.tree.bands
    if overrides.bands is not None:
        bands = tuple(engine.Band(**b.model_dump()) for b in overrides.bands)
    p.tree = engine.Tree(leaves, bands, p.tree.missing_policy, p.tree.rule_variants)
    try:
        compiled = engine.compile_tree(p.tree)
    except engine.RuleError as exc:
        raise Unprocessable(
            str(exc), errors=[_err(("body", "overrides", *exc.loc), exc.msg, "invalid_override")]
        ) from exc
    cols, _ = engine.observations_to_columns(compiled, [p.observations])
    alt = receipt(p, compiled, engine.evaluate(compiled, cols))
    if overrides.bands is not None and alt.grade is not None:
        alt.grade.consequences_source = None  # the caller's bands, not the framework's
    cmp = compare(official, alt)
    return WhatIfResponse(official=official, what_if=alt, **cmp.model_dump())


def compare(official: Receipt, other: Receipt) -> Comparison:
    """Per-node and per-leaf differences ``other − official`` (matched by path and id)."""
    off_nodes = {tuple(n.path): n.subtotal for n in official.nodes}
    nodes = [
        NodeDiff(
            code=n.code,
            path=n.path,
            official=off_nodes.get(tuple(n.path)),
            what_if=n.subtotal,
            difference=_diff(n.subtotal, off_nodes.get(tuple(n.path))),
        )
        for n in other.nodes
    ]
    off_leaves = {lf.id: lf.score for lf in official.leaves}
    leaves = [
        NodeDiff(
            code=lf.id,
            path=lf.path,
            official=off_leaves.get(lf.id),
            what_if=lf.score,
            difference=_diff(lf.score, off_leaves.get(lf.id)),
        )
        for lf in other.leaves
    ]
    return Comparison(
        total_difference=_diff(other.total, official.total),
        grade_changed=(other.grade.grade if other.grade else None)
        != (official.grade.grade if official.grade else None),
        nodes=nodes,
        leaves=leaves,
    )


def _diff(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return round(a - b, 2)


# --- stored evaluations --------------------------------------------------------------------------

IDEMPOTENCY_SCOPE = "scoring.evaluations"


def _summary(ev: Evaluation) -> dict[str, Any]:
    return {
        "id": ev.id,
        "framework": ev.framework_code,
        "version": ev.framework_version,
        "project": ev.project,
        "unit": ev.unit,
        "region": ev.region,
        "fiscal_year": ev.fiscal_year,
        "total": ev.total,
        "grade": ev.grade,
        "input_hash": ev.input_hash,
        "created_at": ev.created_at,
    }


def evaluation_out(ev: Evaluation) -> EvaluationOut:
    return EvaluationOut(**_summary(ev), result=Receipt.model_validate(ev.result))


def create_evaluation(
    session: Session, req: ScoreRequest, catalogue: CatalogueLookup, owner: Principal
) -> EvaluationOut:
    """Score and store, owned by the key ``owner`` (the caller's transaction commits)."""
    rec = score(req, catalogue)
    ev = Evaluation(
        owner_key_id=owner.owner_id,
        framework_code=rec.framework.code,
        framework_version=rec.framework.version,
        project=req.project,
        unit=req.unit,
        region=req.region,
        fiscal_year=req.fiscal_year,
        total=rec.total,
        grade=rec.grade.grade if rec.grade else None,
        input_hash=rec.input_hash,
        # The version actually used is pinned so that the stored inputs reproduce the result.
        request=req.model_copy(update={"version": rec.framework.version}).model_dump(mode="json"),
        result=rec.model_dump(mode="json"),
    )
    session.add(ev)
    session.flush()
    return evaluation_out(ev)


def get_evaluation(session: Session, evaluation_id: int, reader: Principal) -> Evaluation:
    """The stored evaluation ``reader`` may read (docs/security.md); 404 for any other id,
    whether it exists or not."""
    ev = session.exec(
        select(Evaluation).where(col(Evaluation.id) == evaluation_id, *readable_by(reader))
    ).first()
    if ev is None:
        raise NotFound(
            f"no evaluation {evaluation_id}",
            errors=[ErrorItem(loc=["path", "evaluation_id"], msg="not found", type="not_found")],
        )
    return ev


def list_evaluations(
    session: Session,
    *,
    reader: Principal,
    project: str | None,
    unit: str | None,
    region: str | None,
    fiscal_year: int | None,
    framework: str | None,
    limit: int,
    offset: int,
) -> EvaluationList:
    conditions = [
        column == value
        for column, value in (
            (col(Evaluation.project), project),
            (col(Evaluation.unit), unit),
            (col(Evaluation.region), region),
            (col(Evaluation.fiscal_year), fiscal_year),
            (col(Evaluation.framework_code), framework),
        )
        if value is not None
    ]
    conditions += readable_by(reader)  # the filters narrow what the reader may read
    total = session.exec(select(func.count()).select_from(Evaluation).where(*conditions)).one()
    rows = session.exec(
        select(Evaluation)
        .where(*conditions)
        .order_by(col(Evaluation.id))
        .limit(limit)
        .offset(offset)
    ).all()
    return EvaluationList(
        total=int(total),
        limit=limit,
        offset=offset,
        items=[EvaluationSummary(**_summary(ev)) for ev in rows],
    )


def rescore(
    session: Session,
    evaluation_id: int,
    version: str | None,
    catalogue: CatalogueLookup,
    reader: Principal,
) -> RescoreResponse:
    """Re-score a stored evaluation ``reader`` may read under another (default: the latest)
    framework version and compare with the stored result. Nothing is stored."""
    ev = get_evaluation(session, evaluation_id, reader)
    original = Receipt.model_validate(ev.result)
    req = ScoreRequest.model_validate({**ev.request, "version": version})
    try:
        rescored = score(req, catalogue)
    except Unprocessable as exc:
        raise Unprocessable(
            f"the stored inputs do not fit framework {req.framework} "
            f"{version or 'latest'}: {exc.detail}",
            errors=exc.errors,
        ) from exc
    return RescoreResponse(
        evaluation_id=evaluation_id,
        from_version=ev.framework_version,
        to_version=rescored.framework.version,
        original=original,
        rescored=rescored,
        **compare(original, rescored).model_dump(),
    )
