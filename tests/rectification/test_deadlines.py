"""Deadline arithmetic of rectifications, by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from indicator_service.rectification import deadlines


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 12, 5), 1, date(2027, 1, 5)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2026, 11, 30), 2, date(2027, 1, 30)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert deadlines.add_months(day, months) == expected


def test_defaults_follow_the_one_and_two_month_rule() -> None:
    assert deadlines.default_feedback_due(date(2026, 12, 5)) == date(2027, 1, 5)
    assert deadlines.default_report_due(date(2027, 1, 4)) == date(2027, 3, 4)


def test_dates_are_china_standard_time() -> None:
    # 16:30 UTC on 5 December is 00:30 on 6 December in China
    assert deadlines.local_date(datetime(2026, 12, 5, 16, 30, tzinfo=UTC)) == date(2026, 12, 6)
    assert deadlines.local_date(datetime(2026, 12, 5, 15, 59)) == date(2026, 12, 5)


def test_overdue_counts_days_past_the_running_deadline() -> None:
    fb, rep = date(2027, 1, 5), date(2027, 3, 4)
    assert deadlines.days_overdue("open", fb, None, date(2027, 1, 5)) == 0  # the day itself
    assert deadlines.days_overdue("open", fb, None, date(2027, 1, 8)) == 3
    assert deadlines.days_overdue("feedback_given", fb, rep, date(2027, 3, 5)) == 1
    assert deadlines.days_overdue("feedback_given", fb, rep, date(2027, 3, 4)) == 0
    assert deadlines.days_overdue("reported", fb, rep, date(2030, 1, 1)) == 0
    assert deadlines.days_overdue("closed", fb, rep, date(2030, 1, 1)) == 0
