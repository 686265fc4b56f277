"""Property tests: the vectorised engine agrees with the reference oracle on random trees and
values, and the invariants of the contract hold."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from indicator_service.rules import (
    KINDS,
    Columns,
    Leaf,
    Observation,
    Tree,
    compile_tree,
    evaluate,
    observations_to_columns,
    score_tree,
    stack,
    warning_names,
)
from tests.scoring import reference

finite = st.floats(-50, 400, allow_nan=False).map(lambda x: round(x, 3))
points = st.integers(0, 3000).map(lambda x: x / 100)
positive_target = st.floats(0.5, 300).map(lambda x: round(x, 2))
target = st.one_of(positive_target, st.sampled_from([0.0, -5.0]))
paths = st.sampled_from(
    [(), ("产出",), ("产出", "数量"), ("产出", "质量"), ("效益",), ("效益", "社会")]
)
modifiers = st.fixed_dictionaries(
    {},
    optional={
        "over_achievement_factor": st.sampled_from([None, 1.1, 1.5]),
        "over_achievement_penalty": st.sampled_from([0.5, 0.9, 1.0]),
    },
)


@st.composite
def leaf_and_value(draw: st.DrawFn, code: str) -> tuple[Leaf, Observation | None]:
    kind = draw(st.sampled_from(KINDS))
    w = draw(points)
    rule: dict[str, Any] = {"kind": kind, **draw(modifiers)}
    t: float | None = None
    value: float = draw(finite)
    if kind in ("higher_better", "equal"):
        t = draw(target)
    elif kind == "lower_better":
        t = draw(target)
        variant = draw(st.sampled_from([None, "linear", "inverse"]))
        if variant:
            rule["variant"] = variant
    elif kind == "budget_execution":
        t = draw(st.one_of(st.none(), positive_target))
        rule.update(
            draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "cap": st.sampled_from([0.9, 1.0, 1.2]),
                        "warn_below": st.sampled_from([0.5, 0.95]),
                    },
                )
            )
        )
    elif kind == "deduction":
        rule["threshold"] = draw(st.sampled_from([0.0, 100.0, 95.0]))
        rule["per_unit"] = draw(st.sampled_from([0.5, 0.8, 1.0, 2.0]))
        if draw(st.booleans()):
            rule["direction"] = draw(st.sampled_from(["above", "below"]))
    elif kind == "efficacy":
        base = sorted(draw(st.lists(st.integers(-20, 200), min_size=5, max_size=5, unique=True)))
        levels = base[::-1] if draw(st.booleans()) else base
        rule["levels"] = [float(x) for x in levels]
        if draw(st.booleans()):
            rule["below_bottom"] = "zero"
    elif kind == "two_sided":
        t = draw(positive_target)
        tol = draw(st.sampled_from([0.0, 2.0, 5.0, 10.0]))
        rule.update(tolerance=tol, zero_at=tol + draw(st.sampled_from([5.0, 20.0, 100.0])))
    elif kind == "band":
        rule.update(
            band=draw(st.sampled_from([0.0, 5.0, 10.0])),
            per_point=draw(st.sampled_from([0.2, 0.5, 1.0])),
        )
        if draw(st.booleans()):
            rule["measure"] = "absolute"
            t = draw(target)
        else:
            t = draw(positive_target)
    elif kind == "step_deduction":
        rule.update(
            step=draw(st.sampled_from([1.0, 5.0, 10.0])),
            per_step=draw(st.sampled_from([0.5, 1.0, 2.0])),
        )
        rule["direction"] = draw(st.sampled_from(["above", "below"]))
        if draw(st.booleans()):
            rule["measure"] = "absolute"
            t = draw(target)
        else:
            t = draw(positive_target)
    elif kind == "rank_table":
        rule["points"] = draw(st.lists(st.integers(0, 40), min_size=1, max_size=6))
        if draw(st.booleans()):
            rule["beyond"] = draw(st.integers(0, 10))
        value = float(draw(st.integers(1, 8)))
    leaf = Leaf(code, w, rule, target=t, path=draw(paths))
    status = draw(st.sampled_from(["value", "value", "value", "na", "missing"]))
    if status == "missing":
        return leaf, None
    if status == "na":
        return leaf, Observation(not_applicable=True)
    deduction = draw(st.sampled_from([0.0, 0.0, 1.0, 2.5]))
    reason = "手工扣分" if deduction else None
    if kind == "qualitative":
        level = draw(st.sampled_from(reference.NATIONAL_QUALITATIVE))
        level_score = None
        if draw(st.booleans()):
            frac = draw(st.floats(level["min"], level["max"]))
            if frac < level["max"] or level["max"] == 1:
                level_score = round(frac * w, 2)
        return leaf, Observation(
            level=level["code"],
            level_score=level_score,
            deduction=deduction,
            deduction_reason=reason,
        )
    return leaf, Observation(value, deduction=deduction, deduction_reason=reason)


@st.composite
def submissions(draw: st.DrawFn) -> tuple[Tree, dict[str, Observation]]:
    n = draw(st.integers(1, 10))
    pairs = [draw(leaf_and_value(f"L{i}")) for i in range(n)]
    tree = Tree(
        tuple(leaf for leaf, _ in pairs),
        missing_policy=draw(st.sampled_from(["zero", "rebase", "reject"])),
        rule_variants=draw(st.sampled_from([{}, {"lower_better": "inverse"}])),
    )
    return tree, {leaf.code: obs for leaf, obs in pairs if obs is not None}


def nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def assert_agrees(
    tree: Tree,
    obs: dict[str, Observation],
    result: Any,
    item: int = 0,
    leaf_offset: int = 0,
    node_offset: int = 0,
) -> None:
    expected = reference.score_item(tree, obs)
    compiled = compile_tree(tree)
    for i, leaf in enumerate(tree.leaves):
        exp = expected.leaves[leaf.code]
        j = leaf_offset + i
        if exp.error is not None:
            assert result.leaf_error[j] != 0, leaf.code
            continue
        assert result.leaf_error[j] == 0, leaf.code
        assert bool(result.leaf_applicable[j]) == exp.applicable, leaf.code
        assert nan_to_none(result.leaf_score[j]) == exp.score, leaf.code
        assert set(warning_names(int(result.leaf_warnings[j]))) == exp.warnings, leaf.code
    for k, path in enumerate(compiled.node_paths):
        assert result.node_subtotal[node_offset + k] == expected.nodes[path], path
    assert nan_to_none(result.item_total[item]) == expected.total
    band = result.band(item)
    assert (band.grade if band else None) == expected.grade


@settings(max_examples=300, deadline=None)
@given(submissions())
def test_engine_equals_oracle(sub: tuple[Tree, dict[str, Observation]]) -> None:
    tree, obs = sub
    assert_agrees(tree, obs, score_tree(tree, obs))


@settings(max_examples=150, deadline=None)
@given(submissions(), st.floats(0, 200, allow_nan=False))
def test_a_compiled_tree_reused_equals_oracle(
    sub: tuple[Tree, dict[str, Observation]], filler: float
) -> None:
    """A compiled tree caches structure-only arrays on first use (kinds, weights, each kind's
    leaves): evaluated first with a value on every leaf, then with the drawn values (missing,
    not applicable, levels …), it must still agree with the oracle; the cache is read-only."""
    tree, obs = sub
    compiled = compile_tree(tree)
    full = {
        leaf.code: Observation(level="achieved")
        if compiled.rules[i]["kind"] == "qualitative"
        else Observation(value=filler if compiled.rules[i]["kind"] != "rank_table" else 1.0)
        for i, leaf in enumerate(tree.leaves)
    }
    assert_agrees(tree, full, score_tree(compiled, full))
    assert_agrees(tree, obs, score_tree(compiled, obs))
    for idx, rows in compiled.kind_leaves.values():
        assert not idx.flags.writeable
        assert not rows.flags.writeable
    assert not compiled.leaf_weight.flags.writeable


@settings(max_examples=60, deadline=None)
@given(st.lists(submissions(), min_size=1, max_size=5))
def test_ragged_batch_equals_oracle(subs: list[tuple[Tree, dict[str, Observation]]]) -> None:
    compiled = [compile_tree(t) for t, _ in subs]
    parts = [observations_to_columns(c, [o])[0] for c, (_, o) in zip(compiled, subs, strict=True)]
    cols = Columns(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Columns.__dataclass_fields__)
    )
    result = evaluate(stack(compiled), cols)
    leaf_off = node_off = 0
    for item, ((tree, obs), c) in enumerate(zip(subs, compiled, strict=True)):
        assert_agrees(tree, obs, result, item, leaf_off, node_off)
        leaf_off += c.n_leaves
        node_off += c.n_nodes


@settings(max_examples=200, deadline=None)
@given(submissions())
def test_scores_and_totals_are_bounded(sub: tuple[Tree, dict[str, Observation]]) -> None:
    tree, obs = sub
    r = score_tree(tree, obs)
    w = np.array([leaf.points for leaf in tree.leaves])
    ok = ~np.isnan(r.leaf_score)
    assert np.all(r.leaf_score[ok] >= 0)
    assert np.all(r.leaf_score[ok] <= w[ok])
    if not math.isnan(r.item_total[0]):
        assert 0.0 <= r.item_total[0] <= 100.0


@settings(max_examples=200, deadline=None)
@given(
    positive_target,
    points.filter(lambda w: w > 0),
    st.floats(0, 500, allow_nan=False),
    st.floats(0, 500, allow_nan=False),
)
def test_higher_better_is_monotone(t: float, w: float, a1: float, a2: float) -> None:
    lo, hi = sorted((a1, a2))
    tree = Tree((Leaf("x", w, {"kind": "higher_better"}, target=t),))
    s_lo = score_tree(tree, {"x": Observation(lo)}).leaf_score[0]
    s_hi = score_tree(tree, {"x": Observation(hi)}).leaf_score[0]
    assert s_lo <= s_hi


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 40), st.floats(0, 1)), min_size=2, max_size=8),
    st.data(),
)
def test_not_applicable_rebasing_equals_proportional_scaling(
    rows: list[tuple[int, float]], data: st.DataObject
) -> None:
    """Dropping a leaf as not applicable gives the total of the tree without it whose remaining
    points are scaled to 100 (up to the 2-decimal rounding of each leaf)."""
    drop = data.draw(st.integers(0, len(rows) - 1))
    leaves = tuple(
        Leaf(f"L{i}", float(w), {"kind": "higher_better"}, target=1.0)
        for i, (w, _) in enumerate(rows)
    )
    obs = {f"L{i}": Observation(f) for i, (_, f) in enumerate(rows)}
    obs[f"L{drop}"] = Observation(not_applicable=True)
    rebased = score_tree(Tree(leaves), obs).item_total[0]
    kept = [(w, f) for i, (w, f) in enumerate(rows) if i != drop]
    scale = 100.0 / sum(w for w, _ in kept)
    scaled = tuple(
        Leaf(f"L{i}", w * scale, {"kind": "higher_better"}, target=1.0)
        for i, (w, _) in enumerate(kept)
    )
    direct = score_tree(
        Tree(scaled), {f"L{i}": Observation(f) for i, (_, f) in enumerate(kept)}
    ).item_total[0]
    # each side rounds every leaf to 2 decimals (≤ 0.005 each): the rebased leaves before the
    # scaling (× scale), the direct ones after it; plus the totals' own rounding
    tolerance = 0.005 * len(kept) * (scale + 1.0) + 0.01
    assert abs(rebased - direct) <= tolerance
    exact = sum(w * f for w, f in kept) * scale
    assert abs(rebased - exact) <= tolerance
