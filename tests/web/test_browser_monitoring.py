"""The 绩效运行监控 page in headless Chromium: fill in a project at 30 June, read the answer
(Chinese, then English), download the 绩效监控表 (fixtures of test_browser.py)."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.web.test_browser import Server, Tab, browser, server, tab  # noqa: F401


def test_monitor_a_project_mid_year(tab: Tab, server: Server) -> None:  # noqa: F811
    tab.sign_in(server.evaluator_key)
    page = tab.goto("/ui/monitoring")
    assert page.locator("h1").inner_text() == "绩效运行监控"  # Chinese by default
    page.wait_for_selector("#mon-framework option[value=SELF-EVAL]", state="attached")
    page.fill("#mon-project", "UI-MON")
    page.fill("#mon-project-name", "高标准农田建设项目")
    page.fill("#mon-region", "330102")
    page.fill("#mon-year", "2026")
    page.fill("#mon-as-of", "2026-06-30")
    page.fill("#mon-budget", "500")
    page.fill("#mon-executed", "150")
    page.fill("#mon-row-1-class_l1", "产出指标")
    page.fill("#mon-row-1-name", "新建高标准农田面积")
    page.select_option("#mon-row-1-operator", "≥")
    page.fill("#mon-row-1-target", "1.2")
    page.fill("#mon-row-1-unit", "万亩")
    page.fill("#mon-row-1-actual", "0.48")
    page.click("#mon-add-row")
    page.fill("#mon-row-2-name", "亩均建设成本")
    page.select_option("#mon-row-2-operator", "≤")
    page.fill("#mon-row-2-target", "200")
    page.fill("#mon-row-2-unit", "元")
    page.select_option("#mon-row-2-kind", "level")
    page.fill("#mon-row-2-actual", "230")
    page.fill("#mon-row-2-reason", "钢材价格上涨")
    page.fill("#mon-row-2-measure", "集中采购主要材料")
    page.click("#mon-form button[type=submit]")
    page.wait_for_selector("#mon-summary")
    # 150/500 = 30 % at 181/365 = 49.59 %: flagged; R1 0.48 of 1.2 → forecast 80.66 %;
    # R2 230 > 200 × 1.05: flagged, explained
    assert "共3项预警，其中2项待说明" in page.locator("#mon-summary").inner_text()
    assert "落后时间进度19.59个百分点" in page.locator("#mon-budget-text").inner_text()
    first = page.locator("#mon-indicators tbody tr").first.inner_text()
    assert "80.66%" in first
    assert "预计难以完成" in first
    flags = page.locator("#mon-flags tbody").inner_text()
    assert ":budget.execution_behind" in flags
    assert ":R2.likely_missed" in flags
    assert "已说明" in flags
    assert "待说明偏离原因和纠偏措施" in flags
    tab.shot("monitoring")
    page.click("#lang")
    assert page.locator("h1").inner_text() == "In-year monitoring"
    assert "3 warning(s), 2 awaiting" in page.locator("#mon-summary").inner_text()
    assert "Awaiting reason and measure" in page.locator("#mon-flags tbody").inner_text()
    with page.expect_download() as info:
        page.click("#mon-workbook")
    book = load_workbook(io.BytesIO(info.value.path().read_bytes()))
    assert book.sheetnames[0] == "绩效监控表"
