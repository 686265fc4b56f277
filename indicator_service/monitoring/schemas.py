"""Request and response models of the monitoring API (``/v1/monitoring``).

Requests forbid unknown keys; numbers are strict and finite, strings carry no NUL (the shared
field types of :mod:`indicator_service.scoring.schemas`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictStr

from indicator_service.core.types import INTEGRAL
from indicator_service.scoring.schemas import NO_NUL, Code, Number, RequestModel, Text

RowId = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
Share = Annotated[float, Field(strict=True, ge=0, le=1, allow_inf_nan=False)]
Positive = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=NO_NUL)]


class MonitoringSchedulePointIn(RequestModel):
    date: dt.date = Field(description="a date of the fiscal year")
    share: Share = Field(description="cumulative share of the annual target (budget) due by then")


class MonitoringBudgetIn(RequestModel):
    """资金执行: the year's budget, what is spent so far, and the explanation of a deviation."""

    budget: Positive = Field(description="全年预算数")
    executed: NonNegative = Field(description="执行数 up to as_of")
    schedule: list[MonitoringSchedulePointIn] = Field(
        default_factory=list,
        max_length=366,
        description="the spending plan as cumulative shares; empty: linear over the year",
    )
    reason: Text | None = Field(default=None, description="偏离原因")
    measure: Text | None = Field(default=None, description="纠偏措施")


class MonitoringRowIn(RequestModel):
    """One indicator of the project's target table and its progress so far."""

    id: RowId = Field(description="row id, unique in the request (letters, digits, _ and -)")
    class_l1: Code | None = Field(default=None, description="一级指标")
    class_l2: Code | None = Field(default=None, description="二级指标")
    name: Name = Field(description="三级指标")
    indicator: Code | None = Field(default=None, description="catalogue indicator code")
    operator: Literal["≥", ">", "=", "≤", "<"]
    target: Number = Field(description="年度指标值 (the number)")
    unit: Code | None = None
    kind: Literal["cumulative", "level"] = Field(
        default="cumulative",
        description="cumulative: built up over the year (forecast = actual / time progress); "
        "level: a rate or level (the current value is the forecast)",
    )
    actual: Number | None = Field(default=None, description="完成值 up to as_of")
    schedule: list[MonitoringSchedulePointIn] = Field(
        default_factory=list, max_length=366, description="cumulative plan; empty: linear"
    )
    reason: Text | None = Field(default=None, description="偏离原因")
    measure: Text | None = Field(default=None, description="纠偏措施")


class MonitoringRequest(RequestModel):
    framework: Code = Field(default="SELF-EVAL", description="framework whose thresholds apply")
    version: Code | None = Field(default=None, description="default: latest published")
    project: Code = Field(description="project code or name")
    project_name: Text | None = Field(default=None, description="项目名称")
    unit: Code | None = Field(default=None, description="spending unit (预算单位)")
    region: Annotated[StrictStr, Field(pattern=r"^\d{6}$")] = "000000"
    fiscal_year: Annotated[int, Field(strict=True, ge=1990, le=2100), INTEGRAL]
    as_of: dt.date = Field(description="监控时点: the date the values are reported at")
    goal: Text | None = Field(default=None, description="年度总体目标")
    budget: MonitoringBudgetIn | None = None
    indicators: list[MonitoringRowIn] = Field(default_factory=list, max_length=500)


# --- answers --------------------------------------------------------------------------------


class MonitoringThresholdsOut(BaseModel):
    execution_gap: float
    miss_tolerance: float


class MonitoringBudgetOut(BaseModel):
    budget: float
    executed: float
    execution_rate: float
    time_progress: float
    gap: float = Field(description="execution_rate − time_progress")
    forecast_executed: float | None
    forecast_rate: float | None
    behind: bool
    text_zh: str
    text_en: str


class MonitoringIndicatorOut(BaseModel):
    id: str
    name: str
    kind: str
    operator: str
    target: float
    unit: str | None
    actual: float | None
    time_progress: float
    expected: float
    progress: float | None
    gap: float | None
    forecast: float | None
    forecast_completion: float | None
    status: str = Field(description="on_track, likely_missed, no_actual or not_due")
    status_zh: str
    status_en: str
    text_zh: str
    text_en: str


class MonitoringFlagOut(BaseModel):
    id: str = Field(description="stable id: '<monitoring id>:<key>'")
    index: int
    key: str = Field(description="'budget.execution_behind' or '<row id>.likely_missed'")
    code: str
    subject: str
    label_zh: str
    label_en: str
    reason: str | None
    measure: str | None
    status: str = Field(description="explained, or pending_explanation (reason or measure missing)")
    text_zh: str
    text_en: str


class MonitoringResultOut(BaseModel):
    as_of: dt.date
    year: int
    time_progress: float
    thresholds: MonitoringThresholdsOut
    budget: MonitoringBudgetOut | None
    indicators: list[MonitoringIndicatorOut]
    flags: list[MonitoringFlagOut]
    summary_zh: str
    summary_en: str
    method: str


class MonitoringSummary(BaseModel):
    id: int
    framework: str
    version: str
    project: str
    unit: str | None
    region: str
    fiscal_year: int
    as_of: dt.date
    flags: int
    pending: int = Field(description="flags awaiting 偏离原因 or 纠偏措施")
    created_at: dt.datetime


class MonitoringOut(MonitoringSummary):
    request: MonitoringRequest
    result: MonitoringResultOut


class MonitoringList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[MonitoringSummary]
