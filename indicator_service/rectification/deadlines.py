"""Deadlines and states of a rectification (pure: stdlib only).

The default deadlines are the one rule the seed documents give (a county's rule on the use of
evaluation results, ../shared/domain.md section 8): the results and the rectification demands
go to the evaluated party within **1 month** after the evaluation; it reports its
rectification within **2 months** of receiving them. Dates are calendar dates in China
Standard Time (UTC+8, no daylight saving)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone

#: China Standard Time: the dates of evaluations and deadlines.
CST = timezone(timedelta(hours=8), "CST")
FEEDBACK_MONTHS = 1
"""Months after the evaluation within which results and demands reach the evaluated party."""
REPORT_MONTHS = 2
"""Months after receiving them within which the evaluated party reports its rectification."""

#: status → (Chinese, English), in the order a rectification moves through them.
STATUSES: dict[str, tuple[str, str]] = {
    "open": ("待反馈", "open: results and demands not yet sent"),
    "feedback_given": ("已反馈待整改", "feedback given: rectification under way"),
    "reported": ("已报告整改情况", "rectification reported"),
    "closed": ("已办结", "closed"),
}
ORDER = {name: i for i, name in enumerate(STATUSES)}
#: the date column each status records when it is reached
STEP_DATE = {
    "feedback_given": "feedback_given_on",
    "reported": "reported_on",
    "closed": "closed_on",
}


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months; a day the target month lacks becomes its last day
    (31 January + 1 month = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def local_date(moment: datetime) -> date:
    """The calendar date of ``moment`` in China Standard Time (naive moments are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CST).date()


def today() -> date:
    return local_date(datetime.now(UTC))


def default_feedback_due(evaluated_on: date) -> date:
    return add_months(evaluated_on, FEEDBACK_MONTHS)


def default_report_due(feedback_given_on: date) -> date:
    return add_months(feedback_given_on, REPORT_MONTHS)


def deadline(status: str, feedback_due: date, report_due: date | None) -> date | None:
    """The deadline that runs in ``status``: the feedback's while open, the report's once the
    feedback was given; none once reported or closed."""
    if status == "open":
        return feedback_due
    if status == "feedback_given":
        return report_due
    return None


def days_overdue(status: str, feedback_due: date, report_due: date | None, as_of: date) -> int:
    """Days past the running deadline on ``as_of`` (0 when not overdue: the deadline day
    itself is still in time)."""
    due = deadline(status, feedback_due, report_due)
    if due is None or as_of <= due:
        return 0
    return (as_of - due).days
