"""The numeric core against hand computation on a small ASEM slice.

Slice: AUT, BEL, BGD × LPI, TBTs (direction −1, BGD missing), Renew, CO2 (direction −1), in a
tree P1 = {LPI w1, TBTs w2}, P2 = {Renew w1, CO2 w3}, Index = {P1 w1, P2 w3}. Every expected
value below is computed with plain Python arithmetic from the raw numbers, not with the engine.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from indicator_service.composite.engine import (
    Aggregation,
    Bands,
    Normalisation,
    compute,
    data_matrix,
    normalise,
)
from indicator_service.composite.tree import CompositeError, MetaRow, build_tree

UNITS = ["AUT", "BEL", "BGD"]
LPI = [4.097985, 4.108538, 2.663902]
TBTS = [1144.0, 1348.0, math.nan]
RENEW = [34.3949917477854, 9.20164053078148, 34.7470690115416]
CO2 = [6.873713220337, 8.32815989783976, 0.459141964802809]

META = [
    MetaRow(1, "LPI", 1, 1, "P1"),
    MetaRow(1, "TBTs", -1, 2, "P1", target=88.65),
    MetaRow(1, "Renew", 1, 1, "P2", target=61.6783338669222),
    MetaRow(1, "CO2", -1, 3, "P2", target=1.38857590160392),
    MetaRow(2, "P1", 1, 1, "Index", "Aggregate"),
    MetaRow(2, "P2", 1, 3, "Index", "Aggregate"),
    MetaRow(3, "Index", 1, 1, None, "Aggregate"),
]
META[0] = MetaRow(1, "LPI", 1, 1, "P1", target=4.11803135)


def tree():
    return build_tree(META)


def matrix():
    return data_matrix(tree(), UNITS, {"LPI": LPI, "TBTs": TBTS, "Renew": RENEW, "CO2": CO2})


def mm(values, direction=1, lo=0.0, hi=100.0):
    present = [v for v in values if not math.isnan(v)]
    a, b = min(present), max(present)
    out = []
    for v in values:
        if math.isnan(v):
            out.append(math.nan)
        elif direction == 1:
            out.append(lo + (hi - lo) * (v - a) / (b - a))
        else:
            out.append(lo + (hi - lo) * (b - v) / (b - a))
    return out


def wmean(pairs):
    """Weighted arithmetic mean of (value, weight) pairs, missing values dropped."""
    kept = [(v, w) for v, w in pairs if not math.isnan(v)]
    return sum(v * w for v, w in kept) / sum(w for _, w in kept)


def close(actual, expected, rel=1e-12):
    for a, e in zip(actual, expected, strict=True):
        if math.isnan(e):
            assert math.isnan(a)
        else:
            assert a == pytest.approx(e, rel=rel, abs=1e-12)


def test_default_minmax_arithmetic_with_missing_rescaled():
    r = compute(tree(), UNITS, matrix())
    lpi, tbts, renew, co2 = mm(LPI), mm(TBTS, -1), mm(RENEW), mm(CO2, -1)
    assert tbts[:2] == [100.0, 0.0]
    assert math.isnan(tbts[2])
    p1 = [wmean([(lpi[i], 1), (tbts[i], 2)]) for i in range(3)]
    p2 = [wmean([(renew[i], 1), (co2[i], 3)]) for i in range(3)]
    index = [wmean([(p1[i], 1), (p2[i], 3)]) for i in range(3)]
    # BGD has no TBTs: its P1 is its normalised LPI alone (weight 1 of 1), i.e. 0.
    assert p1[2] == 0.0
    close(r.column("P1"), p1)
    close(r.column("P2"), p2)
    close(r.column("Index"), index)
    close(r.normalised[:, 1], tbts)
    # AUT's index by hand, written out: P1 = (LPI_n + 2·100)/3, P2 = (Renew_n + 3·CO2_n)/4.
    aut_lpi = 100 * (4.097985 - 2.663902) / (4.108538 - 2.663902)
    aut_renew = 100 * (34.3949917477854 - 9.20164053078148) / (34.7470690115416 - 9.20164053078148)
    aut_co2 = 100 * (8.32815989783976 - 6.873713220337) / (8.32815989783976 - 0.459141964802809)
    aut_index = ((aut_lpi + 200) / 3 + 3 * (aut_renew + 3 * aut_co2) / 4) / 4
    assert r.column("Index")[0] == pytest.approx(aut_index, rel=1e-13)
    assert list(r.tree.aggregates) == ["P1", "P2", "Index"]
    np.testing.assert_array_equal(r.availability[:, 0], [1.0, 1.0, 0.5])


def test_ranks_and_effective_weights():
    r = compute(tree(), UNITS, matrix())
    index = list(r.column("Index"))
    expected = [1 + sum(other > mine for other in index) for mine in index]
    assert list(r.ranks[:, 2]) == expected
    # Effective weights in the index: LPI 1/3·1/4, TBTs 2/3·1/4, Renew 1/4·3/4, CO2 3/4·3/4.
    np.testing.assert_allclose(r.effective_weights[:, 2], [1 / 12, 2 / 12, 3 / 16, 9 / 16])
    np.testing.assert_allclose(r.effective_weights[:, 0], [1 / 3, 2 / 3, 0, 0])


def test_minmax_custom_range_and_constant_indicator():
    t = tree()
    x = matrix()
    x[:, 0] = 5.0
    n = normalise(x, t, Normalisation(low=1, high=10))
    assert list(n[:, 0]) == [5.5, 5.5, 5.5]
    close(n[:, 2], mm(RENEW, 1, 1, 10))
    close(n[:, 3], mm(CO2, -1, 1, 10))


def test_zscore_reverses_direction_and_uses_sample_sd():
    n = normalise(matrix(), tree(), Normalisation("zscore", mean=10, sd=2))
    m, s = statistics.mean(CO2), statistics.stdev(CO2)
    close(n[:, 3], [10 + 2 * (-(v) + m) / s for v in CO2])
    m, s = statistics.mean([-1144.0, -1348.0]), statistics.stdev([-1144.0, -1348.0])
    close(n[:, 1], [10 + 2 * (-1144.0 - m) / s, 10 + 2 * (-1348.0 - m) / s, math.nan])


def test_rank_and_percentile_rank():
    x = matrix()
    x[1, 2] = x[0, 2]  # a tie in Renew between AUT and BEL
    n = normalise(x, tree(), Normalisation("rank"))
    # CO2 reversed: BGD lowest emissions → rank 3 (best), BEL → 1.
    assert list(n[:, 3]) == [2.0, 1.0, 3.0]
    assert list(n[:, 2]) == [1.5, 1.5, 3.0]
    assert list(n[:, 1][:2]) == [2.0, 1.0]
    assert math.isnan(n[2, 1])
    p = normalise(x, tree(), Normalisation("prank"))
    assert list(p[:, 3]) == [50.0, 0.0, 100.0]
    assert list(p[:, 2]) == [25.0, 25.0, 100.0]
    assert list(p[:2, 1]) == [100.0, 0.0]
    # a lone value sits mid-scale; missing values stay missing
    x[:, 1] = [math.nan, 7.0, math.nan]
    p = normalise(x, tree(), Normalisation("prank"))
    assert math.isnan(p[0, 1])
    assert p[1, 1] == 50.0
    assert math.isnan(p[2, 1])


def test_distance_to_target_both_directions_capped():
    n = normalise(matrix(), tree(), Normalisation("target"))
    t_lpi = 4.11803135
    close(n[:, 0], [100 * (v - 2.663902) / (t_lpi - 2.663902) for v in LPI])
    t = 1.38857590160392  # CO2, lower is better: (max − x) / (max − target), capped at 1
    hi = 8.32815989783976
    close(n[:, 3], [100 * min(1.0, (hi - v) / (hi - t)) for v in CO2])
    assert n[2, 3] == 100.0
    uncapped = normalise(matrix(), tree(), Normalisation("target", cap=False))
    assert uncapped[2, 3] == pytest.approx(100 * (hi - CO2[2]) / (hi - t))


def test_distance_to_target_without_target_is_an_error():
    rows = [MetaRow(1, "A", 1, 1, "R"), MetaRow(2, "R", 1, 1, None, "Aggregate")]
    t = build_tree(rows)
    with pytest.raises(CompositeError) as info:
        normalise(np.array([[1.0], [2.0]]), t, Normalisation("target"))
    assert (["normalisation", "targets", "A"], "A has no target") in info.value.errors


def test_goalposts_clip_and_reverse():
    posts = {"LPI": (3.0, 4.0), "TBTs": (1000.0, 1500.0), "Renew": (0.0, 50.0), "CO2": (1, 8)}
    n = normalise(matrix(), tree(), Normalisation("goalposts", goalposts=posts))
    close(n[:, 0], [100.0, 100.0, 0.0])
    close(n[:, 1], [100 * (1500 - 1144) / 500, 100 * (1500 - 1348) / 500, math.nan])
    close(n[:, 3], [100 * (8 - 6.873713220337) / 7, 100 * (8 - 8) / 7, 100.0])
    with pytest.raises(CompositeError, match="goalposts"):
        normalise(matrix(), tree(), Normalisation("goalposts", goalposts={"LPI": (1, 2)}))


def test_geometric_harmonic_generalised_means_by_hand():
    spec = Normalisation(low=1, high=100)
    lpi, tbts = mm(LPI, 1, 1, 100), mm(TBTS, -1, 1, 100)
    renew, co2 = mm(RENEW, 1, 1, 100), mm(CO2, -1, 1, 100)
    g = compute(tree(), UNITS, matrix(), normalisation=spec, aggregation=Aggregation("geometric"))
    p1 = [(lpi[i] ** 1 * tbts[i] ** 2) ** (1 / 3) for i in range(2)] + [lpi[2]]
    p2 = [(renew[i] * co2[i] ** 3) ** (1 / 4) for i in range(3)]
    close(g.column("P1"), p1, rel=1e-12)
    close(g.column("Index"), [(p1[i] * p2[i] ** 3) ** (1 / 4) for i in range(3)], rel=1e-12)
    h = compute(tree(), UNITS, matrix(), normalisation=spec, aggregation=Aggregation("harmonic"))
    hp2 = [4 / (1 / renew[i] + 3 / co2[i]) for i in range(3)]
    close(h.column("P2"), hp2, rel=1e-12)
    q = compute(
        tree(), UNITS, matrix(), normalisation=spec, aggregation=Aggregation("generalised", p=2)
    )
    qp1 = [math.sqrt((lpi[i] ** 2 + 2 * tbts[i] ** 2) / 3) for i in range(2)] + [lpi[2]]
    close(q.column("P1"), qp1, rel=1e-12)
    # p = 0 is the geometric mean; p = 1 the arithmetic one.
    q0 = compute(
        tree(), UNITS, matrix(), normalisation=spec, aggregation=Aggregation("generalised", p=0)
    )
    np.testing.assert_array_equal(q0.scores, g.scores)


def test_mixed_aggregation_per_level():
    spec = Normalisation(low=1, high=100)
    r = compute(
        tree(),
        UNITS,
        matrix(),
        normalisation=spec,
        aggregation=[Aggregation("arithmetic"), Aggregation("geometric")],
    )
    p1, p2 = r.column("P1"), r.column("P2")
    close(r.column("Index"), [(p1[i] * p2[i] ** 3) ** 0.25 for i in range(3)])


def test_geometric_mean_refuses_zero_naming_unit_and_indicator():
    with pytest.raises(CompositeError) as info:
        compute(tree(), UNITS, matrix(), aggregation=Aggregation("geometric"))
    err = info.value
    assert "positive" in err.detail
    assert "[1, 100]" in err.detail
    # The first zero in unit order: AUT has none, BEL's TBTs (worst, reversed) is 0.
    loc, msg = err.errors[0]
    assert loc == ["data", "BEL", "TBTs"]
    assert "BEL" in msg
    assert "TBTs" in msg


def test_availability_threshold():
    r = compute(tree(), UNITS, matrix(), threshold={"P1": 0.6})
    assert math.isnan(r.column("P1")[2])
    # BGD's index now rests on P2 alone.
    assert r.column("Index")[2] == pytest.approx(r.column("P2")[2], rel=1e-15)
    # A global threshold applies on every level: BGD's index has 1 of 2 pillars.
    g = compute(tree(), UNITS, matrix(), threshold=0.6)
    assert math.isnan(g.column("P1")[2])
    assert math.isnan(g.column("Index")[2])
    assert not math.isnan(g.column("Index")[0])
    r2 = compute(tree(), UNITS, matrix(), threshold={"P1": 0.5})
    assert r2.column("P1")[2] == 0.0
    with pytest.raises(CompositeError):
        compute(tree(), UNITS, matrix(), threshold={"Nope": 0.5})
    with pytest.raises(CompositeError):
        compute(tree(), UNITS, matrix(), threshold=1.5)


def test_grades_from_bands():
    bands = Bands.from_ranges([("差", 0, 60), ("中", 60, 80), ("良", 80, 90), ("优", 90, 100)])
    r = compute(tree(), UNITS, matrix(), bands=bands)
    expected = []
    for v in r.column("Index"):
        expected.append("差" if v < 60 else "中" if v < 80 else "良" if v < 90 else "优")
    assert r.grades is not None
    assert r.grades[2] == expected
    assert bands.grade(np.array([100.0, 90.0, 89.999, -1.0, math.nan, 100.00000000000001])) == [
        "优",
        "优",
        "良",
        None,
        None,
        "优",
    ]
    with pytest.raises(CompositeError, match="bands"):
        Bands.from_ranges([("a", 0, 50), ("b", 60, 100)])


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ([MetaRow(1, "A", 1, 1, "X"), MetaRow(2, "R", 1, 1, None, "Aggregate")], "unknown parent"),
        ([MetaRow(1, "A", 1, 0, "R"), MetaRow(2, "R", 1, 1, None, "Aggregate")], "positive"),
        ([MetaRow(1, "A", 1, -2, "R"), MetaRow(2, "R", 1, 1, None, "Aggregate")], "positive"),
        ([MetaRow(1, "A", 2, 1, "R"), MetaRow(2, "R", 1, 1, None, "Aggregate")], "direction"),
        (
            [
                MetaRow(1, "A", 1, 1, "B"),
                MetaRow(2, "B", 1, 1, "C", "Aggregate"),
                MetaRow(2, "C", 1, 1, "B", "Aggregate"),
            ],
            "cycle",
        ),
        (
            [
                MetaRow(1, "A", 1, 1, "R"),
                MetaRow(2, "E", 1, 1, "R", "Aggregate"),
                MetaRow(3, "R", 1, 1, None, "Aggregate"),
            ],
            "level",
        ),
        ([MetaRow(1, "A", 1, 1, None), MetaRow(2, "R", 1, 1, None, "Aggregate")], "no children"),
        ([MetaRow(1, "A", 1, 1, "R"), MetaRow(1, "A", 1, 1, "R")], "duplicate"),
    ],
)
def test_tree_validation(rows, fragment):
    with pytest.raises(CompositeError) as info:
        build_tree(rows)
    assert any(fragment in msg for _, msg in info.value.errors), info.value.errors


def test_data_validation():
    t = tree()
    with pytest.raises(CompositeError) as info:
        data_matrix(t, UNITS, {"LPI": LPI, "TBTs": TBTS, "Renew": RENEW})
    assert (["data", "CO2"], "indicator CO2 has no column in the data") in info.value.errors
    with pytest.raises(CompositeError, match="invalid data"):
        data_matrix(t, UNITS, {"LPI": LPI, "TBTs": [math.nan] * 3, "Renew": RENEW, "CO2": CO2})
    with pytest.raises(CompositeError):
        data_matrix(t, ["A", "A", "B"], {"LPI": LPI, "TBTs": TBTS, "Renew": RENEW, "CO2": CO2})
    with pytest.raises(CompositeError):
        data_matrix(
            t, UNITS, {"LPI": [1.0, math.inf, 2.0], "TBTs": TBTS, "Renew": RENEW, "CO2": CO2}
        )


def test_rank_desc_ties_and_missing():
    from indicator_service.composite.engine import rank_desc

    a = np.array([[3.0, 1.0], [5.0, math.nan], [3.0, 2.0], [math.nan, 2.0], [1.0, 0.5]])
    r = rank_desc(a)
    assert list(r[:, 0][[0, 1, 2, 4]]) == [2.0, 1.0, 2.0, 4.0]
    assert math.isnan(r[3, 0])
    assert list(r[:, 1][[0, 2, 3, 4]]) == [3.0, 1.0, 1.0, 4.0]
    assert math.isnan(r[1, 1])
    assert list(rank_desc(np.array([1.0, 9.0, 4.0]))) == [3.0, 1.0, 2.0]


def test_tree_without_aggregate_and_overflow_are_refused():
    with pytest.raises(CompositeError) as info:
        build_tree([MetaRow(1, "A", 1, 1, None)])
    assert any("at least one aggregate" in m for _, m in info.value.errors)
    big = Normalisation(low=1.0, high=1e300)
    with pytest.raises(CompositeError, match="overflow") as info:
        compute(
            tree(), UNITS, matrix(), normalisation=big, aggregation=Aggregation("generalised", p=2)
        )
    assert info.value.errors[0][0] == ["aggregation", "p"]
