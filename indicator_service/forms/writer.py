"""Writing forms in the national layout: the scored form (XLSX here, PDF in ``pdf.py``) and
blank templates. Both render one :class:`Layout` — the grid of cells, merges and styles of a
form — so the workbook and the PDF show the same thing.

The scored form: 执行率 and 得分 in the funds block (with the formula), 得分 per indicator, 总分
(with its formula), 自评等级 and its consequence with the source, the 偏差原因 kept, the
receipt's explanation in the 备注 column (算式 with the numbers, 失分, warnings as sentences);
thin borders, column widths, merged cells, a print area and A4 page setup fitted to the page
width.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from indicator_service.forms.model import Form, FormProblem, IndicatorLine, column_letter
from indicator_service.tables import writers

COLUMNS = 10  # A … J
WIDTHS = (9, 11, 12, 22, 13, 13, 9, 9, 20, 18)
INDICATOR_HEADERS = (
    "一级指标",
    "二级指标",
    "三级指标",
    "年度指标值",
    "实际完成值",
    "分值",
    "得分",
    "偏差原因分析及改进措施",
    "备注",
)
FUNDS_HEADERS = ("年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分")

WARNING_WORDS: dict[str, str] = {
    "over_achievement": "实际完成值远超年度指标值（≥130%），请说明原因 / far above the target",
    "execution_below_threshold": "预算执行率低于 90%，请说明原因 / execution below 90%",
    "explanation_missing": "未填写偏差原因分析 / no explanation given",
    "negative_actual_clamped": "实际完成值为负数，按 0 计 / a negative actual counted as 0",
    "missing_scored_zero": "未填写实际完成值，按 0 分计 / no actual: scored 0",
    "missing_rebased": "未填写实际完成值，不计入总分 / no actual: left out of the total",
    "below_bottom_level": "低于最低档标准 / below the lowest level",
    "manual_deduction": "有人工扣分 / manual deduction",
    "over_achievement_penalty": "因指标值设置偏低而扣减 / reduced: target set too low",
}


def warning_words(codes: Sequence[str]) -> str:
    return "；".join(WARNING_WORDS.get(c, c) for c in codes)


@dataclass
class Layout:
    """A form as a grid: ``cells[(r, c)]`` (0-based), merged ranges ``(r1, c1, r2, c2)``
    (inclusive), bold cells, left-aligned (text) cells, the bordered area and the row heights."""

    title: str
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    bold: set[tuple[int, int]] = field(default_factory=set)
    left: set[tuple[int, int]] = field(default_factory=set)
    percent: set[tuple[int, int]] = field(default_factory=set)
    border_from: int = 2  # first bordered row (after the title and year lines)
    border_to: int = 0  # last bordered row
    rows: int = 0

    def put(self, r: int, c: int, value: Any, *, bold: bool = False, left: bool = False) -> None:
        if value is not None and value != "":
            self.cells[(r, c)] = value
        if bold:
            self.bold.add((r, c))
        if left:
            self.left.add((r, c))
        self.rows = max(self.rows, r + 1)

    def merge(self, r1: int, c1: int, r2: int, c2: int) -> None:
        if (r1, c1) != (r2, c2):
            self.merges.append((r1, c1, r2, c2))


@dataclass
class Scored:
    """What the writer needs of a scored form (from a receipt): per indicator row (form row) its
    score and warnings, the budget leaf, the total and grade."""

    row_scores: dict[int, float | None] = field(default_factory=dict)
    row_warnings: dict[int, list[str]] = field(default_factory=dict)
    # the receipt's explanation (docs/scoring.md), Chinese: formula and points lost per row,
    # warnings as sentences, the budget formula, the total's formula, the consequence's source
    row_notes: dict[int, list[str]] = field(default_factory=dict)
    budget_notes: list[str] = field(default_factory=list)
    total_formula: str | None = None
    consequence_source: str | None = None
    budget_rate: float | None = None
    budget_score: float | None = None
    budget_points: float | None = None
    budget_warnings: list[str] = field(default_factory=list)
    total: float | None = None
    points: float | None = None
    grade: str | None = None
    consequence: str | None = None


def leaf_notes(leaf: Any) -> list[str]:
    """A scored leaf's explanation for the 备注 column, in Chinese: 算式 (the formula with its
    numbers), 失分 and the warnings as sentences (empty for a receipt without one)."""
    x = getattr(leaf, "explain", None)
    if x is None:
        return []
    out = []
    if x.formula is not None:
        out.append(f"算式：{x.formula.zh}")
    if x.lost is not None and x.lost.points > 0:
        out.append(f"失分 {x.lost.points:.2f}")
    out += [w.zh for w in x.warnings]
    return out


def scored_from_receipt(receipt: Any) -> Scored:
    """The writer's view of a scoring receipt (leaf ids ``R<row>`` are the form rows)."""
    s = Scored(total=receipt.total, points=receipt.applicable_points)
    for lf in receipt.leaves:
        if lf.id.startswith("R") and lf.id[1:].isdigit():
            r = int(lf.id[1:]) - 1
            s.row_scores[r] = lf.score
            s.row_warnings[r] = list(lf.warnings)
            s.row_notes[r] = leaf_notes(lf)
        elif lf.rule.get("kind") == "budget_execution":
            s.budget_score = lf.score
            s.budget_points = lf.points
            s.budget_warnings = list(lf.warnings)
            s.budget_notes = leaf_notes(lf)
            if lf.raw_value is not None and lf.target:
                s.budget_rate = lf.raw_value / lf.target
    x = getattr(receipt, "explain", None)
    if x is not None and x.total is not None:
        s.total_formula = x.total.zh
    if receipt.grade is not None:
        s.grade = receipt.grade.grade
        zh, en = receipt.grade.recommendation_zh, receipt.grade.recommendation_en
        s.consequence = " / ".join(x for x in (zh, en) if x) or None
        if x is not None and x.grade is not None:
            s.consequence_source = x.grade.source
    return s


def layout(
    form: Form, scored: Scored | None = None, problems: Sequence[FormProblem] = ()
) -> Layout:
    """The grid of ``form`` in the national layout (with its scores when ``scored``)."""
    g = Layout(title=form.title or "项目支出绩效自评表")
    last = COLUMNS - 1
    g.put(0, 0, g.title, bold=True)
    g.merge(0, 0, 0, last)
    year = f"（{form.fiscal_year}年度）" if form.fiscal_year else (form.year_text or "（    年度）")
    g.put(1, 0, year)
    g.merge(1, 0, 1, last)
    r = 2
    name_label = "部门名称" if form.layout == "department" else "项目名称"
    g.put(r, 0, name_label, bold=True)
    g.put(r, 1, form.project, left=True)
    g.merge(r, 1, r, last)
    r += 1
    g.put(r, 0, "主管部门", bold=True)
    g.put(r, 1, form.department, left=True)
    g.merge(r, 1, r, 4)
    g.put(r, 5, "实施单位", bold=True)
    g.put(r, 6, form.unit, left=True)
    g.merge(r, 6, r, last)
    r += 1
    # funds block
    funds_top = r
    g.put(r, 0, "项目资金（万元）", bold=True)
    for k, h in enumerate(FUNDS_HEADERS):
        g.put(r, 2 + k, h, bold=True)
    g.merge(r, 8, r, last)
    lines = form.funds or []
    total_line = form.funds_total
    if not lines:
        from indicator_service.forms.model import FundsLine

        lines = [FundsLine("年度资金总额"), FundsLine("当年财政拨款", sub=True)]
        lines += [FundsLine("上年结转资金", sub=True), FundsLine("其他资金", sub=True)]
        total_line = lines[0]
    first_sub = True
    for line in lines:
        r += 1
        text = line.label
        if line.sub and first_sub:
            text, first_sub = f"其中：{line.label}", False
        g.put(r, 1, text, left=True)
        g.put(r, 2, line.initial)
        g.put(r, 3, line.adjusted)
        g.put(r, 4, line.executed)
        if line is total_line:
            pts = scored.budget_points if scored and scored.budget_points else line.points
            g.put(r, 5, pts)
            if scored is not None:
                if scored.budget_rate is not None:
                    g.put(r, 6, scored.budget_rate)
                    g.percent.add((r, 6))
                g.put(r, 7, scored.budget_score)
                if scored.budget_notes:
                    g.put(r, 8, "；".join(scored.budget_notes), left=True)
                elif scored.budget_warnings:
                    g.put(r, 8, warning_words(scored.budget_warnings), left=True)
        else:
            g.put(r, 5, "—")
            g.put(r, 7, "—")
        g.merge(r, 8, r, last)
    g.merge(funds_top, 0, r, 0)
    # overall goals
    r += 1
    g.put(r, 0, "年度总体目标", bold=True)
    g.merge(r, 0, r + 1, 0)
    g.put(r, 1, "预期目标", bold=True)
    g.merge(r, 1, r, 5)
    g.put(r, 6, "实际完成情况", bold=True)
    g.merge(r, 6, r, last)
    r += 1
    g.put(r, 1, form.goal_expected, left=True)
    g.merge(r, 1, r, 5)
    g.put(r, 6, form.goal_actual, left=True)
    g.merge(r, 6, r, last)
    # indicator table
    r += 1
    table_top = r
    g.put(r, 0, "绩效指标", bold=True)
    for k, h in enumerate(INDICATOR_HEADERS):
        g.put(r, 1 + k, h, bold=True)
    problems_at: dict[int, list[str]] = {}
    for p in problems:
        row = _problem_row(p)
        if row is not None:
            problems_at.setdefault(row, []).append(p.msg)
    inds: list[IndicatorLine] = form.indicators
    start_l1 = start_l2 = r + 1
    for i, ind in enumerate(inds):
        r += 1
        new_l1 = i == 0 or ind.class_l1 != inds[i - 1].class_l1
        new_l2 = new_l1 or ind.class_l2 != inds[i - 1].class_l2
        if new_l1:
            if i:
                g.merge(start_l1, 1, r - 1, 1)
            start_l1 = r
            g.put(r, 1, ind.class_l1)
        if new_l2:
            if i:
                g.merge(start_l2, 2, r - 1, 2)
            start_l2 = r
            g.put(r, 2, ind.class_l2)
        g.put(r, 3, ind.name, left=True)
        g.put(r, 4, _as_written(ind.target))
        g.put(r, 5, _as_written(ind.actual))
        g.put(r, 6, ind.points)
        if scored is not None:
            g.put(r, 7, scored.row_scores.get(ind.row))
        g.put(r, 8, ind.explanation, left=True)
        notes = [ind.remark] if ind.remark else []
        if scored is not None and scored.row_notes.get(ind.row):
            notes += scored.row_notes[ind.row]
        elif scored is not None and scored.row_warnings.get(ind.row):
            notes.append(warning_words(scored.row_warnings[ind.row]))
        notes += problems_at.get(ind.row, [])
        g.put(r, 9, "；".join(n for n in notes if n), left=True)
    if inds:
        g.merge(start_l1, 1, r, 1)
        g.merge(start_l2, 2, r, 2)
    g.merge(table_top, 0, r, 0)
    # 总分, 自评等级
    r += 1
    g.put(r, 0, "总分", bold=True)
    g.merge(r, 0, r, 5)
    if scored is not None:
        g.put(r, 6, scored.points)
        g.put(r, 7, scored.total, bold=True)
        g.put(r, 8, scored.total_formula, left=True)
    else:
        g.put(r, 6, _total_points(form))
    g.merge(r, 8, r, last)
    r += 1
    g.put(r, 0, "自评等级", bold=True)
    g.merge(r, 0, r, 1)
    g.put(r, 2, scored.grade if scored else None, bold=True)
    consequence = None
    if scored and scored.consequence:
        consequence = f"结果应用：{scored.consequence}"
        if scored.consequence_source:
            consequence += f"（依据：{scored.consequence_source}）"
    g.put(r, 3, consequence)
    g.left.add((r, 3))
    g.merge(r, 3, r, last)
    form_level = [p.msg for p in problems if _problem_row(p) is None]
    if form_level:
        r += 1
        g.put(r, 0, "问题", bold=True)
        g.put(r, 1, "；".join(form_level), left=True)
        g.merge(r, 1, r, last)
    g.border_to = r
    signatures = form.signatures or ["填表人：            联系电话：            填报日期："]
    for text in signatures:
        r += 1
        g.put(r, 0, text, left=True)
        g.merge(r, 0, r, last)
    return g


def _as_written(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _total_points(form: Form) -> Any:
    total = 0.0
    for line in form.indicators:
        if isinstance(line.points, (int, float)):
            total += float(line.points)
    t = form.funds_total
    if t is not None and isinstance(t.points, (int, float)):
        total += float(t.points)
    return _as_written(total) if total else form.total_points


def _problem_row(p: FormProblem) -> int | None:
    if not p.ref:
        return None
    tail = p.ref.rsplit("!", 1)[-1]
    digits = "".join(ch for ch in tail if ch.isdigit())
    return int(digits) - 1 if digits else None


# --- XLSX ----------------------------------------------------------------------------------------

_SHEET_BAD = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique sheet title (≤ 31 characters, none of ``[]:*?/\\``)."""
    base = (name.translate(_SHEET_BAD).strip("'") or "自评表")[:31]
    title, k = base, 2
    while title in taken:
        suffix = f"({k})"
        title, k = base[: 31 - len(suffix)] + suffix, k + 1
    taken.add(title)
    return title


def render_xlsx(layouts: Sequence[tuple[str, Layout]]) -> bytes:
    """One sheet per layout, styled for printing on A4. Written in openpyxl's write-only mode
    (rows streamed, each combination of styles built once): the ordinary mode spent ~10 ms a
    sheet re-styling merged ranges and several seconds saving 200 sheets."""
    from copy import copy

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.worksheet.cell_range import CellRange
    from openpyxl.worksheet.properties import PageSetupProperties

    wb = Workbook(write_only=True)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    leftal = Alignment(horizontal="left", vertical="center", wrap_text=True)
    fonts = (None, Font(bold=True), Font(bold=True, size=16))
    protos: dict[tuple[bool, bool, int, str | None], Any] = {}

    def style(ws: Any, boxed: bool, left: bool, font: int, fmt: str | None) -> Any:
        """The style of a cell: each combination built once, then copied (assigning style
        objects cost ~200 µs a cell)."""
        key = (boxed, left, font, fmt)
        proto = protos.get(key)
        if proto is None:
            cell = WriteOnlyCell(ws)
            if boxed:
                cell.border = border
            cell.alignment = leftal if left else centre
            if fonts[font] is not None:
                cell.font = fonts[font]
            if fmt:
                cell.number_format = fmt
            proto = protos[key] = cell._style
        return copy(proto)

    taken: set[str] = set()
    for name, g in layouts:
        ws = wb.create_sheet(sheet_title(name, taken))
        for k, w in enumerate(WIDTHS):
            ws.column_dimensions[column_letter(k)].width = w
        ws.row_dimensions[1].height = 30
        for r1, c1, r2, c2 in g.merges:
            ws.merged_cells.add(
                CellRange(min_row=r1 + 1, min_col=c1 + 1, max_row=r2 + 1, max_col=c2 + 1)
            )
        ws.print_area = f"A1:{column_letter(COLUMNS - 1)}{g.rows}"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.orientation = "portrait"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        for r in range(g.rows):
            boxed = g.border_from <= r <= g.border_to
            row: list[Any] = []
            for c in range(COLUMNS):
                v = g.cells.get((r, c))
                if v is None and not boxed:
                    row.append(None)
                    continue
                cell = WriteOnlyCell(ws, value=writers.xlsx_text(v))
                if isinstance(v, str):
                    # text is a string cell: ``=100%`` as written, and text a unit typed
                    # (``=HYPERLINK(…)`` as a project name) is never a formula
                    cell.data_type = "s"
                fmt = "0.00%" if (r, c) in g.percent else ("0.00" if isinstance(v, float) else None)
                font = 2 if r == 0 and c == 0 else int((r, c) in g.bold)
                cell._style = style(ws, boxed, (r, c) in g.left, font, fmt)
                row.append(cell)
            ws.append(row)
    if not layouts:
        wb.create_sheet("自评表")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write_forms(
    forms: Sequence[tuple[Form, Scored | None, Sequence[FormProblem]]],
) -> bytes:
    """The forms (scored or not, with their problems in 备注) as one workbook, a sheet each."""
    return render_xlsx([(f.sheet, layout(f, s, p)) for f, s, p in forms])


def layouts_of(outcomes: Sequence[Any]) -> list[tuple[str, Layout]]:
    """Layouts of scoring outcomes (``pipeline.FormOutcome``)."""
    out = []
    for o in outcomes:
        scored = scored_from_receipt(o.receipt) if o.receipt is not None else None
        out.append((o.form.sheet, layout(o.form, scored, o.problems)))
    return out


def rows_of(form: Form) -> list[tuple[str, str, str, Any, Any, Any, str | None]]:
    """The indicator rows as compared by the round-trip test."""
    return [
        (x.class_l1, x.class_l2, x.name, x.target, x.actual, x.points, x.explanation)
        for x in form.indicators
    ]


def mapping_of(layout_: Layout) -> Mapping[tuple[int, int], Any]:
    return layout_.cells
