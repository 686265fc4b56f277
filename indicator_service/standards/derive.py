"""Derived standards: pure numeric core (numpy/scipy only; no web or database imports).

Three families, each returning a frozen dataclass that carries every input value it used, the
years, N, the method and its parameters, so that anyone can recompute the result by hand:

* historical standards from an indicator's own past values (:func:`derive_historical`);
* industry standards from peer values (:func:`derive_industry`), whose five levels have exactly
  the shape of the ``efficacy`` scoring rule's ``levels``;
* progress toward a multi-year target, Statistics Canada / Open SDG method
  (:func:`indicator_service.standards.progress.progress`, in its own module on these helpers).

Bad input is refused with :class:`DerivationError`, which carries the location of the offending
field (relative to the input, e.g. ``("series", 3, "value")``) and a machine-readable ``type``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from enum import StrEnum
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import stats

from indicator_service.core.i18n import _

# --- common ------------------------------------------------------------------------------------


class Direction(StrEnum):
    """Which way is better for an indicator."""

    higher_better = "higher_better"
    lower_better = "lower_better"

    @property
    def sign(self) -> int:
        """``d`` of the progress method: +1 when higher is better, −1 when lower is better."""
        return 1 if self is Direction.higher_better else -1


class DerivationError(ValueError):
    """A clear refusal: the data cannot support the requested derivation.

    ``loc`` locates the offending input (relative path, e.g. ``("series", 2, "year")``);
    ``type`` is a stable machine-readable reason.
    """

    def __init__(self, msg: str, *, loc: Sequence[str | int] = (), type: str = "derivation_error"):
        super().__init__(msg)
        self.msg = msg
        self.loc: tuple[str | int, ...] = tuple(loc)
        self.type = type


def _finite(x: float, loc: Sequence[str | int]) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float | np.floating | np.integer):
        raise DerivationError(_("must be a number"), loc=loc, type="not_a_number")
    value = float(x)
    if not math.isfinite(value):
        raise DerivationError(
            _("must be a finite number (no NaN or infinity)"), loc=loc, type="not_finite"
        )
    return value


def _single_unit(units: Sequence[str | None] | None, field_name: str) -> str | None:
    """The one unit shared by all values (``None`` values are taken as unstated)."""
    if not units:
        return None
    seen: dict[str, int] = {}
    for i, unit in enumerate(units):
        if unit is not None and unit.strip() != "":
            seen.setdefault(unit.strip(), i)
    if len(seen) > 1:
        i1 = list(seen.values())[1]
        raise DerivationError(
            _(
                "mixed units: {value}; convert to one unit first",
                value=", ".join(repr(u) for u in seen),
            ),
            loc=(field_name, i1, "unit"),
            type="mixed_units",
        )
    return next(iter(seen), None)


_R = TypeVar("_R")


def _ensure_finite(result: _R, field_name: str) -> _R:
    """Refuse a result whose arithmetic overflowed (extreme input values). The raw input
    ``values`` (already checked finite) are not walked again."""

    def walk(x: Any) -> bool:
        if isinstance(x, float):
            return math.isfinite(x)
        if isinstance(x, dict):
            return all(walk(v) for v in x.values())
        if isinstance(x, list | tuple):
            return all(walk(v) for v in x)
        if is_dataclass(x) and not isinstance(x, type):
            return all(walk(getattr(x, f.name)) for f in fields(x) if f.name != "values")
        return True

    if not walk(result):
        raise DerivationError(
            _("the values are too extreme: the computation overflowed float64"),
            loc=(field_name,),
            type="overflow",
        )
    return result


def _finite_array(values: Sequence[float], field_name: str) -> npt.NDArray[np.float64]:
    """Values as float64, refusing non-numbers and NaN/inf with the first offending index."""
    if any(isinstance(v, bool) for v in values):
        i = next(i for i, v in enumerate(values) if isinstance(v, bool))
        raise DerivationError(_("must be a number"), loc=(field_name, i), type="not_a_number")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(values):
            _finite(v, (field_name, i))
        raise
    if arr.ndim != 1:
        raise DerivationError(
            _("must be a flat list of numbers"), loc=(field_name,), type="not_a_number"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise DerivationError(
            _("must be a finite number (no NaN or infinity)"),
            loc=(field_name, i),
            type="not_finite",
        )
    return arr


# --- historical --------------------------------------------------------------------------------


class HistoricalMethod(StrEnum):
    last_year = "last_year"  # the latest year's value
    mean_last_n = "mean_last_n"  # arithmetic mean of the last N years
    best_last_n = "best_last_n"  # max (higher better) or min (lower better) of the last N years
    trend = "trend"  # Theil–Sen projection to a target year, with confidence band
    improve_on_last = "improve_on_last"  # last year's value improved by x %


@dataclass(frozen=True, slots=True)
class Point:
    """One observation of an indicator: its value in a (fiscal) year, optionally with a unit."""

    year: int
    value: float
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class TrendFit:
    """Theil–Sen fit: ``value(year) = anchor_value + slope · (year − anchor_year)``.

    ``anchor_year``/``anchor_value`` are the medians of the years and values used (scipy's
    ``theilslopes`` "separate" intercept), so the projection equals scipy's
    ``intercept + slope · year``. The band uses scipy's slope confidence interval
    (``low_slope``, ``high_slope`` at ``confidence``) through the same anchor.
    """

    slope: float
    low_slope: float
    high_slope: float
    anchor_year: float
    anchor_value: float
    confidence: float
    target_year: int
    projection: float
    band_low: float
    band_high: float


@dataclass(frozen=True, slots=True)
class HistoricalStandard:
    method: HistoricalMethod
    direction: Direction
    value: float
    unit: str | None
    years: tuple[int, ...]  # the years used, ascending
    values: tuple[float, ...]  # the values used, in the order of ``years``
    n: int  # number of values used
    parameters: dict[str, Any]
    derivation: str  # human-readable arithmetic
    trend: TrendFit | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_series(
    points: Sequence[Point], *, field_name: str = "series", as_of: int | None = None
) -> tuple[list[Point], str | None]:
    """Check a series and return it sorted by year (only years ≤ ``as_of`` if given) + its unit.

    Refuses duplicate years, non-integer years, NaN/inf values and mixed units.
    """
    seen: dict[int, int] = {}
    clean: list[Point] = []
    for i, p in enumerate(points):
        if isinstance(p.year, bool) or not isinstance(p.year, int | np.integer):
            raise DerivationError(
                _("must be an integer year"), loc=(field_name, i, "year"), type="not_a_year"
            )
        year = int(p.year)
        if year in seen:
            raise DerivationError(
                _("duplicate year {year} (also at position {seen})", year=year, seen=seen[year]),
                loc=(field_name, i, "year"),
                type="duplicate_year",
            )
        seen[year] = i
        clean.append(Point(year, _finite(p.value, (field_name, i, "value")), p.unit))
    unit = _single_unit([p.unit for p in clean], field_name)
    clean.sort(key=lambda p: p.year)
    if as_of is not None:
        clean = [p for p in clean if p.year <= as_of]
    return clean, unit


def _window(
    series: list[Point], n: int, *, allow_gaps: bool, field_name: str, method: str
) -> list[Point]:
    """The last ``n`` observations. Unless ``allow_gaps``, they must be ``n`` consecutive years
    ending at the latest year (a missing year inside the window is a refusal)."""
    if n < 1:
        raise DerivationError(_("must be at least 1"), loc=("n",), type="too_small")
    if len(series) < n:
        raise DerivationError(
            _(
                "{method} needs at least {n} values, the series has {n_series}",
                method=method,
                n=n,
                n_series=len(series),
            ),
            loc=(field_name,),
            type="series_too_short",
        )
    window = series[-n:]
    if not allow_gaps:
        latest = window[-1].year
        expected = list(range(latest - n + 1, latest + 1))
        have = [p.year for p in window]
        if have != expected:
            missing = sorted(set(expected) - set(have))
            raise DerivationError(
                _(
                    "{method} over {n} years needs consecutive years {expected}–{latest}; missing "
                    "{missing} (set allow_gaps to use the last {n} observations instead)",
                    method=method,
                    n=n,
                    expected=expected[0],
                    latest=latest,
                    missing=missing,
                ),
                loc=(field_name,),
                type="series_has_gaps",
            )
    return window


def _fmt(x: float) -> str:
    return f"{x:.10g}"


@np.errstate(all="ignore")  # overflow is detected and refused by _ensure_finite
def derive_historical(
    points: Sequence[Point],
    method: HistoricalMethod | str,
    *,
    direction: Direction | str = Direction.higher_better,
    n: int = 3,
    target_year: int | None = None,
    confidence: float = 0.95,
    improve_pct: float | None = None,
    as_of: int | None = None,
    allow_gaps: bool = False,
    min_trend_points: int = 3,
    field_name: str = "series",
) -> HistoricalStandard:
    """A historical standard from an indicator's own past values.

    * ``last_year``: value of the latest year (≤ ``as_of`` if given).
    * ``mean_last_n``: mean of the last ``n`` years.
    * ``best_last_n``: max (higher better) / min (lower better) of the last ``n`` years.
    * ``trend``: Theil–Sen line through all values (≥ ``min_trend_points``, default 3),
      projected to ``target_year`` with a band from the slope's ``confidence`` interval.
    * ``improve_on_last``: ``last ± |last| · improve_pct / 100`` (+ when higher is better, −
      when lower is better), so the standard is always "better" than last year, also for
      negative values.
    """
    method = HistoricalMethod(method)
    direction = Direction(direction)
    series, unit = validate_series(points, field_name=field_name, as_of=as_of)
    if not series:
        where = f" up to {as_of}" if as_of is not None else ""
        raise DerivationError(
            _("no values{where}", where=where), loc=(field_name,), type="series_too_short"
        )
    params: dict[str, Any] = {"as_of": as_of}

    if method is HistoricalMethod.last_year:
        used = series[-1:]
        value = used[0].value
        text = f"value of {used[0].year} = {_fmt(value)}"
        trend = None
    elif method is HistoricalMethod.mean_last_n:
        used = _window(
            series,
            n,
            allow_gaps=allow_gaps,
            field_name=field_name,
            method="mean of the last N years",
        )
        arr = np.array([p.value for p in used], dtype=np.float64)
        value = float(arr.sum() / arr.size)
        text = f"({' + '.join(_fmt(v) for v in arr)}) / {arr.size} = {_fmt(value)}"
        params |= {"n": n, "allow_gaps": allow_gaps}
        trend = None
    elif method is HistoricalMethod.best_last_n:
        used = _window(
            series,
            n,
            allow_gaps=allow_gaps,
            field_name=field_name,
            method="best of the last N years",
        )
        arr = np.array([p.value for p in used], dtype=np.float64)
        pick = "max" if direction is Direction.higher_better else "min"
        value = float(arr.max() if pick == "max" else arr.min())
        text = f"{pick}({', '.join(_fmt(v) for v in arr)}) = {_fmt(value)}"
        params |= {"n": n, "allow_gaps": allow_gaps}
        trend = None
    elif method is HistoricalMethod.improve_on_last:
        if improve_pct is None:
            raise DerivationError(
                _("improve_on_last needs improve_pct"), loc=("improve_pct",), type="missing"
            )
        pct = _finite(improve_pct, ("improve_pct",))
        if pct < 0:
            raise DerivationError(
                _("must be ≥ 0 (a decline is not an improvement)"),
                loc=("improve_pct",),
                type="too_small",
            )
        used = series[-1:]
        last = used[0].value
        step = abs(last) * pct / 100.0
        value = last + step if direction is Direction.higher_better else last - step
        op = "+" if direction is Direction.higher_better else "−"
        text = f"{_fmt(last)} {op} |{_fmt(last)}| × {_fmt(pct)}% = {_fmt(value)}"
        params |= {"improve_pct": pct}
        trend = None
    else:  # trend
        if target_year is None:
            raise DerivationError(
                _("trend needs target_year"), loc=("target_year",), type="missing"
            )
        if not 0.0 < confidence < 1.0:
            raise DerivationError(
                _("must be strictly between 0 and 1"), loc=("confidence",), type="out_of_range"
            )
        min_pts = max(2, min_trend_points)
        if len(series) < min_pts:
            raise DerivationError(
                _(
                    "trend needs at least {min_pts} values, the series has {n_series}",
                    min_pts=min_pts,
                    n_series=len(series),
                ),
                loc=(field_name,),
                type="series_too_short",
            )
        used = series
        x = np.array([p.year for p in used], dtype=np.float64)
        y = np.array([p.value for p in used], dtype=np.float64)
        res = stats.theilslopes(y, x, alpha=confidence, method="separate")
        slope, low, high = float(res.slope), float(res.low_slope), float(res.high_slope)
        ax, ay = float(np.median(x)), float(np.median(y))
        dt = float(target_year) - ax
        value = ay + slope * dt
        ends = (ay + low * dt, ay + high * dt)
        trend = TrendFit(
            slope=slope,
            low_slope=low,
            high_slope=high,
            anchor_year=ax,
            anchor_value=ay,
            confidence=confidence,
            target_year=int(target_year),
            projection=value,
            band_low=min(ends),
            band_high=max(ends),
        )
        text = (
            f"Theil–Sen slope = median of pairwise slopes = {_fmt(slope)}; "
            f"{_fmt(ay)} + {_fmt(slope)} × ({target_year} − {_fmt(ax)}) = {_fmt(value)}; "
            f"{confidence:.0%} band [{_fmt(trend.band_low)}, {_fmt(trend.band_high)}]"
        )
        params |= {
            "target_year": int(target_year),
            "confidence": confidence,
            "min_trend_points": min_pts,
        }

    result = HistoricalStandard(
        method=method,
        direction=direction,
        value=float(value),
        unit=unit,
        years=tuple(p.year for p in used),
        values=tuple(p.value for p in used),
        n=len(used),
        parameters=params,
        derivation=text,
        trend=trend,
    )
    return _ensure_finite(result, field_name)


# --- industry ----------------------------------------------------------------------------------

#: The five levels of the state-enterprise benchmark tables, in the order the ``efficacy`` rule
#: takes them: (code, name_zh, name_en).
LEVELS: tuple[tuple[str, str, str], ...] = (
    ("excellent", "优秀", "excellent"),
    ("good", "良好", "good"),
    ("average", "平均", "average"),
    ("low", "较低", "below average"),
    ("poor", "较差", "poor"),
)
#: Default "goodness" percentiles of the five levels (higher is better): 优秀 is the value 95 %
#: of peers are at or below. For lower-is-better they are mirrored (100 − p: 5, 25, 50, 75, 95).
DEFAULT_PERCENTILES: tuple[float, ...] = (95.0, 75.0, 50.0, 25.0, 5.0)
DEFAULT_MIN_SAMPLE = 10
PERCENTILE_METHOD: Final = "linear"  # numpy's default (Hyndman & Fan type 7)


@dataclass(frozen=True, slots=True)
class IndustryLevel:
    code: str
    name_zh: str
    name_en: str
    percentile: float  # the percentile actually taken (already mirrored for lower-is-better)
    value: float


@dataclass(frozen=True, slots=True)
class IndustryStandard:
    direction: Direction
    unit: str | None
    n: int
    values: tuple[float, ...]  # the peer values as given (before winsorising)
    levels: tuple[IndustryLevel, ...]  # 优秀, 良好, 平均, 较低, 较差
    median: float
    mean: float
    sd: float  # sample standard deviation (ddof = 1)
    k: float
    mean_minus_k_sd: float
    mean_plus_k_sd: float
    q1: float
    q3: float
    iqr: float
    cv: float | None  # sd / |mean|; None when the mean is 0
    minimum: float
    maximum: float
    winsorize: tuple[float, float] | None  # quantiles (fractions) clipped at, if any
    winsor_bounds: tuple[float, float] | None
    n_winsorized: int
    parameters: dict[str, Any] = field(default_factory=dict)
    derivation: str = ""

    @property
    def level_values(self) -> list[float]:
        return [lv.value for lv in self.levels]

    @property
    def levels_strictly_monotone(self) -> bool:
        v = np.array(self.level_values)
        d = np.diff(v)
        return bool(np.all(d < 0) or np.all(d > 0))

    def efficacy_rule(
        self,
        coefficients: Sequence[float] = (1.0, 0.8, 0.6, 0.4, 0.2),
        below_bottom: str = "bottom",
    ) -> dict[str, Any]:
        """The ``efficacy`` scoring rule these levels define (see docs/standards.md).

        Refused when two levels coincide (ties in the peer data): the rule needs strictly
        monotone levels."""
        if not self.levels_strictly_monotone:
            raise DerivationError(
                _(
                    "the five levels are not strictly monotone (ties among peer values): "
                    "{level_values}; they cannot define an efficacy rule",
                    level_values=self.level_values,
                ),
                loc=("values",),
                type="levels_not_monotone",
            )
        return {
            "kind": "efficacy",
            "levels": self.level_values,
            "coefficients": [float(c) for c in coefficients],
            "below_bottom": below_bottom,
        }

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["levels_strictly_monotone"] = self.levels_strictly_monotone
        return out


def _percentile(arr: npt.NDArray[np.float64], q: Sequence[float]) -> list[float]:
    out = np.percentile(arr, np.asarray(q, dtype=np.float64), method=PERCENTILE_METHOD)
    return [float(x) for x in out]


@np.errstate(all="ignore")  # overflow is detected and refused by _ensure_finite
def derive_industry(
    values: Sequence[float],
    *,
    direction: Direction | str = Direction.higher_better,
    units: Sequence[str | None] | None = None,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    k: float = 1.0,
    winsorize: tuple[float, float] | None = None,
    field_name: str = "values",
) -> IndustryStandard:
    """Industry standard from peer values (all units of a sector and region in a year).

    ``percentiles`` are "goodness" percentiles for 优秀, 良好, 平均, 较低, 较差, strictly
    decreasing in (0, 100); for lower-is-better they are mirrored (p → 100 − p), so 优秀 is then a
    low value. Percentiles use numpy's ``linear`` method. ``winsorize=(lo, hi)`` (fractions,
    0 ≤ lo < hi ≤ 1) first clips values to their lo/hi quantiles; every statistic is then taken on
    the clipped values. Fewer than ``min_sample`` values → refusal.
    """
    direction = Direction(direction)
    if isinstance(min_sample, bool) or not isinstance(min_sample, int) or min_sample < 2:
        raise DerivationError(_("must be an integer ≥ 2"), loc=("min_sample",), type="too_small")
    arr = _finite_array(values, field_name)
    if units is not None and len(units) != arr.size:
        raise DerivationError(
            _("{n_units} units for {size} values", n_units=len(units), size=arr.size),
            loc=("units",),
            type="length_mismatch",
        )
    unit = _single_unit(units, field_name)
    if arr.size < min_sample:
        raise DerivationError(
            _(
                "{size} peer values are too few for an industry "
                "standard (minimum sample size {min_sample})",
                size=arr.size,
                min_sample=min_sample,
            ),
            loc=(field_name,),
            type="sample_too_small",
        )
    pct = [_finite(p, ("percentiles", i)) for i, p in enumerate(percentiles)]
    if len(pct) != len(LEVELS):
        raise DerivationError(
            _("needs exactly {n_levels} percentiles (优秀 … 较差)", n_levels=len(LEVELS)),
            loc=("percentiles",),
            type="wrong_length",
        )
    if not all(0.0 <= p <= 100.0 for p in pct) or not all(
        a > b for a, b in itertools.pairwise(pct)
    ):
        raise DerivationError(
            _("must be strictly decreasing and within [0, 100]"),
            loc=("percentiles",),
            type="invalid_percentiles",
        )
    kk = _finite(k, ("k",))
    if kk < 0:
        raise DerivationError(_("must be ≥ 0"), loc=("k",), type="too_small")

    raw = arr.copy()
    bounds: tuple[float, float] | None = None
    n_w = 0
    if winsorize is not None:
        lo, hi = (_finite(winsorize[0], ("winsorize", 0)), _finite(winsorize[1], ("winsorize", 1)))
        if not 0.0 <= lo < hi <= 1.0:
            raise DerivationError(
                _("needs 0 ≤ lower < upper ≤ 1 (quantiles as fractions)"),
                loc=("winsorize",),
                type="invalid_winsorize",
            )
        b_lo, b_hi = (float(x) for x in _percentile(arr, [lo * 100.0, hi * 100.0]))
        bounds = (b_lo, b_hi)
        n_w = int(np.sum((arr < b_lo) | (arr > b_hi)))
        arr = np.clip(arr, b_lo, b_hi)
        winsorize = (lo, hi)

    taken = pct if direction is Direction.higher_better else [100.0 - p for p in pct]
    lv_values = [float(x) for x in _percentile(arr, taken)]
    levels = tuple(
        IndustryLevel(code=c, name_zh=zh, name_en=en, percentile=p, value=v)
        for (c, zh, en), p, v in zip(LEVELS, taken, lv_values, strict=True)
    )
    mean = float(arr.mean())
    sd = float(arr.std(ddof=1))
    q1, med, q3 = (float(x) for x in _percentile(arr, [25.0, 50.0, 75.0]))
    text = (
        f"n = {arr.size}; percentiles ({PERCENTILE_METHOD}) "
        + ", ".join(f"{lv.name_zh} P{_fmt(lv.percentile)} = {_fmt(lv.value)}" for lv in levels)
        + f"; mean {_fmt(mean)} ± {_fmt(kk)}·sd {_fmt(sd)}"
        + (
            f"; winsorised at quantiles {winsorize} → [{_fmt(bounds[0])}, {_fmt(bounds[1])}], "
            f"{n_w} values clipped"
            if bounds is not None and winsorize is not None
            else ""
        )
    )
    result = IndustryStandard(
        direction=direction,
        unit=unit,
        n=int(arr.size),
        values=tuple(float(v) for v in raw),
        levels=levels,
        median=med,
        mean=mean,
        sd=sd,
        k=kk,
        mean_minus_k_sd=mean - kk * sd,
        mean_plus_k_sd=mean + kk * sd,
        q1=q1,
        q3=q3,
        iqr=q3 - q1,
        cv=None if mean == 0.0 else sd / abs(mean),
        minimum=float(arr.min()),
        maximum=float(arr.max()),
        winsorize=winsorize,
        winsor_bounds=bounds,
        n_winsorized=n_w,
        parameters={
            "percentiles": list(pct),
            "percentile_method": PERCENTILE_METHOD,
            "min_sample": min_sample,
            "k": kk,
            "winsorize": list(winsorize) if winsorize is not None else None,
            "sd_ddof": 1,
        },
        derivation=text,
    )
    return _ensure_finite(result, field_name)
