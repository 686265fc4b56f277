"""The scoring engine: rules, aggregation, rounding and grading, vectorised with numpy.

Pure code: imports numpy and the standard library only (no web, no database), so it can be
tested and benchmarked alone. The rules are the shared contract (docs/scoring.md, section
"Rules"): a rule is data, ``{"kind": KIND, **params}``, never a branch per indicator.

Pipeline (each stage a function over flat arrays):

1. ``compile_tree(Tree)`` → ``CompiledTree`` (:mod:`indicator_service.rules.tree`): the leaves'
   parameters as arrays (points, rule kind, target, per-kind parameters) and the tree structure
   as (leaf, ancestor node) pairs. A published framework version is immutable, so the scoring
   service compiles it once and caches it (``scoring.prepare``).
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

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from indicator_service.core.i18n import _
from indicator_service.rules.tree import (
    CompiledTree,
    ObservationLike,
    Tree,
    compile_tree,
)
from indicator_service.rules.vocabulary import (
    BAND,
    BUDGET,
    DEDUCT,
    EFFICACY,
    EQUAL,
    HIGHER,
    LOWER,
    MISSING,
    NOT_APPLICABLE,
    QUAL,
    RANK,
    STEP,
    TWO_SIDED,
    VALUE,
    WARNING_FLAGS,
    Band,
    RuleError,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# --- the one rounding function -------------------------------------------------------------------


def round_half_up(x: npt.ArrayLike) -> Any:
    """Round half-up to 2 decimals (the service's only rounding function).

    The value is first rounded to 6 decimals in hundredths so that binary noise
    (89.995 is stored as 89.99499999…) does not decide the direction: 89.995 → 90.00,
    89.994 → 89.99. Scores and totals are never negative; a negative value rounds half away
    from zero, and one that rounds to zero gives 0.0, not −0.0 (points lost when a score rounds
    up past its points: 2.7777… − 2.78).
    """
    arr = np.asarray(x, dtype=np.float64)
    scaled = (arr * 100.0).round(6)  # np.round's own method, without its dispatch
    if arr.ndim == 0:
        v = float(scaled)
        return math.copysign(math.floor(abs(v) + 0.5), v) / 100.0 + 0.0
    # as the scalar path, element-wise: copysign(floor(|v| + 0.5), v) / 100 + 0.0 (the + 0.0
    # turns −0.0 into 0.0); no branch on the signs, no masks
    out = np.abs(scaled)
    out += 0.5
    np.floor(out, out=out)
    np.copysign(out, scaled, out=out)
    out /= 100.0
    out += 0.0
    return out


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
    index = compiled.leaf_index
    for item, obs_map in enumerate(observations):
        for code, obs in obs_map.items():
            i = index.get(code)
            if i is None:
                errors.append((item, code, "unknown_leaf", _("no such leaf in the framework")))
                continue
            j = item * m + i
            if obs.deduction:
                deduction[j] = obs.deduction
                if not obs.deduction_reason:
                    errors.append(
                        (item, code, "deduction_reason_required", _("a deduction needs a reason"))
                    )
            if obs.not_applicable:
                status[j] = NOT_APPLICABLE
            elif obs.level is not None:
                codes = compiled.qual_codes[i]
                if obs.level not in codes:
                    msg = (
                        _(
                            "unknown level {level!r}; expected one of {codes}",
                            level=obs.level,
                            codes=", ".join(codes),
                        )
                        if codes
                        else _("a qualitative level was given for a quantitative row")
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
    if np.count_nonzero(not_finite):
        error[not_finite] = np.where(np.isinf(a_raw[not_finite]), 7, 4)
    error[is_qual & (cols.level < 0)] = 2
    # NaN counts (it is not zero): it is an invalid deduction
    any_deduction = bool(np.count_nonzero(cols.deduction))
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
        if np.count_nonzero(neg):
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
    score.clip(0.0, w, out=score)
    positive_w = w > 0
    fraction = np.divide(score, w, out=np.ones(m), where=positive_w)
    if np.count_nonzero(over):
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
    any_error = bool(np.count_nonzero(error))
    if every_value and not any_error:
        # every leaf applicable and scored (the common submission): nothing to blank out; the
        # sums below only read these
        s0, w_app = score, w
    else:
        if any_error:
            scored = applicable & (error == 0)
            score[~scored] = np.nan
            fraction[~scored] = np.nan
        else:
            scored = applicable
        score[~applicable] = np.nan
        fraction[~applicable] = np.nan
        s0 = np.where(scored, score, 0.0)  # leaves in error add nothing (their item: no total)
        w_app = np.where(applicable, w, 0.0)

    # Aggregation: sums over the (leaf, ancestor) pairs and per item.
    n, nn = batch.n_items, batch.n_nodes
    node_subtotal = round_half_up(_bsum(batch.pair_node, s0[batch.pair_leaf], nn))
    item_sum = round_half_up(_bsum(batch.leaf_item, s0, n))
    item_points = _bsum(batch.leaf_item, w_app, n)
    item_error = _bsum(batch.leaf_item, error > 0, n) > 0 if any_error else np.zeros(n, dtype=bool)
    safe_pts = np.where(item_points > 0, item_points, 1.0)
    total = round_half_up(item_sum * 100.0 / safe_pts)  # THE rounding of the total
    total[(item_points <= 0) | item_error] = np.nan

    grade = np.full(n, -1, dtype=np.int64)
    for bs_index, edges in enumerate(batch.band_edges):
        sel = np.flatnonzero((batch.band_set == bs_index) & ~np.isnan(total))
        if sel.size:
            grade[sel] = np.maximum(np.searchsorted(edges, total[sel], side="right") - 1, 0)

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
        raise RuleError(["observations", code], _("{kind}: {msg}", kind=kind, msg=msg))
    return evaluate(compiled, cols)


def score_columns(compiled: CompiledTree, actual: FloatArray) -> BatchResult:
    """Fast columnar entry point: ``actual`` is (N, L) numeric actuals of N submissions of one
    compiled tree (NaN = missing)."""
    values = np.asarray(actual, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != compiled.n_leaves:
        raise ValueError(_("actual must have shape (N, {n_leaves})", n_leaves=compiled.n_leaves))
    return evaluate(compiled.tile(values.shape[0]), Columns.of_values(values))
