"""Monte Carlo robustness and Sobol sensitivity."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from indicator_service.composite.engine import (
    Aggregation,
    Bands,
    Normalisation,
    compute,
    data_matrix,
    rank_desc,
)
from indicator_service.composite.robustness import (
    Uncertainty,
    monte_carlo,
    sensitivity,
    sobol_indices,
)
from indicator_service.composite.tables import read_data_csv, read_meta_csv
from indicator_service.composite.tree import CompositeError, MetaRow, build_tree
from tests.composite.test_engine import META, UNITS, matrix, tree
from tests.paths import FIXTURES_DIR

ASEM = FIXTURES_DIR / "coinr-asem"
BANDS = Bands.from_ranges([("差", 0, 60), ("中", 60, 80), ("良", 80, 90), ("优", 90, 100)])
FULL = Uncertainty(
    weight_noise=0.3,
    normalisations=(Normalisation(low=1), Normalisation("prank", low=1)),
    aggregations=(Aggregation(), Aggregation("geometric")),
    exclusion_level=1,
)


@pytest.fixture(scope="module")
def asem():
    t = build_tree(read_meta_csv(Path(ASEM / "ASEM_iMeta.csv").read_text(encoding="utf-8")))
    units, cols, _ = read_data_csv(Path(ASEM / "ASEM_iData.csv").read_text(encoding="utf-8"))
    return t, units, data_matrix(t, units, cols)


def test_no_uncertainty_reproduces_the_nominal_scores(asem):
    t, units, x = asem
    r = monte_carlo(t, units, x, uncertainty=Uncertainty(weight_noise=0.0), n=4, bands=BANDS)
    nominal = compute(t, units, x).column("Index")
    np.testing.assert_allclose(r.scores, np.repeat(nominal[:, None], 4, axis=1), rtol=1e-13)
    np.testing.assert_allclose(r.score_quantiles[:, 1], nominal, rtol=1e-13)
    assert r.mean_abs_rank_shift == 0.0
    assert r.grade_probability is not None
    np.testing.assert_array_equal(r.grade_probability.sum(axis=1), 1.0)


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")
def test_each_replication_equals_a_direct_computation():
    """Replication r, recomputed with the plain pipeline from the drawn weights and choices."""
    r = monte_carlo(tree(), UNITS, matrix(), uncertainty=FULL, n=40, seed=11)
    s = r.samples
    assert set(s.excluded) >= {-1, 0}
    assert set(s.normalisation) == {0, 1}
    for rep in range(40):
        rows = []
        for lvl, codes in enumerate(tree().levels):
            for i, code in enumerate(codes):
                base = next(m for m in META if m.code == code)
                w = base.weight * (s.multipliers[lvl][i, rep] if lvl < 2 else 1.0)
                rows.append(MetaRow(base.level, code, base.direction, w, base.parent, base.type))
        x = matrix()
        if s.excluded[rep] >= 0:
            x[:, s.excluded[rep]] = np.nan  # weight 0 ≡ the indicator's values left out
        t2 = build_tree(rows)
        direct = compute(
            t2,
            UNITS,
            x,
            normalisation=FULL.normalisations[s.normalisation[rep]],
            aggregation=FULL.aggregations[s.aggregation[rep]],
        ).column("Index")
        np.testing.assert_allclose(r.scores[:, rep], direct, rtol=1e-12)


def test_weight_noise_bounds_and_summary_by_hand():
    r = monte_carlo(tree(), UNITS, matrix(), uncertainty=Uncertainty(weight_noise=0.2), n=200)
    for m in r.samples.multipliers:
        assert m.min() >= 0.8
        assert m.max() <= 1.2
    # quantiles and ranks recomputed from the kept replications
    for u in range(3):
        row = sorted(r.scores[u])
        # numpy's default (linear) quantile at 0.5 of 200 values: mean of the 100th and 101st
        assert r.score_quantiles[u, 1] == pytest.approx((row[99] + row[100]) / 2, rel=1e-15)
    for rep in (0, 57, 199):
        col = list(r.scores[:, rep])
        expected = [1 + sum(o > v for o in col) for v in col]
        assert list(r.ranks[:, rep]) == expected
    nominal = compute(tree(), UNITS, matrix()).column("Index")
    assert list(r.nominal_rank) == list(rank_desc(nominal))


def test_grade_probabilities_count_replications():
    r = monte_carlo(tree(), UNITS, matrix(), uncertainty=FULL, n=300, seed=5, bands=BANDS)
    assert r.grade_probability is not None
    for u in range(3):
        counts = [0] * 5
        for v in r.scores[u]:
            if math.isnan(v):
                counts[4] += 1
            elif v < 60:
                counts[0] += 1
            elif v < 80:
                counts[1] += 1
            elif v < 90:
                counts[2] += 1
            elif v <= 100 + 1e-9:  # a rounding error above 100 is still the top band
                counts[3] += 1
            else:
                counts[4] += 1
        assert list(r.grade_probability[u]) == [c / 300 for c in counts]


def test_same_seed_bit_identical_other_seed_differs(asem):
    t, units, x = asem
    one = monte_carlo(t, units, x, uncertainty=FULL, n=150, seed=42, bands=BANDS)
    two = monte_carlo(t, units, x, uncertainty=FULL, n=150, seed=42, bands=BANDS)
    for name in ("scores", "ranks", "score_quantiles", "rank_quantiles", "grade_probability"):
        assert np.array_equal(getattr(one, name), getattr(two, name), equal_nan=True)
        assert getattr(one, name).tobytes() == getattr(two, name).tobytes()
    other = monte_carlo(t, units, x, uncertainty=FULL, n=150, seed=43, bands=BANDS)
    assert not np.array_equal(one.scores, other.scores)
    s1 = sensitivity(t, units, x, uncertainty=FULL, n=64, seed=7)
    s2 = sensitivity(t, units, x, uncertainty=FULL, n=64, seed=7)
    assert s1.first_order.tobytes() == s2.first_order.tobytes()
    assert s1.total.tobytes() == s2.total.tobytes()
    assert s1.rank_shift_total.tobytes() == s2.rank_shift_total.tobytes()


def test_sobol_estimators_on_an_additive_model():
    """f = x1 + 2 x2, x uniform on [0, 1): V1 = 1/12, V2 = 4/12, so S = ST = (0.2, 0.8)."""
    rng = np.random.default_rng(0)
    n = 200_000
    a, b = rng.random((2, n)), rng.random((2, n))

    def f(m):
        return m[0] + 2 * m[1]

    ab = []
    for i in range(2):
        m = a.copy()
        m[i] = b[i]
        ab.append(f(m))
    s, st = sobol_indices(f(a), f(b), ab)
    np.testing.assert_allclose(s, [0.2, 0.8], atol=0.01)
    np.testing.assert_allclose(st, [0.2, 0.8], atol=0.01)


def test_sensitivity_factor_without_effect_is_exactly_zero():
    unc = Uncertainty(
        weight_noise=0.3, normalisations=(Normalisation(), Normalisation()), exclusion_level=None
    )
    s = sensitivity(tree(), UNITS, matrix(), uncertainty=unc, n=256, seed=1)
    assert s.factors == ("weights", "normalisation")
    np.testing.assert_array_equal(s.first_order[:, 1], 0.0)
    np.testing.assert_array_equal(s.total[:, 1], 0.0)
    # weights are then the only factor: its total effect is close to 1
    np.testing.assert_allclose(s.total[:, 0], 1.0, atol=0.15)


def test_errors_are_clear():
    with pytest.raises(CompositeError, match="positive"):
        monte_carlo(
            tree(),
            UNITS,
            matrix(),
            uncertainty=Uncertainty(aggregations=(Aggregation(), Aggregation("geometric"))),
            n=5,
        )
    with pytest.raises(CompositeError, match="no uncertain"):
        sensitivity(tree(), UNITS, matrix(), uncertainty=Uncertainty(weight_noise=0.0), n=8)
    with pytest.raises(CompositeError, match="uncertainty"):
        monte_carlo(tree(), UNITS, matrix(), uncertainty=Uncertainty(weight_noise=1.5), n=5)
    with pytest.raises(CompositeError, match="target"):
        monte_carlo(tree(), UNITS, matrix(), n=5, target="Nope")


def test_group_exclusion_and_other_target():
    unc = Uncertainty(weight_noise=0.0, exclusion_level=2)
    r = monte_carlo(tree(), UNITS, matrix(), uncertainty=unc, n=60, seed=2)
    full = compute(tree(), UNITS, matrix())
    for rep in range(60):
        ex = r.samples.excluded[rep]
        expected = {-1: full.column("Index"), 0: full.column("P2"), 1: full.column("P1")}[ex]
        np.testing.assert_allclose(r.scores[:, rep], expected, rtol=1e-13)
    p1 = monte_carlo(tree(), UNITS, matrix(), uncertainty=Uncertainty(0.0), n=3, target="P1")
    np.testing.assert_allclose(p1.scores[:, 0], full.column("P1"), rtol=1e-13)


@pytest.mark.parametrize(
    "aggregation",
    [
        Aggregation("geometric"),
        Aggregation("harmonic"),
        Aggregation("generalised", p=2.5),
        (Aggregation(), Aggregation("geometric"), Aggregation("geometric")),
        (Aggregation("geometric"), Aggregation("geometric"), Aggregation()),
    ],
)
def test_batched_means_on_four_levels_equal_the_pipeline(asem, aggregation):
    """The batch path keeps scores in log/power space between levels with the same mean."""
    t, units, x = asem
    spec = Normalisation(low=1.0)
    unc = Uncertainty(weight_noise=0.0, normalisations=(spec,), aggregations=(aggregation,))
    r = monte_carlo(t, units, x, uncertainty=unc, n=2)
    agg = aggregation if isinstance(aggregation, Aggregation) else list(aggregation)
    direct = compute(t, units, x, normalisation=spec, aggregation=agg).column("Index")
    np.testing.assert_allclose(r.scores[:, 0], direct, rtol=1e-12)
    np.testing.assert_allclose(r.nominal_score, direct, rtol=1e-12)


def test_overflow_in_replications_is_refused():
    unc = Uncertainty(
        weight_noise=0.1,
        normalisations=(Normalisation(low=1.0, high=1e300),),
        aggregations=(Aggregation("generalised", p=2),),
    )
    with pytest.raises(CompositeError, match="overflow"):
        monte_carlo(tree(), UNITS, matrix(), uncertainty=unc, n=3)
