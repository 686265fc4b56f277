"""Properties of the derivation core (hypothesis)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicator_service.standards.derive import (
    HistoricalMethod,
    Point,
    derive_historical,
    derive_industry,
)
from indicator_service.standards.progress import ProgressStatus, progress

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def series(
    draw: st.DrawFn, min_size: int = 3, values: st.SearchStrategy[float] = finite
) -> list[Point]:
    n = draw(st.integers(min_value=min_size, max_value=12))
    start = draw(st.integers(min_value=1990, max_value=2020))
    return [Point(start + i, draw(values)) for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(series(), st.sampled_from(list(HistoricalMethod)), st.booleans())
def test_recomputing_from_the_recorded_inputs_gives_the_same_value(
    points: list[Point], method: HistoricalMethod, lower: bool
) -> None:
    direction = "lower_better" if lower else "higher_better"
    extra: dict[str, Any] = {"target_year": points[-1].year + 1, "improve_pct": 5.0, "n": 3}
    r = derive_historical(points, method, direction=direction, **extra)
    again = derive_historical(
        [Point(y, v) for y, v in zip(r.years, r.values, strict=True)],
        r.method,
        direction=r.direction,
        **r.parameters,
    )
    assert again.value == r.value
    # window statistics stay inside the values they used
    if method in (HistoricalMethod.mean_last_n, HistoricalMethod.best_last_n):
        assert min(r.values) - 1e-9 <= r.value <= max(r.values) + 1e-9


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=-100, max_value=100), st.floats(min_value=-1e3, max_value=1e3),
       st.integers(min_value=3, max_value=10))  # fmt: skip
def test_theil_sen_recovers_an_exact_line(slope: float, intercept: float, n: int) -> None:
    points = [Point(2000 + i, intercept + slope * i) for i in range(n)]
    r = derive_historical(points, "trend", target_year=2000 + n + 2)
    assert r.trend is not None
    assert r.trend.slope == pytest.approx(slope, abs=1e-9)
    assert r.value == pytest.approx(intercept + slope * (n + 2), abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.lists(finite, min_size=10, max_size=60))
def test_industry_levels_are_ordered_and_mirrored(values: list[float]) -> None:
    hi = derive_industry(values)
    lo = derive_industry(values, direction="lower_better")
    assert all(a >= b for a, b in zip(hi.level_values, hi.level_values[1:], strict=False))
    assert lo.level_values == hi.level_values[::-1]
    assert min(values) <= hi.median <= max(values)
    assert hi.iqr >= 0
    assert hi.sd == pytest.approx(float(np.std(values, ddof=1)), rel=1e-9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(series(min_size=2, values=positive), st.floats(min_value=0.01, max_value=100))
def test_progress_is_scale_invariant(points: list[Point], scale: float) -> None:
    a = progress(points)
    b = progress([Point(p.year, p.value * scale) for p in points])
    assert a.cagr_observed == pytest.approx(b.cagr_observed, rel=1e-9, abs=1e-12)
    if abs(a.cagr_observed - 0.015) > 1e-9 and abs(a.cagr_observed - 0.005) > 1e-9:
        assert a.status is b.status
    # direction flips the sign of the growth that counts
    down = progress(points, direction="lower_better")
    if a.cagr_observed > 0.015:
        assert down.status is ProgressStatus.deterioration
