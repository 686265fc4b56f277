"""Request and response models of the scoring API.

Requests forbid unknown keys; scalars are strict per field (``false`` is never ``0.0``),
numbers must be finite, strings may not contain NUL characters (every string field has the
``NO_NUL`` pattern, checked in pydantic's core: a per-field Python validator cost half of the
validation time of a 30-row submission).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from indicator_service.catalogue.source import RuleData
from indicator_service.core.errors import ErrorItem
from indicator_service.core.i18n import CHINESE
from indicator_service.core.types import INTEGRAL
from indicator_service.rules.labels import LABELS, label

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Points = Annotated[float, Field(strict=True, ge=0, le=100, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
NO_NUL = r"^[^\x00]*$"
Code = Annotated[StrictStr, Field(min_length=1, max_length=80, pattern=NO_NUL)]
Text = Annotated[StrictStr, Field(min_length=1, max_length=2000, pattern=NO_NUL)]


def Label(description: str) -> Any:  # noqa: N802 — used like Field
    """A label field of an answer: words beside a code in the request's language, added when
    the answer is serialised (scoring/labels.py) and absent from stored receipts."""
    return Field(default=None, description=description, exclude_if=lambda v: v is None)


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


MAX_BATCH_ITEMS = 20000  # submissions in one batch


class ValueIn(RequestModel):
    """One leaf's actual: a number, a qualitative level (+ optional score), or not applicable."""

    value: Number | None = Field(default=None, description="实际完成值 (numeric actual)")
    level: Code | None = Field(default=None, description="qualitative level code, e.g. achieved")
    level_score: Number | None = Field(
        default=None, description="a score inside the level's band (points)"
    )
    not_applicable: StrictBool = Field(default=False, description="不适用: dropped, rebased")
    deduction: NonNegative | None = Field(
        default=None, description="manual deduction in points (needs a reason)"
    )
    deduction_reason: Text | None = None
    explanation: Text | None = Field(
        default=None,
        description="偏差原因分析及改进措施: why the actual deviates from the target (asked for "
        "by the over-achievement and budget-execution warnings; echoed in the receipt)",
    )
    target: Number | None = Field(
        default=None,
        description="指标值: the project's declared target, for a fixed framework leaf whose "
        "framework gives none (a row's own target otherwise)",
    )


class RowIn(ValueIn):
    """One indicator row of the project's own tree (a self-evaluation form line)."""

    id: Code = Field(description="row identifier, unique in the submission")
    indicator: Code | None = Field(default=None, description="catalogue indicator code")
    class_l1: Code = Field(description="一级指标: code or name of a level-1 node")
    class_l2: Code | None = Field(default=None, description="二级指标 (created when new)")
    name: Text | None = Field(default=None, description="三级指标 name")
    points: Points
    operator: Code | None = Field(default=None, description="≥ > = ≤ < 定性")
    rule: RuleData | None = Field(
        default=None, description="rule as data (one of the rule kinds); overrides"
    )
    standard_type: (
        Literal[
            "plan",
            "industry",
            "professional",
            "historical",
            "international",
            "budget_expenditure",
            "other",
            "auto",
        ]
        | None
    ) = Field(
        default=None,
        description="resolve the target from this catalogue standard; `auto`: the first of plan "
        "→ industry → historical found for the region or a broader one (as GET "
        "/v1/standards/resolve answers)",
    )
    unit: Code | None = None


class BudgetIn(RequestModel):
    """Budget figures for the framework's budget-execution leaf (预算执行率)."""

    adjusted: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)] = Field(
        description="全年预算数 (adjusted budget)"
    )
    executed: NonNegative = Field(description="全年执行数 (executed amount)")
    explanation: Text | None = Field(
        default=None, description="why execution fell short (echoed on the budget leaf)"
    )


class FundsLineIn(RequestModel):
    """One line of a form's funds block (万元): 年度资金总额, a 其中 line, 基本支出 …"""

    label: Code
    sub: StrictBool = Field(default=False, description="a 其中 line (part of the total)")
    initial: Number | None = Field(default=None, description="年初预算数")
    adjusted: Number | None = Field(default=None, description="全年预算数")
    executed: Number | None = Field(default=None, description="全年执行数")


class FormHeader(RequestModel):
    """The project and funds blocks of a self-evaluation form (自评表), echoed in the receipt
    and the stored evaluation; they do not change the score."""

    sheet: Code | None = Field(default=None, description="the sheet the form was read from")
    title: Text | None = Field(default=None, description="the form's title")
    layout: Literal["project", "department"] = Field(
        default="project", description="项目支出 or 部门整体支出 (funds split 基本/项目支出)"
    )
    project_name: Text | None = Field(default=None, description="项目名称 (部门名称)")
    department: Text | None = Field(default=None, description="主管部门")
    implementing_unit: Text | None = Field(default=None, description="实施单位")
    goal_expected: Text | None = Field(default=None, description="年度总体目标: 预期目标")
    goal_actual: Text | None = Field(default=None, description="年度总体目标: 实际完成情况")
    funds: list[FundsLineIn] = Field(default_factory=list, max_length=20)


class ScoreRequest(RequestModel):
    framework: Code = Field(description="framework code, e.g. SELF-EVAL")
    version: Code | None = Field(default=None, description="default: latest published")
    project: Code | None = None
    unit: Code | None = Field(default=None, description="spending unit (预算单位) code")
    region: Annotated[StrictStr, Field(pattern=r"^\d{6}$")] = "000000"
    fiscal_year: Annotated[int, Field(strict=True, ge=1990, le=2100), INTEGRAL] | None = None
    rows: list[RowIn] = Field(default_factory=list, max_length=2000)
    values: dict[Code, ValueIn] = Field(
        default_factory=dict, description="values keyed by indicator or node code (fixed trees)"
    )
    budget: BudgetIn | None = None
    form: FormHeader | None = Field(
        default=None, description="the form's project and funds blocks (echoed, not scored)"
    )


#: Who carried out an evaluation (评价方式, docs/reevaluation.md): code → (Chinese, English).
EVALUATION_KINDS: dict[str, tuple[str, str]] = {
    code: (label("evaluation_kind", code, CHINESE) or code, text)
    for code, text in LABELS["evaluation_kind"].items()
}
EvaluationKind = Literal["self", "department", "finance", "third_party"]
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns (PostgreSQL INTEGER)


class EvaluationCreate(ScoreRequest):
    """A submission to score and store, with who evaluated and what it re-evaluates."""

    kind: EvaluationKind = Field(
        default="self",
        description="评价方式: self 单位自评 (default), department 部门评价, finance 财政评价, "
        "third_party 第三方评价",
    )
    reevaluates: Annotated[int, Field(strict=True, ge=1, le=MAX_ID)] | None = Field(
        default=None,
        description="再评价/抽评: the id of the stored evaluation this one re-evaluates. It must "
        "exist and be readable by the caller, be of the same project (both name it) and fiscal "
        "year (when both give one); a re-evaluation is not a self-evaluation (kind ≠ self)",
    )

    def submission(self) -> ScoreRequest:
        """The scoring part of the request (what is scored, hashed and stored as inputs)."""
        fields = {name: getattr(self, name) for name in ScoreRequest.model_fields}
        return ScoreRequest.model_construct(
            _fields_set=self.model_fields_set & fields.keys(), **fields
        )


class BatchRequest(RequestModel):
    items: list[ScoreRequest] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)
    validate_only: StrictBool = False


MAX_COLUMNAR_ITEMS = 100_000


class BatchEnvelope(BaseModel):
    """The JSON batch before its items are validated one by one."""

    model_config = ConfigDict(extra="forbid")
    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description="submissions (ScoreRequest); each is validated on its own and an invalid "
        "one is reported in its item result",
    )
    validate_only: StrictBool = False


class ColumnarBatchRequest(RequestModel):
    """Many submissions of one structure: the rows once, the values as a matrix."""

    template: ScoreRequest = Field(
        description="framework, version, region, fiscal year and the rows (structure: class, "
        "points, operator or rule, target, unit) shared by every submission; its rows carry no "
        "values, it has no `values` or `budget`"
    )
    values: list[list[Number | None]] = Field(
        min_length=1,
        max_length=MAX_COLUMNAR_ITEMS,
        description="one list per submission: the numeric actual of each template row, in row "
        "order (null = missing)",
    )
    budgets: list[BudgetIn] | None = Field(
        default=None,
        description="per submission, the budget figures of the framework's budget-execution "
        "leaf (as many as `values`)",
    )


class Overrides(RequestModel):
    """What-if overrides: weights (points), targets by leaf id, or grading bands."""

    points: dict[Code, Points] = Field(default_factory=dict)
    targets: dict[Code, Number] = Field(default_factory=dict)
    bands: list[GradeBandIn] | None = None


class GradeBandIn(RequestModel):
    grade: Code
    name_en: Code
    min: Points
    max: Points
    recommendation_zh: Text | None = None
    recommendation_en: Text | None = None


class WhatIfRequest(RequestModel):
    submission: ScoreRequest
    overrides: Overrides


Overrides.model_rebuild()


# --- responses -----------------------------------------------------------------------------------


class TargetSource(BaseModel):
    kind: Literal["submitted", "framework", "standard", "budget", "none"]
    standard_type: str | None = None
    region: str | None = None
    fiscal_year: int | None = None
    source: str | None = None


class LocalText(BaseModel):
    """A sentence in both languages: a stored receipt is read in either (docs/scoring.md)."""

    zh: str
    en: str


class WarningText(BaseModel):
    code: str = Field(description="the warning's code, as in `warnings`")
    zh: str
    en: str


class TargetText(BaseModel):
    operator: str | None = Field(description="≥ > = ≤ < 定性")
    value: float | None
    unit: str | None
    text: str | None = Field(description="as a form writes it: ≥90%, ≤90万元")


class FormulaText(LocalText):
    result: float | None = Field(description="what the formula gives: the leaf's score")


class LostText(BaseModel):
    points: float
    zh: str
    en: str


class TargetOrigin(BaseModel):
    kind: str
    standard_type: str | None
    standard_type_name: LocalText | None
    region: str | None = Field(description="the standard's region")
    region_name: LocalText | None
    fiscal_year: int | None = Field(description="the standard's year")
    requested_year: int | None = Field(description="the submission's fiscal year")
    earlier_year: bool | None = Field(description="an earlier year's standard was used")
    broader_region: bool | None = Field(description="a broader region's standard was used")
    source: str | None = Field(description="the document the standard comes from")
    text: LocalText


class LeafExplain(BaseModel):
    """Why a leaf scored what it did: target, actual, rule, formula, points lost, the
    target's origin and the warnings, in words."""

    target: TargetText
    actual: LocalText
    rule: LocalText
    formula: FormulaText | None = Field(description="e.g. 86 ÷ 90 × 10 = 9.56")
    lost: LostText | None
    target_origin: TargetOrigin
    warnings: list[WarningText]


class LeafOut(BaseModel):
    id: str
    indicator: str | None
    name: str | None
    path: list[str]
    unit: str | None
    status: Literal["value", "not_applicable", "missing"]
    raw_value: float | None
    level: str | None
    target: float | None
    target_source: TargetSource
    rule: dict[str, Any]
    points: float
    applicable: bool
    fraction: float | None
    score: float | None
    lost: float | None
    effective_weight: float
    deduction: float | None
    deduction_reason: str | None
    explanation: str | None = None  # absent from receipts stored before it was echoed
    warnings: list[str]
    # absent from receipts stored before receipts explained themselves
    explain: LeafExplain | None = Field(default=None, exclude_if=lambda v: v is None)
    rule_label: str | None = Label(
        "the rule's kind in words, in the language asked (Accept-Language)"
    )
    level_label: str | None = Label(
        "the qualitative level's name in the language asked (null without a level)"
    )
    warning_labels: list[str] | None = Label(
        "the leaf's warnings in words, in the language asked, in the order of `warnings`"
    )


class ScoredNode(BaseModel):
    code: str
    name: str
    level: int
    path: list[str]
    points: float
    applicable_points: float
    subtotal: float


class CitationOut(BaseModel):
    """The public document a framework's grade consequences come from."""

    title: str
    issuer: str
    doc_number: str | None = None
    year: int | None = None
    section: str | None = None
    url: str | None = None
    note: str | None = None


class GradeOut(BaseModel):
    grade: str
    name_en: str
    min: float
    max: float
    recommendation_zh: str | None
    recommendation_en: str | None
    # where the recommendation (the grade's consequence) comes from: the framework version's
    # consequences_source; absent from receipts stored before it was echoed
    consequences_source: CitationOut | None = None


class FrameworkRef(BaseModel):
    code: str
    version: str
    name_zh: str | None = None
    name_en: str | None = None


class Heading(BaseModel):
    project: str | None
    project_name: str | None = Field(description="项目名称, from the form")
    unit: str | None
    region: str
    region_name: LocalText = Field(description="e.g. 浙江省杭州市 (regions: GET /v1/regions)")
    fiscal_year: int | None
    zh: str
    en: str


class BudgetLine(BaseModel):
    adjusted: float = Field(description="全年预算数")
    executed: float = Field(description="全年执行数")
    rate: float = Field(description="execution rate in %, two decimals")
    points: float
    score: float | None
    formula: LocalText | None
    zh: str
    en: str


class GradeLine(BaseModel):
    band: str = Field(description="the band as an interval, e.g. [90, 100]")
    name: LocalText
    consequence: LocalText
    source: str | None = Field(description="the document the consequence comes from")
    zh: str
    en: str


class ReceiptExplain(BaseModel):
    heading: Heading
    budget: BudgetLine | None
    total: LocalText | None
    grade: GradeLine | None
    warnings: list[WarningText]


class Receipt(BaseModel):
    framework: FrameworkRef
    namespaces: dict[str, str]
    project: str | None
    unit: str | None
    region: str
    fiscal_year: int | None
    missing_policy: str
    rounding: str
    leaves: list[LeafOut]
    nodes: list[ScoredNode]
    applicable_points: float
    score_sum: float
    total: float | None
    grade: GradeOut | None
    warnings: list[str]
    input_hash: str
    # a form's project and funds blocks, when read from one (absent otherwise: receipts keep
    # the shape they had before forms were read)
    form: FormHeader | None = Field(default=None, exclude_if=lambda v: v is None)
    # the receipt explained in words, both languages (absent from receipts stored before)
    explain: ReceiptExplain | None = Field(default=None, exclude_if=lambda v: v is None)
    grade_label: str | None = Label(
        "the grade's name in the language asked (优 / Excellent …; null without a grade)"
    )
    consequence: str | None = Label(
        "what the grade means for the budget (the band's recommendation) in the language asked"
    )
    warning_labels: list[str] | None = Label(
        "the receipt's warnings in words, in the language asked, in the order of `warnings`"
    )
    missing_policy_label: str | None = Label("the missing-value policy in words")


class LeafSummary(BaseModel):
    id: str
    indicator: str | None
    score: float | None
    lost: float | None = Field(description="points lost on this leaf")


class ReceiptSummary(BaseModel):
    """The summary receipt (``?receipt=summary``) for high-volume callers: what the full
    receipt says about the result, without the per-leaf inputs, rules and node subtotals."""

    framework: FrameworkRef
    namespaces: dict[str, str]
    total: float | None
    grade: str | None = Field(description="优 / 良 / 中 / 差 (null without a grade)")
    leaves: list[LeafSummary]
    input_hash: str
    grade_label: str | None = Label("the grade's name in the language asked (the only label)")


ReceiptKind = Literal["full", "summary"]


class BatchItemOut(BaseModel):
    index: int
    ok: bool
    project: str | None = Field(
        default=None, description="the item's project, echoed (null when it has none)"
    )
    input_hash: str | None = Field(
        default=None,
        description="the item's input hash, as its receipt and a stored evaluation carry it "
        "(null when the item's framework could not be resolved or the item is not valid)",
    )
    result: Receipt | None = None
    # the summary receipt, with ?receipt=summary (absent otherwise)
    summary: ReceiptSummary | None = Field(default=None, exclude_if=lambda v: v is None)
    total: float | None = None
    grade: str | None = None
    errors: list[ErrorItem] = Field(default_factory=list)
    grade_label: str | None = Label("the grade's name in the language asked")


class BatchResponse(BaseModel):
    count: int
    ok: int
    failed: int
    validate_only: bool
    items: list[BatchItemOut]


class ColumnarItemErrors(BaseModel):
    index: int
    errors: list[ErrorItem]


class ColumnarBatchResponse(BaseModel):
    count: int
    ok: int
    failed: int
    totals: list[float | None] = Field(description="per submission (null when it failed)")
    grades: list[str | None]
    errors: list[ColumnarItemErrors] = Field(description="the failed submissions' problems")
    grade_labels: list[str | None] | None = Label(
        "the grades' names in the language asked, in the order of `grades`"
    )


class NodeDiff(BaseModel):
    code: str
    path: list[str]
    official: float | None
    what_if: float | None
    difference: float | None


class WhatIfResponse(BaseModel):
    official: Receipt
    what_if: Receipt
    total_difference: float | None
    grade_changed: bool
    nodes: list[NodeDiff]
    leaves: list[NodeDiff]


# --- stored evaluations --------------------------------------------------------------------------


class EvaluationOut(BaseModel):
    id: int
    kind: EvaluationKind = "self"
    reevaluates: int | None = None
    framework: str
    version: str
    project: str | None
    # 项目名称 as the stored request's form gave it (national-layout forms); null otherwise
    project_name: str | None = None
    unit: str | None
    region: str
    fiscal_year: int | None
    total: float | None
    grade: str | None
    input_hash: str
    created_at: datetime
    result: Receipt
    grade_label: str | None = Label("the grade's name in the language asked")
    kind_label: str | None = Label("the kind of evaluation in words (单位自评 …)")


class EvaluationSummary(BaseModel):
    id: int
    kind: EvaluationKind = "self"
    reevaluates: int | None = None
    framework: str
    version: str
    project: str | None
    # 项目名称 as the stored request's form gave it (national-layout forms); null otherwise
    project_name: str | None = None
    unit: str | None
    region: str
    fiscal_year: int | None
    total: float | None
    grade: str | None
    input_hash: str
    created_at: datetime
    grade_label: str | None = Label("the grade's name in the language asked")
    kind_label: str | None = Label("the kind of evaluation in words (单位自评 …)")


class EvaluationList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[EvaluationSummary]


class RescoreRequest(RequestModel):
    version: Code | None = Field(
        default=None, description="framework version to re-score under (default: latest)"
    )


class Comparison(BaseModel):
    total_difference: float | None
    grade_changed: bool
    nodes: list[NodeDiff]
    leaves: list[NodeDiff]


class RescoreResponse(Comparison):
    evaluation_id: int
    from_version: str
    to_version: str
    original: Receipt
    rescored: Receipt


# --- stored evaluations in batches ---------------------------------------------------------------

MAX_EVALUATION_BATCH_ITEMS = 1000  # evaluations stored by one POST /v1/evaluations/batch
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]+$"


class EvaluationBatchItemIn(RequestModel):
    """One evaluation to score and store, with its own idempotency key."""

    idempotency_key: (
        Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=IDEMPOTENCY_KEY_PATTERN)]
        | None
    ) = Field(
        default=None,
        description="this item's Idempotency-Key (as the header of POST /v1/evaluations: a "
        "retry with the same key and submission replays the first answer, with another "
        "submission it is a 409 item error)",
    )
    submission: EvaluationCreate  # kind and reevaluates as in POST /v1/evaluations


class EvaluationBatchRequest(RequestModel):
    """Many evaluations to score and store in one request (each item validated on its own)."""

    items: list[EvaluationBatchItemIn] = Field(min_length=1, max_length=MAX_EVALUATION_BATCH_ITEMS)


class EvaluationBatchEnvelope(BaseModel):
    """The evaluation batch before its items are validated one by one."""

    model_config = ConfigDict(extra="forbid")
    items: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_EVALUATION_BATCH_ITEMS)


class EvaluationBatchItemOut(BaseModel):
    index: int
    ok: bool
    status: int = Field(
        description="the status POST /v1/evaluations would have answered for this item: 201 "
        "stored (or replayed), else the problem's status (403, 404, 409, 422)"
    )
    replayed: bool = Field(
        default=False, description="the answer of an earlier request with this idempotency key"
    )
    idempotency_key: str | None = None
    project: str | None = None
    input_hash: str | None = None
    location: str | None = Field(default=None, description="the stored evaluation's path")
    evaluation: EvaluationSummary | None = None
    errors: list[ErrorItem] = Field(default_factory=list)


class EvaluationBatchResponse(BaseModel):
    count: int
    stored: int = Field(description="items stored by this request")
    replayed: int = Field(description="items answered from an earlier request (idempotency key)")
    failed: int
    items: list[EvaluationBatchItemOut]


# --- self-evaluation and re-evaluation (docs/reevaluation.md) ------------------------------------


class DistortionRule(BaseModel):
    """When a re-evaluation says the self-evaluation was distorted (自评失真)."""

    total_points: float = Field(
        description="the totals differ by more than this many points → 自评失真"
    )
    leaf_share: float = Field(
        description="a leaf is flagged when its scores differ by more than this share of its points"
    )
    source: Literal["framework", "default"] = Field(
        description="framework: the self-evaluation's framework version sets it; default: the "
        "service's default (catalogue.source.DEFAULT_REEVALUATION)"
    )


class NodeComparison(BaseModel):
    code: str
    path: list[str]
    self_score: float | None
    reevaluation_score: float | None
    difference: float | None = Field(description="re-evaluation − self-evaluation")


class LeafComparison(NodeComparison):
    name: str | None
    points: float | None = Field(description="the leaf's points in the self-evaluation")
    distorted: bool = Field(description="|difference| > leaf_share × points")


class EvaluationComparison(BaseModel):
    self_evaluation: EvaluationSummary
    reevaluation: EvaluationSummary
    kind_zh: str = Field(description="the re-evaluation's kind, in Chinese (部门评价 …)")
    kind_en: str
    total_difference: float | None = Field(description="re-evaluation − self-evaluation total")
    grade_changed: bool
    rule: DistortionRule
    distorted: bool = Field(description="自评失真: |total_difference| > rule.total_points")
    direction: Literal["overstated", "understated", "none"] = Field(
        description="overstated: the self-evaluation scored higher than the re-evaluation"
    )
    nodes: list[NodeComparison]
    leaves: list[LeafComparison]
    explanation_zh: str
    explanation_en: str
