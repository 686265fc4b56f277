"""The source format of the catalogue: pydantic models for the YAML documents in ``catalog/``.

Two document kinds:

* a **namespace** document (``namespace: health``): one library of indicator definitions and
  standards, owned by one bureau, versioned on its own;
* a **framework** document (``framework: PRJ-2020``): an indicator tree with points, grading
  bands, policies and rule variants, built against pinned namespace versions (``requires``).

Scalars are strict (a YAML ``true`` is never read as ``1.0``), unknown keys are errors. Rules
are data (``{"kind": KIND, **params}``, docs/scoring.md); their parameters are checked by
:func:`rule_problems`. Cross-document checks (parents, references, points) live in
``validation.py``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from indicator_service.core.errors import excerpt
from indicator_service.scoring.engine import DEFAULT_BANDS as ENGINE_DEFAULT_BANDS
from indicator_service.scoring.engine import qualitative_band_problems

# --- controlled vocabularies -------------------------------------------------------------------

#: Units a quantitative indicator or a standard may use (an unknown unit is an error).
UNITS: tuple[str, ...] = (
    "%",
    "‰",
    "元",
    "万元",
    "亿元",
    "人",
    "万人",
    "人次",
    "户",
    "km",
    "m",
    "m²",
    "个",
    "座",
    "所",
    "处",
    "条",
    "亩",
    "万亩",
    "kg",
    "t",
    "年",
    "月",
    "天",
    "小时",
    "次",
    "场",
    "期",
    "台",
    "件",
    "套",
    "项",
    "份",
    "μg/m³",
    "mg/L",
    "元/生·年",
    "元/亩",
    "元/台",
    "元/人",
    "元/人次",
    "元/km",
    "分",
)

#: Operators (计算符号) in their canonical spelling; ASCII spellings are normalised.
OPERATORS: tuple[str, ...] = ("≥", ">", "=", "<", "≤", "定性")
OPERATOR_ALIASES: dict[str, str] = {
    ">=": "≥",
    "<=": "≤",
    "==": "=",
    "qualitative": "定性",
    "≧": "≥",
    "≦": "≤",
}

#: Operator → default rule kind (docs/scoring.md).
OPERATOR_KIND: dict[str, str] = {
    "≥": "higher_better",
    ">": "higher_better",
    "=": "equal",
    "≤": "lower_better",
    "<": "lower_better",
    "定性": "qualitative",
}

STANDARD_TYPES: tuple[str, ...] = (
    "plan",
    "industry",
    "professional",
    "historical",
    "international",
    "budget_expenditure",
    "other",
)

VALUE_TYPES: tuple[str, ...] = ("quantitative", "qualitative", "quantitative_other")
COLLECTION_METHODS: tuple[str, ...] = (
    "direct_proof",
    "statistics",
    "written_statement",
    "survey",
    "inspection",
)
PROJECT_TYPES: tuple[str, ...] = (
    "purchase",
    "training",
    "meeting",
    "construction",
    "subsidy",
    "wage_guarantee",
    "service_purchase",
    "grant",
    "operation",
    "other",
)
MISSING_POLICIES: tuple[str, ...] = ("zero", "rebase", "reject")
SECTORS: tuple[str, ...] = (
    "health",
    "education",
    "agriculture_rural",
    "transport",
    "environment",
    "finance",
)
EFFICACY_LEVEL_NAMES: tuple[str, ...] = ("优秀", "良好", "平均", "较低", "较差")

# --- identifiers --------------------------------------------------------------------------------

#: ``1.2.3`` or ``1.2.3-draft`` (optionally ``-draft.2``).
VERSION_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-draft(\.[1-9]\d*)?)?$")
#: Indicator codes: ``PREFIX-CC-NNN`` with PREFIX the namespace's 3-letter prefix, CC a 2-digit
#: class and NNN a 3-digit sequence; sub-indicators append ``-NN`` (``HLT-01-001-01``).
INDICATOR_CODE_RE = re.compile(r"^[A-Z]{3}-\d{2}-\d{3}(-\d{2})*$")
NAMESPACE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
FRAMEWORK_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
NODE_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: GB/T 2260 administrative division codes: 6 digits; ``000000`` means national.
REGION_RE = re.compile(r"^\d{6}$")
NATIONAL = "000000"

Text = Annotated[StrictStr, Field(min_length=1, max_length=2000)]
ShortText = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def normalise_operator(value: str) -> str:
    """The canonical spelling of an operator; ``ValueError`` when it is unknown."""
    op = OPERATOR_ALIASES.get(value.strip(), value.strip())
    if op not in OPERATORS:
        raise ValueError(
            f"unknown operator {excerpt(value)}: expected one of {', '.join(OPERATORS)} "
            "(or >=, <=, qualitative)"
        )
    return op


def check_version(value: str) -> str:
    if not VERSION_RE.match(value):
        raise ValueError(f"invalid version {excerpt(value)}: expected MAJOR.MINOR.PATCH[-draft]")
    return value


def check_unit(value: str | None) -> str | None:
    if value is not None and value not in UNITS:
        raise ValueError(
            f"unknown unit {excerpt(value)}: see the controlled list in docs/catalogue.md"
        )
    return value


def check_region(value: str) -> str:
    if not REGION_RE.match(value):
        raise ValueError(f"invalid region code {excerpt(value)}: expected 6 digits (GB/T 2260)")
    return value


# --- rules --------------------------------------------------------------------------------------

_NUM = "number"
_OPT_NUM = "number or null"
RULE_PARAMS: dict[str, dict[str, tuple[str, bool]]] = {
    # kind → {param: (expected kind, required)}
    "higher_better": {},
    "equal": {},
    "lower_better": {"variant": ("linear|inverse", False)},
    "qualitative": {"levels": ("qualitative levels", False)},
    "budget_execution": {"cap": (_NUM, False), "warn_below": (_NUM, False)},
    "deduction": {
        "threshold": (_NUM, True),
        "per_unit": (_NUM, True),
        "direction": ("above|below", False),
    },
    "efficacy": {
        "levels": ("five numbers", False),
        "coefficients": ("five numbers", False),
        "below_bottom": ("bottom|zero", False),
    },
    "rank_table": {"points": ("list of numbers", True), "beyond": (_NUM, False)},
}
RULE_MODIFIERS: dict[str, tuple[str, bool]] = {
    "over_achievement_factor": (_OPT_NUM, False),
    "over_achievement_penalty": (_OPT_NUM, False),
}


def _is_num(v: Any) -> bool:
    if not isinstance(v, int | float) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an integer beyond the float range
        return False


def _qualitative_level_problems(levels: Any) -> list[str]:
    if not isinstance(levels, list) or not levels:
        return ["levels must be a non-empty list of {code, name_zh, name_en, min, max, default}"]
    out: list[str] = []
    keys = {"code", "name_zh", "name_en", "min", "max", "default"}
    for i, lv in enumerate(levels):
        if not isinstance(lv, dict) or set(lv) != keys:
            out.append(f"levels[{i}] must have exactly the keys {', '.join(sorted(keys))}")
            continue
        lo, hi, d = lv["min"], lv["max"], lv["default"]
        if not (_is_num(lo) and _is_num(hi) and _is_num(d)):
            out.append(f"levels[{i}]: min, max and default must be numbers")
        elif not (0 <= lo < hi <= 1 and lo <= d <= hi):
            out.append(f"levels[{i}]: need 0 ≤ min ≤ default ≤ max ≤ 1 and min < max")
    if not out:
        out.extend(qualitative_band_problems(levels))
    return out


# One model per rule kind (its parameters, their types and defaults): the typed form of a rule.
# Rules stay plain mappings in documents, requests and receipts (their hashes do not change);
# these models are what every rule is validated against first, so a parameter of the wrong
# type (a list as ``kind``, text as a number) is a validation problem and never reaches the
# checks below as something they cannot handle.


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    over_achievement_factor: Number | None = Field(
        default=None, description="超额完成 factor above the target (default: the engine's 1.0)"
    )
    over_achievement_penalty: Number | None = Field(
        default=None, description="penalty factor in (0, 1] for over-achievement"
    )


class HigherBetterRule(_RuleModel):
    kind: Literal["higher_better"]


class EqualRule(_RuleModel):
    kind: Literal["equal"]


class LowerBetterRule(_RuleModel):
    kind: Literal["lower_better"]
    variant: Literal["linear", "inverse"] | None = Field(
        default=None, description="default: the framework's rule_variants.lower_better, else linear"
    )


class QualitativeRule(_RuleModel):
    kind: Literal["qualitative"]
    levels: list[dict[str, Any]] | None = Field(
        default=None,
        description="{code, name_zh, name_en, min, max, default} per level (fractions 0–1); "
        "default: the framework's qualitative levels",
    )


class BudgetExecutionRule(_RuleModel):
    kind: Literal["budget_execution"]
    cap: Number = 1.0
    warn_below: Number = 0.9


class DeductionRule(_RuleModel):
    kind: Literal["deduction"]
    threshold: Number
    per_unit: Number
    direction: Literal["above", "below"] = "above"


FiveNumbers = Annotated[list[Number], Field(min_length=5, max_length=5)]


class EfficacyRule(_RuleModel):
    kind: Literal["efficacy"]
    levels: FiveNumbers | None = Field(default=None, description="优秀 … 较差, strictly monotonic")
    coefficients: FiveNumbers = [1.0, 0.8, 0.6, 0.4, 0.2]
    below_bottom: Literal["bottom", "zero"] = "bottom"


class RankTableRule(_RuleModel):
    kind: Literal["rank_table"]
    points: Annotated[list[Number], Field(min_length=1)]
    beyond: Number = 0.0


Rule = Annotated[
    HigherBetterRule
    | EqualRule
    | LowerBetterRule
    | QualitativeRule
    | BudgetExecutionRule
    | DeductionRule
    | EfficacyRule
    | RankTableRule,
    Field(discriminator="kind"),
]
"""A rule as typed data: a union discriminated by ``kind`` (one model per kind)."""
RULE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)


def rule_problems(rule: Any) -> list[str]:
    """Every problem of a rule mapping (empty when it is valid): first its shape against
    :data:`Rule` (types of the kind and of every parameter), then the checks across values."""
    if not isinstance(rule, dict):
        return ["a rule must be a mapping {kind: …, params…}"]
    kind = rule.get("kind")
    if not isinstance(kind, str) or kind not in RULE_PARAMS:
        return [f"unknown rule kind {excerpt(kind)}: expected one of {', '.join(RULE_PARAMS)}"]
    spec = {**RULE_PARAMS[kind], **RULE_MODIFIERS}
    bad: set[str] = set()
    missing: set[str] = set()
    unknown: set[str] = set()
    try:
        RULE_ADAPTER.validate_python(rule)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            name = str(err["loc"][1]) if len(err["loc"]) > 1 else ""
            if err["type"] == "extra_forbidden":
                unknown.add(name)
            elif err["type"] == "missing":
                missing.add(name)
            else:
                bad.add(name)
    out: list[str] = []
    for name in rule:
        if name in unknown:
            out.append(
                f"rule {kind}: unknown parameter {excerpt(name)} (allowed: {', '.join(spec)})"
            )
    for name, (expected, _required) in spec.items():
        if name in missing:
            out.append(f"rule {kind}: missing parameter {name!r} ({expected})")
        elif expected == "qualitative levels" and name in rule:
            out.extend(f"rule {kind}: {m}" for m in _qualitative_level_problems(rule[name]))
        elif name in bad:
            out.append(
                f"rule {kind}: parameter {name!r} must be {expected}, got {excerpt(rule[name])}"
            )
    if kind == "efficacy" and isinstance(rule.get("levels"), list) and not out:
        lv = rule["levels"]
        inc = all(a < b for a, b in itertools.pairwise(lv))
        dec = all(a > b for a, b in itertools.pairwise(lv))
        if not (inc or dec):
            out.append("rule efficacy: levels must be strictly monotonic (优秀 … 较差)")
    pen = rule.get("over_achievement_penalty")
    if isinstance(pen, int | float) and _is_num(pen) and not 0 < pen <= 1:
        out.append("over_achievement_penalty must be in (0, 1]")
    return out


def _checked_rule(value: dict[str, Any]) -> dict[str, Any]:
    problems = rule_problems(value)
    if problems:
        raise ValueError("; ".join(problems))
    return value


class _RuleJsonSchema:
    """Declares a rule field's JSON Schema as the :data:`Rule` union (the field itself keeps
    the mapping as sent, so documents, receipts and their hashes are unchanged)."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(RULE_ADAPTER.core_schema)


RuleData = Annotated[dict[str, Any], AfterValidator(_checked_rule), _RuleJsonSchema()]
"""A rule field of a request or document: a mapping validated as :data:`Rule` and then by
:func:`rule_problems` (one ``value_error`` listing every problem)."""


def default_rule(operator: str | None) -> dict[str, Any] | None:
    """The rule implied by an operator when an indicator gives none."""
    if operator is None:
        return None
    return {"kind": OPERATOR_KIND[operator]}


# --- shared pieces -------------------------------------------------------------------------------


class SourceModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _reject_nul(cls, value: Any) -> Any:
        return _no_nul(value)


class Tags(SourceModel):
    """Classification tags: 预算支出功能分类, GB/T 4754 industry class, project types."""

    budget_function: list[ShortText] = Field(default_factory=list)
    industry: list[ShortText] = Field(default_factory=list)
    project_types: list[ShortText] = Field(default_factory=list)

    @field_validator("project_types")
    @classmethod
    def _known_project_types(cls, value: list[str]) -> list[str]:
        for p in value:
            if p not in PROJECT_TYPES:
                raise ValueError(
                    f"unknown project type {excerpt(p)}: expected {', '.join(PROJECT_TYPES)}"
                )
        return value


class Validity(SourceModel):
    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Validity:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


# --- namespace documents -------------------------------------------------------------------------


class IndicatorDef(Validity):
    code: Annotated[StrictStr, Field(pattern=INDICATOR_CODE_RE.pattern)]
    name_zh: ShortText
    name_en: ShortText
    explanation: Text | None = None
    level: Annotated[StrictInt, Field(ge=1, le=4)] = 3
    parent: StrictStr | None = None
    class_l1: ShortText | None = Field(default=None, description="一级指标 class, e.g. 产出")
    class_l2: ShortText | None = Field(default=None, description="二级指标 class, e.g. 数量指标")
    value_type: Literal["quantitative", "qualitative", "quantitative_other"]
    operator: StrictStr | None = None
    unit: StrictStr | None = None
    formula: Text | None = None
    data_source: Text | None = None
    collection_method: (
        Literal["direct_proof", "statistics", "written_statement", "survey", "inspection"] | None
    ) = None
    rule: RuleData | None = None
    tags: Tags = Field(default_factory=Tags)
    region: StrictStr = NATIONAL
    provenance: Text | None = Field(
        default=None, description="where the definition comes from (document, or 'added')"
    )

    _op = field_validator("operator")(
        classmethod(lambda cls, v: None if v is None else normalise_operator(v))
    )
    _unit = field_validator("unit")(classmethod(lambda cls, v: check_unit(v)))
    _region = field_validator("region")(classmethod(lambda cls, v: check_region(v)))

    @model_validator(mode="after")
    def _consistent(self) -> IndicatorDef:
        if self.value_type == "quantitative":
            if self.unit is None:
                raise ValueError("a quantitative indicator needs a unit")
            if self.operator is None or self.operator == "定性":
                raise ValueError("a quantitative indicator needs a comparison operator")
        if self.value_type == "qualitative" and self.operator not in (None, "定性"):
            raise ValueError("a qualitative indicator takes the operator 定性 (or none)")
        if self.level == 1 and self.parent is not None:
            raise ValueError("a level-1 indicator has no parent")
        if self.level > 1 and self.parent is None and self.level != 3:
            raise ValueError("a level-2 or level-4 indicator needs a parent")
        return self

    def effective_rule(self) -> dict[str, Any] | None:
        """The default rule: the explicit one, else the operator's kind."""
        if self.rule is not None:
            return dict(self.rule)
        op = self.operator if self.value_type != "qualitative" else "定性"
        return default_rule(op)


class StandardDef(Validity):
    indicator: StrictStr
    type: Literal[
        "plan",
        "industry",
        "professional",
        "historical",
        "international",
        "budget_expenditure",
        "other",
    ]
    operator: StrictStr | None = None
    value: Number | None = None
    min: Number | None = None
    max: Number | None = None
    levels: list[Number] | None = Field(
        default=None, description="five values 优秀, 良好, 平均, 较低, 较差 (efficacy tables)"
    )
    unit: StrictStr | None = None
    region: StrictStr = NATIONAL
    fiscal_year: Annotated[StrictInt, Field(ge=1990, le=2100)] | None = None
    sector: StrictStr | None = None
    project_type: StrictStr | None = None
    derivation: Text | None = None
    source: Text

    _op = field_validator("operator")(
        classmethod(lambda cls, v: None if v is None else normalise_operator(v))
    )
    _unit = field_validator("unit")(classmethod(lambda cls, v: check_unit(v)))
    _region = field_validator("region")(classmethod(lambda cls, v: check_region(v)))

    @field_validator("project_type")
    @classmethod
    def _pt(cls, value: str | None) -> str | None:
        if value is not None and value not in PROJECT_TYPES:
            raise ValueError(f"unknown project type {excerpt(value)}")
        return value

    @model_validator(mode="after")
    def _one_value(self) -> StandardDef:
        has_value = self.value is not None
        has_range = self.min is not None or self.max is not None
        has_levels = self.levels is not None
        if has_value + has_range + has_levels != 1:
            raise ValueError("give exactly one of: value, a range (min/max), or five levels")
        if has_range and self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("range min is above max")
        if has_levels:
            lv = self.levels or []
            if len(lv) != 5:
                raise ValueError("levels needs five values: 优秀, 良好, 平均, 较低, 较差")
            inc = all(a < b for a, b in itertools.pairwise(lv))
            dec = all(a > b for a, b in itertools.pairwise(lv))
            if not (inc or dec):
                raise ValueError("levels must be strictly monotonic (优秀 … 较差)")
        return self

    def key(self) -> str:
        """The identity of a standard row inside a namespace version (used by diffs)."""
        return "|".join(
            str(x)
            for x in (
                self.indicator,
                self.type,
                self.region,
                self.fiscal_year or "",
                self.sector or "",
                self.project_type or "",
                self.valid_from or "",
            )
        )


class NamespaceDoc(SourceModel):
    namespace: Annotated[StrictStr, Field(pattern=NAMESPACE_RE.pattern)]
    kind: Literal["common", "sector"]
    sector: StrictStr | None = None
    code_prefix: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
    name_zh: ShortText
    name_en: ShortText
    owner: ShortText
    version: StrictStr
    description: Text | None = None
    indicators: list[IndicatorDef] = Field(default_factory=list)
    standards: list[StandardDef] = Field(default_factory=list)

    _version = field_validator("version")(classmethod(lambda cls, v: check_version(v)))

    @model_validator(mode="after")
    def _sector(self) -> NamespaceDoc:
        if self.kind == "sector" and self.sector not in SECTORS:
            raise ValueError(f"a sector namespace needs sector ∈ {', '.join(SECTORS)}")
        if self.kind == "common" and self.sector is not None:
            raise ValueError("the common namespace has no sector")
        return self


# --- framework documents -------------------------------------------------------------------------


class BandDef(SourceModel):
    grade: ShortText
    name_en: ShortText
    min: Number
    max: Number
    recommendation_zh: Text | None = None
    recommendation_en: Text | None = None


class Citation(SourceModel):
    """A public document: who issued it, its title, its number (文号) and the article."""

    issuer: ShortText
    title: ShortText
    number: ShortText | None = None
    article: ShortText | None = None
    url: ShortText | None = None
    note: Text | None = None


#: What each grade means for the budget unless a framework says otherwise: the wording of the
#: 2020 national rule on project evaluation for policies and projects (优、良: support as
#: appropriate; 中、差: improve the policy and its management, reduce the budget as
#: appropriate). The one default of grade consequences; frameworks name their own in YAML.
DEFAULT_CONSEQUENCES: dict[str, tuple[str, str]] = {
    "优": ("根据情况予以支持", "support as appropriate"),
    "良": ("根据情况予以支持", "support as appropriate"),
    "中": (
        "完善政策、改进管理，根据情况核减预算",
        "improve the policy and its management; reduce the budget as appropriate",
    ),
    "差": (
        "完善政策、改进管理，根据情况核减预算",
        "improve the policy and its management; reduce the budget as appropriate",
    ),
}
DEFAULT_CONSEQUENCES_SOURCE: dict[str, Any] = {
    "issuer": "财政部",
    "title": "项目支出绩效评价管理办法",
    "number": "财预〔2020〕10号",
    "article": "第三十八条（评价结果应用）",
    "note": "article number to be checked against the published text",
}
DEFAULT_BANDS: tuple[dict[str, Any], ...] = tuple(
    {
        "grade": b.grade,
        "name_en": b.name_en,
        "min": b.min,
        "max": b.max,
        "recommendation_zh": DEFAULT_CONSEQUENCES[b.grade][0],
        "recommendation_en": DEFAULT_CONSEQUENCES[b.grade][1],
    }
    for b in ENGINE_DEFAULT_BANDS
)


class RuleVariants(SourceModel):
    lower_better: Literal["linear", "inverse"] = "linear"
    qualitative_levels: list[dict[str, Any]] | None = None

    @field_validator("qualitative_levels")
    @classmethod
    def _levels(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if value is not None:
            problems = _qualitative_level_problems(value)
            if problems:
                raise ValueError("; ".join(problems))
        return value


class PointsConstraint(SourceModel):
    """``nodes`` together weigh at least ``min`` points (e.g. 产出 + 效益 ≥ 60)."""

    nodes: list[ShortText] = Field(min_length=1)
    min: Number
    note: Text | None = None


class NodeDef(SourceModel):
    code: Annotated[StrictStr, Field(pattern=NODE_CODE_RE.pattern)]
    parent: StrictStr | None = None
    level: Annotated[StrictInt, Field(ge=1, le=4)]
    name_zh: ShortText
    name_en: ShortText
    points: Annotated[float, Field(strict=True, ge=0, le=100, allow_inf_nan=False)]
    open: StrictBool = False
    indicator: StrictStr | None = None
    rule: RuleData | None = None
    target: Number | None = None
    standard_type: (
        Literal[
            "plan",
            "industry",
            "professional",
            "historical",
            "international",
            "budget_expenditure",
            "other",
        ]
        | None
    ) = None
    note: Text | None = None

    @model_validator(mode="after")
    def _shape(self) -> NodeDef:
        if self.level == 1 and self.parent is not None:
            raise ValueError("a level-1 node has no parent")
        if self.level > 1 and self.parent is None:
            raise ValueError(f"a level-{self.level} node needs a parent")
        if self.open and self.indicator is not None:
            raise ValueError("an open class node cannot reference an indicator")
        return self


class FrameworkDoc(SourceModel):
    framework: Annotated[StrictStr, Field(pattern=FRAMEWORK_CODE_RE.pattern, max_length=40)]
    name_zh: ShortText
    name_en: ShortText
    kind: Literal[
        "project", "self_evaluation", "department_overall", "policy", "fiscal_budget", "other"
    ]
    version: StrictStr
    description: Text | None = None
    requires: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    bands: list[BandDef] = Field(default_factory=lambda: [BandDef(**b) for b in DEFAULT_BANDS])
    # the document that gives the bands' consequences (recommendation_zh/en); a framework
    # without bands of its own gets the default bands and this default source
    consequences_source: Citation | None = None
    missing_policy: Literal["zero", "rebase", "reject"] = "zero"
    not_applicable_policy: Literal["rebase"] = "rebase"
    rule_variants: RuleVariants = Field(default_factory=RuleVariants)
    constraints: list[PointsConstraint] = Field(default_factory=list)
    nodes: list[NodeDef] = Field(min_length=1)

    _version = field_validator("version")(classmethod(lambda cls, v: check_version(v)))

    @model_validator(mode="before")
    @classmethod
    def _default_consequences(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "bands" not in data and "consequences_source" not in data:
            data = {**data, "consequences_source": DEFAULT_CONSEQUENCES_SOURCE}
        return data

    @field_validator("requires")
    @classmethod
    def _requires(cls, value: dict[str, str]) -> dict[str, str]:
        for ns, v in value.items():
            check_version(v)
            if v.endswith("-draft") or "-draft." in v:
                raise ValueError(f"requires {ns}: a framework must pin a published version")
        return value
