"""The receipt page shows the receipt's explanation, Chinese first (web/static/js/receipt.js):
formula and points lost per leaf, the budget line, the total's formula and the grade with its
consequence; English after the language toggle. In headless Chromium, as the other pages."""

from __future__ import annotations

from tests.web.forms import GOOD_CSV, TOTAL
from tests.web.test_browser import Server, Tab, browser, server, tab  # noqa: F401


def test_receipt_page_explains_each_number(tab: Tab, server: Server) -> None:  # noqa: F811
    tab.sign_in(server.client_key)
    page = tab.goto("/ui/score")
    page.wait_for_selector("#framework option[value=SELF-EVAL]", state="attached")
    page.set_input_files(
        "#form-file",
        files=[{"name": "self-eval.csv", "mimeType": "text/csv", "buffer": GOOD_CSV.encode()}],
    )
    page.click("#upload-go")
    page.wait_for_selector(".receipt .receipt-explain")
    assert page.locator(".receipt .total").inner_text() == str(TOTAL)
    qty = page.locator(".receipt-tree [data-leaf=qty]")
    # 50 × 96.8 / 100 = 48.4, lost 1.6
    assert qty.locator(".explain-formula").inner_text() == "算式：96.8 ÷ 100 × 50 = 48.40"
    assert qty.locator(".explain-lost").inner_text() == "失分 1.60（分值 50.00，得分 48.40）"
    assert "≥100台" in qty.inner_text()
    assert "越高越好" in qty.locator(".explain-rule").inner_text()
    assert "项目申报的目标值" in qty.locator(".explain-origin").inner_text()
    warning = qty.locator(".explain-warning[data-warning=explanation_missing]")
    assert "未填写偏差原因分析及改进措施" in warning.inner_text()
    soc = page.locator(".receipt-tree [data-leaf=soc] .explain-formula").inner_text()
    assert soc == "算式：达成年度指标：30 × 100% = 30.00"
    budget = page.locator(".receipt .explain-budget").inner_text()
    assert "执行率 = 98 ÷ 100 = 98%" in budget
    total = page.locator(".receipt .explain-total").inner_text()
    assert total == "总分 = 各项得分之和 97.2 = 97.20"
    grade = page.locator(".receipt .explain-grade").inner_text()
    assert grade.startswith("等级 优：总分在 [90, 100] 分之间；结果应用：根据情况予以支持")
    assert "（依据：项目支出绩效评价管理办法" in grade
    assert "WEB-PRJ" in page.locator(".receipt .explain-heading").inner_text()
    tab.shot("receipt-explained")

    page.click("#lang")
    page.wait_for_selector("html[lang=en]")
    page.click("#upload-go")
    page.wait_for_selector(".receipt .receipt-explain")
    qty = page.locator(".receipt-tree [data-leaf=qty]")
    assert qty.locator(".explain-formula").inner_text() == "Formula：96.8 ÷ 100 × 50 = 48.40"
    assert "points lost" in qty.locator(".explain-lost").inner_text()
    assert page.locator(".receipt .explain-grade").inner_text().startswith("grade excellent (优)")
