"""End-to-end tests of the web interface in headless Chromium (Debian's ``chromium`` driven by
Playwright for Python through ``executable_path``; no downloaded browser).

The real app is served by uvicorn on a free loopback port with a SQLite database of its own
(the seed catalogue plus health 1.0.1, see ``conftest.py``). They run in the SQLite pass only:
the pages talk to the public API and do not depend on the kind of database.

When Chromium or Playwright is missing the tests FAIL if ``CI`` is set (``.ci/run`` sets it) and
are skipped otherwise (a developer machine without a browser). ``INDICATOR_CHROMIUM`` names
another Chromium binary. Screenshots of every page at 1280 px and 390 px are written to
``test-artifacts/web/``.
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from indicator_service.auth.models import Role
from tests.auth.fixtures import bearer, issue_key
from tests.conftest import IS_POSTGRES
from tests.paths import REPO_ROOT
from tests.web.conftest import HEALTH_NEW_NAME, build_web_app
from tests.web.forms import BAD_CELL_CSV, EXPLANATION, GOOD_CSV, GRADE, TOTAL

CHROMIUM = os.environ.get("INDICATOR_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "web"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SVG_NS = "http://www.w3.org/2000/svg"  # a name, not a resource


def _require_browser() -> None:
    if IS_POSTGRES:
        pytest.skip(
            "browser tests run in the SQLite pass (the pages do not depend on the database)"
        )
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem is None and not Path(CHROMIUM).exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the browser tests: {problem}")
        pytest.skip(problem)


@dataclass
class Server:
    url: str
    client_key: str
    evaluator_key: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _require_browser()
    import uvicorn

    tmp = tmp_path_factory.mktemp("ui")
    app = build_web_app(tmp, f"sqlite:///{tmp / 'ui.db'}")
    keys = {
        role: issue_key(app.state.engine, app.state.settings, role, name=f"ui {role.value}")
        for role in (Role.client, Role.evaluator)
    }
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield Server(f"http://127.0.0.1:{port}", keys[Role.client], keys[Role.evaluator])
    uv.should_exit = True
    thread.join(10)
    sock.close()
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


class Tab:
    """A browser page at one width, failing the test on script errors and CSP violations."""

    def __init__(self, browser: Any, server: Server, viewport: dict[str, int]) -> None:
        self.server = server
        self.width = viewport["width"]
        self.context = browser.new_context(
            viewport=viewport, base_url=server.url, accept_downloads=True
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(8000)
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        text = message.text
        if message.type == "error" and not text.startswith("Failed to load resource"):
            self.problems.append(f"console: {text}")
        if "Content Security Policy" in text or "Refused to" in text:
            self.problems.append(f"CSP: {text}")

    def goto(self, path: str) -> Any:
        self.page.goto(path)
        return self.page

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}-{self.width}.png"), full_page=True)

    def sign_in(self, key: str) -> None:
        page = self.goto("/ui/signin")
        page.fill("#api-key", key)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("#signin-status:not(:empty)")

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems


@pytest.fixture
def tab(browser: Any, server: Server) -> Iterator[Tab]:
    t = Tab(browser, server, DESKTOP)
    yield t
    t.close()


@pytest.fixture
def phone(browser: Any, server: Server) -> Iterator[Tab]:
    t = Tab(browser, server, PHONE)
    yield t
    t.close()


def test_browse_search_and_indicator_page(tab: Tab) -> None:
    page = tab.goto("/ui/catalogue")
    page.wait_for_selector("#namespace-table tbody tr")
    assert page.locator("#namespace-table tbody tr").count() == 13
    assert page.locator("h1").inner_text() == "指标库浏览"  # Chinese by default
    page.wait_for_selector("#tree details summary")  # the common namespace's tree
    page.select_option("#namespace", "health")
    page.wait_for_selector("#tree h3:has-text('卫生健康')")
    assert page.locator("#version option").count() == 2
    page.locator("#tree details details summary").first.click()  # open a level-2 class
    # the SELF-EVAL framework's tree: level-1 classes with their points, the execution leaf's
    # catalogue indicator linked
    out = page.locator("#framework-tree li[data-node=OUT]")
    out.locator("summary").first.wait_for()
    assert out.locator("summary").first.inner_text().startswith("产出指标 50")
    assert page.locator("#framework-tree li[data-node=EXEC] a").inner_text() == "COM-02-002"
    tab.shot("catalogue")
    # search in Chinese
    page.fill("#q", "满意度")
    page.press("#q", "Enter")
    page.wait_for_selector("#search-table tbody tr")
    codes = page.locator("#search-table tbody tr td:first-child").all_inner_texts()
    assert "AGR-06-001" in codes
    assert page.url.endswith("?q=%E6%BB%A1%E6%84%8F%E5%BA%A6")
    # switch to English (kept in localStorage) and search in English
    page.click("#lang")
    assert page.locator("h1").inner_text() == "Catalogue"
    page.fill("#q", "physicians")
    page.click("#search-form button")
    page.wait_for_selector("#search-table td:has-text('HLT-05-002')")
    assert "Licensed (assistant) physicians" in page.locator("#search-table tbody").inner_text()
    tab.shot("search")
    page.click("#search-table a:has-text('HLT-05-002')")
    page.wait_for_selector("#history-table tbody tr")
    assert page.locator("h1").inner_text() == "Indicator"  # the language stayed English
    # the 十四五 plan target (3.2) and the 2022 actual value (3.15)
    standards = page.locator("#standards-table tbody").inner_text()
    assert standards.count("≥ 3.2 人") == 1
    assert standards.count("≥ 3.15 人") == 1
    assert "《" in standards
    assert "[object Object]" not in standards
    history = page.locator("#history-table tbody tr").all_inner_texts()
    assert len(history) == 2
    assert any("Licensed (assistant) physicians" in row and "1.0.1" in row for row in history)
    facts = page.locator("#indicator dl.facts").inner_text()
    assert "Higher is better" in facts  # the rule in words, never its JSON
    assert "{" not in facts
    assert "higher_better" not in facts
    assert "Published" in facts
    tab.shot("indicator")
    page.click("#lang")
    assert page.locator("h1").inner_text() == "指标"


def test_standard_lookup(tab: Tab) -> None:
    page = tab.goto("/ui/standards")
    page.fill("#indicator", "HLT-05-002")
    page.fill("#region", "110105")
    page.fill("#fiscal_year", "2023")
    page.click("#lookup-form button")
    page.wait_for_selector("#lookup-standard")
    assert page.locator("#lookup-standard dd[data-field=value]").inner_text() == "≥ 3.2 人"
    assert page.locator("#lookup-standard dd[data-field=region]").inner_text() == "000000"
    assert "规划期末目标" in page.locator("#lookup-standard").inner_text()
    # the citation as one line: 《title》issuer (year), never "[object Object]"
    source = page.locator("#lookup-standard dd[data-field=source]").inner_text()
    assert source.startswith("《"), source
    assert "object" not in source
    explanation = page.locator("#lookup-explanation").inner_text()
    assert "110105" in explanation
    assert "采用 000000（全国）的计划标准" in explanation, explanation  # the API's words
    assert page.locator("#candidates-table tbody tr").count() >= 4
    # codes in words, Chinese by default: the standard type, the region level and the outcome
    assert page.locator("#lookup-standard dd[data-field=type]").inner_text() == "计划标准"
    candidates = page.locator("#candidates-table tbody").inner_text()
    assert "采用" in candidates
    assert "全国" in candidates
    # the API's reason, in the page's language
    assert "地区 110105 没有" in candidates
    assert "计划标准\t110105" in candidates
    assert "no plan standard" not in candidates
    for code in ("won", "lost", "plan", "national", "province"):
        assert f"\t{code}\t" not in candidates, code
    tab.shot("standards")
    # the language toggle asks the API again: its reasons follow the page's language
    page.click("#lang")
    # (selectors, not page.wait_for_function: evaluating a string breaks the pages' CSP)
    page.wait_for_selector("#candidates-table tbody:has-text('no plan standard')")
    assert "used" in page.locator("#lookup-explanation").inner_text()
    page.click("#lang")
    page.wait_for_selector("#candidates-table tbody:has-text('地区 110105 没有')")
    # an unknown indicator is the API's problem, shown as an alert
    page.fill("#indicator", "HLT-99-999")
    page.click("#lookup-form button")
    assert "404" in page.locator("[role=alert]").inner_text()


def test_sign_in_upload_form_read_grade_and_download(tab: Tab, server: Server) -> None:
    page = tab.goto("/ui/signin")
    page.fill("#api-key", "isk_0000_not-a-key")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-status:has-text('401')")
    assert page.evaluate("sessionStorage.getItem('indicator.apiKey')") is None
    tab.shot("signin")
    tab.sign_in(server.client_key)
    assert page.locator("#signin-link").inner_text() == "已登录"

    page = tab.goto("/ui/score")
    page.wait_for_selector("#framework option[value=SELF-EVAL]", state="attached")
    assert page.locator("#framework").input_value() == "SELF-EVAL"
    page.set_input_files(
        "#form-file",
        files=[{"name": "self-eval.csv", "mimeType": "text/csv", "buffer": GOOD_CSV.encode()}],
    )
    page.click("#upload-go")
    page.wait_for_selector(".receipt .grade")
    assert page.locator(".receipt .total").inner_text() == str(TOTAL)
    assert page.locator(".receipt .grade").inner_text().startswith(GRADE)
    assert page.locator(".receipt .recommendation").inner_text() == "根据情况予以支持"
    bars = page.locator("svg.chart g.bar")
    assert bars.count() == 4  # 产出, 效益, 满意度 and the budget-execution leaf
    assert "48.4 / 50" in (page.locator("svg.chart").text_content() or "")
    assert "失分 1.6" in page.locator(".receipt-tree [data-leaf=qty]").inner_text()
    assert EXPLANATION in page.locator(".receipt-tree [data-leaf=sat]").inner_text()
    # rows that lost points without 偏差原因分析 are named (sat lost 1 but has one)
    needed = page.locator(".receipt .explanations-needed").inner_text()
    assert "需填写偏差原因分析及改进措施" in needed
    assert "完成数量" in needed
    assert "预算执行率" in needed
    assert "受益群众满意度" not in needed
    assert "群众受益情况" not in needed
    assert page.locator(".receipt-tree [data-leaf=qty] .explanation-missing").count() == 1
    assert page.locator(".receipt-tree [data-leaf=sat] .explanation-missing").count() == 0
    tab.shot("score-upload")
    with page.expect_download() as info:
        page.click("#download")
    from openpyxl import load_workbook

    assert info.value.suggested_filename == "self-eval.scored.xlsx"
    content = Path(info.value.path()).read_bytes()
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    total = dict(zip(rows[0], rows[-1], strict=True))
    assert (total["id"], total["total"], total["grade"]) == ("TOTAL", TOTAL, GRADE)
    needed = {r[3]: r[rows[0].index("explanation_needed")] for r in rows[1:-1]}
    assert needed == {
        "EXEC": "需填写偏差原因分析及改进措施 / explanation needed",
        "qty": "需填写偏差原因分析及改进措施 / explanation needed",
        "soc": None,
        "sat": None,
    }


def test_bad_row_shows_validation_error(tab: Tab, server: Server) -> None:
    tab.sign_in(server.client_key)
    page = tab.goto("/ui/score")
    page.wait_for_selector("#framework option[value=SELF-EVAL]", state="attached")
    page.set_input_files(
        "#form-file",
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CELL_CSV.encode()}],
    )
    page.click("#upload-go")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    text = alert.inner_text()
    assert "422" in text
    assert "body.line.2.value" in text
    assert "不是数值：'abc'" in text  # the API answers in the page's language (Chinese)
    assert page.locator(".receipt").count() == 0
    tab.shot("score-error")
    # a row filled in by hand that the scoring refuses: a level on a ≥ row
    page.fill("#row-1-class_l1", "产出指标")
    page.fill("#row-1-points", "50")
    page.fill("#row-1-target", "100")
    page.fill("#row-1-value", "96")
    page.select_option("#row-1-level", "achieved")
    page.click("#score-go")
    page.wait_for_selector("[role=alert]:has-text('body.rows.0.level')")


def test_fill_rows_save_evaluations_and_history(tab: Tab, server: Server) -> None:
    # two earlier years stored through the API
    for year, value in ((2022, 70), (2023, 85)):
        body = {
            "framework": "SELF-EVAL",
            "project": "UI-HIST",
            "fiscal_year": year,
            "budget": {"adjusted": 100, "executed": 95},
            "rows": [
                {
                    "id": "o",
                    "class_l1": "产出指标",
                    "points": 50,
                    "operator": "≥",
                    "target": 100,
                    "unit": "台",
                    "value": value,
                },
                {
                    "id": "b",
                    "class_l1": "效益指标",
                    "points": 30,
                    "operator": "定性",
                    "level": "achieved",
                },
                {
                    "id": "s",
                    "class_l1": "满意度指标",
                    "points": 10,
                    "operator": "≥",
                    "target": 90,
                    "unit": "%",
                    "value": 90,
                },
            ],
        }
        r = httpx.post(
            f"{server.url}/v1/evaluations", json=body, headers=bearer(server.evaluator_key)
        )
        assert r.status_code == 201, r.text
    tab.sign_in(server.evaluator_key)
    page = tab.goto("/ui/score")
    page.wait_for_selector("#framework option[value=SELF-EVAL]", state="attached")
    page.fill("#project", "UI-HIST")
    page.fill("#fiscal_year", "2024")
    page.fill("#budget_adjusted", "100")
    page.fill("#budget_executed", "98")
    rows = [
        {
            "class_l1": "产出指标",
            "class_l2": "数量指标",
            "name": "完成数量",
            "points": "50",
            "operator": "≥",
            "target": "100",
            "unit": "台",
            "value": "96.8",
        },
        {
            "class_l1": "效益指标",
            "class_l2": "社会效益指标",
            "points": "30",
            "operator": "定性",
            "level": "achieved",
        },
        {
            "class_l1": "满意度指标",
            "points": "10",
            "operator": "≥",
            "target": "90",
            "unit": "%",
            "value": "81",
        },
    ]
    for n, row in enumerate(rows, start=1):
        if n > 1:
            page.click("#add-row")
        for name, text in row.items():
            selector = f"#row-{n}-{name}"
            if name in ("operator", "level"):
                page.select_option(selector, text)
            else:
                page.fill(selector, text)
    page.click("#score-go")
    page.wait_for_selector(".receipt .total")
    assert page.locator(".receipt .total").inner_text() == str(TOTAL)
    tab.shot("score-rows")
    page.click("#save")
    page.wait_for_selector("#save-status:has-text('#')")
    first = page.locator("#save-status a.saved-link").get_attribute("href")
    # saving twice does not store twice (the same Idempotency-Key replays the first answer)
    page.click("#save")
    page.wait_for_selector("#save-status a.saved-link")
    assert page.locator("#save-status a.saved-link").get_attribute("href") == first
    stored = httpx.get(
        f"{server.url}/v1/evaluations",
        params={"project": "UI-HIST", "fiscal_year": 2024},
        headers=bearer(server.evaluator_key),
    ).json()
    assert stored["total"] == 1

    # an uploaded form is saved as an evaluation too (once, however often the button is pressed)
    page.set_input_files(
        "#form-file",
        files=[{"name": "self-eval.csv", "mimeType": "text/csv", "buffer": GOOD_CSV.encode()}],
    )
    page.click("#upload-go")
    page.wait_for_selector(".receipt .grade")
    page.click("#save")
    page.wait_for_selector("#save-status a.saved-link")
    page.click("#save")
    page.wait_for_selector("#save-status a.saved-link")
    uploaded = httpx.get(
        f"{server.url}/v1/evaluations",
        params={"project": "WEB-PRJ"},
        headers=bearer(server.evaluator_key),
    ).json()
    assert uploaded["total"] == 1
    assert uploaded["items"][0]["total"] == TOTAL

    # history: a part of a code finds the projects; one found shows its years at once
    page = tab.goto("/ui/history")
    page.fill("#q", "-")
    page.click("#history-form button")
    page.wait_for_selector("#projects-table tbody tr")
    projects = page.locator("#projects-table tbody tr").all_inner_texts()
    assert [p.split("\t")[0] for p in projects] == ["UI-HIST", "WEB-PRJ"]
    assert projects[0].split("\t")[2:] == ["3", "2022、2023、2024"]
    tab.shot("history-projects")
    page.fill("#q", "ui-hi")
    page.click("#history-form button")
    page.wait_for_selector("#history-table tbody tr")
    lines = page.locator("#history-table tbody tr").all_inner_texts()
    assert [line.split("\t")[0] for line in lines] == ["2022", "2023", "2024"]
    assert str(TOTAL) in lines[-1]
    assert page.locator("svg.chart g.bar").count() == 3
    tab.shot("history")
    # each stored evaluation links to its receipt
    page.locator("#history-table tbody tr").last.locator("a.receipt-link").click()
    page.wait_for_selector(".receipt .total")
    assert page.url.endswith(first)
    assert page.locator(".receipt .total").inner_text() == str(TOTAL)
    page.click("#back-to-project")
    page.wait_for_selector("#history-table tbody tr")
    tab.shot("history-receipt")


def test_pick_indicator_levels_explanation_and_fixed_framework(tab: Tab, server: Server) -> None:
    """A row picked from the catalogue by search with its standards offered as targets; the
    qualitative level chosen among the framework's levels in Chinese; 偏差原因分析及改进措施; and
    the fixed framework PRJ-2020 filled in leaf by leaf."""
    tab.sign_in(server.evaluator_key)
    page = tab.goto("/ui/score")
    page.wait_for_selector("#row-1-level option[value=achieved]", state="attached")
    # the levels in Chinese, codes as values
    levels = page.locator("#row-1-level option").all_inner_texts()
    assert levels[1:] == [
        "达成年度指标",
        "部分达成年度指标并具有一定效果",
        "未达成年度指标且效果较差",
    ]
    assert page.locator("label[for=row-1-explanation]").inner_text() == "偏差原因分析及改进措施"
    # search the catalogue: the datalist offers codes with names; picking one fills the row and
    # offers its standards (the 十四五 plan target 3.2 and the 2022 actual 3.15) as targets
    page.fill("#row-1-indicator", "执业")
    page.wait_for_selector("#row-1-indicators option[value=HLT-05-002]", state="attached")
    page.fill("#row-1-indicator", "HLT-05-002")
    page.dispatch_event("#row-1-indicator", "change")
    page.wait_for_selector("#row-1-standards button.use-standard")
    offered = page.locator("#row-1-standards").inner_text()
    assert "计划标准 ≥ 3.2 人" in offered
    assert page.locator("#row-1-unit").input_value() == "人"
    page.locator("#row-1-standards button.use-standard", has_text="计划标准").first.click()
    assert page.locator("#row-1-target").input_value() == "3.2"
    tab.shot("score-pick")

    # PRJ-2020 has no open class: no rows, one field per leaf (budget execution from the budget)
    page.select_option("#framework", "PRJ-2020")
    page.wait_for_selector("#fixed fieldset[data-node='DEC.PRJ.1']")
    assert page.locator("#rows-area").is_hidden()
    assert page.locator("#fixed fieldset[data-node='PRC.FIN.2']").count() == 0
    page.fill("#budget_adjusted", "100")
    page.fill("#budget_executed", "95")
    for box in page.locator("#fixed fieldset").all():
        level = box.locator("select")
        if level.count():
            level.select_option("achieved")
        else:
            code = box.get_attribute("data-node")
            target = box.locator("input[id$='-target']")
            if target.count():  # the framework sets no target: the project's own
                target.fill("10")
                box.locator("input[id$='-value']").fill("5")
            else:
                assert code in ("PRC.FIN.1", "OUT.QTY.1", "OUT.QLT.1", "OUT.TIM.1", "BEN.SAT.1")
                box.locator("input[id$='-value']").fill("100" if code != "BEN.SAT.1" else "90")
    page.select_option("#fixed-DEC_PRJ_1-level", "partial")
    page.fill("#fixed-DEC_PRJ_1-explanation", "立项论证不充分，下年度补充可行性研究")
    page.click("#score-go")
    page.wait_for_selector(".receipt .total")
    # 100 − 3 × (1 − 0.7) [partial] − 4 × (1 − 95/100) [execution] − 7 × (1 − 5/10) [cost] = 95.4
    assert page.locator(".receipt .total").inner_text() == "95.4"
    assert page.locator(".receipt .grade").inner_text().startswith("优")
    assert "立项论证不充分" in page.locator(".receipt-tree [data-leaf='DEC.PRJ.1']").inner_text()
    assert page.locator("#download").count() == 0  # a CSV form has no place for leaf values
    tab.shot("score-fixed")


def test_scoring_without_a_key_asks_to_sign_in(tab: Tab) -> None:
    page = tab.goto("/ui/score")
    page.wait_for_selector("#framework option[value=SELF-EVAL]", state="attached")
    page.set_input_files(
        "#form-file",
        files=[{"name": "self-eval.csv", "mimeType": "text/csv", "buffer": GOOD_CSV.encode()}],
    )
    page.click("#upload-go")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "401" in alert.inner_text()
    page.click("[role=alert] a[href='/ui/signin']")
    page.wait_for_selector("#signin-form")


def test_version_diff(tab: Tab) -> None:
    page = tab.goto("/ui/diff")
    page.wait_for_selector("#code option[value=health]", state="attached")
    page.select_option("#kind", "namespace")
    page.select_option("#code", "health")
    # the versions are chosen from lists: the two of health, the older one first
    assert page.locator("#from option").all_inner_texts() == ["1.0.0", "1.0.1"]
    assert (page.locator("#from").input_value(), page.locator("#to").input_value()) == (
        "1.0.0",
        "1.0.1",
    )
    page.click("#diff-form button")
    page.wait_for_selector("#diff-table tbody tr")
    assert "修订号（patch）" in page.locator("#diff-bump").inner_text()
    row = page.locator("#diff-table tbody tr").first.inner_text().split("\t")
    # the change in words, the indicator's code and (Chinese) name, the field and both values
    assert row[:3] == ["指标 · 修改", "HLT-01-001", "高血压患者管理人数"], row
    assert "英文名称：Hypertension patients under management → " + HEALTH_NEW_NAME in row[5]
    assert row[4] == "仅文字修改（英文名称）"  # the API's reason, in the page's language
    tab.shot("diff")
    page.click("#lang")  # asked again in English
    page.wait_for_selector("#diff-table tbody tr:has-text('text-only change (English name)')")
    page.click("#lang")
    page.wait_for_selector("#diff-table tbody tr:has-text('仅文字修改（英文名称）')")
    # a framework's versions: SELF-EVAL has one, so both lists offer it
    page.select_option("#kind", "framework")
    page.select_option("#code", "SELF-EVAL")
    assert page.locator("#to option").all_inner_texts() == ["1.2.0"]


PAGES = [
    ("catalogue", "/ui/catalogue?q=%E5%8D%AB%E7%94%9F", "#search-table"),
    ("indicator", "/ui/indicator?code=HLT-01-001", "#history-table"),
    (
        "standards",
        "/ui/standards?indicator=HLT-05-002&region=110105&fiscal_year=2023",
        "#lookup-standard",
    ),
    ("score", "/ui/score", "#framework option"),
    ("history", "/ui/history?project=UI-HIST", "#history"),
    ("diff", "/ui/diff?kind=namespace&code=health&from=1.0.0&to=1.0.1", "#diff-table"),
    ("signin", "/ui/signin", "#signin-form"),
]

UNLABELLED = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter((c) => !(c.id && document.querySelector(`label[for="${c.id}"]`)))
  .map((c) => c.outerHTML)"""


def test_phone_width_labels_and_keyboard(phone: Tab, server: Server) -> None:
    phone.sign_in(server.evaluator_key)
    page = phone.page
    for name, path, ready in PAGES:
        phone.goto(path)
        page.wait_for_selector(ready, state="attached")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: page is {width}px wide at 390px"
        assert page.evaluate(UNLABELLED) == [], name
        phone.shot(name)
    # keyboard: from the top of the standards page, Tab reaches every control of the form
    phone.goto("/ui/standards")
    page.wait_for_selector("#lookup-form button")
    seen = []
    for _ in range(20):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent")
        )
    for control in ("lang", "indicator", "region", "fiscal_year"):
        assert control in seen, seen
    page.focus("#indicator")
    page.keyboard.type("HLT-05-002")
    page.fill("#fiscal_year", "2023")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_selector("#lookup-standard")


def test_pages_at_desktop_width(tab: Tab, server: Server) -> None:
    tab.sign_in(server.evaluator_key)
    page = tab.page
    for name, path, ready in PAGES:
        tab.goto(path)
        page.wait_for_selector(ready, state="attached")
        assert page.evaluate(UNLABELLED) == [], name
        tab.shot(f"page-{name}")
    listing = json.dumps(sorted(p.name for p in ARTIFACTS.glob("*.png")))
    assert "page-score-1280.png" in listing


def test_every_asset_is_local(server: Server) -> None:
    """No page or asset refers to another origin (no CDN)."""
    static = REPO_ROOT / "indicator_service" / "web" / "static"
    for path in static.rglob("*"):
        if path.suffix in (".js", ".css"):
            text = path.read_text(encoding="utf-8").replace(SVG_NS, "")
            assert "http://" not in text, path
            assert "https://" not in text, path
    html = httpx.get(f"{server.url}/ui/score").text
    assert "http" not in html.replace("http-equiv", "")


def test_national_form_upload_pdf_and_problems(tab: Tab, server: Server) -> None:
    """A 项目支出绩效自评表 in the national layout (the shared fixture), then a workbook with a
    bad second form: the good one is scored, the bad one lists its cells."""
    from tests.forms import build

    tab.sign_in(server.client_key)
    page = tab.goto("/ui/score")
    page.wait_for_selector("#framework option[value=SELF-EVAL]", state="attached")
    page.set_input_files(
        "#form-file",
        files=[
            {
                "name": "farmland.xlsx",
                "mimeType": "application/octet-stream",
                "buffer": build.FIXTURE_XLSX.read_bytes(),
            }
        ],
    )
    page.click("#upload-go")
    page.wait_for_selector(".receipt .grade")
    assert page.locator(".receipt .total").inner_text() == str(build.FIXTURE_TOTAL)
    assert page.locator(".receipt .grade").inner_text().startswith(build.FIXTURE_GRADE)
    with page.expect_download() as info:
        page.click("#download-pdf")
    assert info.value.suggested_filename == "farmland.scored.pdf"
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF")
    # the print button prints; the print stylesheet keeps the receipt and drops the controls
    page.evaluate("window.print = () => { window.printed = true; }")
    page.click("#print")
    assert page.evaluate("window.printed") is True
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden()
    assert page.locator("#upload-form").is_hidden()
    assert page.locator("#print").is_hidden()
    assert page.locator(".receipt .total").is_visible()
    assert page.locator("svg.chart").is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(ARTIFACTS / "score-national-print.pdf"))
    page.emulate_media(media="screen")
    assert page.locator("header.top").is_visible()
    bad = list(build.FARMLAND_ROWS)
    bad[0] = ("产出指标", "数量指标", "新建高标准农田面积", "≥1.2万亩", "很多", 20, None)
    sheets = []
    for name, rows in (("甲", build.FARMLAND_ROWS), ("乙", bad)):
        cells, merges = build.grid(build.farmland(rows, sheet=name))
        sheets.append((name, cells, merges))
    page.set_input_files(
        "#form-file",
        files=[{"name": "two.xlsx", "mimeType": "", "buffer": build.xlsx(sheets)}],
    )
    page.click("#upload-go")
    page.wait_for_selector(".form-problems")
    assert page.locator(".receipt").count() == 1
    assert "乙!F13" in page.locator(".form-problems").inner_text()
    tab.shot("score-national")
