"""The 目标审核 page (/ui/targets) in headless Chromium: a target table typed in, and a
绩效目标申报表 uploaded, reviewed through the public API (fixtures of test_browser.py)."""

from __future__ import annotations

from typing import Any

from tests.targets.declaration import declaration
from tests.web import test_browser as shared
from tests.web.test_browser import Server, Tab

# the fixtures of test_browser.py: the served app (seed catalogue, keys), Chromium, a tab
browser, server, tab = shared.browser, shared.server, shared.tab

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _fill_context(p: Any, budget: str) -> None:
    p.fill("#project", "2024年学前教育资助项目")
    p.fill("#sector", "education")
    p.fill("#project_type", "grant")
    p.fill("#region", "330102")
    p.fill("#fiscal_year", "2024")
    p.fill("#budget", budget)


def test_review_a_typed_table_in_chinese_then_english(tab: Tab, server: Server) -> None:
    tab.sign_in(server.evaluator_key)
    page = tab.goto("/ui/targets")
    assert page.locator("h1").inner_text() == "绩效目标审核"
    assert page.locator("#nav a[href='/ui/targets']").inner_text() == "目标审核"
    _fill_context(page, "500")
    rows = page.locator("#targets-table-body tr")
    first, second = rows.nth(0), rows.nth(1)
    first.locator(".row-class_l1").fill("效益指标")
    first.locator(".row-class_l2").fill("社会效益指标")
    first.locator(".row-name").fill("学前教育毛入园率")
    first.locator(".row-indicator").fill("EDU-02-001")
    first.locator(".row-target").fill("≥85%")
    second.locator(".row-class_l1").fill("产出指标")
    second.locator(".row-class_l2").fill("成本指标")
    second.locator(".row-name").fill("项目总成本")
    second.locator(".row-target").fill("≤600万元")
    page.click("#targets-form button[type=submit]")
    page.wait_for_selector("#targets-verdict")
    # by hand: 数量, 质量, 时效 and 满意度 missing (4 major), 85 % < historical 89.7 % (偏低,
    # major), 600 万元 > 500 万元 (major): 6 major findings ≥ 3 → 不予通过
    assert page.locator("#targets-verdict").inner_text() == "审核结论: 不予通过"
    findings = page.locator("#targets-findings tbody").inner_text()
    assert "偏低" in findings
    assert "历史标准 ≥89.7%" in findings
    assert "超过项目预算500万元" in findings
    assert page.locator("#targets-findings tbody tr").count() == 7  # and the free-text note
    assert "EDU-03-001" in page.locator("#targets-suggestions").inner_text()
    tab.shot("targets")
    page.click("#lang")
    assert page.locator("h1").inner_text() == "Target review"
    assert page.locator("#targets-verdict").inner_text() == "Verdict: not approved"
    assert "too low" in page.locator("#targets-findings tbody").inner_text()
    page.click("#lang")  # back to Chinese for the next tests


def test_upload_a_declaration_form(tab: Tab, server: Server) -> None:
    tab.sign_in(server.evaluator_key)
    page = tab.goto("/ui/targets")
    _fill_context(page, "")  # the budget comes from the form (500 万元)
    page.set_input_files(
        "#declaration", files=[{"name": "申报表.xlsx", "mimeType": XLSX, "buffer": declaration()}]
    )
    page.click("#targets-upload button[type=submit]")
    page.wait_for_selector("#targets-verdict")
    # the hand-computed review of tests/targets/test_review_form.py: 4 major findings
    assert page.locator("#targets-verdict").inner_text() == "审核结论: 不予通过"
    assert "重大问题4项" in page.locator("#targets-explanation").inner_text()
    assert page.locator("#targets-rows tbody tr").count() == 5
