"""In-year monitoring (运行监控, 双监控) as pure functions: no web, database or catalogue imports.

At a date ``as_of`` of fiscal year ``year``:

* **Time progress** (序时进度) ``s`` is the share of the year's target (or budget) due by
  ``as_of``: linear by default, ``s = d / N`` with ``d`` the days from 1 January to ``as_of``
  inclusive and ``N`` the days of the year (30 June 2026: 181 / 365 = 49.59 %); or a schedule
  of (date, cumulative share) points, interpolated linearly from (1 January, 0) through the
  points to (31 December, 1).
* **Budget execution**: rate ``r = executed / budget``, gap ``r − s``; flagged
  ``execution_behind`` when ``s − r`` is more than the framework's ``execution_gap``. The
  year-end forecast continues the pace against the schedule: ``executed / s``.
* **Indicators** are ``cumulative`` (a quantity built up over the year, such as hectares built:
  progress ``actual / target``, expected so far ``target · s``, forecast ``actual / s``) or
  ``level`` (a rate or level such as a pass rate: the current value is the forecast). An
  indicator is flagged ``likely_missed`` when its forecast misses the target by more than the
  framework's ``miss_tolerance`` (a share of the target): higher-is-better operators (≥, >, =
  for cumulative) below ``target · (1 − tol)``, lower-is-better ones (≤, <) above
  ``target · (1 + tol)``, ``=`` for a level further than ``tol · |target|`` from it.
* Every flag requires 偏离原因 (reason) and 纠偏措施 (corrective measure): a flag whose subject
  gives both is ``explained``, otherwise ``pending_explanation``.

Every result carries Chinese and English sentences. Displayed percentages are rounded by the
service's one rounding function (:func:`indicator_service.rules.round_half_up`); the numbers
themselves are not rounded.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np

from indicator_service.rules import round_half_up

Kind = Literal["cumulative", "level"]
OPERATORS = ("≥", ">", "=", "≤", "<")
HIGHER = frozenset({"≥", ">"})
LOWER = frozenset({"≤", "<"})

EPS = 1e-9  # comparisons with thresholds ignore binary noise: 0.5 − 0.4 is 0.1 here
EXECUTION_BEHIND = "execution_behind"
LIKELY_MISSED = "likely_missed"
FLAG_LABELS: dict[str, tuple[str, str]] = {
    EXECUTION_BEHIND: ("预算执行进度落后于时间进度", "Budget execution behind the time schedule"),
    LIKELY_MISSED: ("预计难以完成年度指标值", "Annual target likely to be missed"),
}
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "on_track": ("预计能完成", "On track"),
    "likely_missed": ("预计难以完成", "Likely to be missed"),
    "no_actual": ("未填报完成值", "No actual value reported"),
    "not_due": ("尚未到计划进度", "Nothing due yet"),
}


class MonitoringError(ValueError):
    """Bad input: every problem found, each with its location (path parts), message and type."""

    def __init__(self, problems: Sequence[tuple[tuple[str | int, ...], str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg, _ in problems))


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Framework data (the ``monitoring`` block of a framework; defaults in the catalogue)."""

    execution_gap: float  # flag when time progress − execution rate > this (0.10 = 10 points)
    miss_tolerance: float  # flag when the forecast misses the target by more than this share


@dataclass(frozen=True, slots=True)
class SchedulePoint:
    on: date
    share: float  # cumulative share of the annual target (or budget) due by ``on``


@dataclass(frozen=True, slots=True)
class BudgetInput:
    budget: float  # 全年预算数
    executed: float  # 执行数 up to as_of
    schedule: tuple[SchedulePoint, ...] = ()
    reason: str | None = None  # 偏离原因
    measure: str | None = None  # 纠偏措施


@dataclass(frozen=True, slots=True)
class IndicatorInput:
    id: str
    name: str
    operator: str
    target: float
    actual: float | None
    kind: Kind = "cumulative"
    unit: str | None = None
    schedule: tuple[SchedulePoint, ...] = ()
    reason: str | None = None
    measure: str | None = None


@dataclass(frozen=True, slots=True)
class BudgetResult:
    budget: float
    executed: float
    execution_rate: float
    time_progress: float
    gap: float  # execution_rate − time_progress
    forecast_executed: float | None
    forecast_rate: float | None
    behind: bool
    text_zh: str
    text_en: str


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    id: str
    name: str
    kind: Kind
    operator: str
    target: float
    unit: str | None
    actual: float | None
    time_progress: float  # share due by as_of (1 for a level)
    expected: float  # value due by as_of: target · s (cumulative) or the target (level)
    progress: float | None  # actual / target (cumulative) or completion of the target (level)
    gap: float | None  # actual − expected
    forecast: float | None  # year-end value
    forecast_completion: float | None  # forecast / target (≤, <: target / forecast)
    status: str
    status_zh: str
    status_en: str
    text_zh: str
    text_en: str


@dataclass(frozen=True, slots=True)
class Flag:
    index: int  # 1-based, budget first, then the indicators in input order
    key: str  # "budget.execution_behind" or "<row id>.likely_missed": stable for the inputs
    code: str
    subject: str  # "budget" or the indicator row id
    label_zh: str
    label_en: str
    reason: str | None
    measure: str | None
    status: str  # "explained" or "pending_explanation"
    text_zh: str
    text_en: str


@dataclass(frozen=True, slots=True)
class MonitoringResult:
    as_of: date
    year: int
    time_progress: float  # the linear time progress of as_of
    thresholds: Thresholds
    budget: BudgetResult | None
    indicators: tuple[IndicatorResult, ...]
    flags: tuple[Flag, ...]
    summary_zh: str
    summary_en: str
    method: str = field(default="linear-pace forecast: year-end = value so far / time progress")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- time progress --------------------------------------------------------------------------


def days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def day_of_year(on: date) -> int:
    """Days from 1 January to ``on``, both included (1 January → 1)."""
    return (on - date(on.year, 1, 1)).days + 1


def linear_progress(as_of: date) -> float:
    return day_of_year(as_of) / days_in_year(as_of.year)


def schedule_problems(
    schedule: Sequence[SchedulePoint], year: int, loc: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], str, str]]:
    out: list[tuple[tuple[str | int, ...], str, str]] = []
    last_day, last_share = 0, 0.0
    for j, p in enumerate(schedule):
        where = (*loc, j)
        if p.on.year != year:
            out.append(((*where, "date"), f"{p.on} is not in the year {year}", "out_of_range"))
            continue
        if not (0.0 <= p.share <= 1.0) or not np.isfinite(p.share):
            out.append(((*where, "share"), "a share is between 0 and 1", "out_of_range"))
            continue
        d = day_of_year(p.on)
        if d <= last_day:
            out.append(((*where, "date"), "dates must increase", "not_increasing"))
        elif p.share < last_share:
            out.append(
                ((*where, "share"), "cumulative shares must not decrease", "decreasing_share")
            )
        elif d == days_in_year(year) and p.share != 1.0:
            out.append(((*where, "share"), "the share due on 31 December is 1", "out_of_range"))
        last_day, last_share = max(last_day, d), max(last_share, p.share)
    return out


def scheduled_share(schedule: Sequence[SchedulePoint], as_of: date) -> float:
    """The share due by ``as_of``: linear over the year, or the schedule interpolated from
    (1 January, 0) through its points to (31 December, 1)."""
    if not schedule:
        return linear_progress(as_of)
    n = days_in_year(as_of.year)
    xs = [0.0] + [float(day_of_year(p.on)) for p in schedule]
    ys = [0.0] + [p.share for p in schedule]
    if xs[-1] < n:
        xs.append(float(n))
        ys.append(1.0)
    return float(np.interp(float(day_of_year(as_of)), xs, ys))


# --- formatting -----------------------------------------------------------------------------


def pct(x: float) -> str:
    """A share as a percentage with 2 decimals (rounded half-up by the one rounding function)."""
    return f"{round_half_up(x * 100.0):.2f}%"


def num(x: float) -> str:
    """A value for a sentence: at most 4 decimals, trailing zeros dropped (the numbers in the
    result are exact; only the sentences are shortened)."""
    text = f"{x:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _unit(u: str | None) -> str:
    return u or ""


# --- the computation ------------------------------------------------------------------------


def _missed(op: str, kind: Kind, forecast: float, target: float, tol: float) -> bool:
    """Whether ``forecast`` misses ``target`` by more than ``tol`` of it (a value exactly at
    the tolerance is not a miss: "more than", with EPS for binary noise)."""
    slack = tol * abs(target) + EPS * max(1.0, abs(target))
    if op in LOWER:
        return forecast > target + slack
    if op == "=" and kind == "level":
        return abs(forecast - target) > slack
    return forecast < target - slack


def _completion(op: str, value: float, target: float) -> float | None:
    if op in LOWER:
        return target / value if value > 0 else None
    return value / target if target != 0 else None


def _budget(b: BudgetInput, as_of: date, th: Thresholds) -> BudgetResult:
    s = scheduled_share(b.schedule, as_of)
    rate = b.executed / b.budget
    gap = rate - s
    behind = (s - rate) > th.execution_gap + EPS
    f_exec = b.executed / s if s > 0 else None
    f_rate = f_exec / b.budget if f_exec is not None else None
    zh = (
        f"截至{as_of.isoformat()}，时间进度{pct(s)}，预算执行{num(b.executed)}"
        f"（全年预算{num(b.budget)}），执行率{pct(rate)}，"
    )
    en = (
        f"At {as_of.isoformat()} the time schedule is {pct(s)}; {num(b.executed)} of the "
        f"budget of {num(b.budget)} is spent, an execution rate of {pct(rate)}, "
    )
    if gap < 0:
        zh += f"落后时间进度{pct(-gap)[:-1]}个百分点"
        en += f"{pct(-gap)[:-1]} points behind the schedule"
    else:
        zh += f"不低于时间进度（高出{pct(gap)[:-1]}个百分点）"
        en += f"not behind the schedule ({pct(gap)[:-1]} points ahead)"
    if behind:
        zh += f"，超过预警阈值{pct(th.execution_gap)[:-1]}个百分点"
        en += f", more than the warning threshold of {pct(th.execution_gap)[:-1]} points"
    if f_rate is not None:
        zh += f"；按当前进度预计全年执行率{pct(f_rate)}。"
        en += f"; at this pace the year ends at {pct(f_rate)} executed."
    else:
        zh += "；计划进度为零，暂不预测。"
        en += "; nothing is scheduled yet, so no forecast."
    return BudgetResult(b.budget, b.executed, rate, s, gap, f_exec, f_rate, behind, zh, en)


def _indicator(row: IndicatorInput, as_of: date, th: Thresholds) -> IndicatorResult:
    u = _unit(row.unit)
    tgt = f"{row.operator}{num(row.target)}{u}"
    if row.kind == "level":
        s = 1.0
        expected = row.target
    else:
        s = scheduled_share(row.schedule, as_of)
        expected = row.target * s
    head_zh = f"{row.name}（年度指标值{tgt}）"
    head_en = f"{row.name} (annual target {tgt})"
    if row.actual is None:
        status = "no_actual"
        zh = f"{head_zh}：未填报截至{as_of.isoformat()}的完成值，无法预测。"
        en = f"{head_en}: no value reported at {as_of.isoformat()}, so no forecast."
        return _ind(row, s, expected, None, None, None, None, status, zh, en)
    actual = row.actual
    gap = actual - expected
    if row.kind == "level":
        progress = _completion(row.operator, actual, row.target)
        forecast: float | None = actual
        zh = f"{head_zh}：当前水平{num(actual)}{u}，按当前水平预计年末为{num(actual)}{u}"
        en = f"{head_en}: currently {num(actual)}{u}; the year is forecast to end at the same level"
    else:
        progress = actual / row.target if row.target != 0 else None
        forecast = actual / s if s > 0 else None
        done = f"完成{pct(progress)}" if progress is not None else ""
        done_en = f" ({pct(progress)} of the target)" if progress is not None else ""
        zh = (
            f"{head_zh}：截至{as_of.isoformat()}完成{num(actual)}{u}（{done}），"
            f"时间进度{pct(s)}，应完成{num(expected)}{u}，差额{num(gap)}{u}"
        )
        en = (
            f"{head_en}: {num(actual)}{u} done at {as_of.isoformat()}{done_en}; the schedule "
            f"is {pct(s)}, so {num(expected)}{u} was due, a gap of {num(gap)}{u}"
        )
        if forecast is not None:
            zh += f"；按当前进度预计全年完成{num(forecast)}{u}"
            en += f"; at this pace the year ends at {num(forecast)}{u}"
    completion = None if forecast is None else _completion(row.operator, forecast, row.target)
    if forecast is None:
        status = "not_due"
        zh += "；计划进度为零，暂不预测。"
        en += "; nothing is due yet, so no forecast."
    elif _missed(row.operator, row.kind, forecast, row.target, th.miss_tolerance):
        status = "likely_missed"
        c = f"（完成率{pct(completion)}）" if completion is not None else ""
        c_en = f" ({pct(completion)} of it)" if completion is not None else ""
        zh += f"{c}，偏离年度指标值超过容差{pct(th.miss_tolerance)}，预计难以完成。"
        en += (
            f"{c_en}, off the target by more than the tolerance of "
            f"{pct(th.miss_tolerance)}: likely to be missed."
        )
    else:
        status = "on_track"
        c = f"（完成率{pct(completion)}）" if completion is not None else ""
        c_en = f" ({pct(completion)} of it)" if completion is not None else ""
        zh += f"{c}，预计能完成年度指标值。"
        en += f"{c_en}: the target is likely to be met."
    return _ind(row, s, expected, progress, gap, forecast, completion, status, zh, en)


def _ind(
    row: IndicatorInput,
    s: float,
    expected: float,
    progress: float | None,
    gap: float | None,
    forecast: float | None,
    completion: float | None,
    status: str,
    zh: str,
    en: str,
) -> IndicatorResult:
    sz, se = STATUS_LABELS[status]
    return IndicatorResult(
        row.id,
        row.name,
        row.kind,
        row.operator,
        row.target,
        row.unit,
        row.actual,
        s,
        expected,
        progress,
        gap,
        forecast,
        completion,
        status,
        sz,
        se,
        zh,
        en,
    )


def _flag(
    index: int, subject: str, code: str, reason: str | None, measure: str | None, name: str = ""
) -> Flag:
    zh, en = FLAG_LABELS[code]
    reason = reason.strip() if reason and reason.strip() else None
    measure = measure.strip() if measure and measure.strip() else None
    explained = reason is not None and measure is not None
    who_zh = "预算执行" if subject == "budget" else f"指标 {subject}（{name}）"
    who_en = "budget execution" if subject == "budget" else f"indicator {subject} ({name})"
    if explained:
        tz = f"{who_zh}：{zh}。偏离原因：{reason}；纠偏措施：{measure}。"
        te = f"{who_en}: {en.lower()}. Reason given: {reason}; corrective measure: {measure}."
    else:
        missing_zh = "、".join(
            w for w, v in (("偏离原因", reason), ("纠偏措施", measure)) if v is None
        )
        missing_en = " and ".join(
            w for w, v in (("the reason", reason), ("the corrective measure", measure)) if v is None
        )
        tz = f"{who_zh}：{zh}，待说明（缺{missing_zh}）。"
        te = f"{who_en}: {en.lower()}; explanation pending ({missing_en} missing)."
    return Flag(
        index,
        f"{subject}.{code}",
        code,
        subject,
        zh,
        en,
        reason,
        measure,
        "explained" if explained else "pending_explanation",
        tz,
        te,
    )


def input_problems(
    as_of: date,
    year: int,
    budget: BudgetInput | None,
    indicators: Sequence[IndicatorInput],
) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Every cross-field problem of the inputs (the field types are the caller's to check)."""
    out: list[tuple[tuple[str | int, ...], str, str]] = []
    if as_of.year != year:
        out.append((("as_of",), f"{as_of} is not in the fiscal year {year}", "out_of_range"))
    if budget is not None:
        if not budget.budget > 0:
            out.append((("budget", "budget"), "the annual budget must be positive", "out_of_range"))
        if budget.executed < 0:
            out.append((("budget", "executed"), "must not be negative", "out_of_range"))
        out += schedule_problems(budget.schedule, year, ("budget", "schedule"))
    seen: dict[str, int] = {}
    for i, row in enumerate(indicators):
        loc: tuple[str | int, ...] = ("indicators", i)
        if row.id in seen or row.id == "budget":
            out.append(((*loc, "id"), f"id {row.id!r} is used twice or reserved", "duplicate"))
        seen.setdefault(row.id, i)
        if row.operator not in OPERATORS:
            out.append(((*loc, "operator"), f"one of {' '.join(OPERATORS)}", "invalid_operator"))
        if row.kind == "cumulative" and row.target == 0:
            out.append(((*loc, "target"), "a cumulative target must not be 0", "out_of_range"))
        if row.kind == "level" and row.schedule:
            out.append(((*loc, "schedule"), "a level indicator has no schedule", "not_applicable"))
        out += schedule_problems(row.schedule, year, (*loc, "schedule"))
    if budget is None and not indicators:
        out.append(((), "give the budget, indicators or both", "missing"))
    return out


def monitor(
    as_of: date,
    year: int,
    thresholds: Thresholds,
    budget: BudgetInput | None,
    indicators: Sequence[IndicatorInput],
) -> MonitoringResult:
    """Monitor a project at ``as_of``; :class:`MonitoringError` lists every bad input."""
    problems = input_problems(as_of, year, budget, indicators)
    if problems:
        raise MonitoringError(problems)
    b = _budget(budget, as_of, thresholds) if budget is not None else None
    rows = tuple(_indicator(r, as_of, thresholds) for r in indicators)
    flags: list[Flag] = []
    if b is not None and b.behind and budget is not None:
        flags.append(_flag(1, "budget", EXECUTION_BEHIND, budget.reason, budget.measure))
    for r, src in zip(rows, indicators, strict=True):
        if r.status == "likely_missed":
            flags.append(
                _flag(len(flags) + 1, r.id, LIKELY_MISSED, src.reason, src.measure, r.name)
            )
    pending = sum(f.status == "pending_explanation" for f in flags)
    s = linear_progress(as_of)
    zh = f"截至{as_of.isoformat()}（{year}年度时间进度{pct(s)}），共{len(flags)}项预警"
    en = f"At {as_of.isoformat()} ({pct(s)} of fiscal year {year} elapsed): {len(flags)} warning(s)"
    if flags:
        zh += f"，其中{pending}项待说明偏离原因和纠偏措施。"
        en += f", {pending} awaiting their reason and corrective measure."
    else:
        zh += "。"
        en += "."
    return MonitoringResult(as_of, year, s, thresholds, b, rows, tuple(flags), zh, en)
