"""Request and response models of the rectification (整改) API."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr

from indicator_service.core.i18n import _
from indicator_service.scoring.schemas import MAX_ID, NO_NUL, Code, Text

SubjectKind = Literal["evaluation", "monitoring"]
"""What a rectification can be attached to (a monitoring flag will be the second kind)."""
Status = Literal["open", "feedback_given", "reported", "closed"]
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` text is a date here (pydantic's lax mode would read ``0`` or
    ``"0"`` as a Unix timestamp)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise ValueError(_("expected a date written YYYY-MM-DD"))
    return value


Day = Annotated[date, BeforeValidator(iso_date), Field(ge=date(1990, 1, 1), le=date(2100, 12, 31))]
"""A calendar date of the workflow, ``YYYY-MM-DD`` (the years evaluations may have)."""


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubjectRef(RequestModel):
    kind: SubjectKind = Field(
        description="evaluation (a stored evaluation) or monitoring (a stored monitoring record, "
        "运行监控: the rectification answers one of its flags, named in `leaf`)"
    )
    id: Id


class RectificationCreate(RequestModel):
    subject: SubjectRef
    leaf: Code | None = Field(
        default=None,
        description="the id of one leaf of the evaluation the demand is about; for a monitoring "
        "record, the key of the flag it answers (e.g. R1.likely_missed)",
    )
    requirement: Text = Field(description="整改要求: what must be rectified")
    owner: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=NO_NUL)] = Field(
        description="整改责任主体: the unit or person responsible for the rectification"
    )
    feedback_due: Day | None = Field(
        default=None,
        description="by when results and demands reach the evaluated party (default: the "
        "evaluation's date + 1 month); not before the evaluation's date",
    )
    report_due: Day | None = Field(
        default=None,
        description="by when the rectification is reported (default: 2 months after the "
        "feedback is given); not before feedback_due",
    )


class RectificationUpdate(RequestModel):
    status: Status = Field(
        description="the next state: feedback_given (results and demands delivered), reported "
        "(the evaluated party reported its rectification) or closed; states only move forward"
    )
    on: Day | None = Field(default=None, description="the date of the step (default: today)")
    note: Text | None = Field(default=None, description="what was done, or why it was closed")
    report_due: Day | None = Field(
        default=None,
        description="with feedback_given: the report's deadline (default: on + 2 months)",
    )


class SubjectOut(BaseModel):
    kind: SubjectKind
    id: int


class RectificationOut(BaseModel):
    id: int
    subject: SubjectOut
    leaf: str | None
    region: str
    project: str | None
    fiscal_year: int | None
    requirement: str
    owner: str
    status: Status
    status_zh: str
    status_en: str
    feedback_due: date
    report_due: date | None
    deadline: date | None = Field(description="the deadline running in this status")
    feedback_given_on: date | None
    reported_on: date | None
    closed_on: date | None
    note: str | None
    days_overdue: int = Field(description="days past the running deadline, today (CST)")
    revision: int = Field(description="the ETag is the id and this revision")
    created_at: datetime
    updated_at: datetime


class RectificationList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[RectificationOut]


class OverdueList(BaseModel):
    as_of: date
    region: str | None
    total: int
    by_region: dict[str, int] = Field(description="overdue rectifications per region code")
    items: list[RectificationOut] = Field(
        description="by region, then deadline; days_overdue counted on as_of"
    )
