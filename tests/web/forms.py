"""Self-evaluation forms for the tests: a valid SELF-EVAL form and ways to spoil it."""

from __future__ import annotations

import csv
import io

HEADER = (
    "framework,project,fiscal_year,一级指标,二级指标,三级指标,id,分值,计算符号,指标值,计量单位,"
    "实际完成值,level,budget_adjusted,budget_executed,偏差原因分析及改进措施"
)
LINES = [
    "SELF-EVAL,WEB-PRJ,2024,产出指标,数量指标,完成数量,qty,50,≥,100,台,96.8,,100,98,",
    "SELF-EVAL,,,效益指标,社会效益指标,群众受益情况,soc,30,定性,,,,achieved,,,",
    "SELF-EVAL,,,满意度指标,服务对象满意度指标,受益群众满意度,sat,10,≥,90,%,81,,,,调查样本偏少",
]
EXPLANATION = "调查样本偏少"  # the sat line's 偏差原因分析, echoed on its leaf
# 9.8 (execution 98 %) + 48.4 (96.8 of 100) + 30 (achieved) + 9 (81 of 90) = 97.2 → 优
TOTAL, GRADE = 97.2, "优"
GOOD_CSV = "\n".join([HEADER, *LINES]) + "\n"
# line 2 (the header is line 1): a value that is not a number
BAD_CELL_CSV = GOOD_CSV.replace(",96.8,", ",abc,")
# line 4: a qualitative level on a quantitative (≥) row
BAD_ROW_CSV = "\n".join([HEADER, LINES[0], LINES[1], LINES[2].replace(",81,,,", ",81,achieved,,")])


def as_xlsx(text: str) -> bytes:
    """The CSV form as a workbook (numbers as numbers, empty cells empty)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for n, line in enumerate(csv.reader(io.StringIO(text))):
        cells: list[object] = []
        for cell in line:
            try:
                cells.append(float(cell) if n and cell else (cell or None))
            except ValueError:
                cells.append(cell or None)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# 产出 rows naming their 二级指标 that add up to 52 (the framework gives 50): refused on lines 2-3
CLASS_TOTAL_LINES = [
    LINES[0].replace(",qty,50,", ",qty,30,"),
    "SELF-EVAL,,,产出指标,质量指标,验收合格率,qly,22,≥,100,%,100,,,,",
    *LINES[1:],
]
CLASS_TOTAL_CSV = "\n".join([HEADER, *CLASS_TOTAL_LINES]) + "\n"
CLASS_TOTAL_MSG = "产出指标 rows add up to 52; the framework gives 50"
CLASS_TOTAL_MSG_ZH = "产出指标各行分值合计 52，框架规定为 50"  # with Accept-Language: zh-CN
