"""Pure derivation core: every expected value is computed by hand in the comments."""

from __future__ import annotations

import math

import pytest

from indicator_service.rules import Leaf, Observation, Tree, score_tree
from indicator_service.standards.derive import (
    DerivationError,
    HistoricalMethod,
    Point,
    derive_historical,
    derive_industry,
)
from indicator_service.standards.progress import ProgressStatus, ProgressThresholds, progress

# 2020 80, 2021 84, 2022 90, 2023 87, 2024 93 (given out of order on purpose)
SERIES = [
    Point(2022, 90.0),
    Point(2020, 80.0),
    Point(2021, 84.0),
    Point(2024, 93.0),
    Point(2023, 87.0),
]


# --- historical ----------------------------------------------------------------------------------


def test_last_year_is_latest_value() -> None:
    r = derive_historical(SERIES, "last_year")
    assert r.value == 93.0
    assert r.years == (2024,)
    assert r.values == (93.0,)
    assert r.n == 1
    assert r.method is HistoricalMethod.last_year


def test_last_year_as_of_cuts_later_years() -> None:
    # a standard for fiscal year 2023 uses data up to 2022 → 90
    r = derive_historical(SERIES, "last_year", as_of=2022)
    assert r.value == 90.0
    assert r.years == (2022,)
    assert r.parameters["as_of"] == 2022


def test_mean_of_last_three_years() -> None:
    # (90 + 87 + 93) / 3 = 270 / 3 = 90
    r = derive_historical(SERIES, "mean_last_n", n=3)
    assert r.value == pytest.approx(90.0, abs=1e-12)
    assert r.years == (2022, 2023, 2024)
    assert r.values == (90.0, 87.0, 93.0)
    assert r.n == 3
    assert r.parameters["n"] == 3
    assert "(90 + 87 + 93) / 3 = 90" in r.derivation


def test_best_of_last_three_is_direction_aware() -> None:
    # max(90, 87, 93) = 93 for higher-is-better; min = 87 for lower-is-better
    assert derive_historical(SERIES, "best_last_n", n=3).value == 93.0
    lower = derive_historical(SERIES, "best_last_n", n=3, direction="lower_better")
    assert lower.value == 87.0


def test_improve_on_last_year_direction_aware() -> None:
    # 93 + 93 × 5 % = 93 + 4.65 = 97.65 ; lower: 93 − 4.65 = 88.35
    up = derive_historical(SERIES, "improve_on_last", improve_pct=5.0)
    down = derive_historical(SERIES, "improve_on_last", improve_pct=5.0, direction="lower_better")
    assert up.value == pytest.approx(97.65, abs=1e-12)
    assert down.value == pytest.approx(88.35, abs=1e-12)
    # negative last value: −10 improved by 10 % (higher better) = −10 + |−10| × 0.1 = −9
    neg = derive_historical([Point(2024, -10.0)], "improve_on_last", improve_pct=10.0)
    assert neg.value == pytest.approx(-9.0, abs=1e-12)


def test_theil_sen_trend_projection() -> None:
    # pairwise slopes (i<j): 4, 5, 7/3, 13/4, 6, 3/2, 3, −3, 3/2, 6
    # sorted −3, 1.5, 1.5, 2.333, 3, 3.25, 4, 5, 6, 6 → median (3 + 3.25) / 2 = 3.125
    # anchor = (median year 2022, median value 87); 2025 → 87 + 3.125 × 3 = 96.375
    r = derive_historical(SERIES, "trend", target_year=2025)
    assert r.trend is not None
    assert r.trend.slope == pytest.approx(3.125, abs=1e-12)
    assert r.trend.anchor_year == 2022.0
    assert r.trend.anchor_value == 87.0
    assert r.value == pytest.approx(96.375, abs=1e-9)
    assert r.trend.band_low <= r.value <= r.trend.band_high
    assert r.trend.low_slope <= 3.125 <= r.trend.high_slope
    # band ends use the slope bounds through the same anchor
    assert r.trend.band_low == pytest.approx(87 + 3 * r.trend.low_slope, abs=1e-9)
    assert r.n == 5
    assert r.years == (2020, 2021, 2022, 2023, 2024)


def test_mean_refuses_gaps_unless_allowed() -> None:
    gappy = [Point(2020, 10.0), Point(2022, 20.0), Point(2023, 30.0)]
    with pytest.raises(DerivationError) as e:
        derive_historical(gappy, "mean_last_n", n=3)
    assert e.value.type == "series_has_gaps"
    assert "[2021]" in e.value.msg
    # allow_gaps: the last three observations, (10 + 20 + 30) / 3 = 20
    assert derive_historical(gappy, "mean_last_n", n=3, allow_gaps=True).value == 20.0


@pytest.mark.parametrize(
    ("points", "kwargs", "type_", "loc"),
    [
        (
            [Point(2023, 1.0), Point(2024, 2.0)],
            {"method": "mean_last_n", "n": 3},
            "series_too_short",
            ("series",),
        ),
        (
            [Point(2023, 1.0), Point(2024, 2.0)],
            {"method": "trend", "target_year": 2025},
            "series_too_short",
            ("series",),
        ),
        (
            [Point(2023, 1.0), Point(2023, 2.0)],
            {"method": "last_year"},
            "duplicate_year",
            ("series", 1, "year"),
        ),
        (
            [Point(2023, 1.0), Point(2024, math.nan)],
            {"method": "last_year"},
            "not_finite",
            ("series", 1, "value"),
        ),
        (
            [Point(2023, 1.0), Point(2024, math.inf)],
            {"method": "last_year"},
            "not_finite",
            ("series", 1, "value"),
        ),
        (
            [Point(2022, 1.0, "%"), Point(2023, 1.0, None), Point(2024, 2.0, "元")],
            {"method": "last_year"},
            "mixed_units",
            ("series", 2, "unit"),
        ),
        ([Point(2024, 1.0)], {"method": "improve_on_last"}, "missing", ("improve_pct",)),
        (
            [Point(2024, 1.0)],
            {"method": "improve_on_last", "improve_pct": -1.0},
            "too_small",
            ("improve_pct",),
        ),
        (
            [Point(2024, 1.0)],
            {"method": "last_year", "as_of": 2020},
            "series_too_short",
            ("series",),
        ),
    ],
)
def test_historical_refusals(
    points: list[Point], kwargs: dict[str, object], type_: str, loc: tuple[object, ...]
) -> None:
    method = kwargs.pop("method")
    with pytest.raises(DerivationError) as e:
        derive_historical(points, method, **kwargs)  # type: ignore[arg-type]
    assert e.value.type == type_
    assert e.value.loc == loc


def test_unit_carried_when_consistent() -> None:
    r = derive_historical([Point(2023, 1.0, "%"), Point(2024, 2.0)], "last_year")
    assert r.unit == "%"


# --- industry ------------------------------------------------------------------------------------

PEERS = [float(v) for v in range(20, 0, -1)]  # 1 … 20, unsorted


def test_industry_five_levels_higher_better() -> None:
    # numpy "linear": position h = p/100 × (n − 1) = p × 0.19 on the sorted values 1 … 20
    # P95: h 18.05 → 19 + 0.05 × 1 = 19.05; P75: 14.25 → 15.25; P50: 9.5 → 10.5;
    # P25: 4.75 → 5.75; P5: 0.95 → 1.95
    r = derive_industry(PEERS)
    assert r.level_values == pytest.approx([19.05, 15.25, 10.5, 5.75, 1.95], abs=1e-12)
    assert [lv.name_zh for lv in r.levels] == ["优秀", "良好", "平均", "较低", "较差"]
    assert [lv.percentile for lv in r.levels] == [95.0, 75.0, 50.0, 25.0, 5.0]
    # mean 10.5; sample variance of 1 … n = n(n + 1)/12 = 35 → sd √35
    assert r.n == 20
    assert r.mean == 10.5
    assert r.median == 10.5
    assert r.sd == pytest.approx(math.sqrt(35.0), abs=1e-12)
    assert r.iqr == pytest.approx(15.25 - 5.75, abs=1e-12)
    assert r.cv == pytest.approx(math.sqrt(35.0) / 10.5, abs=1e-12)
    assert r.mean_minus_k_sd == pytest.approx(10.5 - math.sqrt(35.0), abs=1e-12)
    assert r.mean_plus_k_sd == pytest.approx(10.5 + math.sqrt(35.0), abs=1e-12)
    assert (r.minimum, r.maximum) == (1.0, 20.0)
    assert r.parameters["percentile_method"] == "linear"


def test_industry_lower_better_mirrors_percentiles() -> None:
    # lower is better: 优秀 is P5 = 1.95 … 较差 is P95 = 19.05 (increasing levels)
    r = derive_industry(PEERS, direction="lower_better", k=2.0)
    assert r.level_values == pytest.approx([1.95, 5.75, 10.5, 15.25, 19.05], abs=1e-12)
    assert [lv.percentile for lv in r.levels] == [5.0, 25.0, 50.0, 75.0, 95.0]
    assert r.mean_plus_k_sd == pytest.approx(10.5 + 2 * math.sqrt(35.0), abs=1e-12)


def test_industry_custom_percentiles() -> None:
    # P90: h = 17.1 → 18.1; P70: 13.3 → 14.3; P50 10.5; P30: 5.7 → 6.7; P10: 1.9 → 2.9
    r = derive_industry(PEERS, percentiles=[90, 70, 50, 30, 10])
    assert r.level_values == pytest.approx([18.1, 14.3, 10.5, 6.7, 2.9], abs=1e-12)


def test_industry_winsorising() -> None:
    # bounds = P5, P95 = 1.95, 19.05; values 1 and 20 are clipped (2 values)
    # mean = (1.95 + (2 + … + 19) + 19.05) / 20 = (21 + 189) / 20 = 10.5
    # new P95: h 18.05 between 19 and 19.05 → 19 + 0.05 × 0.05 = 19.0025
    r = derive_industry(PEERS, winsorize=(0.05, 0.95))
    assert r.winsor_bounds == pytest.approx((1.95, 19.05), abs=1e-12)
    assert r.n_winsorized == 2
    assert r.mean == pytest.approx(10.5, abs=1e-12)
    assert r.levels[0].value == pytest.approx(19.0025, abs=1e-12)
    assert r.minimum == pytest.approx(1.95, abs=1e-12)
    assert r.values[0] == 20.0  # the raw values are kept as given


def test_industry_refuses_small_sample_and_bad_input() -> None:
    with pytest.raises(DerivationError) as e:
        derive_industry(PEERS[:9])
    assert e.value.type == "sample_too_small"
    assert "minimum sample size 10" in e.value.msg
    assert derive_industry(PEERS[:5], min_sample=5).n == 5
    with pytest.raises(DerivationError) as e:
        derive_industry([*PEERS[:10], math.nan])
    assert e.value.loc == ("values", 10)
    with pytest.raises(DerivationError) as e:
        derive_industry(PEERS, percentiles=[95, 75, 80, 25, 5])
    assert e.value.type == "invalid_percentiles"
    with pytest.raises(DerivationError) as e:
        derive_industry(PEERS, winsorize=(0.9, 0.1))
    assert e.value.type == "invalid_winsorize"
    with pytest.raises(DerivationError) as e:
        derive_industry(PEERS, units=["%"] * 19 + ["元"])
    assert e.value.type == "mixed_units"
    assert e.value.loc == ("values", 19, "unit")


def test_industry_ties_cannot_make_an_efficacy_rule() -> None:
    r = derive_industry([5.0] * 12)
    assert r.sd == 0.0
    assert r.cv == 0.0
    assert not r.levels_strictly_monotone
    with pytest.raises(DerivationError) as e:
        r.efficacy_rule()
    assert e.value.type == "levels_not_monotone"


def test_industry_levels_feed_the_efficacy_rule() -> None:
    # levels 19.05, 15.25, 10.5, 5.75, 1.95; a = 17.15 is halfway between 良好 and 优秀:
    # c = (17.15 − 15.25) / (19.05 − 15.25) = 0.5 → 20 × (0.8 + 0.5 × 0.2) = 18.0
    rule = derive_industry(PEERS).efficacy_rule()
    assert rule["kind"] == "efficacy"
    assert rule["coefficients"] == [1.0, 0.8, 0.6, 0.4, 0.2]
    tree = Tree(leaves=(Leaf(code="x", points=20.0, rule=rule, path=("a", "b")),))
    result = score_tree(tree, {"x": Observation(value=17.15)})
    assert float(result.leaf_score[0]) == pytest.approx(18.0, abs=1e-9)


# --- progress ------------------------------------------------------------------------------------

UP = [Point(2018, 100.0), Point(2019, 110.0), Point(2020, 121.0)]  # CAGR (121/100)^(1/2) − 1 = 0.1
DOWN = [Point(2018, 100.0), Point(2020, 81.0)]  # CAGR (0.81)^(1/2) − 1 = −0.1


def test_progress_on_track_with_target() -> None:
    # required: (146.41 / 100)^(1/4) − 1 = 1.1 − 1 = 0.1 → R = 0.1 / 0.1 = 1 ≥ 0.95
    p = progress(UP, target_value=146.41, target_year=2022)
    assert p.cagr_observed == pytest.approx(0.1, abs=1e-12)
    assert p.cagr_required == pytest.approx(0.1, abs=1e-12)
    assert p.ratio == pytest.approx(1.0, abs=1e-9)
    assert p.status is ProgressStatus.on_track
    assert p.label_en == "On track"


@pytest.mark.parametrize(
    ("target", "year", "status", "ratio"),
    [
        # (126.5625/100)^(1/2) − 1 = 1.125 − 1 = 0.125 → R = 0.1 / 0.125 = 0.8
        (126.5625, 2020, ProgressStatus.acceleration_needed, 0.8),
        # (144/100)^(1/2) − 1 = 0.2 → R = 0.5
        (144.0, 2020, ProgressStatus.limited_progress, 0.5),
        # latest 121 ≥ 120 → achieved, no ratio
        (120.0, 2022, ProgressStatus.target_achieved, None),
    ],
)
def test_progress_classes_higher_better(
    target: float, year: int, status: ProgressStatus, ratio: float | None
) -> None:
    p = progress(UP, target_value=target, target_year=year)
    assert p.status is status
    if ratio is None:
        assert p.ratio is None
    else:
        assert p.ratio == pytest.approx(ratio, abs=1e-9)


def test_progress_deterioration() -> None:
    # observed −0.1, required 0.2 → R = −0.1 / 0.2 = −0.5 < 0
    p = progress(DOWN, target_value=144.0, target_year=2020)
    assert p.ratio == pytest.approx(-0.5, abs=1e-12)
    assert p.status is ProgressStatus.deterioration


def test_progress_lower_better() -> None:
    # d = −1; required (64/100)^(1/4) − 1 = 0.8^(1/2) − 1 = −0.105573; R = 0.1 / 0.105573 = 0.9472
    p = progress(DOWN, direction="lower_better", target_value=64.0, target_year=2022)
    assert p.cagr_required == pytest.approx(math.sqrt(0.8) - 1, abs=1e-12)
    assert p.ratio == pytest.approx(0.1 / (1 - math.sqrt(0.8)), abs=1e-12)
    assert p.status is ProgressStatus.acceleration_needed  # 0.947 just below 0.95
    # (64/100)^(1/2) − 1 = −0.2 → R = 0.5
    assert (
        progress(DOWN, direction="lower_better", target_value=64.0, target_year=2020).status
        is ProgressStatus.limited_progress
    )
    assert (
        progress(DOWN, direction="lower_better", target_value=85.0, target_year=2025).status
        is ProgressStatus.target_achieved
    )


def test_progress_thresholds_configurable() -> None:
    # R = 0.8 becomes on track with on_track = 0.75
    th = ProgressThresholds(on_track=0.75, acceleration=0.5)
    p = progress(UP, target_value=126.5625, target_year=2020, thresholds=th)
    assert p.status is ProgressStatus.on_track


def test_progress_base_already_met_target_then_fell() -> None:
    # base 100 meets target 90 (higher better); latest 81 does not: R = −0.1 / |req| < 0
    p = progress(DOWN, target_value=90.0, target_year=2022)
    assert p.status is ProgressStatus.deterioration
    assert p.ratio is not None
    assert p.ratio < 0
    # target equal to the base: required growth 0, R undefined → deterioration
    q = progress(DOWN, target_value=100.0, target_year=2022)
    assert q.cagr_required == 0.0
    assert q.ratio is None
    assert q.status is ProgressStatus.deterioration


@pytest.mark.parametrize(
    ("latest", "direction", "status"),
    [
        (121.0, "higher_better", ProgressStatus.on_track),  # 0.1 ≥ 0.015
        # √1.02 − 1 = 0.00995 in [0.005, 0.015)
        (102.0, "higher_better", ProgressStatus.acceleration_needed),
        # √1.008 − 1 = 0.003992 in [0, 0.005)
        (100.8, "higher_better", ProgressStatus.limited_progress),
        (81.0, "higher_better", ProgressStatus.deterioration),  # −0.1
        (81.0, "lower_better", ProgressStatus.on_track),  # d·CAGR = 0.1
        (121.0, "lower_better", ProgressStatus.deterioration),  # d·CAGR = −0.1
    ],
)
def test_progress_without_target(latest: float, direction: str, status: ProgressStatus) -> None:
    p = progress([Point(2018, 100.0), Point(2020, latest)], direction=direction)
    assert p.status is status
    assert p.cagr_required is None
    assert p.ratio is None


def test_progress_base_year_selects_start() -> None:
    # base 2019 (110) → 2020 (121): CAGR = 0.1 over one year
    p = progress(UP, base_year=2019)
    assert p.base_year == 2019
    assert p.cagr_observed == pytest.approx(0.1, abs=1e-12)


@pytest.mark.parametrize(
    ("points", "kwargs", "type_"),
    [
        ([Point(2018, 0.0), Point(2020, 5.0)], {}, "non_positive_value"),
        ([Point(2018, 5.0), Point(2020, -1.0)], {}, "non_positive_value"),
        (UP, {"target_value": 0.0, "target_year": 2022}, "non_positive_value"),
        ([Point(2018, 5.0)], {}, "series_too_short"),
        (UP, {"target_value": 150.0}, "missing"),
        (UP, {"base_year": 2000}, "base_year_missing"),
        (UP, {"target_value": 150.0, "target_year": 2018}, "out_of_range"),
        (
            UP,
            {"thresholds": ProgressThresholds(on_track=0.5, acceleration=0.6)},
            "invalid_thresholds",
        ),
    ],
)
def test_progress_refusals(points: list[Point], kwargs: dict[str, object], type_: str) -> None:
    with pytest.raises(DerivationError) as e:
        progress(points, **kwargs)  # type: ignore[arg-type]
    assert e.value.type == type_


def test_overflow_is_refused_not_returned() -> None:
    # the mean/sd of ±1e308 overflow float64; the ratio 1e300 / 1e-300 is infinite
    with pytest.raises(DerivationError) as e:
        derive_industry([1e308, -1e308] * 6)
    assert e.value.type == "overflow"
    with pytest.raises(DerivationError) as e:
        progress([Point(2000, 1e-300), Point(2001, 1e300)])
    assert e.value.type == "overflow"
    with pytest.raises(DerivationError) as e:
        derive_historical([Point(2000, 1e308), Point(2001, -1e308), Point(2002, 1e308)],
                          "trend", target_year=2100)  # fmt: skip
    assert e.value.type == "overflow"


def test_non_numbers_are_refused_with_their_index() -> None:
    with pytest.raises(DerivationError) as e:
        derive_industry([*PEERS[:10], True])
    assert e.value.loc == ("values", 10)
    assert e.value.type == "not_a_number"
