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
import re
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
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

from indicator_service.catalogue.policies import DEFAULT_REEVALUATION as DEFAULT_REEVALUATION
from indicator_service.catalogue.policies import MonitoringRules as MonitoringRules
from indicator_service.catalogue.policies import ReevaluationRules as ReevaluationRules
from indicator_service.catalogue.terms import COLLECTION_METHODS as COLLECTION_METHODS
from indicator_service.catalogue.terms import PROJECT_TYPES as PROJECT_TYPES
from indicator_service.catalogue.terms import SECTORS as SECTORS
from indicator_service.catalogue.terms import STANDARD_TYPES as STANDARD_TYPES

# the controlled vocabularies live in catalogue/terms.py (re-exported here)
from indicator_service.catalogue.terms import UNITS as UNITS
from indicator_service.catalogue.terms import VALUE_TYPES as VALUE_TYPES
from indicator_service.core.errors import excerpt
from indicator_service.core.i18n import _
from indicator_service.rules.kinds import (
    RULE_MODELS,
    RULE_VALUE_ERROR,
    Number,
    Rule,
    default_rule,
    expected_value,
    qualitative_level_problems,
    rule_parameters,
)
from indicator_service.rules.review import TargetReviewRules, class_key
from indicator_service.rules.vocabulary import DEFAULT_BANDS as ENGINE_DEFAULT_BANDS
from indicator_service.rules.vocabulary import (
    DEFAULT_QUALITATIVE_LEVELS,
    OPERATOR_ALIASES,
    OPERATORS,
)

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


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(_("NUL characters are not allowed"))
    return value


def normalise_operator(value: str) -> str:
    """The canonical spelling of an operator; ``ValueError`` when it is unknown."""
    op = OPERATOR_ALIASES.get(value.strip(), value.strip())
    if op not in OPERATORS:
        raise ValueError(
            _(
                "unknown operator {value}: expected one of {operators} (or >=, <=, qualitative)",
                value=excerpt(value),
                operators=", ".join(OPERATORS),
            )
        )
    return op


def check_version(value: str) -> str:
    if not VERSION_RE.match(value):
        raise ValueError(
            _("invalid version {value}: expected MAJOR.MINOR.PATCH[-draft]", value=excerpt(value))
        )
    return value


def check_unit(value: str | None) -> str | None:
    if value is not None and value not in UNITS:
        raise ValueError(
            _(
                "unknown unit {value}: see the controlled list in docs/catalogue.md",
                value=excerpt(value),
            )
        )
    return value


def check_region(value: str) -> str:
    if not REGION_RE.match(value):
        raise ValueError(
            _("invalid region code {value}: expected 6 digits (GB/T 2260)", value=excerpt(value))
        )
    return value


# --- rules --------------------------------------------------------------------------------------

#: The rule models (one per kind) are defined once in :mod:`indicator_service.rules.kinds`.
RULE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)


def rule_problems(rule: Any) -> list[str]:
    """Every problem of a rule mapping (empty when it is valid), validated against :data:`Rule`
    (the kind, every parameter's type, the checks across values) and told in words."""
    if not isinstance(rule, dict):
        return ["a rule must be a mapping {kind: …, params…}"]
    kind = rule.get("kind")
    if not isinstance(kind, str) or kind not in RULE_MODELS:
        return [f"unknown rule kind {excerpt(kind)}: expected one of {', '.join(RULE_MODELS)}"]
    params = rule_parameters(kind)
    bad: set[str] = set()
    missing: set[str] = set()
    unknown: set[str] = set()
    across: list[str] = []
    try:
        RULE_ADAPTER.validate_python(rule)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            name = str(err["loc"][1]) if len(err["loc"]) > 1 else ""
            if err["type"] == RULE_VALUE_ERROR and not name:
                across.extend(err["ctx"]["problems"])
            elif err["type"] == "extra_forbidden":
                unknown.add(name)
            elif err["type"] == "missing":
                missing.add(name)
            else:
                bad.add(name)
    out: list[str] = []
    for name in rule:
        if name in unknown:
            out.append(
                f"rule {kind}: unknown parameter {excerpt(name)} (allowed: {', '.join(params)})"
            )
    for name, field in params.items():
        expected = expected_value(field)
        if name in missing:
            out.append(f"rule {kind}: missing parameter {name!r} ({expected})")
        elif expected == "qualitative levels" and name in bad:
            out.extend(f"rule {kind}: {m}" for m in qualitative_level_problems(rule[name]))
        elif name in bad:
            out.append(
                f"rule {kind}: parameter {name!r} must be {expected}, got {excerpt(rule[name])}"
            )
    return out + across


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
                    _(
                        "unknown project type {p}: expected {project_types}",
                        p=excerpt(p),
                        project_types=", ".join(PROJECT_TYPES),
                    )
                )
        return value


#: Text a citation may not contain: the project's own notes are not a public document.
PROJECT_NOTES_RE = re.compile(r"domain\.md|§\s*7")


class Citation(SourceModel):
    """A public document cited as the source of an indicator, standard, namespace or framework:
    title, issuer, 文号 (``doc_number``, optional), year, section (optional), url (optional)."""

    title: ShortText
    issuer: ShortText
    doc_number: ShortText | None = Field(default=None, description="文号, e.g. 财预〔2020〕10号")
    year: Annotated[StrictInt, Field(ge=1949, le=2100)] | None = Field(
        default=None,
        description="year issued; required unless the document is still to be "
        "identified (then ``note`` says what is missing)",
    )
    section: ShortText | None = Field(default=None, description="article, chapter or table")
    url: Annotated[StrictStr, Field(max_length=500, pattern=r"^https?://\S+$")] | None = None
    note: Text | None = Field(default=None, description="what remains to be checked")

    @model_validator(mode="after")
    def _dated_or_noted(self) -> Citation:
        if self.year is None and not self.note:
            raise ValueError(
                _("a citation needs its year (or a note saying what is not yet known)")
            )
        return self

    def label(self) -> str:
        """One line for sheets and receipts: ``title（issuer 文号, year）section``."""
        who = " ".join(x for x in (self.issuer, self.doc_number) if x)
        text = f"{self.title}（{', '.join(x for x in (who, str(self.year or '')) if x)}）"
        return f"{text} {self.section}" if self.section else text


def citation_label(source: Any) -> str | None:
    """The one-line form of a stored citation (a mapping or :class:`Citation`); ``None`` for
    ``None``. A plain string (documents stored before citations) is returned as it is."""
    if source is None:
        return None
    if isinstance(source, str):
        return source
    if isinstance(source, Citation):
        return source.label()
    if isinstance(source, dict):
        try:
            # The same few citations in every receipt (a framework's consequences source):
            # validated once per distinct content (≈ 4 µs each time otherwise).
            return _stored_label(tuple(source.items()))
        except TypeError:  # a value that cannot be hashed (not a citation's)
            pass
    return _label_of(source)


@lru_cache(maxsize=256)
def _stored_label(items: tuple[tuple[Any, Any], ...]) -> str:
    return _label_of(dict(items))


def _label_of(source: Any) -> str:
    try:
        return Citation.model_validate(source).label()
    except ValueError:
        return str(source)


class Validity(SourceModel):
    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Validity:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(_("valid_to is before valid_from"))
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
    source: Citation | None = Field(
        default=None, description="the public document the definition comes from"
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
                raise ValueError(_("a quantitative indicator needs a unit"))
            if self.operator is None or self.operator == "定性":
                raise ValueError(_("a quantitative indicator needs a comparison operator"))
        if self.value_type == "qualitative" and self.operator not in (None, "定性"):
            raise ValueError(_("a qualitative indicator takes the operator 定性 (or none)"))
        if self.level == 1 and self.parent is not None:
            raise ValueError(_("a level-1 indicator has no parent"))
        if self.level > 1 and self.parent is None and self.level != 3:
            raise ValueError(_("a level-2 or level-4 indicator needs a parent"))
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
    source: Citation | None = None
    illustrative: StrictBool = Field(
        default=False,
        description="no public document gives this value: never chosen by resolution unless "
        "the caller asks (include_illustrative)",
    )

    _op = field_validator("operator")(
        classmethod(lambda cls, v: None if v is None else normalise_operator(v))
    )
    _unit = field_validator("unit")(classmethod(lambda cls, v: check_unit(v)))
    _region = field_validator("region")(classmethod(lambda cls, v: check_region(v)))

    @field_validator("project_type")
    @classmethod
    def _pt(cls, value: str | None) -> str | None:
        if value is not None and value not in PROJECT_TYPES:
            raise ValueError(_("unknown project type {value}", value=excerpt(value)))
        return value

    @model_validator(mode="after")
    def _one_value(self) -> StandardDef:
        if self.source is None and not self.illustrative:
            raise ValueError(
                _(
                    "a standard needs a source (a public document: "
                    "title, issuer, year …); a value no "
                    "document gives is marked illustrative: true with a derivation"
                )
            )
        if self.illustrative and self.derivation is None:
            raise ValueError(_("an illustrative standard needs a derivation (how it was made)"))
        has_value = self.value is not None
        has_range = self.min is not None or self.max is not None
        has_levels = self.levels is not None
        if has_value + has_range + has_levels != 1:
            raise ValueError(_("give exactly one of: value, a range (min/max), or five levels"))
        if has_range and self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(_("range min is above max"))
        if has_levels:
            lv = self.levels or []
            if len(lv) != 5:
                raise ValueError(_("levels needs five values: 优秀, 良好, 平均, 较低, 较差"))
            inc = all(a < b for a, b in itertools.pairwise(lv))
            dec = all(a > b for a, b in itertools.pairwise(lv))
            if not (inc or dec):
                raise ValueError(_("levels must be strictly monotonic (优秀 … 较差)"))
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
    source: Citation | None = None
    indicators: list[IndicatorDef] = Field(default_factory=list)
    standards: list[StandardDef] = Field(default_factory=list)

    _version = field_validator("version")(classmethod(lambda cls, v: check_version(v)))

    @model_validator(mode="after")
    def _sector(self) -> NamespaceDoc:
        if self.kind == "sector" and self.sector not in SECTORS:
            raise ValueError(
                _("a sector namespace needs sector ∈ {sectors}", sectors=", ".join(SECTORS))
            )
        if self.kind == "common" and self.sector is not None:
            raise ValueError(_("the common namespace has no sector"))
        return self


# --- framework documents -------------------------------------------------------------------------


class BandDef(SourceModel):
    grade: ShortText
    name_en: ShortText
    min: Number
    max: Number
    recommendation_zh: Text | None = None
    recommendation_en: Text | None = None


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
    "title": "项目支出绩效评价管理办法",
    "issuer": "财政部",
    "doc_number": "财预〔2020〕10号",
    "year": 2020,
    "section": "第三十八条（评价结果应用）",
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
            problems = qualitative_level_problems(value)
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
    target_is_minimum: StrictBool = Field(
        default=False,
        description="the framework's target is a floor: a project's declared target at or "
        "above it is used instead (e.g. 满意度 ≥ 90, a project declaring ≥ 95)",
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
        ]
        | None
    ) = None
    note: Text | None = None

    @model_validator(mode="after")
    def _shape(self) -> NodeDef:
        if self.level == 1 and self.parent is not None:
            raise ValueError(_("a level-1 node has no parent"))
        if self.level > 1 and self.parent is None:
            raise ValueError(_("a level-{level} node needs a parent", level=self.level))
        if self.open and self.indicator is not None:
            raise ValueError(_("an open class node cannot reference an indicator"))
        if self.target_is_minimum and self.target is None:
            raise ValueError(_("target_is_minimum needs the node's target (the minimum)"))
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
    source: Citation | None = None
    requires: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    standard_precedence: list[StrictStr] | None = Field(
        default=None,
        description="standard types in the order `auto` resolution tries them "
        "(default plan → industry → professional → historical)",
    )
    bands: list[BandDef] = Field(default_factory=lambda: [BandDef(**b) for b in DEFAULT_BANDS])
    # the document that gives the bands' consequences (recommendation_zh/en); a framework
    # without bands of its own gets the default bands and this default source
    consequences_source: Citation | None = None
    missing_policy: Literal["zero", "rebase", "reject"] = "zero"
    not_applicable_policy: Literal["rebase"] = "rebase"
    rule_variants: RuleVariants = Field(default_factory=RuleVariants)
    constraints: list[PointsConstraint] = Field(default_factory=list)
    level_synonyms: dict[ShortText, list[ShortText]] | None = Field(
        default=None,
        description="words written in a form's 实际完成值 for each qualitative level code "
        "(达成, 部分达成, 好, 较差 …): read by the form reader (indicator_service/forms)",
    )
    monitoring: MonitoringRules | None = Field(
        default=None,
        description="thresholds of in-year monitoring (absent: the defaults of MonitoringRules)",
    )
    target_review: TargetReviewRules | None = Field(
        default=None,
        description="how a project's target table is reviewed under this framework (绩效目标审核, "
        "docs/targets.md); fields left out take the defaults of rules.review",
    )
    reevaluation: ReevaluationRules | None = Field(
        default=None,
        description="when a re-evaluation finds a self-evaluation under this framework "
        "distorted (自评失真); absent: DEFAULT_REEVALUATION",
    )
    nodes: list[NodeDef] = Field(min_length=1)

    @model_validator(mode="after")
    def _review_classes(self) -> FrameworkDoc:
        """Every class the target review expects is a node of the framework: a level-1 node
        and, when given, a level-2 node under it (names compared without 指标)."""
        if self.target_review is None:
            return self
        level1 = {class_key(n.name_zh): n.code for n in self.nodes if n.level == 1}
        children: dict[str, set[str]] = {}
        for n in self.nodes:
            if n.level == 2 and n.parent is not None:
                children.setdefault(n.parent, set()).add(class_key(n.name_zh))
        for i, c in enumerate(self.target_review.expected_classes):
            code = level1.get(class_key(c.class_l1))
            if code is None:
                raise ValueError(
                    _(
                        "target_review.expected_classes[{i}]: {name!r} is not a level-1 node "
                        "of the framework ({codes})",
                        i=i,
                        name=c.class_l1,
                        codes=", ".join(sorted(level1)),
                    )
                )
            if c.class_l2 is not None and class_key(c.class_l2) not in children.get(code, set()):
                raise ValueError(
                    _(
                        "target_review.expected_classes[{i}]: {name!r} is not a level-2 node "
                        "under {parent!r}",
                        i=i,
                        name=c.class_l2,
                        parent=c.class_l1,
                    )
                )
        return self

    @model_validator(mode="after")
    def _synonyms(self) -> FrameworkDoc:
        if self.level_synonyms is None:
            return self
        levels = self.rule_variants.qualitative_levels or DEFAULT_QUALITATIVE_LEVELS
        codes = {str(lv["code"]) for lv in levels}
        seen: dict[str, str] = {}
        for code, words in self.level_synonyms.items():
            if code not in codes:
                raise ValueError(
                    _(
                        "level_synonyms: {code!r} is not a qualitative level code ({codes})",
                        code=code,
                        codes=", ".join(sorted(codes)),
                    )
                )
            for w in words:
                key = w.strip()
                if not key:
                    raise ValueError(_("level_synonyms.{code}: an empty word", code=code))
                if key in seen and seen[key] != code:
                    raise ValueError(
                        _(
                            "level_synonyms: {key!r} is given for both {seen} and {code}",
                            key=key,
                            seen=seen[key],
                            code=code,
                        )
                    )
                seen[key] = code
        return self

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
                raise ValueError(
                    _("requires {ns}: a framework must pin a published version", ns=ns)
                )
        return value

    @field_validator("standard_precedence")
    @classmethod
    def _precedence(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if not value:
            raise ValueError(_("standard_precedence needs at least one standard type"))
        for t in value:
            if t not in STANDARD_TYPES:
                raise ValueError(
                    _(
                        "unknown standard type {t!r} in "
                        "standard_precedence: expected {standard_types}",
                        t=t,
                        standard_types=", ".join(STANDARD_TYPES),
                    )
                )
        if len(set(value)) != len(value):
            raise ValueError(_("standard_precedence lists a type twice"))
        return value
