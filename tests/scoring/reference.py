"""Reference oracle: the scoring rules written straight from the contract text, one leaf and
one submission at a time, in plain Python (no numpy). The engine must agree with it.

It shares only the plain input types (``Tree``, ``Leaf``, ``Observation``, ``Band``) with the
engine; rule resolution, every formula, rounding and grading are written out again here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from indicator_service.rules import Leaf, Observation, Tree

NATIONAL_QUALITATIVE: list[dict[str, Any]] = [
    {"code": "achieved", "min": 0.8, "max": 1.0, "default": 1.0},
    {"code": "partial", "min": 0.6, "max": 0.8, "default": 0.7},
    {"code": "not_achieved", "min": 0.0, "max": 0.6, "default": 0.3},
]
OPERATORS = {
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


def round2(x: float) -> float:
    """Half-up to 2 decimals on the decimal reading of the value."""
    return float(Decimal(repr(round(x, 8))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass
class LeafOut:
    score: float | None = None
    fraction: float | None = None
    applicable: bool = False
    warnings: set[str] = field(default_factory=set)
    error: str | None = None


@dataclass
class ItemOut:
    leaves: dict[str, LeafOut]
    nodes: dict[tuple[str, ...], float]
    total: float | None
    grade: str | None


def rule_score(leaf: Leaf, rule: dict[str, Any], a: float, warnings: set[str]) -> float:
    """Points earned by one quantitative leaf before modifiers (may exceed w or be < 0)."""
    w = leaf.points
    t = leaf.target
    kind = rule["kind"]
    if kind in ("higher_better", "equal", "lower_better", "budget_execution") and a < 0:
        warnings.add("negative_actual_clamped")
        a = 0.0
    if kind == "equal" and t == 0:
        return w if a <= 0 else 0.0
    if kind in ("higher_better", "equal"):
        assert t is not None
        if t <= 0:
            return w if a >= t else 0.0
        factor = rule.get("over_achievement_factor", 1.3)
        if factor is not None and a >= factor * t:
            warnings.add("over_achievement")
        if a >= t:
            return w
        return w * a / t
    if kind == "lower_better":
        assert t is not None
        if a <= t:
            return w
        if t <= 0:
            return 0.0
        if rule["variant"] == "inverse":
            return w * t / a
        if a >= 2 * t:
            return 0.0
        return w * (1 - (a - t) / t)
    if kind == "budget_execution":
        adjusted = 1.0 if t is None else t
        rate = a / adjusted
        if rate < rule.get("warn_below", 0.9):
            warnings.add("execution_below_threshold")
        return w * min(rate, rule.get("cap", 1.0))
    if kind == "deduction":
        th = rule["threshold"]
        excess = (th - a) if rule.get("direction", "above") == "below" else (a - th)
        return max(0.0, w - rule["per_unit"] * max(excess, 0.0))
    if kind == "efficacy":
        levels = list(rule["levels"])
        coefs = list(rule.get("coefficients", [1.0, 0.8, 0.6, 0.4, 0.2]))
        higher_is_better = levels[0] > levels[4]

        def better_or_equal(x: float, y: float) -> bool:
            return x >= y if higher_is_better else x <= y

        if better_or_equal(a, levels[0]):
            return w
        for i in range(1, 5):
            if better_or_equal(a, levels[i]):
                upper, lower = levels[i - 1], levels[i]
                c = (a - lower) / (upper - lower)
                return w * (coefs[i] + c * (coefs[i - 1] - coefs[i]))
        warnings.add("below_bottom_level")
        return 0.0 if rule.get("below_bottom", "bottom") == "zero" else w * coefs[4]
    if kind == "rank_table":
        rank = int(a)
        table = rule["points"]
        if rank <= len(table):
            return min(table[rank - 1], w)
        return min(rule.get("beyond", 0.0), w)
    if kind in ("two_sided", "band", "step_deduction"):
        assert t is not None
        absolute = kind != "two_sided" and rule.get("measure") == "absolute"
        d = (a - t) if absolute else (a - t) / t * 100
        if kind == "two_sided":
            tol, zero_at = rule.get("tolerance", 0), rule.get("zero_at", 100)
            if abs(d) <= tol:
                return w
            return w * max(0.0, 1 - (abs(d) - tol) / (zero_at - tol))
        if kind == "band":
            return max(0.0, w - rule["per_point"] * max(abs(d) - rule["band"], 0.0))
        gap = -d if rule.get("direction", "below") == "below" else d
        steps = math.floor(round(max(gap, 0.0) / rule["step"], 9))
        return max(0.0, w - rule["per_step"] * steps)
    raise AssertionError(kind)


def effective_rule(leaf: Leaf, tree: Tree) -> dict[str, Any]:
    rule = dict(leaf.rule)
    if "kind" not in rule:
        rule["kind"] = OPERATORS[leaf.operator or ""]
    if rule["kind"] == "lower_better":
        rule.setdefault("variant", tree.rule_variants.get("lower_better", "linear"))
    if rule["kind"] == "qualitative":
        rule.setdefault(
            "levels", list(tree.rule_variants.get("qualitative_levels", NATIONAL_QUALITATIVE))
        )
    return rule


def score_leaf(leaf: Leaf, tree: Tree, obs: Observation | None) -> LeafOut:
    out = LeafOut()
    w = leaf.points
    rule = effective_rule(leaf, tree)
    if obs is None or (
        not obs.not_applicable and obs.value is None and obs.level is None
    ):  # missing
        if tree.missing_policy == "zero":
            out.applicable, out.score, out.fraction = True, 0.0, 0.0
            out.warnings.add("missing_scored_zero")
        elif tree.missing_policy == "rebase":
            out.warnings.add("missing_rebased")
        else:
            out.applicable = True
            out.error = "missing_value_rejected"
        return out
    if obs.not_applicable:
        return out
    out.applicable = True
    if rule["kind"] == "qualitative":
        level = next(x for x in rule["levels"] if x["code"] == obs.level)
        if obs.level_score is None:
            raw = level["default"] * w
        else:
            lo, hi = level["min"] * w, level["max"] * w
            ok = lo - 1e-9 <= obs.level_score and (
                obs.level_score < hi - 1e-9 or (level["max"] == 1 and obs.level_score <= hi)
            )
            if not ok:
                out.error = "qualitative_score_out_of_band"
                return out
            raw = obs.level_score
    else:
        assert obs.value is not None
        raw = rule_score(leaf, rule, float(obs.value), out.warnings)
    raw = min(max(raw, 0.0), w)
    out.fraction = raw / w if w > 0 else 1.0
    penalty = rule.get("over_achievement_penalty")
    if penalty is not None and "over_achievement" in out.warnings:
        raw *= penalty
        out.warnings.add("over_achievement_penalty")
    if obs.deduction:
        raw = max(0.0, raw - obs.deduction)
        out.warnings.add("manual_deduction")
    out.score = round2(raw)
    return out


def score_item(tree: Tree, observations: dict[str, Observation]) -> ItemOut:
    leaves = {
        leaf.code: score_leaf(leaf, tree, observations.get(leaf.code)) for leaf in tree.leaves
    }
    nodes: dict[tuple[str, ...], float] = {}
    for leaf in tree.leaves:
        for depth in range(1, len(leaf.path) + 1):
            key = leaf.path[:depth]
            nodes.setdefault(key, 0.0)
            res = leaves[leaf.code]
            if res.applicable and res.score is not None:
                nodes[key] += res.score
    nodes = {k: round2(v) for k, v in nodes.items()}
    applicable_points = sum(leaf.points for leaf in tree.leaves if leaves[leaf.code].applicable)
    has_error = any(r.error for r in leaves.values())
    total: float | None = None
    grade: str | None = None
    if applicable_points > 0 and not has_error:
        earned = round2(sum(r.score or 0.0 for r in leaves.values() if r.applicable))
        total = round2(earned * 100 / applicable_points)
        for band in tree.bands:
            if band.min <= total < band.max or (band.max == 100 and total == 100):
                grade = band.grade
    return ItemOut(leaves=leaves, nodes=nodes, total=total, grade=grade)
