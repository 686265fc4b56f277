"""Rule kinds as data: one pydantic model per kind (its parameters, their types, defaults and
the checks across their values), the :data:`Rule` union discriminated by ``kind``, and the rule
an operator implies (docs/scoring.md, "Rules").

Rules stay plain mappings in documents, requests and receipts (their hashes do not change);
these models are what every rule is validated against: the catalogue's validation
(``catalogue.source.rule_problems``), the scoring requests and the OpenAPI schema all use them.
The engine (:mod:`indicator_service.rules.tree`) reads the validated mapping.

Imports the standard library and pydantic only.
"""

from __future__ import annotations

import itertools
import math
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from indicator_service.core.i18n import _
from indicator_service.rules.tree import qualitative_band_problems
from indicator_service.rules.vocabulary import DEFAULT_EFFICACY_COEFFICIENTS, operator_kind

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A finite number; strict, so that ``true`` is never read as 1.0."""

#: The error type of a problem across a rule's values; ``ctx["problems"]`` lists them.
RULE_VALUE_ERROR = "rule_value"


def rule_value_error(problems: list[str]) -> PydanticCustomError:
    """The validation error of a rule's value problems (one error carrying the list)."""
    return PydanticCustomError(
        RULE_VALUE_ERROR, "{detail}", {"detail": "; ".join(problems), "problems": problems}
    )


def is_number(v: Any) -> bool:
    """A finite int or float (not a bool)."""
    if not isinstance(v, int | float) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an integer beyond the float range
        return False


#: The keys of one qualitative level.
QUALITATIVE_LEVEL_KEYS = frozenset({"code", "name_zh", "name_en", "min", "max", "default"})


def qualitative_level_problems(levels: Any) -> list[str]:
    """Every problem of a list of qualitative levels (empty when valid): each level's keys and
    fractions ``0 ≤ min ≤ default ≤ max ≤ 1``, then the levels together (distinct codes, bands
    that do not overlap)."""
    if not isinstance(levels, list) or not levels:
        return ["levels must be a non-empty list of {code, name_zh, name_en, min, max, default}"]
    out: list[str] = []
    for i, lv in enumerate(levels):
        if not isinstance(lv, dict) or set(lv) != QUALITATIVE_LEVEL_KEYS:
            keys = ", ".join(sorted(QUALITATIVE_LEVEL_KEYS))
            out.append(f"levels[{i}] must have exactly the keys {keys}")
            continue
        lo, hi, d = lv["min"], lv["max"], lv["default"]
        if not (is_number(lo) and is_number(hi) and is_number(d)):
            out.append(f"levels[{i}]: min, max and default must be numbers")
        elif not (0 <= lo < hi <= 1 and lo <= d <= hi):
            out.append(f"levels[{i}]: need 0 ≤ min ≤ default ≤ max ≤ 1 and min < max")
    if not out:
        out.extend(qualitative_band_problems(levels))
    return out


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    over_achievement_factor: Number | None = Field(
        default=None, description="超额完成 factor above the target (default: the engine's 1.0)"
    )
    over_achievement_penalty: Number | None = Field(
        default=None, description="penalty factor in (0, 1] for over-achievement"
    )

    def value_problems(self) -> list[str]:
        """Problems across parameter values (each parameter's type is already valid)."""
        return []

    @model_validator(mode="after")
    def _values(self) -> _RuleModel:
        problems = self.value_problems()
        pen = self.over_achievement_penalty
        if pen is not None and not 0 < pen <= 1:
            problems.append(_("over_achievement_penalty must be in (0, 1]"))
        if problems:
            raise rule_value_error(problems)
        return self


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

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        problems = [] if value is None else qualitative_level_problems(value)
        if problems:
            raise rule_value_error(problems)
        return value


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
    coefficients: FiveNumbers = list(DEFAULT_EFFICACY_COEFFICIENTS)
    below_bottom: Literal["bottom", "zero"] = "bottom"

    def value_problems(self) -> list[str]:
        lv = self.levels
        if lv is None:
            return []
        inc = all(a < b for a, b in itertools.pairwise(lv))
        dec = all(a > b for a, b in itertools.pairwise(lv))
        return (
            [] if inc or dec else ["rule efficacy: levels must be strictly monotonic (优秀 … 较差)"]
        )


class RankTableRule(_RuleModel):
    kind: Literal["rank_table"]
    points: Annotated[list[Number], Field(min_length=1)]
    beyond: Number = 0.0


Measure = Literal["relative", "absolute"]


def _not_negative(kind: str, **values: float) -> list[str]:
    return [f"rule {kind}: parameter {name!r} must be ≥ 0" for name, v in values.items() if v < 0]


class TwoSidedRule(_RuleModel):
    kind: Literal["two_sided"]
    tolerance: Number = Field(
        default=0.0, description="full marks while the deviation |a − t| / t ≤ tolerance (%)"
    )
    zero_at: Number = Field(default=100.0, description="deviation (%) at which the score is 0")

    def value_problems(self) -> list[str]:
        if self.tolerance < 0 or self.zero_at <= self.tolerance:
            return ["rule two_sided: need 0 ≤ tolerance < zero_at (percent deviations)"]
        return []


class BandRule(_RuleModel):
    kind: Literal["band"]
    band: Number = Field(description="± band with full marks (percent of t, or absolute)")
    per_point: Number = Field(description="points deducted per point beyond the band")
    measure: Measure = "relative"

    def value_problems(self) -> list[str]:
        return _not_negative(self.kind, band=self.band, per_point=self.per_point)


class StepDeductionRule(_RuleModel):
    kind: Literal["step_deduction"]
    step: Number = Field(description="size of one step (percent of t, or absolute)")
    per_step: Number = Field(description="points deducted per whole step")
    direction: Literal["above", "below"] = "below"
    measure: Measure = "relative"

    def value_problems(self) -> list[str]:
        out = _not_negative(self.kind, per_step=self.per_step)
        if self.step <= 0:
            out.append("rule step_deduction: parameter 'step' must be > 0")
        return out


Rule = Annotated[
    HigherBetterRule
    | EqualRule
    | LowerBetterRule
    | QualitativeRule
    | BudgetExecutionRule
    | DeductionRule
    | EfficacyRule
    | RankTableRule
    | TwoSidedRule
    | BandRule
    | StepDeductionRule,
    Field(discriminator="kind"),
]
"""A rule as typed data: a union discriminated by ``kind`` (one model per kind)."""
RULE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)


#: Rule kind → its model.
RULE_MODELS: dict[str, type[_RuleModel]] = {
    typing.get_args(m.model_fields["kind"].annotation)[0]: m
    for m in typing.get_args(typing.get_args(Rule)[0])
}
#: Parameters every rule kind accepts (modifiers of the score).
RULE_MODIFIERS: tuple[str, ...] = tuple(_RuleModel.model_fields)


def rule_parameters(kind: str) -> dict[str, FieldInfo]:
    """The parameters of a rule kind, its own first, then the modifiers (in declaration
    order)."""
    fields = RULE_MODELS[kind].model_fields
    own = {n: f for n, f in fields.items() if n != "kind" and n not in RULE_MODIFIERS}
    return {**own, **{n: fields[n] for n in RULE_MODIFIERS}}


def expected_value(field: FieldInfo) -> str:
    """What a parameter takes, in words, from its model field: ``number``, ``number or null``,
    ``a|b`` (a choice), ``five numbers``, ``list of numbers``, ``qualitative levels``."""
    args = typing.get_args(field.annotation)
    union = typing.get_origin(field.annotation) in (typing.Union, types.UnionType)
    inner = [a for a in args if a is not type(None)] if union else [field.annotation]
    nullable = union and len(inner) < len(args)
    tp = inner[0]
    metadata = list(field.metadata)
    if typing.get_origin(tp) is Annotated:  # a constrained type inside an optional one
        tp, *extra = typing.get_args(tp)
        metadata += [m for x in extra for m in getattr(x, "metadata", [x])]
    if typing.get_origin(tp) is Literal:
        return "|".join(str(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        if typing.get_origin(item) is dict:
            return "qualitative levels"
        lengths = {
            getattr(m, name, None) for m in metadata for name in ("min_length", "max_length")
        }
        return "five numbers" if 5 in lengths else "list of numbers"
    return "number or null" if nullable else "number"


def default_rule(operator: str | None) -> dict[str, Any] | None:
    """The rule implied by an operator when an indicator gives none."""
    kind = operator_kind(operator)
    return None if kind is None else {"kind": kind}
