"""Forms for the tests, built in the national layout: the farmland fixture's content as a
:class:`Form`, written by the writer, then changed as units change their forms (extra title
rows, blank rows, hidden columns, a department funds block, a merged 指标值 pair …)."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Sequence
from typing import Any

from indicator_service.catalogue.validation import load_catalogue
from indicator_service.forms.model import Form, FundsLine, IndicatorLine
from indicator_service.forms.writer import COLUMNS, layout
from indicator_service.scoring.lookup import DocumentCatalogue
from tests.paths import CATALOG_DIR, FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "forms"  # read in place, never written
FIXTURE_XLSX = FIXTURES / "self-evaluation-farmland-2022.xlsx"
FIXTURE_CSV = FIXTURES / "self-evaluation-farmland-2022.gbk.csv"
FIXTURE_TOTAL, FIXTURE_GRADE = 92.56, "优"

FARMLAND_ROWS: list[tuple[str, str, str, Any, Any, Any, str | None]] = [
    ("产出指标", "数量指标", "新建高标准农田面积", "≥1.2万亩", "1.1万亩", 20, "部分地块征地延迟"),
    ("产出指标", "质量指标", "工程验收合格率", "=100%", "100%", 10, None),
    ("产出指标", "成本指标", "亩均建设成本", "≤200元", "210元", 10, "材料价格上涨"),
    ("产出指标", "时效指标", "项目按期完工", "按期完成", "部分达成", 10, "雨季影响工期"),
    ("效益指标", "经济效益指标", "粮食产能提升", "≥100公斤/亩", "105公斤/亩", 15, None),
    ("效益指标", "可持续影响指标", "灌溉水有效利用系数", "≥0.8", "0.7", 15, "渠系配套未完成"),
    ("满意度指标", "服务对象满意度指标", "受益农户满意度", "≥90%", "92%", 10, None),
]


@functools.lru_cache(maxsize=1)
def document_catalogue() -> DocumentCatalogue:
    cat = load_catalogue(CATALOG_DIR)
    assert not cat.issues, cat.issues[:3]
    return DocumentCatalogue([f for _, f in cat.frameworks], [n for _, n in cat.namespaces])


def farmland(
    rows: Sequence[tuple[str, str, str, Any, Any, Any, str | None]] = FARMLAND_ROWS,
    *,
    sheet: str = "自评表",
    project: str = "2022年高标准农田建设项目",
    adjusted: float = 500,
    executed: float = 480,
    department: bool = False,
) -> Form:
    form = Form(
        sheet=sheet,
        title="部门整体支出绩效自评表" if department else "项目支出绩效自评表",
        layout="department" if department else "project",
        fiscal_year=2022,
        project=project,
        department="县农业农村局",
        unit="县农田建设服务中心",
        goal_expected="新建高标准农田1.2万亩，改善灌溉条件。",
        goal_actual="新建1.1万亩，灌溉条件改善。",
    )
    total = FundsLine("年度资金总额", initial=450, adjusted=adjusted, executed=executed, points=10)
    if department:
        form.funds = [
            total,
            FundsLine("基本支出", initial=150, adjusted=200, executed=190, sub=True),
            FundsLine("项目支出", initial=300, adjusted=300, executed=290, sub=True),
        ]
    else:
        form.funds = [
            total,
            FundsLine("当年财政拨款", initial=450, adjusted=adjusted, executed=executed, sub=True),
            FundsLine("上年结转资金", initial=0, adjusted=0, executed=0, sub=True),
            FundsLine("其他资金", initial=0, adjusted=0, executed=0, sub=True),
        ]
    form.indicators = [
        IndicatorLine(
            row=i, class_l1=a, class_l2=b, name=c, target=t, actual=v, points=p, explanation=e
        )
        for i, (a, b, c, t, v, p, e) in enumerate(rows)
    ]
    return form


Grid = list[list[Any]]


def grid(form: Form) -> tuple[Grid, list[tuple[int, int, int, int]]]:
    """The form as written (cells and merges), as a list of rows."""
    g = layout(form)
    cells = [[g.cells.get((r, c), "") for c in range(COLUMNS)] for r in range(g.rows)]
    return cells, list(g.merges)


def blank_merged(cells: Grid, merges: Sequence[tuple[int, int, int, int]]) -> Grid:
    """What a CSV keeps of merged cells: the value in the top-left cell only (already so)."""
    return cells


def find_row(cells: Grid, text: str) -> int:
    return next(r for r, row in enumerate(cells) if text in [str(v) for v in row])


def insert_rows(
    cells: Grid, merges: list[tuple[int, int, int, int]], at: int, rows: Sequence[list[Any]]
) -> None:
    n = len(rows)
    for k, row in enumerate(rows):
        cells.insert(at + k, list(row))
    merges[:] = [
        (r1 + n if r1 >= at else r1, c1, r2 + n if r2 >= at else r2, c2)
        for r1, c1, r2, c2 in merges
    ]


def insert_column(
    cells: Grid, merges: list[tuple[int, int, int, int]], at: int, values: Callable[[int], Any]
) -> None:
    for r, row in enumerate(cells):
        row.insert(at, values(r))
    merges[:] = [
        (r1, c1 + 1 if c1 >= at else c1, r2, c2 + 1 if c2 >= at else c2)
        for r1, c1, r2, c2 in merges
    ]


def xlsx(
    sheets: Sequence[tuple[str, Grid, Sequence[tuple[int, int, int, int]]]],
    *,
    hidden_columns: Sequence[int] = (),
    hidden_sheets: Sequence[str] = (),
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for name, cells, merges in sheets:
        ws = wb.create_sheet(name)
        for r, row in enumerate(cells):
            for c, v in enumerate(row):
                if v != "" and v is not None:
                    cell = ws.cell(row=r + 1, column=c + 1, value=v)
                    if isinstance(v, str) and v.startswith("="):
                        cell.data_type = "s"
        for r1, c1, r2, c2 in merges:
            ws.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1, end_column=c2 + 1)
        for c in hidden_columns:
            ws.column_dimensions[get_column_letter(c + 1)].hidden = True
        if name in hidden_sheets:
            ws.sheet_state = "hidden"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(cells: Grid, encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator=newline)
    for row in cells:
        w.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode(encoding)


def form_xlsx(form: Form) -> bytes:
    cells, merges = grid(form)
    return xlsx([(form.sheet, cells, merges)])
