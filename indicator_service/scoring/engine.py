"""The scoring engine: rules, aggregation, rounding and grading, vectorised with numpy.

Pure code: imports numpy and the standard library only (no web, no database), so it can be
tested and benchmarked alone. The rules are the shared contract (docs/scoring.md, section
"Rules"): a rule is data, ``{"kind": KIND, **params}``, never a branch per indicator.

Pipeline (each stage a function over flat arrays):

1. ``compile_tree(Tree)`` → ``CompiledTree``: the leaves' parameters as arrays (points, rule
   kind, target, per-kind parameters) and the tree structure as (leaf, ancestor node) pairs.
   A published framework version is immutable, so its compiled form is built once and cached
   (``CompiledCache``).
2. A batch is *ragged*: the leaves of all submissions are concatenated into arrays of length M,
   with ``leaf_item`` (which submission) and the (leaf, node) pairs offset per submission.
   ``stack([...])`` concatenates different trees; ``CompiledTree.tile(n)`` repeats one tree.
3. ``evaluate(batch, observations)``: every rule kind is evaluated on the indices of its leaves
   (boolean masks computed once), then modifiers (over-achievement, manual deduction), then the
   ONE rounding function ``round_half_up``; node subtotals and item totals are ``np.bincount``
   sums; grades come from ``np.searchsorted`` on the band edges.

Rounding (stated once, applied here only): each leaf score is rounded half-up to 2 decimals;
node subtotals are sums of the rounded leaves; the rebased total
``Σ scores · 100 / Σ applicable points`` is rounded half-up to 2 decimals; the grade is taken
from the rounded total.
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

from indicator_service.core.cache import LRU

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

ROUNDING_RULE = (
    "each leaf score is rounded half-up to 2 decimals; node subtotals are sums of the rounded "
    "leaves; the rebased total (Σ scores × 100 / Σ applicable points) is rounded half-up to 2 "
    "decimals; the grade is taken from the rounded total"
)

# --- rule kinds --------------------------------------------------------------------------------

KINDS: tuple[str, ...] = (
    "higher_better",
    "equal",
    "lower_better",
    "qualitative",
    "budget_execution",
    "deduction",
    "efficacy",
    "rank_table",
    "two_sided",
    "band",
    "step_deduction",
)
KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(KINDS)}
HIGHER, EQUAL, LOWER, QUAL, BUDGET, DEDUCT, EFFICACY, RANK, TWO_SIDED, BAND, STEP = range(
    len(KINDS)
)
#: Kinds measured against the target as a deviation (relative: percent of t; absolute: a − t).
DEVIATION_KINDS = frozenset({TWO_SIDED, BAND, STEP})

#: Operator → default rule kind.
OPERATOR_KIND: dict[str, str] = {
    "≥": "higher_better",
    ">=": "higher_better",
    ">": "higher_better",
    "=": "equal",
    "≤": "lower_better",
    "<=": "lower_better",
    "<": "lower_better",
    "定性": "qualitative",
    "qualitative": "qualitative",
}

#: Kinds whose negative actuals are clamped to 0. ``deduction`` (signed change rates such as
#: the year-on-year change of 三公经费), ``efficacy`` (levels may be negative) and
#: ``rank_table`` (validated integer ranks) take the actual as given.
CLAMPED_KINDS = frozenset({HIGHER, EQUAL, LOWER, BUDGET})

QUANTITATIVE_KINDS = frozenset(set(range(len(KINDS))) - {QUAL})

DEFAULT_OVER_ACHIEVEMENT_FACTOR = 1.3
DEFAULT_EFFICACY_COEFFICIENTS = (1.0, 0.8, 0.6, 0.4, 0.2)
EFFICACY_LEVEL_NAMES = ("优秀", "良好", "平均", "较低", "较差")

# --- leaf statuses, warnings, errors -------------------------------------------------------------

VALUE, NOT_APPLICABLE, MISSING = 0, 1, 2
STATUS_NAMES = ("value", "not_applicable", "missing")
MISSING_POLICIES = ("zero", "rebase", "reject")

WARNING_FLAGS: dict[str, int] = {
    "over_achievement": 1,
    "execution_below_threshold": 2,
    "negative_actual_clamped": 4,
    "missing_scored_zero": 8,
    "missing_rebased": 16,
    "below_bottom_level": 32,
    "manual_deduction": 64,
    "over_achievement_penalty": 128,
}

#: Per-leaf error codes (0 = no error). An item with any leaf error gets no total.
ERROR_CODES: dict[int, tuple[str, str]] = {
    1: ("missing_value_rejected", "value is missing and the framework's missing policy is reject"),
    2: ("qualitative_level_required", "a qualitative row needs a level code, not a number"),
    3: ("qualitative_score_out_of_band", "the qualitative score lies outside its level's band"),
    4: ("number_required", "a quantitative row needs a numeric actual value"),
    5: ("invalid_rank", "a rank must be an integer ≥ 1"),
    6: ("invalid_deduction", "a manual deduction must be a finite number ≥ 0"),
    7: ("non_finite_value", "values must be finite numbers"),
}


class RuleError(ValueError):
    """A rule or tree that cannot be compiled; ``loc`` names the leaf and parameter."""

    def __init__(self, loc: Sequence[str | int], msg: str) -> None:
        super().__init__(f"{'/'.join(str(p) for p in loc)}: {msg}")
        self.loc = list(loc)
        self.msg = msg


# --- the one rounding function -------------------------------------------------------------------


def round_half_up(x: npt.ArrayLike) -> Any:
    """Round half-up to 2 decimals (the service's only rounding function).

    The value is first rounded to 6 decimals in hundredths so that binary noise
    (89.995 is stored as 89.99499999…) does not decide the direction: 89.995 → 90.00,
    89.994 → 89.99. Scores and totals are never negative; a negative value rounds half away
    from zero.
    """
    arr = np.asarray(x, dtype=np.float64)
    scaled = np.round(arr * 100.0, 6)
    if arr.ndim == 0:
        v = float(scaled)
        return math.copysign(math.floor(abs(v) + 0.5), v) / 100.0 + 0.0
    neg = scaled < 0
    np.abs(scaled, out=scaled)
    scaled += 0.5
    np.floor(scaled, out=scaled)
    if neg.any():
        scaled[neg] *= -1.0
    scaled /= 100.0
    return scaled


# --- plain-Python inputs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    grade: str
    name_en: str
    min: float
    max: float
    recommendation_zh: str | None = None
    recommendation_en: str | None = None


#: The national grade bands (优 [90, 100], 良 [80, 90), 中 [60, 80), 差 [0, 60)). What a grade
#: means for the budget (its consequence) is framework data: catalogue.source.DEFAULT_BANDS adds
#: the default wording and its source.
DEFAULT_BANDS: tuple[Band, ...] = (
    Band("优", "excellent", 90.0, 100.0),
    Band("良", "good", 80.0, 90.0),
    Band("中", "fair", 60.0, 80.0),
    Band("差", "poor", 0.0, 60.0),
)

DEFAULT_QUALITATIVE_LEVELS: tuple[Mapping[str, Any], ...] = (
    {
        "code": "achieved",
        "name_zh": "达成年度指标",
        "name_en": "annual target achieved",
        "min": 0.8,
        "max": 1.0,
        "default": 1.0,
    },
    {
        "code": "partial",
        "name_zh": "部分达成年度指标并具有一定效果",
        "name_en": "partly achieved with some effect",
        "min": 0.6,
        "max": 0.8,
        "default": 0.7,
    },
    {
        "code": "not_achieved",
        "name_zh": "未达成年度指标且效果较差",
        "name_en": "not achieved, poor effect",
        "min": 0.0,
        "max": 0.6,
        "default": 0.3,
    },
)


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
        raise RuleError([*loc, name], "must be a finite number")
    return float(value)


def validate_bands(bands: Sequence[Band]) -> tuple[Band, ...]:
    """Bands must be gapless, non-overlapping and cover 0–100; returned sorted by ``min``."""
    ordered = tuple(sorted(bands, key=lambda b: b.min))
    if not ordered:
        raise RuleError(["bands"], "at least one band is required")
    if ordered[0].min != 0.0 or ordered[-1].max != 100.0:
        raise RuleError(["bands"], "bands must cover 0–100")
    for i, (lo, hi) in enumerate(itertools.pairwise(ordered)):
        if lo.max != hi.min:
            raise RuleError(["bands", i], f"gap or overlap between {lo.grade} and {hi.grade}")
    for i, b in enumerate(ordered):
        if not b.min < b.max:
            raise RuleError(["bands", i], f"band {b.grade} is empty")
    return ordered


def resolve_rule(leaf: Leaf, rule_variants: Mapping[str, Any]) -> dict[str, Any]:
    """The leaf's effective rule: its kind (from the rule or the operator) and parameters with
    the framework's variants applied (``lower_better`` variant, qualitative levels)."""
    rule = dict(leaf.rule)
    kind = rule.get("kind")
    if kind is None:
        if leaf.operator is None or leaf.operator not in OPERATOR_KIND:
            raise RuleError(["leaves", leaf.code, "rule"], "no rule kind and no known operator")
        kind = OPERATOR_KIND[leaf.operator]
    if kind not in KIND_CODE:
        raise RuleError(["leaves", leaf.code, "rule", "kind"], f"unknown rule kind {kind!r}")
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
        raise RuleError([*rloc, "measure"], "must be 'relative' or 'absolute'")
    p["measure_abs"][i] = 1.0 if measure == "absolute" else 0.0
    if target is None:
        raise RuleError([*rloc[:-1], "target"], f"a {KINDS[k]} rule needs a target")
    if measure == "relative" and not target > 0:
        raise RuleError(
            [*rloc[:-1], "target"],
            f"a {KINDS[k]} rule measured relative to the target needs a target > 0",
        )
    if k == TWO_SIDED:
        tol = _num(rloc, rule, "tolerance", 0.0)
        zero_at = _num(rloc, rule, "zero_at", 100.0)
        if not tol >= 0:
            raise RuleError([*rloc, "tolerance"], "must be ≥ 0")
        if not zero_at > tol:
            raise RuleError([*rloc, "zero_at"], "must be greater than tolerance")
        p["tolerance"][i], p["zero_at"][i] = tol, zero_at
    elif k == BAND:
        band = _num(rloc, rule, "band", math.nan)
        per_point = _num(rloc, rule, "per_point", math.nan)
        if not band >= 0:
            raise RuleError([*rloc, "band"], "band needs a number ≥ 0")
        if not per_point >= 0:
            raise RuleError([*rloc, "per_point"], "per_point needs a number ≥ 0")
        p["band"][i], p["per_unit"][i] = band, per_point
    else:
        step = _num(rloc, rule, "step", math.nan)
        per_step = _num(rloc, rule, "per_step", math.nan)
        if not step > 0:
            raise RuleError([*rloc, "step"], "step needs a number > 0")
        if not per_step >= 0:
            raise RuleError([*rloc, "per_step"], "per_step needs a number ≥ 0")
        direction = rule.get("direction", "below")
        if direction not in ("above", "below"):
            raise RuleError([*rloc, "direction"], "must be 'above' or 'below'")
        p["step"][i], p["per_unit"][i] = step, per_step
        p["direction_below"][i] = 1.0 if direction == "below" else 0.0


def compile_tree(tree: Tree) -> CompiledTree:
    """Compile one tree into arrays (validating every rule parameter)."""
    bands = validate_bands(tree.bands)
    if tree.missing_policy not in MISSING_POLICIES:
        raise RuleError(["missing_policy"], f"must be one of {', '.join(MISSING_POLICIES)}")
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
            raise RuleError(loc, "duplicate leaf code")
        codes_seen.add(leaf.code)
        if not (math.isfinite(leaf.points) and leaf.points >= 0):
            raise RuleError([*loc, "points"], "points must be a finite number ≥ 0")
        rule = resolve_rule(leaf, tree.rule_variants)
        rules.append(rule)
        k = KIND_CODE[rule["kind"]]
        kind[i] = k
        rloc: list[str | int] = [*loc, "rule"]
        p["points"][i] = leaf.points
        target = leaf.target
        if target is None and k in (HIGHER, EQUAL, LOWER):
            raise RuleError([*loc, "target"], f"a {rule['kind']} rule needs a target")
        if target is None and k == BUDGET:
            target = 1.0  # the actual is then a rate
        if target is not None and not math.isfinite(target):
            raise RuleError([*loc, "target"], "target must be finite")
        p["target"][i] = math.nan if target is None else target
        if k == BUDGET and not p["target"][i] > 0:
            raise RuleError([*loc, "target"], "the adjusted budget must be > 0")
        p["over_factor"][i] = _num(
            rloc, rule, "over_achievement_factor", DEFAULT_OVER_ACHIEVEMENT_FACTOR
        )
        penalty = _num(rloc, rule, "over_achievement_penalty", math.nan)
        if not math.isnan(penalty) and not 0 < penalty <= 1:
            raise RuleError([*rloc, "over_achievement_penalty"], "must lie in (0, 1]")
        p["over_penalty"][i] = penalty
        qual: list[Mapping[str, Any]] = []
        rank: list[float] = []
        if k == LOWER:
            variant = rule["variant"]
            if variant not in ("linear", "inverse"):
                raise RuleError([*rloc, "variant"], "must be 'linear' or 'inverse'")
            p["variant_inverse"][i] = 1.0 if variant == "inverse" else 0.0
        elif k == BUDGET:
            p["cap"][i] = _num(rloc, rule, "cap", 1.0)
            p["warn_below"][i] = _num(rloc, rule, "warn_below", 0.9)
            if not p["cap"][i] > 0:
                raise RuleError([*rloc, "cap"], "must be > 0")
        elif k == DEDUCT:
            p["threshold"][i] = _num(rloc, rule, "threshold", math.nan)
            p["per_unit"][i] = _num(rloc, rule, "per_unit", math.nan)
            if math.isnan(p["threshold"][i]) or not p["per_unit"][i] >= 0:
                raise RuleError(rloc, "deduction needs threshold and per_unit ≥ 0")
            direction = rule.get("direction", "above")
            if direction not in ("above", "below"):
                raise RuleError([*rloc, "direction"], "must be 'above' or 'below'")
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
                    raise RuleError([*rloc, name], "must be five finite numbers")
            assert lv is not None
            diffs = np.diff(np.asarray(lv, dtype=np.float64))
            if not (np.all(diffs < 0) or np.all(diffs > 0)):
                raise RuleError([*rloc, "levels"], "must be strictly monotone")
            eff_levels[i] = lv
            eff_coef[i] = coef
            below = rule.get("below_bottom", "bottom")
            if below not in ("bottom", "zero"):
                raise RuleError([*rloc, "below_bottom"], "must be 'bottom' or 'zero'")
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
                raise RuleError([*rloc, "points"], "must be a non-empty list of numbers ≥ 0")
            rank = [float(v) for v in pts]
            p["beyond"][i] = _num(rloc, rule, "beyond", 0.0)
        elif k == QUAL:
            levels = rule["levels"]
            if not isinstance(levels, list | tuple) or not levels:
                raise RuleError([*rloc, "levels"], "must be a non-empty list")
            for j, lvl in enumerate(levels):
                lo, hi, de = (lvl.get(x) for x in ("min", "max", "default"))
                if not all(isinstance(v, int | float) for v in (lo, hi, de)) or not (
                    0 <= lo < hi <= 1 and lo <= de <= hi
                ):
                    raise RuleError(
                        [*rloc, "levels", j], "needs 0 ≤ min ≤ default ≤ max ≤ 1, min < max"
                    )
                if not isinstance(lvl.get("code"), str):
                    raise RuleError([*rloc, "levels", j, "code"], "must be a string")
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
        raise ValueError("stack needs at least one tree")
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


class CompiledCache:
    """Compiled trees of immutable (published) framework versions, keyed by the caller: a
    bounded, locked LRU (:class:`indicator_service.core.cache.LRU`)."""

    def __init__(self, max_entries: int = 256) -> None:
        self._entries: LRU[Any, CompiledTree] = LRU(max_entries)

    def get(self, key: Any, tree: Tree | None = None) -> CompiledTree | None:
        if tree is None:
            return self._entries.get(key)
        return self._entries.get_or_set(key, lambda: compile_tree(tree))

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# --- observations as columns ---------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """Observations of a batch, one entry per leaf (length M, in the batch's leaf order)."""

    status: IntArray  # VALUE / NOT_APPLICABLE / MISSING
    actual: FloatArray  # NaN when not numeric
    level: IntArray  # qualitative level index, -1 = none
    level_score: FloatArray  # NaN = use the level's default
    deduction: FloatArray  # manual deduction points (0 = none)

    @staticmethod
    def of_values(actual: FloatArray) -> Columns:
        """Numeric actuals only (NaN = missing): the fast columnar entry point."""
        a = np.asarray(actual, dtype=np.float64).ravel()
        status = np.where(np.isnan(a), MISSING, VALUE).astype(np.int64)
        return Columns(
            status=status,
            actual=a,
            level=np.full(a.shape[0], -1, dtype=np.int64),
            level_score=np.full(a.shape[0], np.nan),
            deduction=np.zeros(a.shape[0]),
        )


def observations_to_columns(
    compiled: CompiledTree, observations: Sequence[Mapping[str, ObservationLike]]
) -> tuple[Columns, list[tuple[int, str, str, str]]]:
    """Columns for a tiled single tree from per-item ``{leaf code: Observation}`` mappings.

    Returns the columns and input errors ``(item, leaf code, error type, message)`` found while
    converting (unknown leaf codes, unknown qualitative level codes, deductions without reason).
    """
    leaves = compiled.leaves
    m = len(leaves)
    n = len(observations)
    status = np.full(n * m, MISSING, dtype=np.int64)
    actual = np.full(n * m, np.nan)
    level = np.full(n * m, -1, dtype=np.int64)
    level_score = np.full(n * m, np.nan)
    deduction = np.zeros(n * m)
    errors: list[tuple[int, str, str, str]] = []
    index = {leaf.code: i for i, leaf in enumerate(leaves)}
    for item, obs_map in enumerate(observations):
        for code, obs in obs_map.items():
            i = index.get(code)
            if i is None:
                errors.append((item, code, "unknown_leaf", "no such leaf in the framework"))
                continue
            j = item * m + i
            if obs.deduction:
                deduction[j] = obs.deduction
                if not obs.deduction_reason:
                    errors.append(
                        (item, code, "deduction_reason_required", "a deduction needs a reason")
                    )
            if obs.not_applicable:
                status[j] = NOT_APPLICABLE
            elif obs.level is not None:
                codes = compiled.qual_codes[i]
                if obs.level not in codes:
                    msg = (
                        f"unknown level {obs.level!r}; expected one of {', '.join(codes)}"
                        if codes
                        else "a qualitative level was given for a quantitative row"
                    )
                    errors.append((item, code, "invalid_level", msg))
                    status[j] = VALUE
                    continue
                status[j] = VALUE
                level[j] = codes.index(obs.level)
                if obs.level_score is not None:
                    level_score[j] = obs.level_score
            elif obs.value is not None:
                status[j] = VALUE
                actual[j] = obs.value
    return Columns(status, actual, level, level_score, deduction), errors


# --- evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    """Flat results of a batch; see ``item()`` for one submission as plain Python."""

    batch: CompiledTree
    columns: Columns
    leaf_applicable: BoolArray  # counted in the total (value, or missing scored zero)
    leaf_fraction: FloatArray  # rule fraction achieved (before deduction), NaN if n/a
    leaf_score: FloatArray  # rounded; NaN if not applicable or in error
    leaf_points: FloatArray  # w of each leaf
    leaf_warnings: IntArray  # bit set of WARNING_FLAGS
    leaf_error: IntArray  # ERROR_CODES key or 0
    node_subtotal: FloatArray
    item_score_sum: FloatArray
    item_applicable_points: FloatArray
    item_total: FloatArray  # NaN when the item has errors or no applicable points
    item_grade: IntArray  # index into the item's band set (sorted by min), -1 = none
    item_error: BoolArray

    @property
    def node_points(self) -> FloatArray:
        """Applicable points under each node."""
        b = self.batch
        w_app = np.where(self.leaf_applicable, self.leaf_points, 0.0)
        return _bsum(b.pair_node, w_app[b.pair_leaf], b.n_nodes)

    @property
    def leaf_lost(self) -> FloatArray:
        """Points lost (w − score), NaN where the leaf has no score."""
        lost: FloatArray = round_half_up(self.leaf_points - self.leaf_score)
        return lost

    @property
    def leaf_effective_weight(self) -> FloatArray:
        """Share of the item's final total this leaf carries: points × rebase factor / 100,
        i.e. w / Σ applicable points (0 for leaves not counted)."""
        pts = self.item_applicable_points[self.batch.leaf_item]
        safe = np.where(pts > 0, pts, 1.0)
        weight: FloatArray = np.where(self.leaf_applicable, self.leaf_points / safe, 0.0)
        return weight

    def band(self, item: int) -> Band | None:
        g = int(self.item_grade[item])
        if g < 0:
            return None
        return self.batch.band_sets[int(self.batch.band_set[item])][g]


def _bsum(index: IntArray, weights: npt.ArrayLike, n: int) -> FloatArray:
    """Sums of ``weights`` grouped by ``index`` (0 … n−1), as float64."""
    return np.bincount(index, weights, n).astype(np.float64, copy=False)


def evaluate(batch: CompiledTree, cols: Columns) -> BatchResult:
    """Score every leaf of the batch, aggregate per node and item, grade each item."""
    p = batch.p
    m = batch.n_leaves
    row = batch.row
    kind = batch.leaf_kind
    w = batch.leaf_weight
    kind_leaves = batch.kind_leaves
    status = cols.status
    a_raw = cols.actual
    warnings = np.zeros(m, dtype=np.int64)
    error = np.zeros(m, dtype=np.int64)

    has_value = status == VALUE
    every_value = bool(has_value.all())
    is_qual = has_value & (kind == QUAL) if QUAL in kind_leaves else np.zeros(m, dtype=bool)
    quantitative = has_value & ~is_qual
    # Validation of values against their rows.
    not_finite = quantitative & ~np.isfinite(a_raw)
    if not_finite.any():
        error[not_finite] = np.where(np.isinf(a_raw[not_finite]), 7, 4)
    error[is_qual & (cols.level < 0)] = 2
    any_deduction = bool(cols.deduction.any())  # NaN counts: it is an invalid deduction
    if any_deduction:
        bad_ded = ~(cols.deduction >= 0) | np.isinf(cols.deduction)
        error[bad_ded] = 6

    score = np.zeros(m)
    over = np.zeros(m, dtype=bool)
    no_leaves = np.zeros(0, dtype=np.int64)

    def take(k: int) -> tuple[IntArray, IntArray]:
        """Indices of the leaves of kind ``k`` with a value, and their table rows."""
        idx, r = kind_leaves.get(k, (no_leaves, no_leaves))
        if every_value or not idx.size:
            return idx, r
        keep = has_value[idx]
        return idx[keep], r[keep]

    def clamped(idx: IntArray) -> FloatArray:
        """Actuals with negatives clamped to 0 (warning on the clamped leaves)."""
        ai = a_raw[idx]
        neg = ai < 0
        if neg.any():
            warnings[idx[neg]] |= WARNING_FLAGS["negative_actual_clamped"]
            ai = np.where(neg, 0.0, ai)
        return ai

    # higher_better, and equal (t = 0: full points when a ≤ 0).
    for k in (HIGHER, EQUAL):
        idx, r = take(k)
        if not idx.size:
            continue
        ai, ti, wi = clamped(idx), p["target"][r], w[idx]
        pos = ti > 0
        if pos.all():
            s = wi * np.minimum(ai / ti, 1.0)
        else:
            s = np.where(ai >= ti, wi, np.where(pos, wi * ai / np.where(pos, ti, 1.0), 0.0))
        if k == EQUAL:
            s = np.where(ti == 0, np.where(ai <= 0, wi, 0.0), s)
        score[idx] = s
        f = p["over_factor"][r]
        over[idx] = pos & (ai >= f * ti)  # NaN factor (disabled) compares False
    # lower_better: variant a (linear) or b (inverse); t ≤ 0 → w if a ≤ t else 0.
    idx, r = take(LOWER)
    if idx.size:
        ai, ti, wi = clamped(idx), p["target"][r], w[idx]
        pos = ti > 0
        safe_t = np.where(pos, ti, 1.0)
        linear = wi * np.clip(1.0 - (ai - ti) / safe_t, 0.0, 1.0)
        inverse = wi * np.minimum(ti / np.where(ai > 0, ai, 1.0), 1.0)
        above = np.where(p["variant_inverse"][r] > 0, inverse, linear)
        score[idx] = np.where(ai <= ti, wi, np.where(pos, above, 0.0))
    # qualitative: the level's default fraction, or the given score validated inside the band.
    idx, r = take(QUAL)
    if idx.size:
        keep = cols.level[idx] >= 0
        idx, r = idx[keep], r[keep]
        lv = cols.level[idx]
        wi = w[idx]
        lo = batch.qual_min[r, lv] * wi
        hi = batch.qual_max[r, lv] * wi
        given = cols.level_score[idx]
        top = batch.qual_max[r, lv] >= 1.0
        eps = 1e-9
        inside = (given >= lo - eps) & ((given < hi - eps) | (top & (given <= hi + eps)))
        error[idx[~np.isnan(given) & ~inside]] = 3
        score[idx] = np.where(
            np.isnan(given), batch.qual_default[r, lv] * wi, np.clip(given, 0.0, wi)
        )
    # budget_execution: rate = executed / adjusted; score = w · min(rate, cap).
    idx, r = take(BUDGET)
    if idx.size:
        rate = clamped(idx) / p["target"][r]
        score[idx] = w[idx] * np.minimum(rate, p["cap"][r])
        warnings[idx[rate < p["warn_below"][r]]] |= WARNING_FLAGS["execution_below_threshold"]
    # deduction: w − per_unit · excess over (or under) the threshold, floored at 0.
    idx, r = take(DEDUCT)
    if idx.size:
        ai, th = a_raw[idx], p["threshold"][r]
        excess = np.where(p["direction_below"][r] > 0, th - ai, ai - th)
        score[idx] = w[idx] - p["per_unit"][r] * np.maximum(excess, 0.0)
    # two_sided / band / step_deduction: the signed deviation d = (a − t)/t · 100 (relative)
    # or a − t (absolute, band and step_deduction only).
    for k in (TWO_SIDED, BAND, STEP):
        idx, r = take(k)
        if not idx.size:
            continue
        ti = p["target"][r]
        diff = a_raw[idx] - ti
        rel = p["measure_abs"][r] == 0
        dev = np.where(rel, diff / np.where(rel, ti, 1.0) * 100.0, diff)
        wi = w[idx]
        if k == TWO_SIDED:
            # full marks while |d| ≤ tolerance, then linear to 0 at |d| = zero_at
            tol, zero_at = p["tolerance"][r], p["zero_at"][r]
            outside = np.maximum(np.abs(dev) - tol, 0.0)
            score[idx] = wi * np.clip(1.0 - outside / (zero_at - tol), 0.0, 1.0)
        elif k == BAND:
            # 控制在±band以内得满分，每超1个百分点扣per_point分
            excess = np.maximum(np.abs(dev) - p["band"][r], 0.0)
            score[idx] = wi - p["per_unit"][r] * excess
        else:
            # 每降低step扣per_step分: whole steps of the shortfall (below) or excess (above)
            gap = np.maximum(np.where(p["direction_below"][r] > 0, -dev, dev), 0.0)
            steps = np.floor(np.round(gap / p["step"][r], 9))
            score[idx] = wi - p["per_unit"][r] * steps
    # efficacy coefficient against five levels (优秀 … 较差).
    idx, r = take(EFFICACY)
    if idx.size:
        lv5 = batch.eff_levels[r]
        co = batch.eff_coef[r]
        sgn = np.where(lv5[:, 0] > lv5[:, 4], 1.0, -1.0)  # +1: higher values are better
        ap = a_raw[idx] * sgn
        lp = [lv5[:, j] * sgn for j in range(5)]  # decreasing from 优秀 to 较差
        kb = sum((lp[j] > ap).astype(np.int64) for j in range(5))  # levels better than a
        wi = w[idx]
        s = np.where(kb == 0, wi, 0.0)
        for j in range(1, 5):  # between level j−1 (upper) and level j (lower)
            sel = kb == j
            c = (ap - lp[j]) / (lp[j - 1] - lp[j])
            s = np.where(sel, wi * (co[:, j] + c * (co[:, j - 1] - co[:, j])), s)
        below = np.where(p["below_bottom_zero"][r] > 0, 0.0, wi * co[:, 4])
        score[idx] = np.where(kb == 5, below, s)
        warnings[idx[kb == 5]] |= WARNING_FLAGS["below_bottom_level"]
    # rank_table: points[rank − 1], or `beyond` past the table.
    idx, r = take(RANK)
    if idx.size:
        rank = a_raw[idx]
        ok = np.isfinite(rank) & (rank >= 1) & (rank == np.floor(rank))
        error[idx[~ok & (error[idx] == 0)]] = 5
        ri = np.where(ok, rank, 1).astype(np.int64) - 1
        width = batch.rank_points.shape[1]
        pts = batch.rank_points[r, np.minimum(ri, width - 1)]
        in_table = (ri < width) & ~np.isnan(pts)
        score[idx] = np.where(in_table, pts, p["beyond"][r])

    # Modifiers: clamp to [0, w], over-achievement, manual deduction.
    np.clip(score, 0.0, w, out=score)
    positive_w = w > 0
    fraction = np.divide(score, w, out=np.ones(m), where=positive_w)
    if over.any():
        warnings[over] |= WARNING_FLAGS["over_achievement"]
        penalty = p["over_penalty"][row]
        pen = over & ~np.isnan(penalty)
        score[pen] *= penalty[pen]
        warnings[pen] |= WARNING_FLAGS["over_achievement_penalty"]
    if any_deduction:
        ded = (cols.deduction > 0) & has_value
        warnings[ded] |= WARNING_FLAGS["manual_deduction"]
        score[ded] = np.maximum(score[ded] - cols.deduction[ded], 0.0)

    # Missing values under the item's policy (zero / rebase / reject).
    applicable = has_value
    mi = np.flatnonzero(status == MISSING)
    if mi.size:
        policy = batch.missing_policy[batch.leaf_item[mi]]
        zero, rebase, reject = mi[policy == 0], mi[policy == 1], mi[policy == 2]
        score[zero] = 0.0
        fraction[zero] = 0.0
        warnings[zero] |= WARNING_FLAGS["missing_scored_zero"]
        warnings[rebase] |= WARNING_FLAGS["missing_rebased"]
        error[reject[error[reject] == 0]] = 1
        applicable = has_value.copy()
        applicable[zero] = True

    score = round_half_up(score)  # THE rounding of leaf scores
    if error.any():
        scored = applicable & (error == 0)
        score[~scored] = np.nan
        fraction[~scored] = np.nan
    else:
        scored = applicable
    score[~applicable] = np.nan
    fraction[~applicable] = np.nan
    s0 = np.where(scored, score, 0.0)  # leaves in error add nothing (their item has no total)
    w_app = np.where(applicable, w, 0.0)

    # Aggregation: sums over the (leaf, ancestor) pairs and per item.
    n, nn = batch.n_items, batch.n_nodes
    node_subtotal = round_half_up(_bsum(batch.pair_node, s0[batch.pair_leaf], nn))
    item_sum = round_half_up(_bsum(batch.leaf_item, s0, n))
    item_points = _bsum(batch.leaf_item, w_app, n)
    item_error = (
        _bsum(batch.leaf_item, error > 0, n) > 0 if error.any() else np.zeros(n, dtype=bool)
    )
    safe_pts = np.where(item_points > 0, item_points, 1.0)
    total = round_half_up(item_sum * 100.0 / safe_pts)  # THE rounding of the total
    total[(item_points <= 0) | item_error] = np.nan

    grade = np.full(n, -1, dtype=np.int64)
    for bs_index, edges in enumerate(batch.band_edges):
        sel = np.flatnonzero((batch.band_set == bs_index) & ~np.isnan(total))
        if sel.size:
            grade[sel] = np.clip(np.searchsorted(edges, total[sel], side="right") - 1, 0, None)

    return BatchResult(
        batch=batch,
        columns=cols,
        leaf_applicable=applicable,
        leaf_fraction=fraction,
        leaf_score=score,
        leaf_points=w,
        leaf_warnings=warnings,
        leaf_error=error,
        node_subtotal=node_subtotal,
        item_score_sum=item_sum,
        item_applicable_points=item_points,
        item_total=total,
        item_grade=grade,
        item_error=item_error,
    )


def warning_names(bits: int) -> list[str]:
    return [name for name, flag in WARNING_FLAGS.items() if bits & flag]


def score_tree(
    tree: Tree | CompiledTree, observations: Mapping[str, ObservationLike]
) -> BatchResult:
    """Score one submission against one tree (plain-Python entry point)."""
    compiled = tree if isinstance(tree, CompiledTree) else compile_tree(tree)
    cols, errors = observations_to_columns(compiled, [observations])
    if errors:
        _item, code, kind, msg = errors[0]
        raise RuleError(["observations", code], f"{kind}: {msg}")
    return evaluate(compiled, cols)


def score_columns(compiled: CompiledTree, actual: FloatArray) -> BatchResult:
    """Fast columnar entry point: ``actual`` is (N, L) numeric actuals of N submissions of one
    compiled tree (NaN = missing)."""
    values = np.asarray(actual, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != compiled.n_leaves:
        raise ValueError(f"actual must have shape (N, {compiled.n_leaves})")
    return evaluate(compiled.tile(values.shape[0]), Columns.of_values(values))
