"""Reading self-evaluation forms in the national layout (项目支出 / 部门整体支出绩效自评表).

Files are read into sheets by :mod:`indicator_service.tables.workbook` (XLSX, old XLS, CSV in
UTF-8 or GB18030, with its limits). Each visible sheet that holds an indicator table is one
form. Blocks are found by their labels, not by row numbers: the title and
year, the project block (项目名称, 主管部门, 实施单位), the funds block (年初预算数, 全年预算数,
全年执行数, 分值, 执行率, 得分, the 其中 lines; 基本支出 / 项目支出 in the department layout), the
overall goals, the indicator table (一级/二级 cells merged down their rows: empty cells inherit
from above), the 总分 line and the signatures. Extra title rows, blank rows, a 备注 column and
extra (hidden) columns are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from indicator_service.core.i18n import _, localized
from indicator_service.forms.cells import label, normalise, parse_quantity
from indicator_service.forms.model import (
    Form,
    FormProblem,
    FundsLine,
    IndicatorLine,
    cell_ref,
)
from indicator_service.tables.workbook import (
    XLS,
    Sheet,
    WorkbookError,
    cell_value,
    head_sheets,
    read_sheets,
    sniff,
    uncached_formula,
)

#: A file that cannot be read as forms (the tables' :class:`WorkbookError`).
FormFileError = WorkbookError

__all__ = ["FormFileError", "national_sheets", "parse_sheet", "parse_sheets", "read_sheets"]


def _label(value: Any) -> str:
    return label(value) if value != "" else ""


def _text(sheet: Sheet, r: int, c: int) -> str:
    """The cell as a label (normalised once per sheet)."""
    grid = sheet.mapped(_label)
    if 0 <= r < len(grid):
        row = grid[r]
        if 0 <= c < len(row):
            return str(row[c])
    return ""


def _labels(sheet: Sheet, r: int) -> list[str]:
    grid = sheet.mapped(_label)
    return grid[r] if 0 <= r < len(grid) else []


# --- finding the blocks --------------------------------------------------------------------------

PROJECT_LABELS = ("项目名称", "部门名称", "单位名称", "部门(单位)名称", "预算单位名称")
DEPARTMENT_LABELS = ("主管部门", "主管部门及代码")
UNIT_LABELS = ("实施单位", "项目实施单位")
HEADER_L1 = ("一级指标",)
HEADER_L2 = ("二级指标",)
HEADER_L3 = ("三级指标", "指标名称")
HEADER_TARGET = ("年度指标值", "年度目标值", "目标值", "预期指标值", "计划值", "指标值")
HEADER_ACTUAL = ("实际完成值", "全年实际完成值", "实际值", "完成值", "全年完成值")
HEADER_POINTS = ("分值", "权重", "权重(分值)", "指标分值")
HEADER_SCORE = ("得分", "自评得分")
HEADER_REMARK = ("备注",)
TOTAL_LABELS = ("总分", "合计", "总计", "合计得分")
SIGNATURE_MARKS = ("填表人", "填报人", "负责人", "联系电话", "审核人", "填报日期", "填表日期")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
DASHES = frozenset({"—", "-", "--", "——", "/", "\\", "－", "无", "─"})


def _find(sheet: Sheet, labels: Sequence[str], rows: range) -> tuple[int, int] | None:
    wanted = set(labels)
    for r in rows:
        for c, _value in enumerate(sheet.rows[r] if r < len(sheet.rows) else ()):
            if _text(sheet, r, c) in wanted:
                return r, c
    return None


def _right_value(sheet: Sheet, r: int, c: int, stop: set[str]) -> tuple[str | None, int]:
    """The first non-empty cell right of (r, c) that is not another label."""
    row = sheet.rows[r] if r < len(sheet.rows) else []
    for k in range(c + 1, len(row)):
        t = normalise(row[k]) if not isinstance(row[k], str) else row[k].strip()
        if t:
            if label(t) in stop:
                return None, k
            return t, k
    return None, -1


def _header_row(sheet: Sheet) -> int | None:
    """The indicator table's header row: it has 一级指标 (or 三级指标) and a target column."""
    for r in range(len(sheet.rows)):
        texts = set(_labels(sheet, r))
        if texts & set(HEADER_L3) and texts & set(HEADER_POINTS) and texts & set(HEADER_L1):
            return r
    return None


def looks_national(sheets: Sequence[Sheet]) -> bool:
    """True when some sheet is a form in the national layout: an indicator table below a title
    or project block (the flat layout has its header on its first line)."""
    for sh in sheets:
        h = _header_row(sh)
        if h is None or h == 0:
            continue
        above = {_text(sh, r, c) for r in range(h) for c in range(len(sh.rows[r]))}
        if above & {*PROJECT_LABELS, *DEPARTMENT_LABELS, *UNIT_LABELS} or any(
            "自评表" in t for t in above
        ):
            return True
    return False


def _columns(sheet: Sheet, h: int) -> tuple[dict[str, int], int]:
    """Columns of the indicator table by their header labels; the first data row."""
    cols: dict[str, int] = {}
    wanted = {
        "l1": HEADER_L1,
        "l2": HEADER_L2,
        "l3": HEADER_L3,
        "target": HEADER_TARGET,
        "actual": HEADER_ACTUAL,
        "points": HEADER_POINTS,
        "score": HEADER_SCORE,
        "remark": HEADER_REMARK,
    }

    def scan(r: int) -> None:
        for c, t in enumerate(_labels(sheet, r)):
            if not t:
                continue
            if "偏差原因" in t:
                cols.setdefault("explanation", c)
                continue
            for key, names in wanted.items():
                if t in names and key not in cols:
                    # 指标值 alone over a pair of columns: the target half
                    cols[key] = c
                    break

    scan(h)
    first = h + 1
    # 指标值 merged over two columns, 年度指标值 / 实际完成值 in the row below
    sub = {t: c for c, t in enumerate(_labels(sheet, h + 1))}
    sub_target = next((sub[n] for n in HEADER_TARGET if n in sub), None)
    sub_actual = next((sub[n] for n in HEADER_ACTUAL if n in sub), None)
    if sub_target is not None and sub_actual is not None:
        cols["target"], cols["actual"] = sub_target, sub_actual
        first = h + 2
    elif "target" in cols and "actual" not in cols:
        cols["actual"] = cols["target"] + 1
    return cols, first


def _number_cell(v: Any) -> float | str | None:
    """A funds cell: its number, ``None`` when empty or a dash, or the text when unreadable."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return float(v)
    t = normalise(v)
    if not t or t in DASHES:
        return None
    q = parse_quantity(t)
    if q is None or q.unit not in ("", "万元", "元", "%"):
        return t
    return q.value


def parse_sheet(sheet: Sheet) -> tuple[Form | None, list[FormProblem]]:
    """The form on ``sheet`` (``None`` when the sheet holds no indicator table) and its
    problems (each at its cell)."""
    problems: list[FormProblem] = []
    h = _header_row(sheet)
    if h is None:
        return None, []
    name = sheet.name
    form = Form(sheet=name)

    def problem(r: int, c: int, zh: str, en: str, type_: str) -> None:
        problems.append(FormProblem(name, cell_ref(name, r, c), localized(en, zh), type_))

    top = range(0, h)
    stop = {*PROJECT_LABELS, *DEPARTMENT_LABELS, *UNIT_LABELS}
    # title and year: the rows above the project block
    for r in top:
        for v in sheet.rows[r]:
            t = normalise(v) if v != "" else ""
            if not t:
                continue
            if "自评表" in t and form.title == "项目支出绩效自评表":
                form.title = t
                if "部门整体" in t or "部门" in t[:6]:
                    form.layout = "department"
            m = _YEAR.search(t)
            if m and form.fiscal_year is None and not t.startswith(PROJECT_LABELS):
                form.fiscal_year = int(m.group(1))
                form.year_text = t
    for labels_, attr in (
        (PROJECT_LABELS, "project"),
        (DEPARTMENT_LABELS, "department"),
        (UNIT_LABELS, "unit"),
    ):
        at = _find(sheet, labels_, top)
        if at is not None:
            value, _cell = _right_value(sheet, *at, stop)
            setattr(form, attr, value)
    # funds block
    fh = None
    for r in top:
        texts = {t: c for c, t in enumerate(_labels(sheet, r)) if t}
        if "全年执行数" in texts and ("全年预算数" in texts or "年初预算数" in texts):
            fh = r
            form.funds_cols = {
                k: texts[n]
                for k, n in (
                    ("initial", "年初预算数"),
                    ("adjusted", "全年预算数"),
                    ("executed", "全年执行数"),
                    ("points", "分值"),
                    ("rate", "执行率"),
                    ("score", "得分"),
                )
                if n in texts
            }
            break
    if fh is not None:
        fc = form.funds_cols
        first_num = min(fc.values())
        for r in range(fh + 1, h):
            lead = [(c, t) for c, t in enumerate(_labels(sheet, r)[:first_num]) if t]
            if any(t in ("年度总体目标", "绩效指标", "总体目标") or "目标" in t for _, t in lead):
                break
            values = {k: _number_cell(sheet.cell(r, c)) for k, c in fc.items()}
            if not lead and all(v is None for v in values.values()):
                continue
            lab = lead[-1][1] if lead else ""
            if "项目资金" in lab or "资金(万元)" in lab:
                lab = ""
            sub = lab.startswith("其中") or bool(form.funds and form.funds[-1].sub)
            lab = re.sub(r"^其中[:：]?", "", lab)
            line = FundsLine(label=lab or "年度资金总额", row=r, sub=sub)
            for k in ("initial", "adjusted", "executed", "points"):
                v = values.get(k)
                if isinstance(v, str):
                    problem(
                        r,
                        fc[k],
                        f"“{v}”不是金额；请填写数字（万元），没有时留空或填“—”",
                        f"{v!r} is not an amount: write a number (万元), or leave it empty",
                        "float_parsing",
                    )
                else:
                    setattr(line, k, v)
            form.funds.append(line)
        if not form.funds:
            problem(
                fh,
                fc.get("executed", 0),
                "资金块没有金额行（年度资金总额）",
                "the funds block has no amount line (年度资金总额)",
                "missing",
            )
    # overall goals
    exp = _find(sheet, ("预期目标",), top)
    act = _find(sheet, ("实际完成情况", "全年实际完成情况"), top)
    for at, attr in ((exp, "goal_expected"), (act, "goal_actual")):
        if at is None:
            continue
        below = sheet.cell(at[0] + 1, at[1])
        text = str(below).strip() if below != "" else None
        if not text:
            text, _cell = _right_value(sheet, *at, {"实际完成情况", "预期目标"})
        setattr(form, attr, text)
    if form.layout == "project" and any(ln.label in ("基本支出", "项目支出") for ln in form.funds):
        form.layout = "department"
    # indicator table
    cols, first = _columns(sheet, h)
    form.cols = cols
    for key, zh in (
        ("l1", "一级指标"),
        ("l3", "三级指标"),
        ("points", "分值"),
        ("target", "年度指标值"),
    ):
        if key not in cols:
            problems.append(
                FormProblem(
                    name,
                    cell_ref(name, h, 0),
                    _("the indicator table has no {zh} column", zh=zh),
                    "missing_column",
                )
            )
    if problems and any(p.type == "missing_column" for p in problems):
        return form, problems
    l1 = l2 = ""
    label_cols = [cols[k] for k in ("l1", "l2", "l3") if k in cols]
    r = first
    end = len(sheet.rows)
    while r < end:
        heads = _labels(sheet, r)[: max(label_cols) + 1]
        if any(t in TOTAL_LABELS or t.startswith(("总分", "合计")) for t in heads if t):
            form.total_points = sheet.cell(r, cols["points"])
            r += 1
            break
        if any(any(m in t for m in SIGNATURE_MARKS) for t in _labels(sheet, r) if t):
            break
        cell = sheet.cell
        a, b = normalise(cell(r, cols["l1"])), normalise(cell(r, cols.get("l2", -1)))
        nm = normalise(cell(r, cols["l3"]))
        target, actual, points = (
            cell_value(sheet, r, cols["target"], target=True),
            cell_value(sheet, r, cols["actual"]),
            cell_value(sheet, r, cols["points"]),
        )
        for key in ("target", "actual", "points"):
            f = uncached_formula(sheet, r, cols[key])
            if f is not None:
                problem(
                    r,
                    cols[key],
                    f"公式“={f}”没有计算结果（不计算公式）；请在 Excel 中重新计算并保存，"
                    "或直接填写数值",
                    f"the formula ={f} has no cached value (formulas are not evaluated): "
                    "recalculate and save in Excel, or write the value",
                    "formula",
                )
        if a:
            l1, l2 = a, ""
        if b:
            l2 = b
        if not nm and target == "" and actual == "" and points == "":
            r += 1
            continue
        if not l1:
            problem(
                r,
                cols["l1"],
                "一级指标为空（上方也没有可继承的一级指标）",
                "一级指标 is empty and there is none above to inherit",
                "missing",
            )
        if not nm:
            problem(
                r,
                cols["l3"],
                "三级指标名称为空",
                "the level-3 indicator (三级指标) has no name",
                "missing",
            )
        expl = cell(r, cols["explanation"]) if "explanation" in cols else ""
        remark = cell(r, cols["remark"]) if "remark" in cols else ""
        form.indicators.append(
            IndicatorLine(
                row=r,
                class_l1=l1,
                class_l2=l2,
                name=nm,
                target=target,
                actual=actual,
                points=points,
                explanation=str(expl).strip() or None if expl != "" else None,
                remark=str(remark).strip() or None if remark != "" else None,
            )
        )
        r += 1
    # signatures: the non-empty lines below the table
    for rr in range(r, end):
        words = [str(v).strip() for v in sheet.rows[rr] if v != "" and str(v).strip()]
        if words:
            form.signatures.append("    ".join(words))
    if not form.indicators:
        problems.append(
            FormProblem(
                name,
                cell_ref(name, h, cols["l3"]),
                _("the indicator table has no rows"),
                "missing",
            )
        )
    return form, problems


def parse_sheets(sheets: Sequence[Sheet]) -> tuple[list[Form], list[list[FormProblem]]]:
    """Every form of the sheets (one per sheet with an indicator table), with its problems."""
    forms: list[Form] = []
    problems: list[list[FormProblem]] = []
    for sh in sheets:
        form, probs = parse_sheet(sh)
        if form is None:
            continue
        forms.append(form)
        problems.append(probs)
    return forms, problems


HEAD_ROWS = 60  # rows looked at to tell the national layout from the flat one


def national_sheets(raw: bytes) -> list[Sheet] | None:
    """The sheets of ``raw`` when it is a form in the national layout, else ``None`` (a flat
    table, or a file the flat reader should judge). Only the first rows are looked at before
    deciding, so a large flat batch costs little; the sheets are then read in full (with the
    limits of :func:`~indicator_service.tables.workbook.read_sheets`). An XLS workbook is
    always read as forms."""
    if sniff(raw) == XLS:
        return read_sheets(raw)
    heads = head_sheets(raw, HEAD_ROWS)
    if heads is None or not looks_national(heads):
        return None
    return read_sheets(raw)
