"""Blank forms per framework: the national layout with the framework's classes filled in.

Open classes (产出/效益/满意度 of SELF-EVAL …) get one empty row per level-2 class, for the
unit's own indicators; fixed leaves (DEPT-OVERALL, PRJ-2020) are listed with their names and
points. The budget-execution node's points go to the funds block's 分值.
"""

from __future__ import annotations

from typing import Any

from indicator_service.forms.model import Form, FundsLine, IndicatorLine

DEPARTMENT_KINDS = ("department_overall",)


def template_form(doc: Any) -> Form:
    """A blank :class:`Form` for a framework document (``catalogue.source.FrameworkDoc``)."""
    nodes = list(doc.nodes)
    children: dict[str | None, list[Any]] = {}
    for n in nodes:
        children.setdefault(n.parent, []).append(n)
    department = doc.kind in DEPARTMENT_KINDS
    form = Form(
        sheet="自评表",
        title="部门整体支出绩效自评表" if department else "项目支出绩效自评表",
        layout="department" if department else "project",
    )
    budget_points = None
    rows: list[IndicatorLine] = []
    r = 0

    def add(l1: str, l2: str, name: str, points: Any) -> None:
        nonlocal r
        rows.append(IndicatorLine(row=r, class_l1=l1, class_l2=l2, name=name, points=points))
        r += 1

    def leaves(node: Any) -> list[Any]:
        kids = children.get(node.code, [])
        if not kids:
            return [node]
        return [leaf for k in kids for leaf in leaves(k)]

    for top in children.get(None, []):
        rule = top.rule or {}
        if rule.get("kind") == "budget_execution":
            budget_points = top.points
            continue
        l2s = children.get(top.code, [])
        if not l2s:
            add(top.name_zh, "", "" if top.open else top.name_zh, None if top.open else top.points)
            continue
        for l2 in l2s:
            if l2.open or not children.get(l2.code):
                add(top.name_zh, l2.name_zh, "", None if l2.open else l2.points)
                continue
            for leaf in leaves(l2):
                add(top.name_zh, l2.name_zh, leaf.name_zh, leaf.points)
    form.indicators = rows
    total = FundsLine("年度资金总额", points=budget_points)
    if department:
        form.funds = [
            total,
            FundsLine("基本支出", sub=True),
            FundsLine("项目支出", sub=True),
        ]
    else:
        form.funds = [
            total,
            FundsLine("当年财政拨款", sub=True),
            FundsLine("上年结转资金", sub=True),
            FundsLine("其他资金", sub=True),
        ]
    form.signatures = [
        "填表人：            联系电话：            填报日期：            单位负责人："
    ]
    return form
