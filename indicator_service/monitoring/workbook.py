"""The 绩效监控表 (项目支出绩效目标执行监控表) of a stored monitoring record, as XLSX.

One sheet 绩效监控表 in the national monitoring layout: title and monitoring date, the project
block, the funds block (全年预算数, 执行数, 执行率, 时间进度, 偏差, 全年预计执行数 with 偏离原因 and
纠偏措施), the 年度总体目标, the indicator table (年度指标值, 完成值, 时间进度, 应完成值, 完成进度,
全年预计完成值, 预计完成率, 完成目标可能性, 偏离原因, 纠偏措施), the flags (预警) with their stable
ids and status, and the summary; headers in Chinese with English below. A second sheet 说明
Explanations holds every Chinese and English sentence. Text cells are written through
:mod:`indicator_service.tables.writers` (string cells, never formulas).
"""

from __future__ import annotations

import io
from typing import Any

from indicator_service.monitoring.schemas import MonitoringOut
from indicator_service.tables.writers import xlsx_text

COLUMNS = 13
WIDTHS = (10, 11, 20, 12, 12, 10, 11, 10, 12, 10, 12, 22, 22)
FUNDS_HEADERS = (
    "项目资金（万元）\nFunds",
    "全年预算数\nBudget",
    "执行数\nSpent so far",
    "执行率\nExecution rate",
    "时间进度\nTime progress",
    "偏差（百分点）\nGap (points)",
    "全年预计执行数\nForecast spent",
    "全年预计执行率\nForecast rate",
    "是否预警\nWarning",
)
INDICATOR_HEADERS = (
    "一级指标\nLevel 1",
    "二级指标\nLevel 2",
    "三级指标\nIndicator",
    "年度指标值\nTarget",
    "完成值\nActual so far",
    "时间进度\nTime progress",
    "应完成值\nDue so far",
    "完成进度\nProgress",
    "全年预计完成值\nForecast",
    "预计完成率\nForecast completion",
    "完成目标可能性\nOutlook",
    "偏离原因\nReason",
    "纠偏措施\nCorrective measure",
)
FLAG_HEADERS = (
    "预警编号\nFlag id",
    "预警类型\nFlag",
    "对象\nSubject",
    "状态\nStatus",
    "说明\nText",
)
STATUS_WORDS = {"explained": "已说明 explained", "pending_explanation": "待说明 pending"}


def _target(op: str, value: float, unit: str | None) -> str:
    return f"{op}{value:g}{unit or ''}"


def render(rec: MonitoringOut) -> bytes:
    """The workbook of a monitoring record."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    wb = Workbook()
    ws = wb.active
    ws.title = "绩效监控表"
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    left = Alignment(horizontal="left", vertical="center", wrap_text=True)
    bold = Font(bold=True)
    req, res = rec.request, rec.result
    row = 1

    def put(
        r: int,
        c: int,
        value: Any,
        *,
        fmt: str | None = None,
        strong: bool = False,
        text: bool = False,
    ) -> None:
        cell = ws.cell(row=r, column=c, value=xlsx_text(value))
        if isinstance(value, str):
            cell.data_type = "s"
        cell.border = box
        cell.alignment = left if text else centre
        if strong:
            cell.font = bold
        if fmt:
            cell.number_format = fmt

    def line(
        values: list[Any],
        *,
        fmts: dict[int, str] | None = None,
        strong: bool = False,
        text_cols: tuple[int, ...] = (),
    ) -> None:
        nonlocal row
        for c, v in enumerate(values, 1):
            put(row, c, v, fmt=(fmts or {}).get(c), strong=strong, text=c in text_cols)
        row += 1

    def span(label: str, value: Any) -> None:
        nonlocal row
        put(row, 1, label, strong=True)
        put(row, 2, value, text=True)
        for c in range(3, COLUMNS + 1):
            put(row, c, None)
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=COLUMNS)
        row += 1

    for k, w in enumerate(WIDTHS, 1):
        ws.column_dimensions[chr(64 + k)].width = w
    ws.cell(row=1, column=1, value="项目支出绩效目标执行监控表").font = Font(bold=True, size=16)
    ws.cell(row=1, column=1).alignment = centre
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=COLUMNS)
    ws.cell(
        row=2,
        column=1,
        value=f"（{req.fiscal_year}年度，监控时点 as of {req.as_of.isoformat()}，"
        f"框架 framework {rec.framework} {rec.version}，记录 record {rec.id}）",
    ).alignment = centre
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=COLUMNS)
    row = 3
    span("项目名称\nProject", req.project_name or req.project)
    span("实施单位\nUnit", req.unit or "")
    b = res.budget
    if b is not None and req.budget is not None:
        line(
            [*FUNDS_HEADERS, "偏离原因\nReason", "纠偏措施\nCorrective measure", "", ""],
            strong=True,
        )
        line(
            [
                "年度资金总额",
                b.budget,
                b.executed,
                b.execution_rate,
                b.time_progress,
                b.gap * 100.0,
                b.forecast_executed,
                b.forecast_rate,
                "是 yes" if b.behind else "否 no",
                req.budget.reason or "",
                req.budget.measure or "",
                "",
                "",
            ],
            fmts={4: "0.00%", 5: "0.00%", 6: "0.00", 7: "0.00", 8: "0.00%"},
            text_cols=(10, 11),
        )
    span("年度总体目标\nAnnual goal", req.goal or "")
    line(list(INDICATOR_HEADERS), strong=True)
    rows_in = {r.id: r for r in req.indicators}
    for ind in res.indicators:
        src = rows_in[ind.id]
        line(
            [
                src.class_l1 or "",
                src.class_l2 or "",
                ind.name,
                _target(ind.operator, ind.target, ind.unit),
                ind.actual,
                ind.time_progress,
                ind.expected,
                ind.progress,
                ind.forecast,
                ind.forecast_completion,
                f"{ind.status_zh} {ind.status_en}",
                src.reason or "",
                src.measure or "",
            ],
            fmts={6: "0.00%", 8: "0.00%", 10: "0.00%"},
            text_cols=(3, 12, 13),
        )
    row += 1
    line([*FLAG_HEADERS, *[""] * (COLUMNS - len(FLAG_HEADERS))], strong=True)
    for f in res.flags:
        put(row, 1, f.id)
        put(row, 2, f"{f.label_zh} {f.label_en}", text=True)
        put(row, 3, f.subject)
        put(row, 4, STATUS_WORDS.get(f.status, f.status))
        put(row, 5, f"{f.text_zh}\n{f.text_en}", text=True)
        for c in range(6, COLUMNS + 1):
            put(row, c, None)
        ws.merge_cells(start_row=row, start_column=5, end_row=row, end_column=COLUMNS)
        row += 1
    if not res.flags:
        span("预警 Flags", "无 none")
    span("监控结论\nSummary", f"{res.summary_zh}\n{res.summary_en}")
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    notes = wb.create_sheet("说明 Explanations")
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 80
    notes.column_dimensions["C"].width = 80
    texts: list[tuple[str, str, str]] = [("对象 Subject", "说明", "Explanation")]
    if b is not None:
        texts.append(("预算执行 budget", b.text_zh, b.text_en))
    texts += [(i.id, i.text_zh, i.text_en) for i in res.indicators]
    texts += [(f.id, f.text_zh, f.text_en) for f in res.flags]
    texts.append(("方法 method", res.method, res.method))
    for r, values in enumerate(texts, 1):
        for c, v in enumerate(values, 1):
            cell = notes.cell(row=r, column=c, value=xlsx_text(v))
            cell.data_type = "s"
            cell.alignment = left
            if r == 1:
                cell.font = bold
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
