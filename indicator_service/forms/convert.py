"""A form (:class:`~indicator_service.forms.model.Form`) → a score request for the scoring
service, with the cell of every field so that the service's problems can be located."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from indicator_service.core.i18n import localized
from indicator_service.forms.cells import (
    ACCEPTED_TARGETS,
    ACCEPTED_TARGETS_EN,
    CellProblem,
    level_table,
    normalise,
    parse_actual_number,
    parse_level,
    parse_quantity,
    parse_target,
)
from indicator_service.forms.model import Form, FormProblem

NO_UNIT = "无"  # the unit of a unitless target (a coefficient: ≥0.8)
PROJECT_MAX = 80  # ScoreRequest.project is a code of at most 80 characters
TEXT_MAX = 2000


@dataclass
class FormRequest:
    """The request (a dict for ``ScoreRequest``), where each of its fields came from, and the
    form-level warnings in words."""

    request: dict[str, Any]
    cells: dict[tuple[str | int, ...], str] = field(default_factory=dict)
    row_cells: dict[int, str] = field(default_factory=dict)  # row index → its 三级指标 cell
    warnings: dict[int, list[str]] = field(default_factory=dict)  # form row → words


def _points(v: Any) -> float | str | None:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(float(v)) else str(v)
    t = normalise(v)
    if not t:
        return None
    q = parse_quantity(t)
    if q is None or q.unit not in ("", "分"):
        return t
    return q.value


def _text(v: Any, limit: int = TEXT_MAX) -> str | None:
    if v is None or v == "":
        return None
    t = str(v).replace("\x00", "").strip()
    return t[:limit] or None


def to_request(
    form: Form,
    framework: str,
    *,
    levels: Sequence[Mapping[str, Any]],
    synonyms: Mapping[str, Sequence[str]] | None,
    budget_points: float | None = None,
) -> tuple[FormRequest | None, list[FormProblem]]:
    """The score request of ``form`` under ``framework`` (its qualitative ``levels`` and level
    ``synonyms``), or the problems that stop it, each at its cell."""
    problems: list[FormProblem] = []
    name = form.sheet

    def problem(r: int, c: int, zh: str, en: str, type_: str) -> None:
        problems.append(FormProblem(name, form.ref(r, c), localized(en, zh), type_))

    table = level_table(levels, synonyms)
    cols = form.cols
    rows: list[dict[str, Any]] = []
    out = FormRequest(request={})
    for line in form.indicators:
        r = line.row
        row: dict[str, Any] = {
            "id": f"R{r + 1}",
            "class_l1": line.class_l1[:80] or "-",
            "name": _text(line.name) or f"R{r + 1}",
        }
        if line.class_l2:
            row["class_l2"] = line.class_l2[:80]
        pts = _points(line.points)
        if pts is None or isinstance(pts, str):
            problem(
                r,
                cols["points"],
                f"分值“{pts or ''}”不是数字；请填写该指标的分值，如 10",
                f"points {pts or ''!r} is not a number: write the indicator's points, e.g. 10",
                "float_parsing" if pts else "missing",
            )
        else:
            row["points"] = pts
        target = parse_target(line.target)
        if target is None:
            problem(
                r,
                cols["target"],
                f"年度指标值为空；可填写 {ACCEPTED_TARGETS}",
                f"the target (年度指标值) is empty; accepted: {ACCEPTED_TARGETS_EN}",
                "missing",
            )
        actual_empty = line.actual is None or normalise(line.actual) == ""
        if target is not None and target.qualitative:
            row["operator"] = "定性"
            if not actual_empty:
                try:
                    row["level"] = parse_level(line.actual, table)
                except CellProblem as exc:
                    problem(r, cols["actual"], exc.zh, exc.en, exc.type)
        elif target is not None:
            assert target.quantity is not None
            row["operator"] = target.operator
            row["target"] = target.quantity.value
            # the service asks every quantitative row for a unit: a coefficient has none
            row["unit"] = target.quantity.unit[:80] or NO_UNIT
            if not actual_empty:
                try:
                    row["value"] = parse_actual_number(line.actual, target.quantity.unit)
                except CellProblem as exc:
                    words = normalise(line.actual)
                    if words in table:
                        problem(
                            r,
                            cols["actual"],
                            f"“{words}”是完成程度，但年度指标值“{target.text}”是定量的；"
                            "请填写实际完成的数值",
                            f"{words!r} is a level but the target {target.text!r} is "
                            "quantitative: write the actual number",
                            "level_for_quantitative",
                        )
                    else:
                        problem(r, cols["actual"], exc.zh, exc.en, exc.type)
        if line.explanation:
            row["explanation"] = _text(line.explanation)
        i = len(rows)
        out.row_cells[i] = form.ref(r, cols["l3"])
        for fld, key in (
            ("points", "points"),
            ("target", "target"),
            ("operator", "target"),
            ("unit", "target"),
            ("value", "actual"),
            ("level", "actual"),
            ("level_score", "actual"),
            ("class_l1", "l1"),
            ("class_l2", "l2"),
            ("name", "l3"),
            ("explanation", "explanation"),
            ("deduction", "actual"),
        ):
            if key in cols:
                out.cells[("rows", i, fld)] = form.ref(r, cols[key])
        rows.append(row)
    req: dict[str, Any] = {"framework": framework, "rows": rows}
    if form.project:
        req["project"] = form.project[:PROJECT_MAX]
    if form.fiscal_year and 1990 <= form.fiscal_year <= 2100:
        req["fiscal_year"] = form.fiscal_year
    total = form.funds_total
    if total is not None:
        fc = form.funds_cols
        if total.adjusted is None or total.executed is None:
            missing = "adjusted" if total.adjusted is None else "executed"
            zh = "全年预算数" if missing == "adjusted" else "全年执行数"
            problem(
                total.row,
                fc.get(missing, 0),
                f"{zh}为空；预算执行率由全年执行数 ÷ 全年预算数计算，请填写金额（万元）",
                f"{zh} is empty: the execution rate is 全年执行数 / 全年预算数; write the amount",
                "missing",
            )
        elif total.adjusted <= 0:
            problem(
                total.row,
                fc["adjusted"],
                "全年预算数必须大于 0",
                "全年预算数 (the adjusted budget) must be greater than 0",
                "greater_than",
            )
        elif total.executed < 0:
            problem(
                total.row,
                fc["executed"],
                "全年执行数不能为负数",
                "全年执行数 (executed) cannot be negative",
                "greater_than_equal",
            )
        else:
            req["budget"] = {"adjusted": total.adjusted, "executed": total.executed}
            out.cells[("budget", "adjusted")] = form.ref(total.row, fc["adjusted"])
            out.cells[("budget", "executed")] = form.ref(total.row, fc["executed"])
        if (
            budget_points is not None
            and total.points is not None
            and "points" in fc
            and abs(total.points - budget_points) > 1e-9
        ):
            problem(
                total.row,
                fc["points"],
                f"预算执行率的分值 {total.points:g} 与评价体系 {framework} 的 {budget_points:g} "
                "分不一致",
                f"the budget-execution points {total.points:g} differ from {framework}'s "
                f"{budget_points:g}",
                "points_mismatch",
            )
    req["form"] = form_header(form)
    out.request = req
    return (None if problems else out), problems


def form_header(form: Form) -> dict[str, Any]:
    """The form's project and funds blocks as echoed in the receipt (``ScoreRequest.form``)."""
    header: dict[str, Any] = {"sheet": form.sheet[:80], "title": _text(form.title, 200)}
    for attr in ("project", "department", "unit", "goal_expected", "goal_actual"):
        v = _text(getattr(form, attr))
        if v is not None:
            header[{"project": "project_name", "unit": "implementing_unit"}.get(attr, attr)] = v
    header["layout"] = form.layout
    header["funds"] = [
        {
            k: v
            for k, v in (
                ("label", line.label[:80] or "-"),
                ("sub", line.sub),
                ("initial", line.initial),
                ("adjusted", line.adjusted),
                ("executed", line.executed),
            )
            if v is not None and not (isinstance(v, float) and not math.isfinite(v))
        }
        for line in form.funds[:20]
    ]
    return {k: v for k, v in header.items() if v is not None}
