"""A submission made ready for the engine: the framework resolved, each row matched to its
node and indicator, its rule and target resolved (:func:`prepare`), every problem collected;
the tree compiled once per structure (:func:`compile_prepared`, :data:`TREE_CACHE`). Published
framework versions are immutable: two submissions with the same rows, points, rules and targets
share one prepared structure and one compiled tree.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from indicator_service import rules
from indicator_service.catalogue.source import (
    FrameworkDoc,
    NodeDef,
    citation_label,
    normalise_operator,
    rule_problems,
)
from indicator_service.core.cache import LRU
from indicator_service.core.errors import ErrorItem, Unprocessable
from indicator_service.core.i18n import _, current_language
from indicator_service.scoring.lookup import (
    CatalogueLookup,
    IndicatorInfo,
    ResolvedFramework,
    StructureCache,
    find_standard,
    standard_words,
)
from indicator_service.scoring.schemas import (
    RowIn,
    ScoreRequest,
    TargetSource,
)

# --- submission → tree --------------------------------------------------------------------------


@dataclass(frozen=True)
class StaticLeaf:
    """A receipt leaf's value-independent fields, JSON-ready: ``head`` (id … unit) and ``mid``
    (target_source, rule, points) keep the model's field order around the values; ``template``
    is the receipt leaf with them in place and its value fields None, in the model's order (a
    receipt copies it and writes the values in)."""

    head: dict[str, Any]
    mid: dict[str, Any]
    target: float | None
    budget: bool
    # the value-independent part of the leaf's explanation (scoring.explain.leaf_static)
    explain: dict[str, Any] | None = None

    @cached_property
    def template(self) -> dict[str, Any]:
        return {
            **self.head,
            **dict.fromkeys(("status", "raw_value", "level", "target")),
            **self.mid,
            **dict.fromkeys(
                (
                    "applicable",
                    "fraction",
                    "score",
                    "lost",
                    "effective_weight",
                    "deduction",
                    "deduction_reason",
                    "explanation",
                    "warnings",
                )
            ),
        }


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
    tree: rules.Tree | None
    meta: list[LeafMeta]
    # the request's values as the engine reads them (ValueIn / RowIn are ObservationLike)
    observations: dict[str, rules.ObservationLike]
    node_names: dict[tuple[str, ...], str]
    errors: list[ErrorItem]
    request: ScoreRequest
    loc0: tuple[str | int, ...] = ("body",)
    structure: Structure | None = None


@dataclass
class Structure:
    """The value-independent part of a prepared submission (locations relative to it)."""

    tree: rules.Tree | None
    meta: list[LeafMeta]
    node_names: dict[tuple[str, ...], str]
    errors: list[ErrorItem]
    # (leaf id, rule kind, "values" | "rows" | "budget", key or row index, relative location)
    sources: list[tuple[str, str, str, Any, tuple[str | int, ...]]]
    compiled: rules.CompiledTree | None = None
    # The value-independent parts of the receipt (leaves and nodes), built on first use.
    static: tuple[list[StaticLeaf], list[dict[str, Any]]] | None = None
    # Per language (one today: a structure's key holds its language): each leaf's answer
    # template and static explanation with their JSON values serialised once
    # (``orjson.Fragment``), for receipts answered as JSON; built on first use.
    static_json: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = field(
        default_factory=dict
    )


def error_item(loc: Sequence[str | int], msg: str, type_: str) -> ErrorItem:
    return ErrorItem(loc=list(loc), msg=msg, type=type_)


# Rule kinds whose values are checked beyond "one of value, level or not_applicable".
_VALUE_CHECKED_KINDS = frozenset({"qualitative", "rank_table"})


def _value_problems(
    v: rules.ObservationLike,
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
        out.append(
            error_item(loc, _("give one of value, level or not_applicable"), "ambiguous_value")
        )
    if v.level is not None and kind != "qualitative":
        out.append(
            error_item(
                (*loc, "level"),
                _("a qualitative level was given for a quantitative row"),
                "qualitative_for_quantitative",
            )
        )
    if v.value is not None and kind == "qualitative":
        out.append(
            error_item(
                (*loc, "value"), _("a qualitative row takes a level code"), "number_for_qualitative"
            )
        )
    if v.level_score is not None and v.level is None:
        out.append(
            error_item((*loc, "level_score"), _("level_score needs a level"), "level_required")
        )
    if v.deduction and not v.deduction_reason:
        out.append(
            error_item(
                (*loc, "deduction_reason"), _("a manual deduction needs a reason"), "missing"
            )
        )
    if kind == "rank_table" and v.value is not None and (v.value < 1 or v.value % 1):
        out.append(error_item((*loc, "value"), _("a rank must be an integer ≥ 1"), "invalid_rank"))
    return out


def _rule_kind(rule: Mapping[str, Any] | None, operator: str | None) -> str | None:
    if rule and "kind" in rule:
        return str(rule["kind"])
    if operator is not None:
        return rules.operator_kind(operator)
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
) -> tuple[rules.Leaf, LeafMeta, str] | None:
    """One project row as an engine leaf: indicator, unit, operator, rule and target resolved.
    Problems are appended to ``errors`` (None when the row cannot become a leaf)."""
    ind: IndicatorInfo | None = None
    if row.indicator is not None:
        ind = catalogue.indicator(row.indicator)
        if ind is None:
            errors.append(
                error_item(
                    (*rloc, "indicator"),
                    _("unknown indicator {indicator!r}", indicator=row.indicator),
                    "unknown_code",
                )
            )
            return None
        dup = (path, row.indicator)
        if dup in seen_indicators:
            errors.append(
                error_item(
                    (*rloc, "indicator"),
                    _("this indicator is already a row of the class"),
                    "duplicate_row",
                )
            )
        seen_indicators[dup] = rloc
        if row.unit is not None and ind.unit is not None and row.unit != ind.unit:
            errors.append(
                error_item(
                    (*rloc, "unit"),
                    _(
                        "unit {unit!r} does not match the indicator's unit {unit2!r}",
                        unit=row.unit,
                        unit2=ind.unit,
                    ),
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
            errors.append(error_item((*rloc, "operator"), str(exc), "unknown_operator"))
            return None
        if (
            ind_operator is not None
            and not row.rule
            and rules.operator_kind(operator) != rules.operator_kind(ind_operator)
        ):
            # the rule follows the operator (计算符号); the catalogue's would silently win
            errors.append(
                error_item(
                    (*rloc, "operator"),
                    _(
                        "operator {operator} contradicts the indicator {indicator}'s "
                        "{ind_operator}; leave it out or give the rule explicitly",
                        operator=operator,
                        indicator=row.indicator,
                        ind_operator=ind_operator,
                    ),
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
            errors.extend(error_item((*rloc, "rule"), p, "invalid_rule") for p in problems)
            return None
    kind = _rule_kind(rule, operator)
    if kind is None:
        errors.append(error_item((*rloc, "operator"), _("give an operator or a rule"), "missing"))
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
                error_item(
                    (*rloc, "standard_type"),
                    _(
                        "no {standard_words} for {value} in region {region}{value2}",
                        standard_words=standard_words(row.standard_type, precedence),
                        value=code or _("a row without indicator"),
                        region=req.region,
                        value2=_(", year {year}", year=req.fiscal_year) if req.fiscal_year else "",
                    ),
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
        errors.append(error_item((*rloc, "target"), _("this row needs a target"), "missing"))
        return None
    if kind == "budget_execution" and target is None:
        target = 100.0
    if kind != "qualitative" and row.unit is None and ind is None:
        errors.append(error_item((*rloc, "unit"), _("a quantitative row needs a unit"), "missing"))
    leaf = rules.Leaf(row.id, row.points, rule, target, path, operator, row.name or "")
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
    leaves: list[rules.Leaf] = []
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
                    error_item(
                        (*vloc, "target"),
                        _("the framework requires a target of at least {target:g}", target=target),
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
                    error_item(
                        (*vloc, "target"),
                        _("the framework fixes this leaf's target {fixed}", fixed=fixed),
                        "target_fixed",
                    )
                )
        if target is None and has_value and kind in ("higher_better", "equal", "lower_better"):
            errors.append(
                error_item(
                    (*vloc, "target"),
                    _(
                        "{code} needs a target and the framework gives none: send the "
                        "project's declared target (指标值) as its target",
                        code=node.code,
                    ),
                    "missing",
                )
            )
        if kind is None:
            errors.append(
                error_item(
                    (*loc0, "framework"), _("node {code} has no rule", code=node.code), "no_rule"
                )
            )
            continue
        if has_value:
            sources.append((node.code, kind, "values", value_key, vloc))
        leaves.append(
            rules.Leaf(node.code, node.points, rule, target, _node_path(doc, node), operator)
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
            error_item(
                ("budget",), _("this framework has no budget-execution leaf"), "unexpected_budget"
            )
        )
    for key in req.values:
        if key not in used_values:
            errors.append(
                error_item((*loc0, "values", key), _("no fixed leaf has this code"), "unknown_code")
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
            errors.append(
                error_item((*rloc, "id"), _("duplicate row id {id!r}", id=row.id), "duplicate_row")
            )
            continue
        seen_ids[row.id] = i
        l1 = _match(level1, row.class_l1)
        if l1 is None:
            errors.append(
                error_item(
                    (*rloc, "class_l1"),
                    _("no level-1 class {class_l1!r}", class_l1=row.class_l1),
                    "unknown_class",
                )
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
                    error_item(
                        (*rloc, "class_l2"),
                        _("no class {class_l2!r}", class_l2=row.class_l2),
                        "unknown_class",
                    )
                )
                continue
        if open_node is None:
            errors.append(
                error_item(
                    (*rloc, "class_l1"), _("this class takes no project rows"), "class_not_open"
                )
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
            error_item(
                loc0,
                _("the submission is empty: no rows, no values and no budget"),
                "empty_submission",
            )
        )

    tree = None
    if not errors:
        tree = rules.Tree(
            tuple(leaves),
            bands=tuple(rules.Band(**b.model_dump()) for b in doc.bands),
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
                error_item(
                    (*loc0, "rows"),
                    _(
                        "{zh} ({code}) has no rows; the framework gives {given} (mark an "
                        "inapplicable class by its rows with not_applicable)",
                        zh=zh,
                        code=node.code,
                        given=given,
                    ),
                    "class_without_rows",
                )
            )
            continue
        msg = _(
            "{zh} rows add up to {total:g}; the framework gives {given}",
            zh=zh,
            total=total,
            given=given,
        )
        out.extend(
            error_item((*loc0, "rows", i, "points"), msg, "points_do_not_add_up") for i in members
        )
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
        current_language(),  # a structure holds its problems' messages, in one language
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
    with a ``structures`` cache (documents; the database catalogue for published versions)
    shares it between calls."""
    fw = catalogue.framework(req.framework, req.version)
    if cache is None:  # after framework(): the database catalogue scopes its cache by it
        cache = getattr(catalogue, "structures", None)
    key = _structure_key(req, fw) if cache is not None else None
    st = cache.get(key) if cache is not None else None
    if st is None:
        st = _structure(req, fw, catalogue)
        if cache is not None:
            cache[key] = st
    errors = [_prefixed(e, loc0) for e in st.errors]
    obs: dict[str, rules.ObservationLike] = {}
    rows = req.rows
    for leaf_id, kind, where, k, rel in st.sources:
        value: rules.ObservationLike
        if where == "rows":
            value = rows[k]
        elif where == "budget":
            assert req.budget is not None
            rate = req.budget.executed * 100.0 / req.budget.adjusted
            if not math.isfinite(rate):  # e.g. 1e300 executed of 1e-300: no rate to score
                errors.append(
                    error_item(
                        (*loc0, *rel),
                        _("the execution rate is not a finite number"),
                        "finite_number",
                    )
                )
                rate = math.nan
            value = rules.Observation(value=None if rate != rate else rate)
        else:
            value = req.values[k]
        problems = _value_problems(value, kind, loc0, rel)
        if problems:
            errors.extend(problems)
        obs[leaf_id] = value
    return Prepared(fw, st.tree, st.meta, obs, st.node_names, errors, req, loc0, st)


# --- compiled-tree cache ------------------------------------------------------------------------


class TreeCache:
    """Compiled trees by (framework, version, tree content): a bounded, locked LRU."""

    def __init__(self, size: int = 512) -> None:
        self._d: LRU[Any, rules.CompiledTree] = LRU(size)

    def compiled(self, fw: ResolvedFramework, tree: rules.Tree) -> rules.CompiledTree:
        key = (fw.code, fw.version, _tree_key(tree))
        return self._d.get_or_set(key, lambda: rules.compile_tree(tree))

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


def _tree_key(tree: rules.Tree) -> Any:
    return (
        tuple(
            (lf.code, lf.points, _freeze(lf.rule), lf.target, lf.path, lf.operator)
            for lf in tree.leaves
        ),
        tree.bands,
        tree.missing_policy,
        _freeze(tree.rule_variants),
    )


TREE_CACHE = TreeCache()


def compile_prepared(p: Prepared) -> rules.CompiledTree:
    assert p.tree is not None
    if p.structure is not None and p.structure.compiled is not None:
        return p.structure.compiled
    try:
        compiled = TREE_CACHE.compiled(p.framework, p.tree)
        if p.structure is not None:
            p.structure.compiled = compiled
        return compiled
    except rules.RuleError as exc:
        loc: list[str | int] = ["body"]
        if len(exc.loc) >= 2 and exc.loc[0] == "leaves":
            leaf = next((m for m in p.meta if m.id == exc.loc[1]), None)
            if leaf is not None:
                loc = [*p.loc0, *leaf.loc, *exc.loc[2:]]
        raise Unprocessable(str(exc), errors=[error_item(loc, exc.msg, "invalid_rule")]) from exc
