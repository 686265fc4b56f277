"""Target-review rules as data (绩效目标审核): what a framework expects of a project's target
table and how the findings turn into a verdict (docs/targets.md).

A framework that reviews targets carries a ``target_review`` block in its catalogue document
(``catalog/frameworks/*.yaml``); every field left out takes the default below, which is stated
here and nowhere else. The catalogue validates the block with this model
(``catalogue.source.FrameworkDoc``) and checks its classes against the framework's nodes; the
review core (``indicator_service.targets.review``) reads the validated model.

Imports the standard library, pydantic and the message catalog (core/i18n.py) only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from indicator_service.core.i18n import _

#: The standard types (catalogue vocabulary; ``standards.resolve.STANDARD_TYPES``).
StandardType = Literal[
    "plan", "industry", "professional", "historical", "international", "budget_expenditure", "other"
]
#: What a finding weighs in the verdict: ``major`` and ``minor`` count, ``note`` asks a
#: reviewer to look and does not count.
Severity = Literal["major", "minor", "note"]
#: Every kind of finding the review makes, by criterion (docs/targets.md).
FINDING_CODES: tuple[str, ...] = (
    "missing_class",  # 完整性: an expected class has no row
    "not_quantitative",  # 完整性: an expected class has no quantitative row
    "free_text",  # 相关性: a row linked to no library indicator
    "below_standard",  # 适当性: 偏低 against a historical or industry standard
    "above_standard",  # 适当性: 偏高, far beyond the standards
    "unit_mismatch",  # 适当性: the row's unit cannot be converted to the library's
    "over_budget",  # 可行性: a total-cost target above the budget
    "above_cost_standard",  # 可行性: a cost target above its cost (budget expenditure) standard
)
FindingCode = Literal[
    "missing_class",
    "not_quantitative",
    "free_text",
    "below_standard",
    "above_standard",
    "unit_mismatch",
    "over_budget",
    "above_cost_standard",
]
VERDICTS: dict[str, str] = {
    "pass": "通过",
    "revise": "修改后通过",
    "reject": "不予通过",
}
VERDICTS_EN: dict[str, str] = {
    "pass": "approved",
    "revise": "approved after revision",
    "reject": "not approved",
}

ClassName = Annotated[StrictStr, Field(min_length=1, max_length=40)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def class_key(name: str | None) -> str:
    """A class name as compared: without spaces and a trailing 指标 (``产出指标`` = ``产出``,
    ``数量指标`` = ``数量``, ``社会效益指标`` = ``社会效益``)."""
    if not name:
        return ""
    s = "".join(name.split())
    return s[: -len("指标")] if s.endswith("指标") and len(s) > 2 else s


class ExpectedClass(_Model):
    """A class every target table must fill: a level-1 class, or a level-2 class within it."""

    class_l1: ClassName = Field(description="level-1 class (产出, 效益, 满意度, 成本 …)")
    class_l2: ClassName | None = Field(
        default=None, description="level-2 class within it (数量, 质量, 时效, 成本); none: any"
    )
    name_en: Annotated[StrictStr, Field(min_length=1, max_length=80)]
    quantitative: StrictBool = Field(
        default=False, description="at least one quantitative row is expected in the class"
    )

    @property
    def label_zh(self) -> str:
        return class_key(self.class_l1) + (
            f"—{class_key(self.class_l2)}" if self.class_l2 is not None else ""
        )


def _default_classes() -> list[ExpectedClass]:
    # 财预〔2020〕10号 附件2 and the 绩效目标申报表: 产出 (数量, 质量, 时效, 成本), 效益, 满意度;
    # quantity, quality, cost and satisfaction are measured (quantitative) in the national forms.
    return [
        ExpectedClass(
            class_l1="产出", class_l2="数量", name_en="Output: quantity", quantitative=True
        ),
        ExpectedClass(
            class_l1="产出", class_l2="质量", name_en="Output: quality", quantitative=True
        ),
        ExpectedClass(class_l1="产出", class_l2="时效", name_en="Output: timeliness"),
        ExpectedClass(class_l1="产出", class_l2="成本", name_en="Output: cost", quantitative=True),
        ExpectedClass(class_l1="效益", name_en="Benefit"),
        ExpectedClass(class_l1="满意度", name_en="Satisfaction", quantitative=True),
    ]


def _types(*names: StandardType) -> list[StandardType]:
    return list(names)


def _default_severity() -> dict[FindingCode, Severity]:
    return {
        "missing_class": "major",
        "not_quantitative": "minor",
        "free_text": "note",
        "below_standard": "major",
        "above_standard": "minor",
        "unit_mismatch": "major",
        "over_budget": "major",
        "above_cost_standard": "minor",
    }


class VerdictRules(_Model):
    """不予通过 when the major findings reach ``reject_majors``; otherwise 修改后通过 when the
    counted findings (major and minor) reach ``revise_findings``; otherwise 通过."""

    reject_majors: Annotated[int, Field(strict=True, ge=1, le=100)] = 3
    revise_findings: Annotated[int, Field(strict=True, ge=1, le=100)] = 1


class TargetReviewRules(_Model):
    """A framework's target-review rules. Defaults: the classes of the national 申报表, 偏低
    below a historical or industry standard, 偏高 above 1.5 × the largest standard, cost checked
    against the budget and budget-expenditure standards, 不予通过 at 3 major findings."""

    expected_classes: list[ExpectedClass] = Field(
        default_factory=_default_classes, min_length=1, max_length=40
    )
    low_against: list[StandardType] = Field(
        default_factory=lambda: _types("historical", "industry"),
        min_length=1,
        description="a target less ambitious than a standard of these types is 偏低",
    )
    high_against: list[StandardType] = Field(
        default_factory=lambda: _types("plan", "industry", "historical"),
        min_length=1,
        description="a target beyond far_above_factor × every standard of these types is 偏高",
    )
    far_above_factor: Annotated[float, Field(strict=True, gt=1, le=100, allow_inf_nan=False)] = 1.5
    cost_standard_types: list[StandardType] = Field(
        default_factory=lambda: _types("budget_expenditure"),
        min_length=1,
        description="standards a cost target must not exceed",
    )
    cost_classes: list[ClassName] = Field(
        default_factory=lambda: ["成本"],
        min_length=1,
        description="rows of a class (level 1 or 2) of these names are cost indicators",
    )
    severity: dict[FindingCode, Severity] = Field(default_factory=_default_severity)
    verdict: VerdictRules = Field(default_factory=VerdictRules)

    @model_validator(mode="after")
    def _check(self) -> TargetReviewRules:
        seen: set[tuple[str, str]] = set()
        for c in self.expected_classes:
            key = (class_key(c.class_l1), class_key(c.class_l2))
            if key in seen:
                raise ValueError(_("expected_classes: {label} is listed twice", label=c.label_zh))
            seen.add(key)
        for name, types in (
            ("low_against", self.low_against),
            ("high_against", self.high_against),
            ("cost_standard_types", self.cost_standard_types),
        ):
            if len(set(types)) != len(types):
                raise ValueError(_("{name} lists a standard type twice", name=name))
        return self

    def severity_of(self, code: str) -> Severity:
        """A finding's severity: the framework's, else the default."""
        given = self.severity.get(code)  # type: ignore[call-overload]
        return given if given is not None else _default_severity()[code]  # type: ignore[index]

    def verdict_of(self, majors: int, minors: int) -> str:
        """``pass``, ``revise`` or ``reject`` (:data:`VERDICTS`) for the counted findings."""
        if majors >= self.verdict.reject_majors:
            return "reject"
        if majors + minors >= self.verdict.revise_findings:
            return "revise"
        return "pass"
