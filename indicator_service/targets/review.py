"""The target-review core (绩效目标审核): a project's target table, already linked to the
library and to its standards, reviewed for 完整性, 相关性, 适当性 and 可行性 under a
framework's rules (:class:`indicator_service.rules.review.TargetReviewRules`), with a verdict.

Pure: no web, no database. The service (``targets/service.py``) parses the table, links the rows
to library indicators and resolves their standards; this module only compares numbers and writes
the findings, each with a Chinese and an English sentence (docs/targets.md gives the rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from indicator_service.rules.review import (
    VERDICTS,
    VERDICTS_EN,
    ExpectedClass,
    TargetReviewRules,
    class_key,
)

CRITERIA: dict[str, str] = {
    "completeness": "完整性",
    "relevance": "相关性",
    "appropriateness": "适当性",
    "feasibility": "可行性",
}
_CRITERION_OF: dict[str, str] = {
    "missing_class": "completeness",
    "not_quantitative": "completeness",
    "free_text": "relevance",
    "below_standard": "appropriateness",
    "above_standard": "appropriateness",
    "unit_mismatch": "appropriateness",
    "over_budget": "feasibility",
    "above_cost_standard": "feasibility",
}
HIGHER = frozenset({"≥", ">"})
LOWER = frozenset({"≤", "<"})
TYPE_ZH: dict[str, str] = {
    "plan": "计划标准",
    "industry": "行业标准",
    "professional": "专业标准",
    "historical": "历史标准",
    "international": "国际标准",
    "budget_expenditure": "预算支出标准",
    "other": "其他标准",
}


@dataclass(frozen=True)
class Standard:
    """A standard that applies to a row, in the row's unit (``value``) and as stored."""

    type: str
    value: float  # converted to the row's unit
    stored_value: float
    unit: str | None
    operator: str | None
    region: str
    fiscal_year: int | None
    source: dict[str, Any] | None
    derivation: str | None = None
    illustrative: bool = False

    def cite(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "type_zh": TYPE_ZH.get(self.type, self.type),
            "operator": self.operator,
            "value": self.stored_value,
            "unit": self.unit,
            "value_in_row_unit": self.value,
            "region": self.region,
            "fiscal_year": self.fiscal_year,
            "source": self.source,
            "derivation": self.derivation,
            "illustrative": self.illustrative,
        }


@dataclass(frozen=True)
class Row:
    """One row of the target table, as the service prepared it."""

    index: int
    name: str
    class_l1: str
    class_l2: str | None
    target_text: str
    operator: str | None  # None: a qualitative target
    value: float | None
    unit: str  # as written ("" for none)
    indicator: str | None = None  # the library indicator it is linked to
    library_unit: str | None = None
    library_operator: str | None = None
    unit_ok: bool = True  # the row's unit converts to the library's
    standards: tuple[Standard, ...] = ()
    cost_standards: tuple[Standard, ...] = ()
    value_in_budget_unit: float | None = None  # a total-cost target in the budget's unit (万元)

    @property
    def quantitative(self) -> bool:
        return self.value is not None

    @property
    def direction(self) -> str | None:
        """``higher`` or ``lower`` is better, or ``None`` (``=`` or qualitative), from the
        library's operator when linked, else the row's."""
        op = self.library_operator or self.operator
        if op in HIGHER:
            return "higher"
        if op in LOWER:
            return "lower"
        return None


@dataclass
class Finding:
    code: str
    criterion: str
    severity: str
    row: int | None
    zh: str
    en: str
    standards: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "criterion": self.criterion,
            "criterion_zh": CRITERIA[self.criterion],
            "severity": self.severity,
            "row": self.row,
            "zh": self.zh,
            "en": self.en,
            "standards": self.standards,
        }


@dataclass
class Review:
    findings: list[Finding]
    majors: int
    minors: int
    notes: int
    verdict: str
    verdict_zh: str
    verdict_en: str
    classes: list[dict[str, Any]]
    explanation_zh: str
    explanation_en: str


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _in_class(row: Row, c: ExpectedClass) -> bool:
    l1, l2 = class_key(row.class_l1), class_key(row.class_l2)
    if c.class_l2 is None:
        return l1 == class_key(c.class_l1)
    return l1 == class_key(c.class_l1) and l2 == class_key(c.class_l2)


def is_cost(row: Row, rules: TargetReviewRules) -> bool:
    names = {class_key(n) for n in rules.cost_classes}
    return class_key(row.class_l1) in names or class_key(row.class_l2) in names


def review(rows: Sequence[Row], budget: float | None, rules: TargetReviewRules) -> Review:
    """Review the rows (budget in 万元, ``None`` when not given) under ``rules``."""
    out: list[Finding] = []

    def add(code: str, row: int | None, zh: str, en: str, cited: Sequence[Standard] = ()) -> None:
        out.append(
            Finding(
                code,
                _CRITERION_OF[code],
                rules.severity_of(code),
                row,
                zh,
                en,
                [s.cite() for s in cited],
            )
        )

    # 完整性: every expected class has a row, a quantitative one where expected
    classes: list[dict[str, Any]] = []
    for c in rules.expected_classes:
        members = [r for r in rows if _in_class(r, c)]
        quant = [r for r in members if r.quantitative]
        classes.append(
            {
                "class_l1": c.class_l1,
                "class_l2": c.class_l2,
                "name_en": c.name_en,
                "rows": [r.index for r in members],
                "quantitative_expected": c.quantitative,
                "quantitative_rows": len(quant),
            }
        )
        if not members:
            add(
                "missing_class",
                None,
                f"缺少{c.label_zh}指标：框架要求目标表包含该类指标。",
                f"No {c.name_en} indicator: the framework expects this class in the target table.",
            )
        elif c.quantitative and not quant:
            add(
                "not_quantitative",
                None,
                f"{c.label_zh}指标均为定性指标：该类应至少有一项定量指标。",
                f"Every {c.name_en} indicator is qualitative: the class expects at least one "
                "quantitative indicator.",
            )

    for r in rows:
        where_zh, where_en = f"第{r.index + 1}行“{r.name}”", f"row {r.index + 1} ({r.name})"
        # 相关性: linked to the library, or flagged for a reviewer
        if r.indicator is None:
            add(
                "free_text",
                r.index,
                f"{where_zh}未关联指标库指标，请审核人确认其相关性。",
                f"{where_en} is linked to no library indicator: a reviewer should confirm "
                "its relevance.",
            )
        if not r.quantitative or r.value is None:
            continue
        # 适当性: the unit, then the target against the standards
        if not r.unit_ok:
            add(
                "unit_mismatch",
                r.index,
                f"{where_zh}的计量单位“{r.unit}”与指标库单位“{r.library_unit}”不一致，无法比较。",
                f"{where_en}: the unit {r.unit!r} does not convert to the library's unit "
                f"{r.library_unit!r}; the target cannot be compared with the standards.",
            )
            continue
        _appropriateness(r, rules, add, where_zh, where_en)
        # 可行性: cost targets against the budget and the cost standards
        if is_cost(r, rules):
            _feasibility(r, budget, rules, add, where_zh, where_en)

    majors = sum(1 for f in out if f.severity == "major")
    minors = sum(1 for f in out if f.severity == "minor")
    notes = sum(1 for f in out if f.severity == "note")
    verdict = rules.verdict_of(majors, minors)
    zh = (
        f"审核结论：{VERDICTS[verdict]}（重大问题{majors}项、一般问题{minors}项、待审核事项{notes}项；"
        f"重大问题达到{rules.verdict.reject_majors}项不予通过，问题达到"
        f"{rules.verdict.revise_findings}项修改后通过）。"
    )
    en = (
        f"Verdict: {VERDICTS_EN[verdict]} ({majors} major, {minors} minor findings, {notes} "
        f"notes for a reviewer; {rules.verdict.reject_majors} major findings reject, "
        f"{rules.verdict.revise_findings} finding(s) require revision)."
    )
    return Review(
        out,
        majors,
        minors,
        notes,
        verdict,
        VERDICTS[verdict],
        VERDICTS_EN[verdict],
        classes,
        zh,
        en,
    )


def _appropriateness(
    r: Row, rules: TargetReviewRules, add: Any, where_zh: str, where_en: str
) -> None:
    assert r.value is not None
    direction = r.direction
    if direction is None:
        return
    unit = r.unit
    low = [s for s in r.standards if s.type in rules.low_against]
    # 偏低: less ambitious than a historical or industry standard
    worse = [s for s in low if (r.value < s.value if direction == "higher" else r.value > s.value)]
    if worse:
        names = "、".join(f"{TYPE_ZH.get(s.type, s.type)}{_fmt(s.value)}{unit}" for s in worse)
        names_en = ", ".join(f"{s.type} standard {_fmt(s.value)}{unit}" for s in worse)
        cmp_zh = "低于" if direction == "higher" else "高于"
        cmp_en = "below" if direction == "higher" else "above"
        add(
            "below_standard",
            r.index,
            f"{where_zh}指标值{_fmt(r.value)}{unit}偏低：{cmp_zh}{names}。",
            f"{where_en}: the target {_fmt(r.value)}{unit} is too low (偏低): {cmp_en} the "
            f"{names_en}.",
            worse,
        )
        return
    high = [s for s in r.standards if s.type in rules.high_against and s.value > 0]
    if not high:
        return
    k = rules.far_above_factor
    if direction == "higher" and all(r.value > k * s.value for s in high):
        top = max(high, key=lambda s: s.value)
        add(
            "above_standard",
            r.index,
            f"{where_zh}指标值{_fmt(r.value)}{unit}偏高：超过{TYPE_ZH.get(top.type, top.type)}"
            f"{_fmt(top.value)}{unit}的{_fmt(k)}倍，请说明依据。",
            f"{where_en}: the target {_fmt(r.value)}{unit} is far above the standards (偏高): "
            f"more than {_fmt(k)} × the {top.type} standard {_fmt(top.value)}{unit}; state its "
            "basis.",
            high,
        )
    elif direction == "lower" and all(r.value * k < s.value for s in high):
        low_s = min(high, key=lambda s: s.value)
        add(
            "above_standard",
            r.index,
            f"{where_zh}指标值{_fmt(r.value)}{unit}偏高：不到{TYPE_ZH.get(low_s.type, low_s.type)}"
            f"{_fmt(low_s.value)}{unit}的1/{_fmt(k)}，请说明依据。",
            f"{where_en}: the target {_fmt(r.value)}{unit} is far more ambitious than the "
            f"standards (偏高): less than 1/{_fmt(k)} of the {low_s.type} standard "
            f"{_fmt(low_s.value)}{unit}; state its basis.",
            high,
        )


def _feasibility(
    r: Row,
    budget: float | None,
    rules: TargetReviewRules,
    add: Any,
    where_zh: str,
    where_en: str,
) -> None:
    assert r.value is not None
    if (
        budget is not None
        and r.value_in_budget_unit is not None
        and r.value_in_budget_unit > budget
    ):
        add(
            "over_budget",
            r.index,
            f"{where_zh}成本指标值{_fmt(r.value)}{r.unit}（{_fmt(r.value_in_budget_unit)}万元）"
            f"超过项目预算{_fmt(budget)}万元。",
            f"{where_en}: the cost target {_fmt(r.value)}{r.unit} "
            f"({_fmt(r.value_in_budget_unit)} 万元) exceeds the project budget "
            f"{_fmt(budget)} 万元.",
        )
    over = [
        s for s in r.cost_standards if s.type in rules.cost_standard_types and r.value > s.value
    ]
    if over:
        s = min(over, key=lambda s: s.value)
        add(
            "above_cost_standard",
            r.index,
            f"{where_zh}成本指标值{_fmt(r.value)}{r.unit}高于{TYPE_ZH.get(s.type, s.type)}"
            f"{_fmt(s.value)}{r.unit}。",
            f"{where_en}: the cost target {_fmt(r.value)}{r.unit} is above the {s.type} "
            f"standard {_fmt(s.value)}{r.unit}.",
            over,
        )
