"""A receipt that explains itself: the words and formulas of every number, in one place.

Every sentence is given in both languages as ``{"zh": …, "en": …}``: a stored receipt is
replayed to readers of either language, so the receipt carries both and the reader picks
(docs/scoring.md, "The explanation"). Per leaf (:func:`leaf_static`, :func:`leaf_explain`): the
target with its operator and unit, the actual, the rule in words, the formula with the numbers
(``86 ÷ 90 × 10 = 9.56``), points lost, where the target came from and the warnings as
sentences. Per receipt (:func:`receipt_explain`): project, unit, region name and year, the
budget line (amounts, rate, formula), the total's formula, the grade band and its consequence
with the source.

The formula (:mod:`.formulas`) is computed in plain Python, from the same inputs as the
engine, and rounded by the engine's one rounding function (``rules.round_half_up``); the tests
check that its result equals the engine's leaf score for every rule kind, on the seed
frameworks and the real forms. The receipt shows the engine's score; the formula shows how it
comes about.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from indicator_service import rules
from indicator_service.catalogue.source import citation_label
from indicator_service.core.i18n import CHINESE, ENGLISH
from indicator_service.regions.names import region_name
from indicator_service.rules.labels import LABELS, label
from indicator_service.scoring.formulas import (
    Pending,
    Words,
    close,
    formula,
    level_of,
    num,
    pts,
    words,
)

# --- vocabulary ---------------------------------------------------------------------------------

#: The standard types in both languages, from the one label vocabulary (rules/labels.py).
STANDARD_TYPES: dict[str, Words] = {
    code: words(
        label("standard_type", code, CHINESE) or code, label("standard_type", code, ENGLISH) or code
    )
    for code in LABELS["standard_type"]
}

KIND_OPERATOR = {
    "higher_better": "≥",
    "equal": "=",
    "lower_better": "≤",
    "qualitative": "定性",
    "budget_execution": "≥",
}

WARNINGS: dict[str, Words] = {
    "over_achievement": words(
        "实际完成值远超年度指标值（达到 {factor} 倍及以上），请说明原因，并检查指标值是否设定过低",
        "the actual is {factor} times the target or more (well over-achieved): explain why, "
        "and check whether the target was set too low",
    ),
    "execution_below_threshold": words(
        "预算执行率低于 {threshold}%，请说明原因",
        "budget execution is below {threshold}%: explain why",
    ),
    "negative_actual_clamped": words(
        "实际完成值为负数，按 0 计分", "the actual is negative and was scored as 0"
    ),
    "missing_scored_zero": words(
        "未填写实际完成值，按框架规定计 0 分",
        "no actual was given: scored 0, as the framework's missing-value policy says",
    ),
    "missing_rebased": words(
        "未填写实际完成值，按框架规定不计入总分，总分按适用分值折算",
        "no actual was given: left out and the total rebased, as the framework's "
        "missing-value policy says",
    ),
    "below_bottom_level": words(
        "实际完成值低于最低一档（较差）标准值", "the actual is below the bottom level (较差)"
    ),
    "manual_deduction": words(
        "人工扣分 {deduction} 分，理由：{reason}", "manual deduction of {deduction}: {reason}"
    ),
    "over_achievement_penalty": words(
        "超额完成：得分乘以 {penalty}（目标设定过低的扣减）",
        "over-achieved: the score is multiplied by {penalty} (target set too low)",
    ),
    "explanation_missing": words(
        "未达到目标或有上述提示，但未填写偏差原因分析及改进措施",
        "the target was missed or a warning asks for it, but no explanation "
        "(偏差原因分析及改进措施) was given",
    ),
}


def warning_words(code: str, params: Mapping[str, Any] | None = None) -> dict[str, str]:
    """One warning as a sentence in both languages (the code kept for machines)."""
    w = WARNINGS.get(code)
    if w is None:
        return {"code": code, "zh": code, "en": code}
    if "{" not in w["zh"]:
        return {"code": code, "zh": w["zh"], "en": w["en"]}
    fmt = _Params(params or {})
    return {"code": code, "zh": w["zh"].format_map(fmt), "en": w["en"].format_map(fmt)}


#: The warnings whose sentences take no parameters, written once (copied into each leaf).
_PLAIN_WARNINGS = {code: warning_words(code) for code, w in WARNINGS.items() if "{" not in w["zh"]}


class _Params(dict[str, Any]):
    """Template parameters; a parameter not given reads as a dash."""

    def __missing__(self, key: str) -> str:
        return "—"


def operator_of(rule: Mapping[str, Any], operator: str | None) -> str | None:
    if operator:
        return rules.OPERATOR_ALIASES.get(operator, operator)
    return KIND_OPERATOR.get(str(rule.get("kind")))


def unit_text(value: float | None, unit: str | None) -> str:
    return f"{num(value)}{unit or ''}"


# --- the rule in words --------------------------------------------------------------------------


def rule_words(rule: Mapping[str, Any], unit: str | None) -> Words:
    """What the rule does, in words, with its parameters."""
    kind = rule.get("kind")
    u = unit or ""
    if kind in ("higher_better", "equal"):
        zh = "达到或超过目标值得满分；未达到按 实际值 ÷ 目标值 × 分值 计分"
        en = "full points at or above the target; below it, actual ÷ target × points"
        if kind == "equal":
            zh = "等于目标值：" + zh + "（目标值为 0 时，实际值不大于 0 得满分，否则 0 分）"
            en = "equal to the target: " + en + " (a target of 0: full points when the actual ≤ 0)"
        else:
            zh, en = "越高越好：" + zh, "higher is better: " + en
        return words(zh, en)
    if kind == "lower_better":
        if rule.get("variant") == "inverse":
            return words(
                "越低越好（反比）：不超过目标值得满分；超过时按 目标值 ÷ 实际值 × 分值 计分",
                "lower is better (inverse): full points at or below the target; above it, "
                "target ÷ actual × points",
            )
        return words(
            "越低越好（线性）：不超过目标值得满分；超过时按 分值 × (1 − (实际值 − 目标值) ÷ "
            "目标值) 计分，达到目标值两倍时 0 分",
            "lower is better (linear): full points at or below the target; above it, "
            "points × (1 − (actual − target) ÷ target), 0 at twice the target",
        )
    if kind == "qualitative":
        levels = rule.get("levels") or rules.DEFAULT_QUALITATIVE_LEVELS
        zh = "；".join(
            f"{lv['name_zh']} {num(lv['min'] * 100)}%–{num(lv['max'] * 100)}%"
            f"（默认 {num(lv['default'] * 100)}%）"
            for lv in levels
        )
        en = "; ".join(
            f"{lv['name_en']} {num(lv['min'] * 100)}–{num(lv['max'] * 100)} % "
            f"(default {num(lv['default'] * 100)} %)"
            for lv in levels
        )
        return words(
            f"定性指标：按评价等级计分，分值的百分比为 {zh}",
            f"qualitative: scored by level, as a share of the points: {en}",
        )
    if kind == "budget_execution":
        cap, below = rule.get("cap", 1.0), rule.get("warn_below", 0.9)
        return words(
            f"预算执行率 = 全年执行数 ÷ 全年预算数；得分 = 分值 × 执行率（执行率最高计 "
            f"{num(cap * 100)}%）；执行率低于 {num(below * 100)}% 需说明原因",
            f"execution rate = executed ÷ adjusted budget; score = points × rate (rate counted "
            f"up to {num(cap * 100)} %); a rate under {num(below * 100)} % needs an explanation",
        )
    if kind == "deduction":
        th, per = num(rule.get("threshold")), num(rule.get("per_unit"))
        if rule.get("direction", "above") == "below":
            zh_d, en_d = f"低于 {th}{u}", f"below {th}{u}"
        else:
            zh_d, en_d = f"超过 {th}{u}", f"above {th}{u}"
        return words(
            f"扣分：{zh_d} 的部分每 1{u or ' 个单位'} 扣 {per} 分，扣完为止",
            f"deduction: {per} points off per unit {en_d}, down to 0",
        )
    if kind == "efficacy":
        lv = rule.get("levels") or []
        co = rule.get("coefficients") or list(rules.DEFAULT_EFFICACY_COEFFICIENTS)
        pairs_zh = "、".join(
            f"{n} {num(v)}{u}（系数 {num(c)}）"
            for n, v, c in zip(rules.EFFICACY_LEVEL_NAMES, lv, co, strict=False)
        )
        zero = rule.get("below_bottom", "bottom") == "zero"
        return words(
            f"功效系数法：{pairs_zh}；在相邻两档之间按线性插值计分，优于优秀档得满分，"
            f"差于较差档得{'0 分' if zero else '较差档系数 × 分值'}",
            f"efficacy coefficient: levels {', '.join(num(v) for v in lv)} with coefficients "
            f"{', '.join(num(c) for c in co)}; linear between two levels, full points above "
            f"the top level, {'0' if zero else 'the bottom coefficient × points'} below the "
            "bottom one",
        )
    if kind == "rank_table":
        table = rule.get("points") or []
        beyond = num(rule.get("beyond", 0.0))
        return words(
            "按名次计分："
            + "、".join(f"第 {i} 名 {num(p)} 分" for i, p in enumerate(table, 1))
            + f"；其后 {beyond} 分",
            "by rank: "
            + ", ".join(f"rank {i} {num(p)}" for i, p in enumerate(table, 1))
            + f"; beyond the table {beyond}",
        )
    if kind == "two_sided":
        tol, zero_at = num(rule.get("tolerance", 0.0)), num(rule.get("zero_at", 100.0))
        return words(
            f"双向偏离：实际值偏离目标值 ±{tol}% 以内得满分，偏离 {zero_at}% 时 0 分，其间线性扣分",
            f"two-sided: full points within ±{tol} % of the target, 0 at a deviation of "
            f"{zero_at} %, linear in between",
        )
    if kind == "band":
        rel = rule.get("measure", "relative") != "absolute"
        b, per = num(rule.get("band")), num(rule.get("per_point"))
        unit_zh = "%" if rel else u
        step_zh = "个百分点" if rel else (u or "个单位")
        return words(
            f"控制在目标值 ±{b}{unit_zh} 以内得满分，每超 1 {step_zh} 扣 {per} 分，扣完为止",
            f"full points within ±{b}{' %' if rel else u} of the target; {per} points off per "
            f"{'percentage point' if rel else 'unit'} beyond, down to 0",
        )
    if kind == "step_deduction":
        rel = rule.get("measure", "relative") != "absolute"
        step, per = num(rule.get("step")), num(rule.get("per_step"))
        below = rule.get("direction", "below") == "below"
        unit_zh = "%" if rel else u
        return words(
            f"每{'低于' if below else '超过'}目标值 {step}{unit_zh} 扣 {per} 分"
            "（只计整档），扣完为止",
            f"{per} points off per whole step of {step}{' %' if rel else u} "
            f"{'below' if below else 'above'} the target, down to 0",
        )
    return words(str(kind), str(kind))


# --- where the target came from -----------------------------------------------------------------

ORIGIN_FIELDS = (
    "kind",
    "standard_type",
    "standard_type_name",
    "region",
    "region_name",
    "fiscal_year",
    "requested_year",
    "earlier_year",
    "broader_region",
    "source",
    "text",
)


def target_origin(
    source: Mapping[str, Any], region: str, fiscal_year: int | None
) -> dict[str, Any]:
    """The target's origin: the structured fields and one sentence in both languages. For a
    standard: its type, region (with its name), year and source, and whether a broader region
    or an earlier year had to be used."""
    kind = source.get("kind")
    out: dict[str, Any] = dict.fromkeys(ORIGIN_FIELDS)
    out["kind"] = kind
    if kind == "standard":
        st = str(source.get("standard_type") or "other")
        type_words = STANDARD_TYPES.get(st, words(st, st))
        sreg = str(source.get("region") or region)
        sname = region_name(sreg)
        year = source.get("fiscal_year")
        earlier = fiscal_year is not None and year is not None and year < fiscal_year
        broader = sreg != region
        label = source.get("source")
        zh = f"{type_words['zh']}（{sname['zh']}" + (f"，{year} 年" if year else "") + "）"
        en = f"{type_words['en']} ({sname['en']}" + (f", {year}" if year else "") + ")"
        if label:
            zh += f"，来源：{label}"
            en += f", source: {label}"
        if earlier:
            zh += f"；{fiscal_year} 年无此标准，采用 {year} 年的标准值"
            en += f"; no standard for {fiscal_year}: the {year} value was used"
        if broader:
            own = region_name(region)
            zh += f"；{own['zh']}无此标准，采用{sname['zh']}的标准值"
            en += f"; none for {own['en']}: the value of {sname['en']} was used"
        out.update(
            standard_type=st,
            standard_type_name=type_words,
            region=sreg,
            region_name=sname,
            fiscal_year=year,
            requested_year=fiscal_year,
            earlier_year=earlier,
            broader_region=broader,
            source=label,
        )
        out["text"] = words(zh, en)
        return out
    out["text"] = {
        "submitted": words("项目申报的目标值（指标值）", "the target the submission declared"),
        "framework": words("评价框架规定的目标值", "the target the framework fixes"),
        "budget": words(
            "预算执行率以全年预算数为准（目标 100%）",
            "the execution rate is measured against the adjusted budget (target 100 %)",
        ),
        "none": words("无目标值", "no target"),
    }.get(str(kind), words(str(kind), str(kind)))
    return out


def leaf_static(
    rule: Mapping[str, Any],
    operator: str | None,
    unit: str | None,
    target: float | None,
    source: Mapping[str, Any],
    region: str,
    fiscal_year: int | None,
) -> dict[str, Any]:
    """The value-independent part of a leaf's explanation (cached with the structure)."""
    op = operator_of(rule, operator)
    kind = rule.get("kind")
    if kind == "qualitative" or target is None:
        text = None
    elif kind == "budget_execution" and source.get("kind") == "budget":
        text = None  # the budget line says it (amounts)
    else:
        text = f"{op if op and op != '定性' else ''}{unit_text(target, unit)}"
    return {
        "target": {"operator": op, "value": target, "unit": unit, "text": text},
        "rule": rule_words(rule, unit),
        "target_origin": target_origin(source, region, fiscal_year),
    }


# --- one leaf -----------------------------------------------------------------------------------


def actual_words(leaf: Mapping[str, Any], rule: Mapping[str, Any], budget: bool = False) -> Words:
    """The actual as written; for the budget leaf of a submission with budget figures, the
    executed amount (its rate is in the budget line)."""
    status = leaf["status"]
    if status == "not_applicable":
        return words("不适用", "not applicable")
    if status == "missing":
        return words("未填写", "not given")
    kind = rule.get("kind")
    if kind == "qualitative":
        lv = level_of(rule, leaf.get("level"))
        if lv is not None:
            return words(str(lv["name_zh"]), str(lv["name_en"]))
        return words(str(leaf.get("level")), str(leaf.get("level")))
    if kind == "budget_execution" and budget:
        amount = num(leaf.get("raw_value"))
        return words(f"全年执行数 {amount}", f"executed {amount}")
    text = f"{num(leaf.get('raw_value'))}{leaf.get('unit') or ''}"  # unit_text
    return {"zh": text, "en": text}


#: The explanation of a leaf without a value to score (not applicable; missing and scored 0;
#: missing and left out): copied into each receipt.
_NOT_APPLICABLE = {
    "zh": "不适用：不计入总分，总分按适用分值折算",
    "en": "not applicable: left out, the total is rebased",
    "result": None,
}
_MISSING_ZERO = {"zh": "未填写：计 0 分", "en": "not given: scored 0", "result": 0.0}
_MISSING_LEFT_OUT = {
    "zh": "未填写：不计入总分",
    "en": "not given: left out of the total",
    "result": None,
}


def leaf_explain(
    static: Mapping[str, Any],
    leaf: Mapping[str, Any],
    rule: Mapping[str, Any],
    level_score: float | None,
    budget: tuple[float, float] | None,
) -> tuple[dict[str, Any], Pending | None]:
    """A leaf's explanation from its receipt fields (``leaf``), its rule (as in the receipt)
    and the cached static part (copied in as it is). ``budget`` = (executed, adjusted) for
    the budget-execution leaf of a submission with a budget. The formula comes back
    unrounded (``Pending``): :func:`close_formulas` rounds a receipt's formulas at once and
    writes them in."""
    w = float(leaf["points"])
    status = leaf["status"]
    out: dict[str, Any] = {
        "target": static["target"],
        "actual": actual_words(leaf, rule, budget is not None),
        "rule": static["rule"],
        "formula": None,  # written by close_formulas when there is a formula
    }
    result: Pending | None = None
    if status == "value":
        value = leaf["raw_value"]
        result = formula(
            rule,
            w,
            leaf["target"],
            None if value is None else float(value),
            level=leaf["level"],
            level_score=level_score,
            deduction=leaf["deduction"],
            budget=budget,
        )
    score = leaf["score"]
    if result is None:
        if status == "not_applicable":
            out["formula"] = dict(_NOT_APPLICABLE)
        elif status == "missing":
            out["formula"] = dict(_MISSING_LEFT_OUT if score is None else _MISSING_ZERO)
    lost = leaf["lost"]
    if lost is None or score is None:
        out["lost"] = None
    elif lost > 0:
        lost_t, w_t, score_t = pts(lost), pts(w), pts(score)
        out["lost"] = {
            "points": lost,
            "zh": f"失分 {lost_t}（分值 {w_t}，得分 {score_t}）",
            "en": f"{lost_t} points lost (points {w_t}, score {score_t})",
        }
    else:
        out["lost"] = {"points": 0.0, "zh": "未失分", "en": "no points lost"}
    out["target_origin"] = static["target_origin"]
    codes = leaf["warnings"]
    out["warnings"] = (
        [
            dict(plain)  # a copy: the receipt's caller owns it
            if (plain := _PLAIN_WARNINGS.get(code)) is not None
            else warning_words(code, _warning_params(code, rule, leaf))
            for code in codes
        ]
        if codes
        else []
    )
    return out, result


def close_formulas(pending: list[tuple[dict[str, Any], Pending]]) -> None:
    """Write the formulas of a receipt's leaves (``(explanation, pending formula)`` pairs),
    rounded in one call of the engine's rounding function."""
    for (out, _), closed in zip(pending, close([p for _, p in pending]), strict=True):
        out["formula"] = closed


def _warning_params(code: str, rule: Mapping[str, Any], leaf: Mapping[str, Any]) -> dict[str, Any]:
    if code == "over_achievement":
        return {"factor": num(rule.get("over_achievement_factor", 1.3))}
    if code == "execution_below_threshold":
        return {"threshold": num(float(rule.get("warn_below", 0.9)) * 100)}
    if code == "manual_deduction":
        return {"deduction": num(leaf.get("deduction")), "reason": leaf.get("deduction_reason")}
    if code == "over_achievement_penalty":
        return {"penalty": num(rule.get("over_achievement_penalty"))}
    return {}


# --- the receipt --------------------------------------------------------------------------------


def receipt_explain(
    receipt: Mapping[str, Any],
    budget: Mapping[str, Any] | None,
    budget_leaf: Mapping[str, Any] | None,
    band_label: Words | None,
) -> dict[str, Any]:
    """The receipt-level explanation: heading (project, unit, region name, year, framework),
    the budget line, the total's formula, the grade and its consequence with the source, the
    warnings as sentences."""
    fw = receipt["framework"]
    region = receipt["region"]
    rname = region_name(region)
    form = receipt.get("form") or {}
    year = receipt.get("fiscal_year")
    project = receipt.get("project")
    unit = receipt.get("unit")
    parts_zh = [
        f"项目 {form.get('project_name') or project}"
        if (project or form.get("project_name"))
        else None,
        f"单位 {form.get('implementing_unit') or unit}"
        if (unit or form.get("implementing_unit"))
        else None,
        rname["zh"],
        f"{year} 年度" if year else None,
        f"{fw.get('name_zh') or fw['code']}（{fw['code']} {fw['version']}）",
    ]
    parts_en = [
        f"project {form.get('project_name') or project}"
        if (project or form.get("project_name"))
        else None,
        f"unit {form.get('implementing_unit') or unit}"
        if (unit or form.get("implementing_unit"))
        else None,
        rname["en"],
        f"fiscal year {year}" if year else None,
        f"{fw.get('name_en') or fw['code']} ({fw['code']} {fw['version']})",
    ]
    out: dict[str, Any] = {
        "heading": {
            "project": project,
            "project_name": form.get("project_name"),
            "unit": unit,
            "region": region,
            "region_name": rname,
            "fiscal_year": year,
            "zh": " · ".join(p for p in parts_zh if p),
            "en": " · ".join(p for p in parts_en if p),
        },
        "budget": _budget_line(budget, budget_leaf, bool(form)),
        "total": _total_line(receipt),
        "grade": _grade_line(receipt.get("grade"), band_label),
        "warnings": [warning_words(code) for code in receipt.get("warnings", ())],
    }
    return out


def _budget_line(
    budget: Mapping[str, Any] | None, leaf: Mapping[str, Any] | None, from_form: bool
) -> dict[str, Any] | None:
    if budget is None or leaf is None:
        return None
    adjusted, executed = float(budget["adjusted"]), float(budget["executed"])
    rate = executed / adjusted * 100.0
    rate_shown = float(rules.round_half_up(rate))
    u_zh = " 万元" if from_form else ""
    u_en = " (10k yuan)" if from_form else ""
    score, w = leaf.get("score"), float(leaf["points"])
    f = (leaf.get("explain") or {}).get("formula") or {}
    zh = (
        f"全年预算数 {num(adjusted)}{u_zh}，全年执行数 {num(executed)}{u_zh}；执行率 = "
        f"{num(executed)} ÷ {num(adjusted)} = {num(rate_shown)}%"
    )
    en = (
        f"adjusted budget {num(adjusted)}{u_en}, executed {num(executed)}{u_en}; execution "
        f"rate = {num(executed)} ÷ {num(adjusted)} = {num(rate_shown)} %"
    )
    if score is not None and f:
        zh += f"；得分 {f['zh']}（分值 {num(w)}）"
        en += f"; score {f['en']} (points {num(w)})"
    return {
        "adjusted": adjusted,
        "executed": executed,
        "rate": rate_shown,
        "points": w,
        "score": score,
        "formula": {"zh": f.get("zh"), "en": f.get("en")} if f else None,
        "zh": zh,
        "en": en,
    }


def _total_line(receipt: Mapping[str, Any]) -> Words | None:
    total = receipt.get("total")
    if total is None:
        return None
    s, p = receipt["score_sum"], receipt["applicable_points"]
    if math.isclose(p, 100.0):
        return words(
            f"总分 = 各项得分之和 {num(s)} = {pts(total)}",
            f"total = sum of the scores {num(s)} = {pts(total)}",
        )
    return words(
        f"总分 = 得分合计 {num(s)} × 100 ÷ 适用分值 {num(p)} = {pts(total)}（不适用的指标不计，"
        "按适用分值折算为百分制）",
        f"total = score sum {num(s)} × 100 ÷ applicable points {num(p)} = {pts(total)} "
        "(inapplicable indicators left out, rebased to 100)",
    )


GRADE_NAMES: dict[str, Words] = {
    "优": words("优", "excellent"),
    "良": words("良", "good"),
    "中": words("中", "fair"),
    "差": words("差", "poor"),
}


def _grade_line(grade: Mapping[str, Any] | None, band_label: Words | None) -> dict[str, Any] | None:
    if grade is None:
        return None
    lo, hi = num(grade["min"]), num(grade["max"])
    closed = grade["max"] >= 100
    rng = f"[{lo}, {hi}]" if closed else f"[{lo}, {hi})"
    name = band_label or words(str(grade["grade"]), str(grade["name_en"]))
    src = grade.get("consequences_source")
    label = None
    if src:
        label = citation_label(src)
    zh = f"等级 {name['zh']}：总分在 {rng} 分之间"
    en = f"grade {name['en']} ({grade['grade']}): the total lies in {rng}"
    if grade.get("recommendation_zh"):
        zh += f"；结果应用：{grade['recommendation_zh']}"
    if grade.get("recommendation_en"):
        en += f"; what follows: {grade['recommendation_en']}"
    if label:
        zh += f"（依据：{label}）"
        en += f" (source: {label})"
    return {
        "band": rng,
        "name": name,
        "consequence": words(
            grade.get("recommendation_zh") or "", grade.get("recommendation_en") or ""
        ),
        "source": label,
        "zh": zh,
        "en": en,
    }


def band_words(grade: str, name_en: str) -> Words:
    return GRADE_NAMES.get(grade, words(grade, name_en))


def budget_pair(budget: Any) -> tuple[float, float] | None:
    return None if budget is None else (float(budget.executed), float(budget.adjusted))
