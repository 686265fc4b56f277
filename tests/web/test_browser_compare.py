"""The 自评与再评价对比 page (/ui/compare) in headless Chromium: a self-evaluation of 92.56 and a
finance re-evaluation of 73.51 stored through the API (hand computation in
tests/scoring/test_reevaluation.py), compared in Chinese and in English."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.auth.fixtures import bearer
from tests.scoring.test_reevaluation import submission
from tests.web.test_browser import DESKTOP, Server, Tab, browser, server  # noqa: F401


@pytest.fixture
def tab(browser: Any, server: Server) -> Iterator[Tab]:  # noqa: F811
    t = Tab(browser, server, DESKTOP)
    yield t
    t.close()


def store(server: Server, body: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    r = httpx.post(f"{server.url}/v1/evaluations", json=body, headers=bearer(server.evaluator_key))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def test_compare_a_self_evaluation_with_its_re_evaluation(tab: Tab, server: Server) -> None:  # noqa: F811
    own = store(server, submission("UI-RE", 100, 500, 95))
    assert own["total"] == 92.56
    re = store(server, submission("UI-RE", 80, 300, 85, kind="finance", reevaluates=own["id"]))
    assert re["total"] == 73.51

    tab.sign_in(server.evaluator_key)
    page = tab.goto("/ui/compare")
    page.fill("#compare-id", str(own["id"]))
    page.click("#compare-go")
    page.wait_for_selector("#compare-leaves tbody tr")
    assert page.locator("h1").inner_text() == "自评与再评价对比"
    assert page.locator("#compare-verdict").inner_text() == "自评失真（自评偏高）"
    assert "相差 -19.05 分" in page.locator("#compare-explanation").inner_text()
    summary = page.locator("#compare-summary tbody tr").all_inner_texts()
    assert summary[0].split("\t") == ["总分", "92.56", "73.51", "-19.05"]
    rows = {
        cells[0]: cells
        for cells in (
            line.split("\t") for line in page.locator("#compare-leaves tbody tr").all_inner_texts()
        )
    }
    assert rows["受益人数"][1:] == ["30", "30", "18", "-12", "是"]
    assert rows["培训人次"][1:5] == ["30", "30", "24", "-6"]
    assert rows["培训人次"][5:] in ([], [""])
    assert "10 分" in page.locator("#compare-rule").inner_text()
    tab.shot("compare")

    page.click("#lang")
    page.wait_for_selector("#compare-verdict:has-text('distorted')")
    assert page.locator("#compare-verdict").inner_text() == "Self-evaluation distorted (overstated)"
    assert "distorted (overstated)" in page.locator("#compare-explanation").inner_text()
    assert page.locator("h1").inner_text() == "Self-evaluation and re-evaluation"
    page.click("#lang")  # back to Chinese for the other tests

    # the re-evaluation's id shows the same pair; an unknown id shows the problem
    page = tab.goto(f"/ui/compare?id={re['id']}")
    page.wait_for_selector("#compare-leaves tbody tr")
    assert "73.51" in page.locator("#compare-pair").inner_text()
    page = tab.goto("/ui/compare?id=999999")
    page.wait_for_selector("#compare .error")
    assert "404" in page.locator("#compare .error").inner_text()
