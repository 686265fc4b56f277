"""The self-evaluation form (自评表) as data: what the reader finds, what the writer writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def column_letter(col: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell_ref(sheet: str, row: int, col: int) -> str:
    """``自评表!F15`` for the 0-based ``row`` 14 and ``col`` 5 (quoted when the name needs it)."""
    name = sheet if sheet.replace("_", "").isalnum() else "'" + sheet.replace("'", "''") + "'"
    return f"{name}!{column_letter(col)}{row + 1}"


@dataclass
class FormProblem:
    """A problem of one form, at one cell (``自评表!F15``) or at the form (``自评表``)."""

    sheet: str
    ref: str | None
    msg: str  # in the language of the request (core.i18n.localized)
    type: str

    @property
    def where(self) -> str:
        return self.ref or self.sheet


@dataclass
class FundsLine:
    """One line of the funds block (项目资金（万元）): 年度资金总额, 其中 lines, 基本支出 …"""

    label: str
    initial: float | None = None  # 年初预算数
    adjusted: float | None = None  # 全年预算数 (the adjusted budget)
    executed: float | None = None  # 全年执行数
    points: float | None = None  # 分值 (the total line)
    row: int = 0
    sub: bool = False  # a 其中 line


@dataclass
class IndicatorLine:
    """One row of the indicator table; ``row`` is 0-based, ``cols`` maps field → column."""

    row: int
    class_l1: str
    class_l2: str
    name: str
    target: Any = None  # 年度指标值 as written
    actual: Any = None  # 实际完成值 as written
    points: Any = None  # 分值 as written
    explanation: str | None = None  # 偏差原因分析及改进措施
    remark: str | None = None  # 备注


@dataclass
class Form:
    sheet: str
    title: str = "项目支出绩效自评表"
    layout: str = "project"  # or "department" (部门整体支出绩效自评表)
    fiscal_year: int | None = None
    year_text: str | None = None
    project: str | None = None  # 项目名称 (部门名称 in the department layout)
    department: str | None = None  # 主管部门
    unit: str | None = None  # 实施单位
    funds: list[FundsLine] = field(default_factory=list)
    goal_expected: str | None = None  # 年度总体目标: 预期目标
    goal_actual: str | None = None  # 实际完成情况
    indicators: list[IndicatorLine] = field(default_factory=list)
    total_points: Any = None  # 总分 line as written
    signatures: list[str] = field(default_factory=list)
    cols: dict[str, int] = field(default_factory=dict)  # indicator table: field → column
    funds_cols: dict[str, int] = field(default_factory=dict)  # funds block: field → column

    @property
    def funds_total(self) -> FundsLine | None:
        """The 年度资金总额 line (the first line when none is labelled so)."""
        for line in self.funds:
            if "总额" in line.label or "合计" in line.label:
                return line
        return self.funds[0] if self.funds else None

    def ref(self, row: int, col: int) -> str:
        return cell_ref(self.sheet, row, col)
