"""A 项目支出绩效目标申报表 workbook in the national layout, built as a unit fills it in
(no 申报表 fixture exists in /work/shared/fixtures): title and year line, project block, funds
block in 万元, 年度总体目标, the indicator table with 一级/二级指标 merged down their rows, and
the signature line. The rows are those of ``test_review_api.table()``."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

SHEET = "申报表"
# (一级, 二级, 三级, 指标值); merged 一级/二级 cells are written once
ROWS: list[tuple[str, str, str, Any]] = [
    ("产出指标", "数量指标", "新增普惠性学位数", "≥300个"),
    ("", "质量指标", "幼儿园专任教师学历合格率", "≥99%"),
    ("", "成本指标", "项目总成本", "≤600万元"),
    ("效益指标", "社会效益指标", "学前教育毛入园率", "≥85%"),
    ("满意度指标", "服务对象满意度指标", "社会公众认可度", "≥90%"),
]
FIRST_ROW = 10  # the first indicator row (1-based): B10


def declaration(rows: list[tuple[str, str, str, Any]] | None = None, budget: Any = 500) -> bytes:
    rows = ROWS if rows is None else rows
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    ws.append(["项目支出绩效目标申报表"])
    ws.merge_cells("A1:E1")
    ws.append(["（2024年度）"])
    ws.append(["项目名称", "2024年学前教育资助项目"])
    ws.append(["主管部门", "县教育局", "", "实施单位", "县学前教育中心"])
    ws.append(["项目资金（万元）", "年度资金总额", budget])
    ws.append(["", "其中：财政拨款", budget])
    ws.append(["", "其他资金", 0])
    ws.append(["年度总体目标", "新增普惠性学位300个，学前教育毛入园率稳步提高。"])
    ws.merge_cells("B8:E8")
    ws.append(["绩效指标", "一级指标", "二级指标", "三级指标", "指标值"])
    start = FIRST_ROW
    for l1, l2, l3, target in rows:
        ws.append(["", l1, l2, l3, target])
    last = start + len(rows) - 1
    ws.merge_cells(f"A{start - 1}:A{last}")
    ws.append(["填表人：", "", "联系电话："])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
