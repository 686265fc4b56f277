"""The monitoring core (运行监控): time progress, budget execution, forecasts and flags, each
value computed by hand in the comments."""

from __future__ import annotations

from datetime import date

import pytest

from indicator_service.monitoring.core import (
    BudgetInput,
    IndicatorInput,
    MonitoringError,
    SchedulePoint,
    Thresholds,
    linear_progress,
    monitor,
    scheduled_share,
)

TH = Thresholds(execution_gap=0.10, miss_tolerance=0.05)  # SELF-EVAL 1.2.0's thresholds
JUNE_30 = date(2026, 6, 30)  # day 31+28+31+30+31+30 = 181 of 365


def farmland(actual: float | None = 0.48, **kw: object) -> IndicatorInput:
    return IndicatorInput(
        "R1",
        "新建高标准农田面积",
        "≥",
        1.2,
        actual,
        unit="万亩",
        **kw,  # type: ignore[arg-type]
    )


def test_linear_time_progress_counts_days_inclusive() -> None:
    assert linear_progress(JUNE_30) == pytest.approx(181 / 365)
    assert linear_progress(date(2026, 1, 1)) == pytest.approx(1 / 365)
    assert linear_progress(date(2026, 12, 31)) == 1.0
    # 2028 is a leap year: 31 + 29 + 31 + 30 + 31 + 30 = 182 of 366
    assert linear_progress(date(2028, 6, 30)) == pytest.approx(182 / 366)


def test_mid_year_forecast_of_a_cumulative_indicator() -> None:
    """At 30 June 40 % of 1.2 万亩 is built (0.48): the schedule is 181/365 = 49.59 %, so
    1.2 × 181/365 = 0.59507 was due; the year-end forecast is 0.48 / (181/365) = 0.96796 万亩,
    146/181 = 80.66 % of the target, more than 5 % short: likely missed."""
    r = monitor(JUNE_30, 2026, TH, None, [farmland()])
    [row] = r.indicators
    assert row.time_progress == pytest.approx(181 / 365)
    assert row.progress == pytest.approx(0.40)
    assert row.expected == pytest.approx(1.2 * 181 / 365)
    assert row.gap == pytest.approx(0.48 - 1.2 * 181 / 365)
    assert row.forecast == pytest.approx(0.48 * 365 / 181)
    assert row.forecast_completion == pytest.approx(146 / 181)
    assert row.status == "likely_missed"
    assert "预计全年完成0.968万亩（完成率80.66%）" in row.text_zh
    assert "the year ends at 0.968万亩 (80.66% of it)" in row.text_en
    [flag] = r.flags
    assert (flag.key, flag.index, flag.subject, flag.code) == (
        "R1.likely_missed",
        1,
        "R1",
        "likely_missed",
    )
    assert flag.status == "pending_explanation"
    assert "缺偏离原因、纠偏措施" in flag.text_zh
    assert flag.text_zh.startswith("指标 R1（新建高标准农田面积）：预计难以完成年度指标值")
    assert flag.text_en.startswith("indicator R1 (新建高标准农田面积): annual target likely")


def test_on_pace_indicator_is_not_flagged() -> None:
    # 0.60 at 30 June: forecast 0.60 × 365/181 = 1.20994 ≥ 1.2 → on track
    r = monitor(JUNE_30, 2026, TH, None, [farmland(0.60)])
    assert r.indicators[0].status == "on_track"
    assert r.indicators[0].forecast == pytest.approx(0.60 * 365 / 181)
    assert r.flags == ()
    # 0.56: forecast 1.12928 = 94.11 % of 1.2, just over the 5 % tolerance → flagged;
    # 0.58: forecast 1.16961 = 97.47 % → within the tolerance
    assert monitor(JUNE_30, 2026, TH, None, [farmland(0.56)]).indicators[0].status == (
        "likely_missed"
    )
    assert monitor(JUNE_30, 2026, TH, None, [farmland(0.58)]).indicators[0].status == "on_track"


def test_budget_execution_behind_time_progress_is_flagged() -> None:
    """150 of 500 spent at 30 June: 30 % against 49.59 %, 19.59 points behind (> 10): flagged;
    forecast 150 × 365/181 = 302.49 = 60.50 % of the budget."""
    b = BudgetInput(500.0, 150.0, reason="项目招标延迟", measure="加快合同签订和资金拨付")
    r = monitor(JUNE_30, 2026, TH, b, [])
    assert r.budget is not None
    assert r.budget.execution_rate == pytest.approx(0.30)
    assert r.budget.gap == pytest.approx(0.30 - 181 / 365)
    assert r.budget.forecast_rate == pytest.approx(0.30 * 365 / 181)
    assert r.budget.behind
    assert "落后时间进度19.59个百分点，超过预警阈值10.00个百分点" in r.budget.text_zh
    assert "预计全年执行率60.50%" in r.budget.text_zh
    assert "19.59 points behind the schedule" in r.budget.text_en
    [flag] = r.flags
    assert (flag.key, flag.status) == ("budget.execution_behind", "explained")
    assert flag.reason == "项目招标延迟"
    assert flag.measure == "加快合同签订和资金拨付"
    assert "偏离原因：项目招标延迟；纠偏措施：加快合同签订和资金拨付" in flag.text_zh


def test_execution_threshold_is_more_than_not_equal() -> None:
    half = (SchedulePoint(JUNE_30, 0.5),)  # the schedule says 50 % by 30 June
    at = monitor(JUNE_30, 2026, TH, BudgetInput(500.0, 200.0, schedule=half), [])
    assert at.budget is not None
    assert at.budget.gap == pytest.approx(-0.10)
    assert not at.budget.behind
    assert at.flags == ()
    over = monitor(JUNE_30, 2026, TH, BudgetInput(500.0, 195.0, schedule=half), [])
    assert over.budget is not None
    assert over.budget.behind


def test_schedule_is_interpolated_from_january_to_december() -> None:
    sched = (SchedulePoint(date(2026, 3, 31), 0.2), SchedulePoint(date(2026, 9, 30), 0.8))
    # days 90 and 273; 30 June is day 181: 0.2 + 0.6 × 91/183
    assert scheduled_share(sched, JUNE_30) == pytest.approx(0.2 + 0.6 * 91 / 183)
    # 14 February is day 45, before the first point: 0.2 × 45/90 = 0.1
    assert scheduled_share(sched, date(2026, 2, 14)) == pytest.approx(0.1)
    # 30 November is day 334, after the last point: 0.8 + 0.2 × 61/92
    assert scheduled_share(sched, date(2026, 11, 30)) == pytest.approx(0.8 + 0.2 * 61 / 92)
    # an indicator on that schedule: 0.48 of 1.2 against 0.49836 → forecast 0.48 / 0.49836
    r = monitor(JUNE_30, 2026, TH, None, [farmland(schedule=sched)])
    assert r.indicators[0].forecast == pytest.approx(0.48 / (0.2 + 0.6 * 91 / 183))


def test_nothing_due_yet_gives_no_forecast_and_no_flag() -> None:
    late = (SchedulePoint(JUNE_30, 0.0),)  # construction starts in July
    r = monitor(date(2026, 5, 1), 2026, TH, None, [farmland(0.0, schedule=late)])
    assert r.indicators[0].status == "not_due"
    assert r.indicators[0].forecast is None
    assert r.flags == ()


def test_level_indicators_keep_their_current_value() -> None:
    cost_ok = IndicatorInput("R2", "亩均建设成本", "≤", 200.0, 210.0, kind="level", unit="元")
    cost_high = IndicatorInput("R3", "亩均建设成本", "≤", 200.0, 211.0, kind="level", unit="元")
    pass_rate = IndicatorInput("R4", "工程验收合格率", "=", 100.0, 94.0, kind="level", unit="%")
    r = monitor(JUNE_30, 2026, TH, None, [cost_ok, cost_high, pass_rate])
    ok, high, rate = r.indicators
    # 210 = 200 × 1.05: at the tolerance, not beyond it
    assert (ok.status, ok.forecast, ok.time_progress) == ("on_track", 210.0, 1.0)
    assert ok.forecast_completion == pytest.approx(200 / 210)
    # 211 > 210: flagged; completion 200/211 = 94.79 %
    assert high.status == "likely_missed"
    assert high.forecast_completion == pytest.approx(200 / 211)
    assert "完成率94.79%" in high.text_zh
    # =100 %: 94 is 6 from the target, more than 5 % of it
    assert rate.status == "likely_missed"
    assert [f.key for f in r.flags] == ["R3.likely_missed", "R4.likely_missed"]
    assert [f.index for f in r.flags] == [1, 2]


def test_a_row_without_its_actual_is_reported_not_flagged() -> None:
    r = monitor(JUNE_30, 2026, TH, None, [farmland(None)])
    assert r.indicators[0].status == "no_actual"
    assert r.flags == ()
    assert "未填报" in r.indicators[0].text_zh


def test_flags_half_explained_are_pending() -> None:
    r = monitor(JUNE_30, 2026, TH, BudgetInput(500.0, 150.0), [farmland(reason="征地延迟")])
    assert [(f.key, f.status) for f in r.flags] == [
        ("budget.execution_behind", "pending_explanation"),
        ("R1.likely_missed", "pending_explanation"),
    ]
    assert "缺纠偏措施" in r.flags[1].text_zh
    assert "the corrective measure missing" in r.flags[1].text_en
    assert "共2项预警，其中2项待说明" in r.summary_zh


def test_every_bad_input_is_named_at_once() -> None:
    rows = [
        farmland(schedule=(SchedulePoint(date(2026, 9, 30), 0.6), SchedulePoint(JUNE_30, 0.7))),
        IndicatorInput("R1", "重复", "≥", 0.0, 1.0),
        IndicatorInput("R3", "未知符号", "≈", 5.0, 1.0),
    ]
    budget = BudgetInput(0.0, -1.0, schedule=(SchedulePoint(date(2025, 6, 30), 0.5),))
    with pytest.raises(MonitoringError) as info:
        monitor(date(2027, 1, 5), 2026, TH, budget, rows)
    locs = {loc: kind for loc, _, kind in info.value.problems}
    assert locs == {
        ("as_of",): "out_of_range",
        ("budget", "budget"): "out_of_range",
        ("budget", "executed"): "out_of_range",
        ("budget", "schedule", 0, "date"): "out_of_range",
        ("indicators", 0, "schedule", 1, "date"): "not_increasing",
        ("indicators", 1, "id"): "duplicate",
        ("indicators", 1, "target"): "out_of_range",
        ("indicators", 2, "operator"): "invalid_operator",
    }
