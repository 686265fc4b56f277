"""Request and response models of the target review (``/v1/targets/review``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

Text = Annotated[StrictStr, Field(pattern=r"^[^\x00]*$")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetRowIn(_Request):
    """One row of the target table (绩效目标申报表): the indicator and its 年度指标值."""

    name: Annotated[Text, Field(min_length=1, max_length=200, description="三级指标 as written")]
    target: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=200,
            description="年度指标值 as written: ≥95%, ≤200元, =100%, 1.2万亩以上, or words "
            "(按期完成) for a qualitative target",
        ),
    ]
    class_l1: Annotated[Text, Field(min_length=1, max_length=40)] | None = Field(
        default=None,
        description="一级指标 (产出指标, 效益指标, 满意度指标 …); default: the library's",
    )
    class_l2: Annotated[Text, Field(min_length=1, max_length=40)] | None = Field(
        default=None, description="二级指标 (数量指标, 成本指标 …); default: the library's"
    )
    indicator: Annotated[Text, Field(min_length=1, max_length=40)] | None = Field(
        default=None,
        description="the library indicator's code; without it the row is linked by its exact "
        "Chinese name, else it is free text (flagged for a reviewer)",
    )


class TargetReviewRequest(_Request):
    framework: Annotated[Text, Field(min_length=1, max_length=40)] = Field(
        default="SELF-EVAL", description="the framework whose target-review rules apply"
    )
    version: Annotated[Text, Field(min_length=1, max_length=40)] | None = Field(
        default=None, description="default: the latest published version"
    )
    project: Annotated[Text, Field(min_length=1, max_length=80)]
    unit: Annotated[Text, Field(min_length=1, max_length=80)] | None = None
    sector: Annotated[Text, Field(min_length=1, max_length=40)] | None = Field(
        default=None, description="the sector (education, health …): standards and suggestions"
    )
    project_type: Annotated[Text, Field(min_length=1, max_length=40)] | None = Field(
        default=None, description="project type (construction, subsidy, purchase …)"
    )
    region: Annotated[StrictStr, Field(pattern=r"^\d{6}$", description="GB/T 2260 code")]
    fiscal_year: Annotated[int, Field(strict=True, ge=1990, le=2100)]
    budget: Annotated[float, Field(strict=True, ge=0, le=1e12, allow_inf_nan=False)] | None = Field(
        default=None, description="the project's budget (年度资金总额), 万元"
    )
    overall_goal: Annotated[Text, Field(max_length=4000)] | None = Field(
        default=None, description="年度总体目标"
    )
    include_illustrative: StrictBool = Field(
        default=False,
        description="also compare with illustrative standards (values no public document gives)",
    )
    rows: list[TargetRowIn] = Field(min_length=1, max_length=300)


class StandardCited(BaseModel):
    type: str
    type_zh: str
    operator: str | None
    value: float
    unit: str | None
    value_in_row_unit: float
    region: str
    fiscal_year: int | None
    source: dict[str, Any] | None
    derivation: str | None
    illustrative: bool


class FindingOut(BaseModel):
    code: str = Field(description="missing_class, not_quantitative, free_text, below_standard …")
    criterion: str = Field(description="completeness, relevance, appropriateness, feasibility")
    criterion_zh: str = Field(description="完整性, 相关性, 适当性, 可行性")
    severity: str = Field(description="major, minor or note (a note does not count)")
    row: int | None = Field(description="the row's index (0-based); null: the whole table")
    zh: str
    en: str
    standards: list[StandardCited]


class RowOut(BaseModel):
    index: int
    name: str
    target: str = Field(description="年度指标值 as written")
    class_l1: str
    class_l2: str | None
    operator: str | None
    value: float | None = Field(description="the target in `unit`; null: qualitative")
    unit: str
    indicator: str | None
    indicator_name_zh: str | None
    indicator_name_en: str | None
    linked_by: str | None = Field(description="code, name, or null (free text)")
    standards: list[StandardCited]
    findings: list[FindingOut]


class ClassOut(BaseModel):
    class_l1: str
    class_l2: str | None
    name_en: str
    rows: list[int]
    quantitative_expected: bool
    quantitative_rows: int


class CriterionOut(BaseModel):
    criterion: str
    criterion_zh: str
    ok: bool
    findings: int


class ProposedStandard(BaseModel):
    type: str
    operator: str | None
    value: float
    unit: str | None
    region: str
    fiscal_year: int | None
    source: dict[str, Any] | None


class SuggestionOut(BaseModel):
    indicator: str
    name_zh: str
    name_en: str
    class_l1: str | None
    class_l2: str | None
    operator: str | None
    unit: str | None
    fills_missing_class: bool
    proposed: ProposedStandard | None = Field(description="its standard, as a proposed value")


class ReviewResult(BaseModel):
    framework: str
    version: str
    verdict: str = Field(description="pass, revise or reject")
    verdict_zh: str = Field(description="通过, 修改后通过, 不予通过")
    verdict_en: str
    explanation_zh: str
    explanation_en: str
    majors: int
    minors: int
    notes: int
    criteria: list[CriterionOut]
    classes: list[ClassOut]
    rows: list[RowOut]
    findings: list[FindingOut] = Field(description="every finding, the table's and the rows'")
    suggestions: list[SuggestionOut]
    rules: dict[str, Any] = Field(description="the framework's target-review rules applied")


class TargetReviewSummary(BaseModel):
    id: int
    framework: str
    version: str
    project: str
    unit: str | None
    region: str
    fiscal_year: int
    verdict: str
    verdict_zh: str
    input_hash: str
    created_at: datetime


class TargetReviewOut(TargetReviewSummary):
    request: TargetReviewRequest
    result: ReviewResult


class TargetReviewList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[TargetReviewSummary]
