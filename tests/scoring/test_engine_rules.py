"""Hand-computed cases for every rule, modifier, missing policy and band boundary."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from indicator_service.rules import (
    DEFAULT_BANDS,
    Band,
    Columns,
    Leaf,
    Observation,
    RuleError,
    Tree,
    compile_tree,
    evaluate,
    observations_to_columns,
    round_half_up,
    score_columns,
    score_tree,
    stack,
    warning_names,
)
from tests.helpers import ApiClient
from tests.scoring.frameworks import WORKED_EXAMPLE


def one(
    rule: dict[str, Any],
    obs: Observation,
    *,
    w: float = 10.0,
    t: float | None = 100.0,
    **tree: Any,
) -> tuple[float, list[str], float, str | None]:
    """Score a single-leaf tree: (leaf score, warnings, total, grade)."""
    r = score_tree(Tree((Leaf("x", w, rule, target=t),), **tree), {"x": obs})
    band = r.band(0)
    return (
        float(r.leaf_score[0]),
        warning_names(int(r.leaf_warnings[0])),
        float(r.item_total[0]),
        band.grade if band else None,
    )


V = Observation


# --- rounding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "expected"),
    [(89.995, 90.0), (89.994, 89.99), (59.99, 59.99), (0.005, 0.01), (2.675, 2.68), (7.2727, 7.27)],
)
def test_round_half_up(x: float, expected: float) -> None:
    assert round_half_up(x) == expected
    assert round_half_up(np.array([x, -x])).tolist() == [expected, -expected]


@pytest.mark.parametrize("x", [-0.002, -0.0049999, -0.0, -1e-12])
def test_round_half_up_to_zero_is_positive_zero(x: float) -> None:
    """Points lost when a score rounds up past its points (2.7777… − 2.78) are 0.0, not −0.0
    (written "-0.0" in a receipt, "-0.00" in a form), from a scalar and from an array."""
    for r in (round_half_up(x), *round_half_up(np.array([x, 1.0])).tolist()[:1]):
        assert r == 0.0
        assert math.copysign(1.0, r) == 1.0


@given(st.lists(st.floats(min_value=-1e300, max_value=1e300), min_size=1, max_size=40))
def test_round_half_up_array_is_the_scalar_path_bit_for_bit(xs: list[float]) -> None:
    """The array path (the engine's, the receipts') gives each element exactly what the scalar
    path gives it: the same bits, 0.0 for a value rounding to zero from below."""
    out = round_half_up(np.array(xs)).tolist()
    for x, r in zip(xs, out, strict=True):
        s = round_half_up(x)
        assert (r, math.copysign(1.0, r)) == (s, math.copysign(1.0, s))


def test_round_half_up_array_keeps_nan_and_infinity() -> None:
    out = round_half_up(np.array([math.nan, math.inf, -math.inf, 1.005]))
    assert math.isnan(out[0])
    assert out[1:].tolist() == [math.inf, -math.inf, 1.01]


# --- higher_better / equal -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "t", "score", "warnings"),
    [
        (90.0, 95.0, 9.47, []),  # 10 · 90/95 = 9.4737
        (95.0, 95.0, 10.0, []),
        (123.4, 95.0, 10.0, []),  # below 1.3 · 95 = 123.5
        (123.5, 95.0, 10.0, ["over_achievement"]),
        (-5.0, 95.0, 0.0, ["negative_actual_clamped"]),
        (0.0, 0.0, 10.0, []),  # t ≤ 0: w when a ≥ t
        (3.0, -2.0, 10.0, []),
    ],
)
def test_higher_better(a: float, t: float, score: float, warnings: list[str]) -> None:
    s, warn, _, _ = one({"kind": "higher_better"}, V(a), t=t)
    assert (s, warn) == (score, warnings)


def test_operator_selects_kind() -> None:
    r = score_tree(Tree((Leaf("x", 10, {}, target=95.0, operator="≥"),)), {"x": V(90.0)})
    assert r.leaf_score[0] == 9.47
    with pytest.raises(RuleError):
        compile_tree(Tree((Leaf("x", 10, {}, target=95.0, operator="~"),)))


@pytest.mark.parametrize(
    ("a", "t", "score"),
    [(450.0, 500.0, 4.5), (500.0, 500.0, 5.0), (0.0, 0.0, 5.0), (1.0, 0.0, 0.0), (-1.0, 0.0, 5.0)],
)
def test_equal(a: float, t: float, score: float) -> None:
    assert one({"kind": "equal"}, V(a), w=5.0, t=t)[0] == score


def test_over_achievement_factor_and_penalty() -> None:
    assert one({"kind": "higher_better", "over_achievement_factor": None}, V(900.0))[1] == []
    s, warn, _, _ = one({"kind": "higher_better", "over_achievement_penalty": 0.5}, V(140.0))
    assert s == 5.0
    assert warn == ["over_achievement", "over_achievement_penalty"]
    # Equal also warns; the penalty applies only when over-achieved.
    assert one({"kind": "equal", "over_achievement_penalty": 0.5}, V(120.0))[0] == 10.0


# --- lower_better ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "a", "t", "score"),
    [
        ("linear", 99.0, 90.0, 7.2),  # 8 · (1 − 9/90)
        ("inverse", 99.0, 90.0, 7.27),  # 8 · 90/99 = 7.2727
        ("linear", 180.0, 90.0, 0.0),
        ("linear", 170.0, 90.0, 0.89),  # 8 · (1 − 80/90) = 0.8889
        ("inverse", 180.0, 90.0, 4.0),
        ("linear", 90.0, 90.0, 8.0),
        ("inverse", 10.0, 90.0, 8.0),
        ("linear", 0.0, 0.0, 8.0),
        ("inverse", 0.1, 0.0, 0.0),
    ],
)
def test_lower_better(variant: str, a: float, t: float, score: float) -> None:
    assert one({"kind": "lower_better", "variant": variant}, V(a), w=8.0, t=t)[0] == score


def test_lower_better_variant_from_framework() -> None:
    rule = {"kind": "lower_better"}
    assert one(rule, V(99.0), w=8.0, t=90.0)[0] == 7.2  # default linear
    assert one(rule, V(99.0), w=8.0, t=90.0, rule_variants={"lower_better": "inverse"})[0] == 7.27


# --- qualitative -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "given", "score"),
    [
        ("achieved", None, 10.0),
        ("partial", None, 7.0),
        ("not_achieved", None, 3.0),
        ("partial", 7.9, 7.9),
        ("achieved", 8.0, 8.0),  # band [0.8w, w] closed at both ends
        ("achieved", 10.0, 10.0),
        ("not_achieved", 0.0, 0.0),
        ("partial", 6.0, 6.0),
    ],
)
def test_qualitative(level: str, given: float | None, score: float) -> None:
    assert one({"kind": "qualitative"}, V(level=level, level_score=given))[0] == score


@pytest.mark.parametrize(
    ("level", "given"),
    [("partial", 8.0), ("not_achieved", 6.0), ("achieved", 10.01), ("achieved", 7.99)],
)
def test_qualitative_score_outside_band_is_an_error(level: str, given: float) -> None:
    r = score_tree(
        Tree((Leaf("x", 10, {"kind": "qualitative"}),)), {"x": V(level=level, level_score=given)}
    )
    assert int(r.leaf_error[0]) == 3
    assert bool(r.item_error[0])
    assert math.isnan(r.item_total[0])


def test_qualitative_levels_from_framework_and_unknown_level() -> None:
    five = [
        {"code": c, "min": lo, "max": hi, "default": d}
        for c, lo, hi, d in [
            ("优", 0.9, 1.0, 1.0),
            ("良", 0.8, 0.9, 0.85),
            ("中", 0.6, 0.8, 0.7),
            ("低", 0.4, 0.6, 0.5),
            ("差", 0.0, 0.4, 0.2),
        ]
    ]
    rv = {"qualitative_levels": five}
    assert one({"kind": "qualitative"}, V(level="良"), rule_variants=rv)[0] == 8.5
    compiled = compile_tree(Tree((Leaf("x", 10, {"kind": "qualitative"}),), rule_variants=rv))
    _, errors = observations_to_columns(compiled, [{"x": V(level="achieved")}])
    assert errors
    assert errors[0][2] == "invalid_level"


def _levels(*spans: tuple[str, float, float]) -> list[dict[str, Any]]:
    return [{"code": c, "min": lo, "max": hi, "default": hi} for c, lo, hi in spans]


@pytest.mark.parametrize(
    ("levels", "msg"),
    [
        (_levels(("a", 0.7, 1.0), ("b", 0.5, 0.8)), "the bands of levels b and a overlap"),
        (_levels(("a", 0.0, 1.0), ("b", 0.2, 0.4)), "the bands of levels a and b overlap"),
        (_levels(("a", 0.8, 1.0), ("a", 0.0, 0.8)), "level codes must differ: a repeated"),
    ],
)
def test_qualitative_levels_must_not_overlap(levels: list[dict[str, Any]], msg: str) -> None:
    """A score inside a band must name one level; bands may touch (the defaults do)."""
    for rule, variants in (
        ({"kind": "qualitative", "levels": levels}, {}),
        ({"kind": "qualitative"}, {"qualitative_levels": levels}),
    ):
        with pytest.raises(RuleError) as info:
            compile_tree(Tree((Leaf("x", 10, rule),), rule_variants=variants))
        assert info.value.loc == ["leaves", "x", "rule", "levels"]
        assert info.value.msg == msg
    touching = _levels(("a", 0.8, 1.0), ("b", 0.6, 0.8), ("c", 0.0, 0.6))
    compile_tree(Tree((Leaf("x", 10, {"kind": "qualitative", "levels": touching}),)))


def test_number_for_qualitative_and_level_for_quantitative_are_errors() -> None:
    r = score_tree(Tree((Leaf("x", 10, {"kind": "qualitative"}),)), {"x": V(5.0)})
    assert int(r.leaf_error[0]) == 2
    compiled = compile_tree(Tree((Leaf("x", 10, {"kind": "higher_better"}, target=1.0),)))
    _, errors = observations_to_columns(compiled, [{"x": V(level="achieved")}])
    assert errors[0][3] == "a qualitative level was given for a quantitative row"


# --- budget execution, deduction, efficacy, rank ------------------------------------------------


@pytest.mark.parametrize(
    ("a", "t", "rule", "score", "warnings"),
    [
        (98.0, 100.0, {}, 9.8, []),
        (85.0, 100.0, {}, 8.5, ["execution_below_threshold"]),
        (89.0, 100.0, {"warn_below": 0.85}, 8.9, []),
        (120.0, 100.0, {}, 10.0, []),
        (120.0, 100.0, {"cap": 1.1}, 10.0, []),  # never above w
        (90.0, 100.0, {"cap": 0.8}, 8.0, []),
        (0.95, None, {}, 9.5, []),  # a rate given directly
    ],
)
def test_budget_execution(
    a: float, t: float | None, rule: dict[str, Any], score: float, warnings: list[str]
) -> None:
    s, warn, _, _ = one({"kind": "budget_execution", **rule}, V(a), t=t)
    assert (s, warn) == (score, warnings)


@pytest.mark.parametrize(
    ("rule", "w", "a", "score"),
    [
        ({"threshold": 100, "per_unit": 0.5}, 5.0, 104.0, 3.0),  # staff control rate
        ({"threshold": 100, "per_unit": 0.5}, 5.0, 100.0, 5.0),
        ({"threshold": 100, "per_unit": 0.5}, 5.0, 120.0, 0.0),
        ({"threshold": 0, "per_unit": 0.8}, 8.0, 3.0, 5.6),  # 三公经费 change +3 %
        ({"threshold": 0, "per_unit": 0.8}, 8.0, -5.0, 8.0),  # a decrease costs nothing
        ({"threshold": 95, "per_unit": 1, "direction": "below"}, 10.0, 92.0, 7.0),
        ({"threshold": 95, "per_unit": 1, "direction": "below"}, 10.0, 99.0, 10.0),
    ],
)
def test_deduction(rule: dict[str, Any], w: float, a: float, score: float) -> None:
    assert one({"kind": "deduction", **rule}, V(a), w=w, t=None)[0] == score


LEVELS_UP = [100, 80, 60, 40, 20]


@pytest.mark.parametrize(
    ("levels", "a", "rule", "score"),
    [
        (LEVELS_UP, 90.0, {}, 18.0),  # worked example: c = 0.5 → 20 · 0.9
        (LEVELS_UP, 100.0, {}, 20.0),
        (LEVELS_UP, 130.0, {}, 20.0),
        (LEVELS_UP, 70.0, {}, 14.0),  # 20 · (0.6 + 0.5 · 0.2)
        (LEVELS_UP, 25.0, {}, 5.0),  # c = 5/20 → 20 · (0.2 + 0.25 · 0.2)
        (LEVELS_UP, 20.0, {}, 4.0),
        (LEVELS_UP, 10.0, {}, 4.0),
        (LEVELS_UP, 10.0, {"below_bottom": "zero"}, 0.0),
        ([10, 20, 30, 40, 50], 15.0, {}, 18.0),  # lower is better
        ([10, 20, 30, 40, 50], 5.0, {}, 20.0),
        ([10, 20, 30, 40, 50], 60.0, {}, 4.0),
        (LEVELS_UP, 90.0, {"coefficients": [1, 0.9, 0.8, 0.7, 0.6]}, 19.0),
    ],
)
def test_efficacy(levels: list[float], a: float, rule: dict[str, Any], score: float) -> None:
    r = {"kind": "efficacy", "levels": levels, **rule}
    assert one(r, V(a), w=20.0, t=None)[0] == score


def test_efficacy_below_bottom_warns() -> None:
    assert one({"kind": "efficacy", "levels": LEVELS_UP}, V(10.0), w=20.0, t=None)[1] == [
        "below_bottom_level"
    ]


@pytest.mark.parametrize(
    ("w", "rank", "rule", "score"),
    [
        (60.0, 1.0, {}, 60.0),
        (60.0, 3.0, {}, 54.0),
        (60.0, 5.0, {}, 48.0),
        (60.0, 6.0, {}, 0.0),
        (60.0, 6.0, {"beyond": 30}, 30.0),
        (55.0, 1.0, {}, 55.0),  # min(points[0], w)
    ],
)
def test_rank_table(w: float, rank: float, rule: dict[str, Any], score: float) -> None:
    r = {"kind": "rank_table", "points": [60, 57, 54, 51, 48], **rule}
    assert one(r, V(rank), w=w, t=None)[0] == score


@pytest.mark.parametrize("rank", [0.0, 2.5, -1.0])
def test_invalid_rank(rank: float) -> None:
    tree = Tree((Leaf("x", 60, {"kind": "rank_table", "points": [60, 57]}),))
    assert int(score_tree(tree, {"x": V(rank)}).leaf_error[0]) == 5


# --- two_sided, band, step_deduction (deviation from the target) --------------------------------


@pytest.mark.parametrize(
    ("rule", "t", "a", "score"),
    [
        # d = |a − t| / t · 100; full marks while d ≤ tolerance, then linear to 0 at zero_at
        ({"tolerance": 5, "zero_at": 25}, 100.0, 103.0, 10.0),  # d = 3
        ({"tolerance": 5, "zero_at": 25}, 100.0, 105.0, 10.0),  # d = 5: still inside
        ({"tolerance": 5, "zero_at": 25}, 100.0, 110.0, 7.5),  # 10 · (1 − 5/20)
        ({"tolerance": 5, "zero_at": 25}, 100.0, 90.0, 7.5),  # the same below the target
        ({"tolerance": 5, "zero_at": 25}, 100.0, 130.0, 0.0),  # d = 30 ≥ 25
        ({}, 100.0, 120.0, 8.0),  # defaults tolerance 0, zero_at 100: 10 · (1 − 20/100)
        ({}, 100.0, 80.0, 8.0),
        ({}, 1600.0, 1600.0, 10.0),  # 亩均补助 exactly the standard
        # 500 元/生: a = 520 → d = 4, over the 2 % tolerance by 2, /18 → 10 · 0.8889 = 8.89
        ({"tolerance": 2, "zero_at": 20}, 500.0, 520.0, 8.89),
    ],
)
def test_two_sided(rule: dict[str, Any], t: float, a: float, score: float) -> None:
    assert one({"kind": "two_sided", **rule}, V(a), t=t)[0] == score


@pytest.mark.parametrize(
    ("rule", "t", "a", "score"),
    [
        # 控制在±10%以内得满分，每超1个百分点扣0.5分
        ({"band": 10, "per_point": 0.5}, 100.0, 108.0, 10.0),
        ({"band": 10, "per_point": 0.5}, 100.0, 113.0, 8.5),  # 3 points over: 10 − 1.5
        ({"band": 10, "per_point": 0.5}, 100.0, 85.0, 7.5),  # 5 points under: 10 − 2.5
        ({"band": 10, "per_point": 0.5}, 200.0, 230.0, 7.5),  # d = 15 %: 10 − 2.5
        ({"band": 10, "per_point": 0.5}, 100.0, 150.0, 0.0),  # 10 − 20, floored at 0
        # absolute: the actual is itself a rate (预算调整率 −12.5 %, target 0)
        ({"band": 10, "per_point": 1, "measure": "absolute"}, 0.0, -12.5, 7.5),
        ({"band": 10, "per_point": 1, "measure": "absolute"}, 0.0, 9.0, 10.0),
    ],
)
def test_band(rule: dict[str, Any], t: float, a: float, score: float) -> None:
    assert one({"kind": "band", **rule}, V(a), t=t)[0] == score


@pytest.mark.parametrize(
    ("rule", "t", "a", "score"),
    [
        # 每降低5%扣1分: whole steps of the shortfall below the target
        ({}, 100.0, 96.0, 10.0),  # 4 %: no whole step
        ({}, 100.0, 95.0, 9.0),  # exactly one step
        ({}, 100.0, 90.0, 8.0),
        ({}, 100.0, 89.0, 8.0),  # 11 %: two whole steps
        ({}, 100.0, 120.0, 10.0),  # above the target: nothing to deduct
        ({}, 80.0, 72.0, 8.0),  # 10 % of 80
        ({}, 100.0, 40.0, 0.0),  # 12 steps: floored at 0
        # costs: 每超支5%扣1分
        ({"direction": "above"}, 200.0, 230.0, 7.0),  # 15 %: three steps
        ({"direction": "above"}, 200.0, 180.0, 10.0),
        # absolute percentage points: 95 % target, 86 % actual → 9 points, one step of 5
        ({"measure": "absolute"}, 95.0, 86.0, 9.0),
        ({"per_step": 0.5, "step": 2}, 100.0, 93.0, 8.5),  # 7 % → 3 steps of 2 → 1.5
    ],
)
def test_step_deduction(rule: dict[str, Any], t: float, a: float, score: float) -> None:
    r = {"kind": "step_deduction", "step": 5, "per_step": 1, **rule}
    assert one(r, V(a), t=t)[0] == score


def test_deviation_kinds_side_by_side_in_one_tree() -> None:
    leaves = (
        Leaf("eq", 10, {"kind": "two_sided", "tolerance": 5, "zero_at": 25}, target=100.0),
        Leaf("band", 10, {"kind": "band", "band": 10, "per_point": 0.5}, target=100.0),
        Leaf("step", 10, {"kind": "step_deduction", "step": 5, "per_step": 1}, target=100.0),
        Leaf("hb", 10, {"kind": "higher_better"}, target=100.0),
    )
    obs = {"eq": V(110.0), "band": V(113.0), "step": V(89.0), "hb": V(50.0)}
    r = score_tree(Tree(leaves), obs)
    assert r.leaf_score.tolist() == [7.5, 8.5, 8.0, 5.0]
    assert float(r.item_total[0]) == 72.5  # 29 of 40 points, rebased to 100


@pytest.mark.parametrize(
    ("rule", "t"),
    [
        ({"kind": "two_sided"}, None),  # needs a target
        ({"kind": "two_sided"}, 0.0),  # relative to a target of 0
        ({"kind": "two_sided", "tolerance": 10, "zero_at": 5}, 100.0),
        ({"kind": "band", "band": 10}, 100.0),  # per_point missing
        ({"kind": "band", "band": 10, "per_point": 1, "measure": "ratio"}, 100.0),
        ({"kind": "step_deduction", "step": 0, "per_step": 1}, 100.0),
        ({"kind": "step_deduction", "step": 5, "per_step": 1, "direction": "up"}, 100.0),
    ],
)
def test_deviation_kinds_refuse_bad_parameters(rule: dict[str, Any], t: float | None) -> None:
    with pytest.raises(RuleError):
        one(rule, V(100.0), t=t)


# --- manual deduction, missing, not applicable ----------------------------------------------------


def test_manual_deduction() -> None:
    s, warn, _, _ = one({"kind": "higher_better"}, V(100.0, deduction=2.5, deduction_reason="late"))
    assert (s, warn) == (7.5, ["manual_deduction"])
    assert one({"kind": "higher_better"}, V(100.0, deduction=12, deduction_reason="x"))[0] == 0.0
    with pytest.raises(RuleError):
        one({"kind": "higher_better"}, V(100.0, deduction=1.0))


def two_leaf_tree(policy: str = "zero") -> Tree:
    return Tree(
        (
            Leaf("a", 60, {"kind": "higher_better"}, target=100.0, path=("产出",)),
            Leaf("b", 40, {"kind": "higher_better"}, target=100.0, path=("效益",)),
        ),
        missing_policy=policy,
    )


def test_not_applicable_rebases() -> None:
    r = score_tree(two_leaf_tree(), {"a": V(90.0), "b": V(not_applicable=True)})
    assert r.item_total[0] == 90.0  # 54 · 100 / 60
    assert r.item_applicable_points[0] == 60.0
    assert math.isnan(r.leaf_score[1])
    assert r.leaf_effective_weight.tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("policy", "total", "error"),
    [("zero", 54.0, False), ("rebase", 90.0, False), ("reject", None, True)],
)
def test_missing_policies(policy: str, total: float | None, error: bool) -> None:
    r = score_tree(two_leaf_tree(policy), {"a": V(90.0)})
    assert bool(r.item_error[0]) is error
    if total is None:
        assert math.isnan(r.item_total[0])
        assert int(r.leaf_error[1]) == 1
    else:
        assert r.item_total[0] == total


def test_all_not_applicable_has_no_total() -> None:
    r = score_tree(two_leaf_tree(), {"a": V(not_applicable=True), "b": V(not_applicable=True)})
    assert math.isnan(r.item_total[0])
    assert r.band(0) is None


def test_effective_weight() -> None:
    r = score_tree(two_leaf_tree(), {"a": V(90.0), "b": V(100.0)})
    assert r.leaf_effective_weight.tolist() == [0.6, 0.4]
    assert r.leaf_lost.tolist() == [6.0, 0.0]
    assert r.leaf_fraction.tolist() == [0.9, 1.0]


# --- grading bands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "total", "grade"),
    [
        (100.0, 100.0, "优"),
        (90.0, 90.0, "优"),
        (89.995, 90.0, "优"),  # rounds half-up to 90.00
        (89.994, 89.99, "良"),
        (80.0, 80.0, "良"),
        (79.99, 79.99, "中"),
        (60.0, 60.0, "中"),
        (59.995, 60.0, "中"),
        (59.99, 59.99, "差"),
        (0.0, 0.0, "差"),
    ],
)
def test_band_boundaries(a: float, total: float, grade: str) -> None:
    _, _, tot, g = one({"kind": "higher_better"}, V(a), w=100.0, t=100.0)
    assert (tot, g) == (total, grade)


def test_rebased_total_is_rounded_before_grading() -> None:
    # 26.99 of 30 applicable points → 89.9666… → 89.97 → 良
    tree = Tree(
        (
            Leaf("a", 30, {"kind": "higher_better"}, target=30.0),
            Leaf("b", 70, {"kind": "higher_better"}, target=1.0),
        )
    )
    r = score_tree(tree, {"a": V(26.99), "b": V(not_applicable=True)})
    assert r.item_total[0] == 89.97
    assert r.band(0).grade == "良"  # type: ignore[union-attr]


def test_custom_bands() -> None:
    local = (
        Band("优", "excellent", 80, 100),
        Band("良", "good", 70, 80),
        Band("中", "fair", 60, 70),
        Band("差", "poor", 0, 60),
    )
    assert one({"kind": "higher_better"}, V(80.0), w=100.0, bands=local)[3] == "优"
    assert one({"kind": "higher_better"}, V(79.99), w=100.0, bands=local)[3] == "良"


@pytest.mark.parametrize(
    "bands",
    [
        (Band("A", "a", 0, 50), Band("B", "b", 60, 100)),  # gap
        (Band("A", "a", 0, 60), Band("B", "b", 50, 100)),  # overlap
        (Band("A", "a", 10, 100),),  # does not cover 0
        (),
    ],
)
def test_invalid_bands(bands: tuple[Band, ...]) -> None:
    with pytest.raises(RuleError):
        compile_tree(Tree((Leaf("x", 10, {"kind": "higher_better"}, target=1.0),), bands=bands))


@pytest.mark.parametrize(
    ("leaf", "loc"),
    [
        (Leaf("x", 10, {"kind": "nope"}, target=1.0), ["leaves", "x", "rule", "kind"]),
        (Leaf("x", 10, {"kind": "higher_better"}), ["leaves", "x", "target"]),
        (Leaf("x", -1, {"kind": "higher_better"}, target=1.0), ["leaves", "x", "points"]),
        (
            Leaf("x", 10, {"kind": "efficacy", "levels": [1, 2, 2, 3, 4]}),
            ["leaves", "x", "rule", "levels"],
        ),
        (
            Leaf("x", 10, {"kind": "lower_better", "variant": "b"}, target=1.0),
            ["leaves", "x", "rule", "variant"],
        ),
        (Leaf("x", 10, {"kind": "budget_execution"}, target=0.0), ["leaves", "x", "target"]),
        (
            Leaf("x", 10, {"kind": "higher_better", "over_achievement_penalty": 1.5}, target=1.0),
            ["leaves", "x", "rule", "over_achievement_penalty"],
        ),
        (Leaf("x", 10, {"kind": "rank_table", "points": []}), ["leaves", "x", "rule", "points"]),
        (Leaf("x", 10, {"kind": "deduction", "per_unit": 1}), ["leaves", "x", "rule"]),
    ],
)
def test_invalid_rules_name_their_location(leaf: Leaf, loc: list[str]) -> None:
    with pytest.raises(RuleError) as info:
        compile_tree(Tree((leaf,)))
    assert info.value.loc == loc


# --- worked example: unit self-evaluation ---------------------------------------------------


def self_evaluation() -> Tree:
    hb = {"kind": "higher_better"}
    return Tree(
        (
            Leaf("exec", 10, {"kind": "budget_execution"}, target=100.0, path=()),
            Leaf("qty", 20, hb, target=100.0, path=("产出", "数量")),
            Leaf("quality", 10, hb, target=100.0, path=("产出", "质量")),
            Leaf("time", 10, hb, target=100.0, path=("产出", "时效")),
            Leaf("cost", 10, {"kind": "lower_better"}, target=100.0, path=("产出", "成本")),
            Leaf("econ", 15, hb, target=100.0, path=("效益", "经济效益")),
            Leaf("social", 15, {"kind": "qualitative"}, path=("效益", "社会效益")),
            Leaf("sat", 10, hb, target=95.0, path=("满意度",)),
        )
    )


SELF_EVALUATION_VALUES = {
    "exec": V(98.0),  # 98 % executed → 9.8
    "qty": V(96.0),  # 20 · 0.96 = 19.2
    "quality": V(100.0),
    "time": V(100.0),
    "cost": V(108.0),  # linear: 10 · (1 − 8/100) = 9.2
    "econ": V(80.0),  # 15 · 0.8 = 12
    "social": V(level="achieved"),  # 15
    "sat": V(85.5),  # 10 · 85.5/95 = 9.0
}


def test_self_evaluation_worked_example() -> None:
    compiled = compile_tree(self_evaluation())
    r = score_tree(compiled, SELF_EVALUATION_VALUES)
    nodes = dict(zip(compiled.node_paths, r.node_subtotal.tolist(), strict=True))
    assert r.leaf_score[0] == 9.8
    assert nodes[("产出",)] == 48.4
    assert nodes[("产出", "成本")] == 9.2
    assert nodes[("效益",)] == 27.0
    assert nodes[("满意度",)] == 9.0
    assert r.item_total[0] == 94.2
    band = r.band(0)
    assert band is not None
    assert band.grade == "优"
    # the engine grades; what a grade means for the budget is framework data (catalogue)
    assert band.recommendation_en is None
    assert band == DEFAULT_BANDS[0]


# --- batches -------------------------------------------------------------------------------


def test_columnar_batch_matches_single_evaluations() -> None:
    compiled = compile_tree(two_leaf_tree())
    values = np.array([[90.0, 100.0], [50.0, np.nan], [130.0, 10.0]])
    r = score_columns(compiled, values)
    assert r.item_total.tolist() == [94.0, 30.0, 64.0]
    assert r.node_subtotal.tolist() == [54.0, 40.0, 30.0, 0.0, 60.0, 4.0]
    assert [b.grade if b else None for b in map(r.band, range(3))] == ["优", "差", "中"]
    with pytest.raises(ValueError, match="shape"):
        score_columns(compiled, np.zeros((2, 3)))


def test_ragged_stack_of_different_trees() -> None:
    a = compile_tree(self_evaluation())
    b = compile_tree(two_leaf_tree("rebase"))
    ca, _ = observations_to_columns(a, [SELF_EVALUATION_VALUES])
    cb, _ = observations_to_columns(b, [{"a": V(90.0)}])
    cols = Columns(
        *(np.concatenate([getattr(ca, f), getattr(cb, f)]) for f in ca.__dataclass_fields__)
    )
    r = evaluate(stack([a, b]), cols)
    assert r.batch.n_items == 2
    assert r.item_total.tolist() == [94.2, 90.0]
    # The second item's nodes follow the first item's eight nodes.
    assert r.node_subtotal[-2:].tolist() == [54.0, 0.0]


# --- the deviation kinds through /v1/score ------------------------------------------------------


def test_deviation_kinds_through_the_score_api(sapi: ApiClient) -> None:
    body = copy.deepcopy(WORKED_EXAMPLE)
    rows = {r["id"]: r for r in body["rows"]}
    # 完成数量 96 → 89 of 100 with 每降低5%扣1分: 11 % short → two whole steps → 20 − 2 = 18
    rows["qty"].update(value=89, rule={"kind": "step_deduction", "step": 5, "per_step": 1})
    # 及时率 113 of 100, 控制在±10%以内得满分，每超1个百分点扣0.5分 → 10 − 3 · 0.5 = 8.5
    rows["time"].update(value=113, rule={"kind": "band", "band": 10, "per_point": 0.5})
    # cost 108 of 100 元/台, two-sided: d = 8, 3 beyond the 5 % tolerance, /(25 − 5) → 8.5
    rows["cost"]["rule"] = {"kind": "two_sided", "tolerance": 5, "zero_at": 25}
    r = sapi.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    leaves = {lf["id"]: lf for lf in out["leaves"]}
    assert (leaves["qty"]["score"], leaves["time"]["score"], leaves["cost"]["score"]) == (
        18.0,
        8.5,
        8.5,
    )
    assert leaves["cost"]["rule"] == {"kind": "two_sided", "tolerance": 5, "zero_at": 25}
    nodes = {n["code"]: n for n in out["nodes"]}
    assert nodes["OUT"]["subtotal"] == 45.0  # 18 + 10 + 8.5 + 8.5
    assert out["total"] == 90.8  # 9.8 + 45 + 27 + 9


def test_deviation_kind_without_a_target_is_422(sapi: ApiClient) -> None:
    body = copy.deepcopy(WORKED_EXAMPLE)
    row = next(r for r in body["rows"] if r["id"] == "time")
    del row["target"]
    row["rule"] = {"kind": "band", "band": 10, "per_point": 0.5}
    r = sapi.post("/v1/score", json=body)
    assert r.status_code == 422, r.text
    i = body["rows"].index(row)
    assert ["body", "rows", i, "target"] in [e["loc"] for e in r.json()["errors"]]
    bad = copy.deepcopy(WORKED_EXAMPLE)
    bad["rows"][0]["rule"] = {"kind": "step_deduction", "step": 5}  # per_step missing
    r = sapi.post("/v1/score", json=bad)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "rows", 0, "rule"]
