"""The 绩效目标申报表 (project target declaration form) in the national layout, read into a
target-review request.

The layout (项目支出绩效目标申报表, as units fill it in): a title, a year line
``（2024年度）``, the project block (项目名称; 主管部门 and 实施单位), the funds block
(项目资金（万元）: 年度资金总额, 其中 财政拨款 / 其他资金), 年度总体目标 with its text to the
right (or on the line below), then
the indicator table: 一级指标 and 二级指标 cells merged down their rows, 三级指标 and
指标值 (年度指标值), followed by signature lines (填表人 …). The workbook is read by the tables
package (``tables.workbook.read_sheets``: XLSX, XLS or CSV, with its limits); the first sheet
that has the indicator table is the form. Every problem names its cell (``申报表!E12``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from indicator_service.core.errors import ErrorItem, PayloadTooLarge, ServiceError, Unprocessable
from indicator_service.core.i18n import _, localized, validation_message
from indicator_service.forms.cells import label, normalise, parse_quantity
from indicator_service.forms.model import cell_ref
from indicator_service.tables.workbook import Sheet, WorkbookError, cell_value, read_sheets
from indicator_service.targets.schemas import TargetReviewRequest

E = TypeVar("E", bound=ServiceError)

PROJECT = ("项目名称",)
DEPARTMENT = ("主管部门", "主管部门及代码")
UNIT = ("实施单位", "项目实施单位")
TOTAL_FUNDS = ("年度资金总额", "资金总额", "年度资金总额(万元)")
GOAL = ("年度总体目标", "年度绩效目标", "总体目标")
GOAL_SUBHEAD = ("预期目标", "目标")
L1 = ("一级指标",)
L2 = ("二级指标",)
L3 = ("三级指标", "指标名称")
TARGET = ("年度指标值", "指标值", "目标值", "年度目标值", "预期指标值")
CODE = ("指标编码", "指标代码")
SIGNATURE = ("填表人", "填报人", "负责人", "联系电话", "审核人", "填报日期", "填表日期")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")


@dataclass(frozen=True)
class _Cell:
    r: int
    c: int


def _text(sheet: Sheet, r: int, c: int) -> str:
    v = sheet.cell(r, c)
    return "" if v == "" else label(v)


def _find(sheet: Sheet, names: tuple[str, ...], limit: int | None = None) -> _Cell | None:
    wanted = set(names)
    for r in range(min(len(sheet.rows), limit) if limit else len(sheet.rows)):
        for c in range(len(sheet.rows[r])):
            if _text(sheet, r, c) in wanted:
                return _Cell(r, c)
    return None


def _right(sheet: Sheet, at: _Cell, labels: set[str]) -> tuple[str | None, int]:
    """The first non-empty cell right of ``at`` that is not another label."""
    row = sheet.rows[at.r] if at.r < len(sheet.rows) else []
    for k in range(at.c + 1, len(row)):
        v = row[k]
        t = (normalise(v) if not isinstance(v, str) else v.strip()) if v != "" else ""
        if t:
            return (None, k) if label(t) in labels else (t, k)
    return None, -1


def _header(sheet: Sheet) -> tuple[int, dict[str, int]] | None:
    for r in range(len(sheet.rows)):
        texts = {_text(sheet, r, c): c for c in range(len(sheet.rows[r]))}
        cols: dict[str, int] = {}
        for key, names in (("l1", L1), ("l2", L2), ("l3", L3), ("target", TARGET), ("code", CODE)):
            hit = next((texts[n] for n in names if n in texts), None)
            if hit is not None:
                cols[key] = hit
        if {"l1", "l3", "target"} <= set(cols):
            return r, cols
    return None


def is_declaration(sheets: list[Sheet]) -> Sheet | None:
    for sh in sheets:
        if _header(sh) is not None:
            return sh
    return None


def as_written(loc: list[str | int], query: frozenset[str]) -> list[str | int]:
    """``["body", field, …]`` at ``["query", field, …]`` when ``field`` was given as a query
    parameter (``query``): where the caller wrote it."""
    if len(loc) >= 2 and loc[0] == "body" and loc[1] in query:
        return ["query", *loc[1:]]
    return loc


@dataclass(frozen=True)
class Declaration:
    """The request read from a form, and where each row's fields are (``申报表!D9``)."""

    request: TargetReviewRequest
    cells: list[dict[str, str]]
    # the request's fields given as query parameters (framework, version, region …)
    query: frozenset[str] = frozenset()

    def relocate(self, exc: E) -> E:
        """The service's problem located where the caller wrote it: ``["body", "rows", i,
        field]`` as the cells of the form, a field given as a query parameter (``version``)
        at ``["query", field]``."""
        items = []
        for e in exc.errors or []:
            loc = as_written(list(e.loc), self.query)
            if loc[:1] == ["query"]:
                items.append(ErrorItem(loc=loc, msg=e.msg, type=e.type))
            elif len(loc) >= 3 and loc[:2] == ["body", "rows"] and isinstance(loc[2], int):
                field = str(loc[3]) if len(loc) > 3 else "name"
                cells = self.cells[loc[2]]
                ref = cells.get(field) or cells["name"]
                items.append(
                    ErrorItem(
                        loc=["body", ref],
                        msg=_("{where}: {msg}", where=ref, msg=e.msg),
                        type=e.type,
                    )
                )
            else:
                items.append(e)
        return type(exc)(exc.detail, errors=items, headers=exc.headers, slug=exc.slug)


def read_form(raw: bytes, context: Mapping[str, Any]) -> Declaration:
    """The review request of a 申报表 file. ``context`` gives what the form does not hold
    (framework, version, sector, project_type, region, include_illustrative) and may
    override what it does (fiscal_year, budget, project). 413/422 problems name the file or
    every cell at fault."""
    try:
        sheets = read_sheets(raw)
    except WorkbookError as exc:
        item = ErrorItem(loc=["body"], msg=exc.message, type=exc.type)
        if exc.status == 413:
            raise PayloadTooLarge(exc.message, errors=[item]) from exc
        raise Unprocessable(exc.message, errors=[item]) from exc
    sheet = is_declaration(sheets)
    if sheet is None:
        msg = _(
            "no target table found: the form needs the columns 一级指标, 三级指标 and 指标值 "
            "(年度指标值)"
        )
        raise Unprocessable(msg, errors=[ErrorItem(loc=["body"], msg=msg, type="layout")])
    errors: list[ErrorItem] = []

    def problem(r: int, c: int, zh: str, en: str, type_: str) -> None:
        ref = cell_ref(sheet.name, r, c)
        msg = _("{where}: {msg}", where=ref, msg=localized(en, zh))
        errors.append(ErrorItem(loc=["body", ref], msg=msg, type=type_))

    header = _header(sheet)
    assert header is not None
    h, cols = header
    labels = {*PROJECT, *DEPARTMENT, *UNIT, *TOTAL_FUNDS, *GOAL, *GOAL_SUBHEAD}
    data: dict[str, Any] = {}
    # the year: a line ``（2024年度）`` above the table
    for r in range(h):
        for c in range(len(sheet.rows[r])):
            m = _YEAR.search(_text(sheet, r, c))
            if m and "fiscal_year" not in data:
                data["fiscal_year"] = int(m.group(1))
    at = _find(sheet, PROJECT, h)
    if at is not None:
        value, _col = _right(sheet, at, labels)
        if value:
            data["project"] = value
    at = _find(sheet, UNIT, h) or _find(sheet, DEPARTMENT, h)
    if at is not None:
        value, _col = _right(sheet, at, labels)
        if value:
            data["unit"] = value
    at = _find(sheet, TOTAL_FUNDS, h)
    if at is not None:
        value, k = _right(sheet, at, labels)
        q = parse_quantity(normalise(value)) if value else None
        if value and q is not None and q.unit in ("", "万元"):
            data["budget"] = q.value
        elif value:
            problem(
                at.r,
                k,
                f"“{value}”不是金额（万元）",
                f"{value!r} is not an amount (万元)",
                "amount",
            )
    at = _find(sheet, GOAL, h)
    if at is not None:
        value, _col = _right(sheet, at, labels)
        if value is None and at.r + 1 < h:  # 预期目标 sub-header: the text is on the next line
            value, _col = _right(sheet, _Cell(at.r + 1, at.c), labels)
        if value:
            data["overall_goal"] = value
    rows: list[dict[str, Any]] = []
    cells: list[dict[str, str]] = []
    l1 = l2 = ""
    for r in range(h + 1, len(sheet.rows)):
        first = " ".join(_text(sheet, r, c) for c in range(len(sheet.rows[r])))
        if any(mark in first for mark in SIGNATURE):
            break
        name = _text(sheet, r, cols["l3"])
        target = normalise(cell_value(sheet, r, cols["target"], target=True))
        l1 = _text(sheet, r, cols["l1"]) or l1  # merged cells: the value above
        if "l2" in cols:
            l2 = _text(sheet, r, cols["l2"]) or l2
        if not name and not target:
            continue
        if not name:
            problem(
                r, cols["l3"], "三级指标为空", "the indicator name (三级指标) is empty", "missing"
            )
            continue
        if not target:
            problem(r, cols["target"], "指标值为空", "the target (指标值) is empty", "missing")
            continue
        if not l1:
            problem(r, cols["l1"], "一级指标为空", "the class (一级指标) is empty", "missing")
            continue
        row: dict[str, Any] = {"name": name, "target": target, "class_l1": l1}
        cells.append(
            {
                key: cell_ref(sheet.name, r, cols[col])
                for key, col in (
                    ("name", "l3"),
                    ("target", "target"),
                    ("class_l1", "l1"),
                    ("class_l2", "l2"),
                    ("indicator", "code"),
                )
                if col in cols
            }
        )
        if l2:
            row["class_l2"] = l2
        code = _text(sheet, r, cols["code"]) if "code" in cols else ""
        if code:
            row["indicator"] = code
        rows.append(row)
    if not rows and not errors:
        problem(
            h, cols["l3"], "指标表没有指标行", "the target table has no indicator rows", "missing"
        )
    if errors:
        raise Unprocessable(_("{count} problem(s) in the form", count=len(errors)), errors=errors)
    query = frozenset(k for k, v in context.items() if v is not None)
    body = {**data, **{k: context[k] for k in query}, "rows": rows}
    try:
        return Declaration(TargetReviewRequest.model_validate(body), cells, query)
    except ValidationError as exc:
        raise Unprocessable(
            _("{count} problem(s) in the form", count=exc.error_count()),
            errors=[
                ErrorItem(
                    loc=as_written(["body", *[str(x) for x in e["loc"]]], query),
                    msg=validation_message(e),
                    type=e["type"],
                )
                for e in exc.errors()
            ],
        ) from exc
