"""Indicator trees and their compiled form (docs/scoring.md).

``compile_tree(Tree)`` → ``CompiledTree``: the leaves' parameters as arrays (points, rule kind,
target, per-kind parameters) and the tree structure as (leaf, ancestor node) pairs, validating
every rule parameter. A batch is *ragged*: the leaves of all submissions are concatenated into
arrays of length M, with ``leaf_item`` (which submission) and the (leaf, node) pairs offset per
submission. ``stack([...])`` concatenates different trees; ``CompiledTree.tile(n)`` repeats one
tree. Evaluation is in :mod:`indicator_service.rules.engine`.

Pure code: imports numpy and the standard library only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from indicator_service.core.i18n import _
from indicator_service.rules.vocabulary import (
    BAND,
    BUDGET,
    DEDUCT,
    DEFAULT_BANDS,
    DEFAULT_EFFICACY_COEFFICIENTS,
    DEFAULT_OVER_ACHIEVEMENT_FACTOR,
    DEFAULT_QUALITATIVE_LEVELS,
    DEVIATION_KINDS,
    EFFICACY,
    EQUAL,
    HIGHER,
    KIND_CODE,
    KINDS,
    LOWER,
    MISSING_POLICIES,
    QUAL,
    RANK,
    TWO_SIDED,
    Band,
    RuleError,
    operator_kind,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# --- plain-Python inputs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """A measured indicator (level 3): ``path`` names its ancestors, level 1 first."""

    code: str
    points: float
    rule: Mapping[str, Any] = field(default_factory=dict)
    target: float | None = None
    path: tuple[str, ...] = ()
    operator: str | None = None
    name: str = ""


@dataclass(frozen=True)
class Tree:
    """An indicator tree: its leaves, grading bands, missing policy and rule variants."""

    leaves: tuple[Leaf, ...]
    bands: tuple[Band, ...] = DEFAULT_BANDS
    missing_policy: str = "zero"
    rule_variants: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Observation:
    """One leaf's submitted value: a number, a qualitative level (+ optional score inside its
    band), ``not_applicable``, or nothing (missing). A manual deduction needs a reason."""

    value: float | None = None
    level: str | None = None
    level_score: float | None = None
    not_applicable: bool = False
    deduction: float = 0.0
    deduction_reason: str | None = None


class ObservationLike(Protocol):
    """What the engine reads of an observation: :class:`Observation`, or any object with these
    attributes (the service passes its validated request values as they are)."""

    @property
    def value(self) -> float | None: ...
    @property
    def level(self) -> str | None: ...
    @property
    def level_score(self) -> float | None: ...
    @property
    def not_applicable(self) -> bool: ...
    @property
    def deduction(self) -> float | None: ...
    @property
    def deduction_reason(self) -> str | None: ...


# --- compiled trees ------------------------------------------------------------------------------

_PARAM_FIELDS = (
    "points",
    "target",
    "variant_inverse",  # lower_better: 1 = inverse (variant b), 0 = linear (variant a)
    "cap",
    "warn_below",
    "threshold",
    "per_unit",
    "direction_below",  # deduction: 1 = deduct below the threshold
    "over_factor",  # NaN = warning disabled
    "over_penalty",  # NaN = off
    "below_bottom_zero",
    "beyond",
    "tolerance",  # two_sided: full marks while the deviation ≤ tolerance (percent)
    "zero_at",  # two_sided: deviation (percent) at which the score reaches 0
    "band",  # band: ± band (percent of t, or absolute) with full marks
    "step",  # step_deduction: size of one step
    "measure_abs",  # band / step_deduction: 1 = absolute a − t, 0 = percent of t
)


@dataclass(frozen=True)
class CompiledTree:
    """A tree (or a ragged batch of trees) as arrays. Immutable once built.

    Rule parameters live in a *parameter table* (one row per distinct leaf definition: ``kind``,
    ``p``, ``qual_*``, ``eff_*``, ``rank_points``); ``row`` maps each of the batch's M leaves to
    its table row. Repeating one tree for N submissions therefore only repeats ``row`` and the
    structure arrays, never the parameters.
    """

    n_items: int
    row: IntArray  # (M,) parameter-table row of each leaf
    leaf_item: IntArray  # (M,) item of each leaf
    kind: IntArray  # (T,) rule kind per table row
    p: dict[str, FloatArray]  # (T,) per parameter name in _PARAM_FIELDS
    qual_min: FloatArray  # (T, K) fractions; NaN pads
    qual_max: FloatArray
    qual_default: FloatArray
    eff_levels: FloatArray  # (T, 5)
    eff_coef: FloatArray  # (T, 5)
    rank_points: FloatArray  # (T, R); NaN pads
    pair_leaf: IntArray  # (P,) leaf of each (leaf, ancestor) pair
    pair_node: IntArray  # (P,) ancestor node
    node_item: IntArray  # (N,)
    missing_policy: IntArray  # (n_items,) index into MISSING_POLICIES
    band_set: IntArray  # (n_items,) index into band_sets
    band_sets: tuple[tuple[Band, ...], ...]
    # Descriptive data of a single tree (empty tuples for stacked batches).
    leaves: tuple[Leaf, ...] = ()
    node_paths: tuple[tuple[str, ...], ...] = ()
    qual_codes: tuple[tuple[str, ...], ...] = ()
    rules: tuple[Mapping[str, Any], ...] = ()

    @property
    def n_leaves(self) -> int:
        return int(self.row.shape[0])

    @property
    def n_nodes(self) -> int:
        return int(self.node_item.shape[0])

    # Structure-only arrays the evaluation needs, computed once per compiled tree (a cached
    # tree is evaluated for many requests; a single small tree pays numpy's per-call overhead).
    @cached_property
    def leaf_index(self) -> dict[str, int]:
        """Position of each leaf of a single tree by its code."""
        return {leaf.code: i for i, leaf in enumerate(self.leaves)}

    @cached_property
    def leaf_kind(self) -> IntArray:
        """(M,) rule kind of each leaf."""
        return _frozen(self.kind[self.row])

    @cached_property
    def leaf_weight(self) -> FloatArray:
        """(M,) points of each leaf."""
        return _frozen(self.p["points"][self.row])

    @cached_property
    def kind_leaves(self) -> dict[int, tuple[IntArray, IntArray]]:
        """Per rule kind present: its leaves' indices and their parameter-table rows."""
        out = {}
        # The kinds of the parameter table (a few rows; no sort of M leaves): every row belongs
        # to some leaf when compiled or stacked, and a kind without leaves gets no indices.
        for k in np.flatnonzero(np.bincount(self.kind, minlength=len(KINDS))).tolist():
            idx = np.flatnonzero(self.leaf_kind == k)
            out[int(k)] = (_frozen(idx), _frozen(self.row[idx]))
        return out

    @cached_property
    def band_edges(self) -> tuple[FloatArray, ...]:
        """Lower grade edges of each band set (sorted by ``min``)."""
        return tuple(_frozen(np.asarray([b.min for b in bands])) for bands in self.band_sets)

    def tile(self, n: int) -> CompiledTree:
        """The same single tree repeated for ``n`` submissions (a fixed framework)."""
        return _repeat(self, n) if n != 1 else self


def _frozen(a: Any) -> Any:
    """``a`` made read-only: cached arrays are shared by every evaluation of their tree."""
    a.flags.writeable = False
    return a


def _num(loc: list[str | int], params: Mapping[str, Any], name: str, default: float) -> float:
    if name not in params:
        return default
    value = params[name]
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleError([*loc, name], _("must be a finite number"))
    return float(value)


def validate_bands(bands: Sequence[Band]) -> tuple[Band, ...]:
    """Bands must be gapless, non-overlapping and cover 0–100; returned sorted by ``min``."""
    ordered = tuple(sorted(bands, key=lambda b: b.min))
    if not ordered:
        raise RuleError(["bands"], _("at least one band is required"))
    if ordered[0].min != 0.0 or ordered[-1].max != 100.0:
        raise RuleError(["bands"], _("bands must cover 0–100"))
    for i, (lo, hi) in enumerate(itertools.pairwise(ordered)):
        if lo.max != hi.min:
            raise RuleError(
                ["bands", i],
                _("gap or overlap between {grade} and {grade2}", grade=lo.grade, grade2=hi.grade),
            )
    for i, b in enumerate(ordered):
        if not b.min < b.max:
            raise RuleError(["bands", i], _("band {grade} is empty", grade=b.grade))
    return ordered


def resolve_rule(leaf: Leaf, rule_variants: Mapping[str, Any]) -> dict[str, Any]:
    """The leaf's effective rule: its kind (from the rule or the operator) and parameters with
    the framework's variants applied (``lower_better`` variant, qualitative levels)."""
    rule = dict(leaf.rule)
    kind = rule.get("kind")
    if kind is None:
        kind = operator_kind(leaf.operator)
        if kind is None:
            raise RuleError(["leaves", leaf.code, "rule"], _("no rule kind and no known operator"))
    if kind not in KIND_CODE:
        raise RuleError(
            ["leaves", leaf.code, "rule", "kind"], _("unknown rule kind {kind!r}", kind=kind)
        )
    rule["kind"] = kind
    if kind == "lower_better" and "variant" not in rule:
        rule["variant"] = rule_variants.get("lower_better", "linear")
    if kind == "qualitative" and "levels" not in rule:
        rule["levels"] = [dict(x) for x in rule_variants.get("qualitative_levels", ())] or [
            dict(x) for x in DEFAULT_QUALITATIVE_LEVELS
        ]
    return rule


def qualitative_band_problems(levels: Sequence[Mapping[str, Any]]) -> list[str]:
    """Problems of qualitative levels taken together (each level valid on its own): the codes
    must differ, and the bands must not overlap — they may touch, as [0.6, 0.8) and [0.8, 1]
    do — so that a score inside a band names one level."""
    out: list[str] = []
    codes = [str(lvl["code"]) for lvl in levels]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        out.append(f"level codes must differ: {', '.join(repeated)} repeated")
    spans = sorted((float(lvl["min"]), float(lvl["max"]), str(lvl["code"])) for lvl in levels)
    for (_lo, hi, a), (lo, _hi, b) in itertools.pairwise(spans):
        if lo < hi:
            out.append(f"the bands of levels {a} and {b} overlap")
    return out


def _compile_deviation(
    k: int,
    rule: Mapping[str, Any],
    rloc: list[str | int],
    p: dict[str, FloatArray],
    i: int,
    target: float | None,
) -> None:
    """Parameters of ``two_sided``, ``band`` and ``step_deduction`` (docs/scoring.md)."""
    measure = rule.get("measure", "relative") if k != TWO_SIDED else "relative"
    if measure not in ("relative", "absolute"):
        raise RuleError([*rloc, "measure"], _("must be 'relative' or 'absolute'"))
    p["measure_abs"][i] = 1.0 if measure == "absolute" else 0.0
    if target is None:
        raise RuleError([*rloc[:-1], "target"], _("a {kinds} rule needs a target", kinds=KINDS[k]))
    if measure == "relative" and not target > 0:
        raise RuleError(
            [*rloc[:-1], "target"],
            _("a {kinds} rule measured relative to the target needs a target > 0", kinds=KINDS[k]),
        )
    if k == TWO_SIDED:
        tol = _num(rloc, rule, "tolerance", 0.0)
        zero_at = _num(rloc, rule, "zero_at", 100.0)
        if not tol >= 0:
            raise RuleError([*rloc, "tolerance"], _("must be ≥ 0"))
        if not zero_at > tol:
            raise RuleError([*rloc, "zero_at"], _("must be greater than tolerance"))
        p["tolerance"][i], p["zero_at"][i] = tol, zero_at
    elif k == BAND:
        band = _num(rloc, rule, "band", math.nan)
        per_point = _num(rloc, rule, "per_point", math.nan)
        if not band >= 0:
            raise RuleError([*rloc, "band"], _("band needs a number ≥ 0"))
        if not per_point >= 0:
            raise RuleError([*rloc, "per_point"], _("per_point needs a number ≥ 0"))
        p["band"][i], p["per_unit"][i] = band, per_point
    else:
        step = _num(rloc, rule, "step", math.nan)
        per_step = _num(rloc, rule, "per_step", math.nan)
        if not step > 0:
            raise RuleError([*rloc, "step"], _("step needs a number > 0"))
        if not per_step >= 0:
            raise RuleError([*rloc, "per_step"], _("per_step needs a number ≥ 0"))
        direction = rule.get("direction", "below")
        if direction not in ("above", "below"):
            raise RuleError([*rloc, "direction"], _("must be 'above' or 'below'"))
        p["step"][i], p["per_unit"][i] = step, per_step
        p["direction_below"][i] = 1.0 if direction == "below" else 0.0


def compile_tree(tree: Tree) -> CompiledTree:
    """Compile one tree into arrays (validating every rule parameter)."""
    bands = validate_bands(tree.bands)
    if tree.missing_policy not in MISSING_POLICIES:
        raise RuleError(
            ["missing_policy"],
            _("must be one of {missing_policies}", missing_policies=", ".join(MISSING_POLICIES)),
        )
    leaves = tree.leaves
    m = len(leaves)
    p = {name: np.zeros(m) for name in _PARAM_FIELDS}
    kind = np.zeros(m, dtype=np.int64)
    rules: list[dict[str, Any]] = []
    qual_levels: list[list[Mapping[str, Any]]] = []
    eff_levels = np.full((m, 5), np.nan)
    eff_coef = np.full((m, 5), np.nan)
    ranks: list[list[float]] = []
    codes_seen: set[str] = set()
    for i, leaf in enumerate(leaves):
        loc: list[str | int] = ["leaves", leaf.code]
        if leaf.code in codes_seen:
            raise RuleError(loc, _("duplicate leaf code"))
        codes_seen.add(leaf.code)
        if not (math.isfinite(leaf.points) and leaf.points >= 0):
            raise RuleError([*loc, "points"], _("points must be a finite number ≥ 0"))
        rule = resolve_rule(leaf, tree.rule_variants)
        rules.append(rule)
        k = KIND_CODE[rule["kind"]]
        kind[i] = k
        rloc: list[str | int] = [*loc, "rule"]
        p["points"][i] = leaf.points
        target = leaf.target
        if target is None and k in (HIGHER, EQUAL, LOWER):
            raise RuleError([*loc, "target"], _("a {rule} rule needs a target", rule=rule["kind"]))
        if target is None and k == BUDGET:
            target = 1.0  # the actual is then a rate
        if target is not None and not math.isfinite(target):
            raise RuleError([*loc, "target"], _("target must be finite"))
        p["target"][i] = math.nan if target is None else target
        if k == BUDGET and not p["target"][i] > 0:
            raise RuleError([*loc, "target"], _("the adjusted budget must be > 0"))
        p["over_factor"][i] = _num(
            rloc, rule, "over_achievement_factor", DEFAULT_OVER_ACHIEVEMENT_FACTOR
        )
        penalty = _num(rloc, rule, "over_achievement_penalty", math.nan)
        if not math.isnan(penalty) and not 0 < penalty <= 1:
            raise RuleError([*rloc, "over_achievement_penalty"], _("must lie in (0, 1]"))
        p["over_penalty"][i] = penalty
        qual: list[Mapping[str, Any]] = []
        rank: list[float] = []
        if k == LOWER:
            variant = rule["variant"]
            if variant not in ("linear", "inverse"):
                raise RuleError([*rloc, "variant"], _("must be 'linear' or 'inverse'"))
            p["variant_inverse"][i] = 1.0 if variant == "inverse" else 0.0
        elif k == BUDGET:
            p["cap"][i] = _num(rloc, rule, "cap", 1.0)
            p["warn_below"][i] = _num(rloc, rule, "warn_below", 0.9)
            if not p["cap"][i] > 0:
                raise RuleError([*rloc, "cap"], _("must be > 0"))
        elif k == DEDUCT:
            p["threshold"][i] = _num(rloc, rule, "threshold", math.nan)
            p["per_unit"][i] = _num(rloc, rule, "per_unit", math.nan)
            if math.isnan(p["threshold"][i]) or not p["per_unit"][i] >= 0:
                raise RuleError(rloc, _("deduction needs threshold and per_unit ≥ 0"))
            direction = rule.get("direction", "above")
            if direction not in ("above", "below"):
                raise RuleError([*rloc, "direction"], _("must be 'above' or 'below'"))
            p["direction_below"][i] = 1.0 if direction == "below" else 0.0
        elif k in DEVIATION_KINDS:
            _compile_deviation(k, rule, rloc, p, i, target)
        elif k == EFFICACY:
            lv = rule.get("levels")
            coef = rule.get("coefficients", DEFAULT_EFFICACY_COEFFICIENTS)
            for name, values in (("levels", lv), ("coefficients", coef)):
                if (
                    not isinstance(values, list | tuple)
                    or len(values) != 5
                    or not all(
                        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                        for v in values
                    )
                ):
                    raise RuleError([*rloc, name], _("must be five finite numbers"))
            assert lv is not None
            diffs = np.diff(np.asarray(lv, dtype=np.float64))
            if not (np.all(diffs < 0) or np.all(diffs > 0)):
                raise RuleError([*rloc, "levels"], _("must be strictly monotone"))
            eff_levels[i] = lv
            eff_coef[i] = coef
            below = rule.get("below_bottom", "bottom")
            if below not in ("bottom", "zero"):
                raise RuleError([*rloc, "below_bottom"], _("must be 'bottom' or 'zero'"))
            p["below_bottom_zero"][i] = 1.0 if below == "zero" else 0.0
        elif k == RANK:
            pts = rule.get("points")
            if (
                not isinstance(pts, list | tuple)
                or not pts
                or not all(
                    isinstance(v, int | float)
                    and not isinstance(v, bool)
                    and math.isfinite(v)
                    and v >= 0
                    for v in pts
                )
            ):
                raise RuleError([*rloc, "points"], _("must be a non-empty list of numbers ≥ 0"))
            rank = [float(v) for v in pts]
            p["beyond"][i] = _num(rloc, rule, "beyond", 0.0)
        elif k == QUAL:
            levels = rule["levels"]
            if not isinstance(levels, list | tuple) or not levels:
                raise RuleError([*rloc, "levels"], _("must be a non-empty list"))
            for j, lvl in enumerate(levels):
                lo, hi, de = (lvl.get(x) for x in ("min", "max", "default"))
                if not all(isinstance(v, int | float) for v in (lo, hi, de)) or not (
                    0 <= lo < hi <= 1 and lo <= de <= hi
                ):
                    raise RuleError(
                        [*rloc, "levels", j], _("needs 0 ≤ min ≤ default ≤ max ≤ 1, min < max")
                    )
                if not isinstance(lvl.get("code"), str):
                    raise RuleError([*rloc, "levels", j, "code"], _("must be a string"))
            problems = qualitative_band_problems(levels)
            if problems:
                raise RuleError([*rloc, "levels"], problems[0])
            qual = list(levels)
        qual_levels.append(qual)
        ranks.append(rank)

    kq = max((len(q) for q in qual_levels), default=0) or 1
    qual_min = np.full((m, kq), np.nan)
    qual_max = np.full((m, kq), np.nan)
    qual_default = np.full((m, kq), np.nan)
    for i, q in enumerate(qual_levels):
        for j, lvl in enumerate(q):
            qual_min[i, j], qual_max[i, j], qual_default[i, j] = (
                float(lvl["min"]),
                float(lvl["max"]),
                float(lvl["default"]),
            )
    kr = max((len(r) for r in ranks), default=0) or 1
    rank_points = np.full((m, kr), np.nan)
    for i, r in enumerate(ranks):
        rank_points[i, : len(r)] = r

    node_paths: list[tuple[str, ...]] = []
    node_index: dict[tuple[str, ...], int] = {}
    pair_leaf: list[int] = []
    pair_node: list[int] = []
    for i, leaf in enumerate(leaves):
        for depth in range(1, len(leaf.path) + 1):
            prefix = leaf.path[:depth]
            if prefix not in node_index:
                node_index[prefix] = len(node_paths)
                node_paths.append(prefix)
            pair_leaf.append(i)
            pair_node.append(node_index[prefix])

    return CompiledTree(
        n_items=1,
        row=np.arange(m, dtype=np.int64),
        leaf_item=np.zeros(m, dtype=np.int64),
        kind=kind,
        p=p,
        qual_min=qual_min,
        qual_max=qual_max,
        qual_default=qual_default,
        eff_levels=eff_levels,
        eff_coef=eff_coef,
        rank_points=rank_points,
        pair_leaf=np.asarray(pair_leaf, dtype=np.int64),
        pair_node=np.asarray(pair_node, dtype=np.int64),
        node_item=np.zeros(len(node_paths), dtype=np.int64),
        missing_policy=np.asarray([MISSING_POLICIES.index(tree.missing_policy)], dtype=np.int64),
        band_set=np.zeros(1, dtype=np.int64),
        band_sets=(bands,),
        leaves=leaves,
        node_paths=tuple(node_paths),
        qual_codes=tuple(tuple(str(lvl["code"]) for lvl in q) for q in qual_levels),
        rules=tuple(rules),
    )


def _pad_cat(blocks: Sequence[FloatArray], width: int) -> FloatArray:
    out = np.full((sum(b.shape[0] for b in blocks), width), np.nan)
    row = 0
    for b in blocks:
        out[row : row + b.shape[0], : b.shape[1]] = b
        row += b.shape[0]
    return out


def _repeat(t: CompiledTree, n: int) -> CompiledTree:
    """One tree repeated ``n`` times (a fixed framework): its parameter table shared, the rest
    repeated with offsets."""
    m, nn, ni = t.n_leaves, t.n_nodes, t.n_items
    reps = np.arange(n, dtype=np.int64)[:, None]

    def offset(a: IntArray, step: int) -> IntArray:
        return (a[None, :] + reps * step).ravel()

    return replace(
        t,
        n_items=n * ni,
        row=np.tile(t.row, n),
        leaf_item=offset(t.leaf_item, ni),
        pair_leaf=offset(t.pair_leaf, m),
        pair_node=offset(t.pair_node, nn),
        node_item=offset(t.node_item, ni),
        missing_policy=np.tile(t.missing_policy, n),
        band_set=np.tile(t.band_set, n),
        leaves=(),
        node_paths=(),
        qual_codes=(),
        rules=(),
    )


def stack(trees: Sequence[CompiledTree]) -> CompiledTree:
    """Concatenate compiled trees into one ragged batch (items keep their order)."""
    if not trees:
        raise ValueError(_("stack needs at least one tree"))
    if all(t is trees[0] for t in trees):
        return _repeat(trees[0], len(trees))
    band_sets: list[tuple[Band, ...]] = []
    band_set_parts = []
    for t in trees:
        remap = []
        for bs in t.band_sets:
            if bs not in band_sets:
                band_sets.append(bs)
            remap.append(band_sets.index(bs))
        band_set_parts.append(np.asarray(remap, dtype=np.int64)[t.band_set])
    leaf_off = np.cumsum([0] + [t.n_leaves for t in trees])
    table_off = np.cumsum([0] + [t.kind.shape[0] for t in trees])
    node_off = np.cumsum([0] + [t.n_nodes for t in trees])
    item_off = np.cumsum([0] + [t.n_items for t in trees])
    return CompiledTree(
        n_items=int(item_off[-1]),
        row=np.concatenate([t.row + table_off[i] for i, t in enumerate(trees)]),
        leaf_item=np.concatenate([t.leaf_item + item_off[i] for i, t in enumerate(trees)]),
        kind=np.concatenate([t.kind for t in trees]),
        p={k: np.concatenate([t.p[k] for t in trees]) for k in _PARAM_FIELDS},
        qual_min=_pad_cat([t.qual_min for t in trees], max(t.qual_min.shape[1] for t in trees)),
        qual_max=_pad_cat([t.qual_max for t in trees], max(t.qual_max.shape[1] for t in trees)),
        qual_default=_pad_cat(
            [t.qual_default for t in trees], max(t.qual_default.shape[1] for t in trees)
        ),
        eff_levels=np.concatenate([t.eff_levels for t in trees]),
        eff_coef=np.concatenate([t.eff_coef for t in trees]),
        rank_points=_pad_cat(
            [t.rank_points for t in trees], max(t.rank_points.shape[1] for t in trees)
        ),
        pair_leaf=np.concatenate([t.pair_leaf + leaf_off[i] for i, t in enumerate(trees)]),
        pair_node=np.concatenate([t.pair_node + node_off[i] for i, t in enumerate(trees)]),
        node_item=np.concatenate([t.node_item + item_off[i] for i, t in enumerate(trees)]),
        missing_policy=np.concatenate([t.missing_policy for t in trees]),
        band_set=np.concatenate(band_set_parts),
        band_sets=tuple(band_sets),
    )
