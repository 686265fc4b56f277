"""The rule vocabulary, defined once: rule kinds, operators, missing policies, leaf statuses,
warnings and errors, efficacy levels, the default grade bands and qualitative levels, and the
statement of the rounding rule (docs/scoring.md).

Pure data: imports the standard library only. The catalogue, the scoring service and the
engine all read these names from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ROUNDING_RULE = (
    "each leaf score is rounded half-up to 2 decimals; node subtotals are sums of the rounded "
    "leaves; the rebased total (Σ scores × 100 / Σ applicable points) is rounded half-up to 2 "
    "decimals; the grade is taken from the rounded total"
)

# --- rule kinds --------------------------------------------------------------------------------

KINDS: tuple[str, ...] = (
    "higher_better",
    "equal",
    "lower_better",
    "qualitative",
    "budget_execution",
    "deduction",
    "efficacy",
    "rank_table",
    "two_sided",
    "band",
    "step_deduction",
)
KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(KINDS)}
HIGHER, EQUAL, LOWER, QUAL, BUDGET, DEDUCT, EFFICACY, RANK, TWO_SIDED, BAND, STEP = range(
    len(KINDS)
)
#: Kinds measured against the target as a deviation (relative: percent of t; absolute: a − t).
DEVIATION_KINDS = frozenset({TWO_SIDED, BAND, STEP})

#: Operators (计算符号) in their canonical spelling (docs/scoring.md).
OPERATORS: tuple[str, ...] = ("≥", ">", "=", "<", "≤", "定性")
#: Other spellings accepted for an operator, normalised to the canonical one.
OPERATOR_ALIASES: dict[str, str] = {
    ">=": "≥",
    "<=": "≤",
    "==": "=",
    "qualitative": "定性",
    "≧": "≥",
    "≦": "≤",
}

#: Canonical operator → default rule kind.
OPERATOR_KIND: dict[str, str] = {
    "≥": "higher_better",
    ">": "higher_better",
    "=": "equal",
    "≤": "lower_better",
    "<": "lower_better",
    "定性": "qualitative",
}


def operator_kind(operator: str | None) -> str | None:
    """The default rule kind of an operator in any accepted spelling (canonical or an alias of
    :data:`OPERATOR_ALIASES`); ``None`` for no operator or an unknown one."""
    if operator is None:
        return None
    return OPERATOR_KIND.get(OPERATOR_ALIASES.get(operator, operator))


#: Kinds whose negative actuals are clamped to 0. ``deduction`` (signed change rates such as
#: the year-on-year change of 三公经费), ``efficacy`` (levels may be negative) and
#: ``rank_table`` (validated integer ranks) take the actual as given.
CLAMPED_KINDS = frozenset({HIGHER, EQUAL, LOWER, BUDGET})

QUANTITATIVE_KINDS = frozenset(set(range(len(KINDS))) - {QUAL})

DEFAULT_OVER_ACHIEVEMENT_FACTOR = 1.3
#: Coefficients of the five efficacy (功效系数) levels, 优秀 first.
DEFAULT_EFFICACY_COEFFICIENTS: tuple[float, ...] = (1.0, 0.8, 0.6, 0.4, 0.2)
#: The five levels of an efficacy standard (优秀 … 较差).
EFFICACY_LEVEL_NAMES: tuple[str, ...] = ("优秀", "良好", "平均", "较低", "较差")

# --- leaf statuses, warnings, errors -------------------------------------------------------------

VALUE, NOT_APPLICABLE, MISSING = 0, 1, 2
STATUS_NAMES = ("value", "not_applicable", "missing")
#: What a framework does with a missing value: score 0, rebase the total, or reject.
MISSING_POLICIES: tuple[str, ...] = ("zero", "rebase", "reject")

WARNING_FLAGS: dict[str, int] = {
    "over_achievement": 1,
    "execution_below_threshold": 2,
    "negative_actual_clamped": 4,
    "missing_scored_zero": 8,
    "missing_rebased": 16,
    "below_bottom_level": 32,
    "manual_deduction": 64,
    "over_achievement_penalty": 128,
}

#: Per-leaf error codes (0 = no error). An item with any leaf error gets no total.
ERROR_CODES: dict[int, tuple[str, str]] = {
    1: ("missing_value_rejected", "value is missing and the framework's missing policy is reject"),
    2: ("qualitative_level_required", "a qualitative row needs a level code, not a number"),
    3: ("qualitative_score_out_of_band", "the qualitative score lies outside its level's band"),
    4: ("number_required", "a quantitative row needs a numeric actual value"),
    5: ("invalid_rank", "a rank must be an integer ≥ 1"),
    6: ("invalid_deduction", "a manual deduction must be a finite number ≥ 0"),
    7: ("non_finite_value", "values must be finite numbers"),
}


class RuleError(ValueError):
    """A rule or tree that cannot be compiled; ``loc`` names the leaf and parameter."""

    def __init__(self, loc: Sequence[str | int], msg: str) -> None:
        super().__init__(f"{'/'.join(str(p) for p in loc)}: {msg}")
        self.loc = list(loc)
        self.msg = msg


# --- grade bands and qualitative levels ----------------------------------------------------------


@dataclass(frozen=True)
class Band:
    grade: str
    name_en: str
    min: float
    max: float
    recommendation_zh: str | None = None
    recommendation_en: str | None = None


#: The national grade bands (优 [90, 100], 良 [80, 90), 中 [60, 80), 差 [0, 60)). What a grade
#: means for the budget (its consequence) is framework data: catalogue.source.DEFAULT_BANDS adds
#: the default wording and its source.
DEFAULT_BANDS: tuple[Band, ...] = (
    Band("优", "excellent", 90.0, 100.0),
    Band("良", "good", 80.0, 90.0),
    Band("中", "fair", 60.0, 80.0),
    Band("差", "poor", 0.0, 60.0),
)

DEFAULT_QUALITATIVE_LEVELS: tuple[Mapping[str, Any], ...] = (
    {
        "code": "achieved",
        "name_zh": "达成年度指标",
        "name_en": "annual target achieved",
        "min": 0.8,
        "max": 1.0,
        "default": 1.0,
    },
    {
        "code": "partial",
        "name_zh": "部分达成年度指标并具有一定效果",
        "name_en": "partly achieved with some effect",
        "min": 0.6,
        "max": 0.8,
        "default": 0.7,
    },
    {
        "code": "not_achieved",
        "name_zh": "未达成年度指标且效果较差",
        "name_en": "not achieved, poor effect",
        "min": 0.0,
        "max": 0.6,
        "default": 0.3,
    },
)
