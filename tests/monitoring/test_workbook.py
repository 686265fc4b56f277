"""GET /v1/monitoring/{id}/workbook: the 绩效监控表 of a stored record, read back cell by cell."""

from __future__ import annotations

import io

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from indicator_service.auth.models import Role
from tests.helpers import ApiClient, assert_problem
from tests.monitoring.conftest import client_for, farmland_request

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cells(ws) -> list[list[object]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def find(rows: list[list[object]], first: str) -> list[object]:
    return next(r for r in rows if isinstance(r[0], str) and r[0].startswith(first))


def test_workbook_writes_the_result_back(mapi: ApiClient, mon_app: FastAPI) -> None:
    body = farmland_request(project="WORKBOOK")
    body["indicators"][0]["class_l1"] = '=HYPERLINK("http://x")'  # stays text
    mid = mapi.post("/v1/monitoring", json=body).json()["id"]
    r = mapi.get(f"/v1/monitoring/{mid}/workbook")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert f'filename="monitoring-{mid}.xlsx"' in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["绩效监控表", "说明 Explanations"]
    ws = wb["绩效监控表"]
    rows = cells(ws)
    assert rows[0][0] == "项目支出绩效目标执行监控表"
    assert "监控时点 as of 2026-06-30" in str(rows[1][0])
    assert find(rows, "项目名称")[1] == "2026年高标准农田建设项目"
    funds = find(rows, "年度资金总额")
    assert funds[1:4] == [500, 150, pytest.approx(0.30)]
    assert funds[4] == pytest.approx(181 / 365)
    assert funds[5] == pytest.approx((0.30 - 181 / 365) * 100)  # −19.59 points
    assert funds[7] == pytest.approx(0.30 * 365 / 181)
    assert funds[8] == "是 yes"
    # the indicator rows, in input order
    r1 = next(r for r in rows if r[2] == "新建高标准农田面积")
    assert r1[0] == '=HYPERLINK("http://x")'  # a string cell, not a formula
    assert r1[3] == "≥1.2万亩"
    assert r1[4] == pytest.approx(0.48)
    assert r1[8] == pytest.approx(0.48 * 365 / 181)
    assert r1[9] == pytest.approx(146 / 181)
    assert r1[10] == "预计难以完成 Likely to be missed"
    r3 = next(r for r in rows if r[2] == "亩均建设成本")
    assert (r3[11], r3[12]) == ("钢材、水泥价格上涨", "优化设计，集中采购主要材料")
    # the flags with their stable ids and status
    flags = {r[0]: r for r in rows if isinstance(r[0], str) and r[0].startswith(f"{mid}:")}
    assert set(flags) == {
        f"{mid}:budget.execution_behind",
        f"{mid}:R1.likely_missed",
        f"{mid}:R3.likely_missed",
    }
    assert flags[f"{mid}:R1.likely_missed"][3] == "待说明 pending"
    assert flags[f"{mid}:R3.likely_missed"][3] == "已说明 explained"
    assert "共3项预警" in str(find(rows, "监控结论")[1])
    notes = cells(wb["说明 Explanations"])
    assert notes[0] == ["对象 Subject", "说明", "Explanation"]
    assert any(n[0] == "R1" and "80.66%" in str(n[1]) and "80.66%" in str(n[2]) for n in notes)


def test_workbook_is_owner_scoped(mapi: ApiClient, mon_app: FastAPI) -> None:
    mid = mapi.post("/v1/monitoring", json=farmland_request(project="WB-OWNED")).json()["id"]
    other = client_for(mon_app, Role.evaluator)
    assert_problem(other.get(f"/v1/monitoring/{mid}/workbook"), 404)
    assert_problem(mapi.get("/v1/monitoring/999999/workbook"), 404)
    other.close()
