"""Progress toward a multi-year target, Statistics Canada / Open SDG method (pure numeric core:
no web or database imports).

:func:`progress` classifies an indicator's series against its target (or, without one, its
growth) and returns a frozen :class:`Progress` carrying every input value, the years, the
growth rates and the explanation, so that anyone can recompute it by hand. Bad input is refused
with :class:`~indicator_service.standards.derive.DerivationError`, as the other derived
standards are (:mod:`indicator_service.standards.derive`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from indicator_service.core.i18n import _
from indicator_service.standards.derive import (
    DerivationError,
    Direction,
    Point,
    _ensure_finite,
    _finite,
    _fmt,
    validate_series,
)


class ProgressStatus(StrEnum):
    target_achieved = "target_achieved"
    on_track = "on_track"
    acceleration_needed = "acceleration_needed"
    limited_progress = "limited_progress"
    deterioration = "deterioration"


PROGRESS_LABELS: dict[ProgressStatus, tuple[str, str]] = {
    ProgressStatus.target_achieved: ("已实现目标", "Target achieved"),
    ProgressStatus.on_track: ("进展顺利", "On track"),
    ProgressStatus.acceleration_needed: ("有进展但需加快", "Progress made but acceleration needed"),
    ProgressStatus.limited_progress: ("进展有限", "Limited progress"),
    ProgressStatus.deterioration: ("恶化", "Deterioration"),
}


@dataclass(frozen=True, slots=True)
class ProgressThresholds:
    """With a target: ratio R = d·CAGR_observed / |CAGR_required| against ``on_track`` (0.95)
    and ``acceleration`` (0.60); R < 0 is deterioration. Without a target: d·CAGR_observed against
    fixed growth rates ``growth_on_track`` (1.5 %/year) and ``growth_acceleration`` (0.5 %/year),
    the Open SDG defaults; < 0 is deterioration."""

    on_track: float = 0.95
    acceleration: float = 0.60
    growth_on_track: float = 0.015
    growth_acceleration: float = 0.005

    def check(self) -> None:
        for name in ("on_track", "acceleration", "growth_on_track", "growth_acceleration"):
            _finite(getattr(self, name), ("thresholds", name))
        if not 0.0 <= self.acceleration < self.on_track:
            raise DerivationError(
                _("needs 0 ≤ acceleration < on_track"),
                loc=("thresholds",),
                type="invalid_thresholds",
            )
        if not 0.0 <= self.growth_acceleration < self.growth_on_track:
            raise DerivationError(
                _("needs 0 ≤ growth_acceleration < growth_on_track"),
                loc=("thresholds",),
                type="invalid_thresholds",
            )


@dataclass(frozen=True, slots=True)
class Progress:
    status: ProgressStatus
    label_zh: str
    label_en: str
    direction: Direction
    base_year: int
    base_value: float
    latest_year: int
    latest_value: float
    cagr_observed: float  # (latest / base)^(1 / (latest_year − base_year)) − 1
    target_value: float | None
    target_year: int | None
    cagr_required: float | None  # (target / base)^(1 / (target_year − base_year)) − 1
    ratio: float | None  # d · cagr_observed / |cagr_required|
    thresholds: ProgressThresholds
    unit: str | None
    derivation: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cagr(v0: float, v1: float, years: int) -> float:
    return float((v1 / v0) ** (1.0 / years) - 1.0)


@np.errstate(all="ignore")  # overflow is detected and refused by _ensure_finite
def progress(
    points: Sequence[Point],
    *,
    direction: Direction | str = Direction.higher_better,
    base_year: int | None = None,
    target_value: float | None = None,
    target_year: int | None = None,
    thresholds: ProgressThresholds | None = None,
    field_name: str = "series",
) -> Progress:
    """Progress of a series toward a target (Statistics Canada / Open SDG progress measure).

    Base = ``base_year`` (default: the earliest year), latest = the most recent year. Growth
    rates need positive values. With a target: target achieved when the latest value meets it
    (≥ when higher is better, ≤ when lower is better); otherwise R = d·CAGR_obs / |CAGR_req|
    (an unachieved target the base already met, or CAGR_req = 0, gives R from the sign of
    d·CAGR_obs alone: it can only be deterioration or standing still).
    """
    direction = Direction(direction)
    th = thresholds or ProgressThresholds()
    th.check()
    series, unit = validate_series(points, field_name=field_name)
    if base_year is not None:
        idx = [i for i, p in enumerate(series) if p.year == base_year]
        if not idx:
            raise DerivationError(
                _("base year {base_year} is not in the series", base_year=base_year),
                loc=("base_year",),
                type="base_year_missing",
            )
        series = series[idx[0] :]
    if len(series) < 2:
        raise DerivationError(
            _("progress needs a base year and at least one later year"),
            loc=(field_name,),
            type="series_too_short",
        )
    base, latest = series[0], series[-1]
    for p in (base, latest):
        if p.value <= 0:
            raise DerivationError(
                _(
                    "value of {year} is {fmt}: a growth rate needs positive values",
                    year=p.year,
                    fmt=_fmt(p.value),
                ),
                loc=(field_name,),
                type="non_positive_value",
            )
    d = direction.sign
    span = latest.year - base.year
    cagr_obs = _cagr(base.value, latest.value, span)
    text = (
        f"CAGR_obs = ({_fmt(latest.value)} / {_fmt(base.value)})^(1/{span}) − 1 = {_fmt(cagr_obs)}"
    )
    cagr_req: float | None = None
    ratio: float | None = None
    if (target_value is None) != (target_year is None):
        raise DerivationError(
            _("give both target_value and target_year, or neither"),
            loc=("target_value" if target_value is None else "target_year",),
            type="missing",
        )
    if target_value is not None and target_year is not None:
        tv = _finite(target_value, ("target_value",))
        if tv <= 0:
            raise DerivationError(
                _("a growth rate needs a positive target value"),
                loc=("target_value",),
                type="non_positive_value",
            )
        if target_year <= base.year:
            raise DerivationError(
                _("must be after the base year {year}", year=base.year),
                loc=("target_year",),
                type="out_of_range",
            )
        cagr_req = _cagr(base.value, tv, target_year - base.year)
        text += (
            f"; CAGR_req = ({_fmt(tv)} / {_fmt(base.value)})^(1/"
            f"{target_year - base.year}) − 1 = {_fmt(cagr_req)}"
        )
        achieved = latest.value >= tv if d > 0 else latest.value <= tv
        if achieved:
            status = ProgressStatus.target_achieved
            text += f"; latest {_fmt(latest.value)} meets the target {_fmt(tv)}"
        else:
            signed = d * cagr_obs
            if cagr_req == 0.0:
                # The target equals the base value and is no longer met: the series moved the
                # wrong way (signed < 0). R is undefined; the sign decides.
                ratio = None
                text += f"; CAGR_req = 0, d·CAGR_obs = {_fmt(signed)}"
                r_eff = -1.0 if signed < 0 else 0.0
            else:
                ratio = signed / abs(cagr_req)
                r_eff = ratio
                text += f"; R = {d:+d} × {_fmt(cagr_obs)} / |{_fmt(cagr_req)}| = {_fmt(ratio)}"
            if r_eff >= th.on_track:
                status = ProgressStatus.on_track
            elif r_eff >= th.acceleration:
                status = ProgressStatus.acceleration_needed
            elif r_eff >= 0:
                status = ProgressStatus.limited_progress
            else:
                status = ProgressStatus.deterioration
    else:
        g = d * cagr_obs
        text += f"; d·CAGR_obs = {_fmt(g)} against {th.growth_on_track}/{th.growth_acceleration}"
        if g >= th.growth_on_track:
            status = ProgressStatus.on_track
        elif g >= th.growth_acceleration:
            status = ProgressStatus.acceleration_needed
        elif g >= 0:
            status = ProgressStatus.limited_progress
        else:
            status = ProgressStatus.deterioration
    zh, en = PROGRESS_LABELS[status]
    result = Progress(
        status=status,
        label_zh=zh,
        label_en=en,
        direction=direction,
        base_year=base.year,
        base_value=base.value,
        latest_year=latest.year,
        latest_value=latest.value,
        cagr_observed=cagr_obs,
        target_value=None if target_value is None else float(target_value),
        target_year=target_year,
        cagr_required=cagr_req,
        ratio=ratio,
        thresholds=th,
        unit=unit,
        derivation=text + f" → {status.value}",
    )
    return _ensure_finite(result, field_name)
