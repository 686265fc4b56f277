"""Accessibility of every page in both languages, checked in headless Chromium with axe-core
(axe-playwright-python injects its bundled ``axe.min.js``): no serious or critical violation;
text contrast ≥ 4.5:1 (axe's ``color-contrast``) and the borders of controls ≥ 3:1 against what
is behind them (WCAG 1.4.11, which axe does not check: measured here). At phone width (390 px) no
table column is squeezed (no cell narrower than its longest word) and chart text is drawn at
≥ 11 px. One browser for the module (``test_browser`` fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.forms import GOOD_CSV
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    DESKTOP,
    PAGES,
    PHONE,
    Server,
    Tab,
    browser,
    server,
)

LANGS = ("zh", "en")

# The contrast of each control's border against its parent's background, and of a button's
# background against the page (a filled button is its own boundary).
CONTROL_CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const behind = (node) => {
    for (let n = node.parentElement; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  const controls = "input:not([type=hidden]), select, textarea, button";
  for (const node of document.querySelectorAll(controls)) {
    const style = getComputedStyle(node);
    if (style.display === "none" || style.visibility === "hidden" || !node.offsetParent) continue;
    const back = behind(node);
    const own = rgb(style.backgroundColor);
    const filled = own.length === 3 || (own.length === 4 && own[3] > 0);
    const border = parseFloat(style.borderTopWidth) > 0
      ? rgb(style.borderTopColor).slice(0, 3) : null;
    const best = Math.max(
      border ? ratio(border, back) : 0, filled ? ratio(own.slice(0, 3), back) : 0);
    if (node.matches("button.link")) continue; // a text button: its text contrast is axe's
    if (best < 3) out.push(`${node.id || node.outerHTML.slice(0, 60)}: ${best.toFixed(2)}`);
  }
  return out;
}"""

# A squeezed column: a cell whose content overflows it, or one narrower than three characters
# holding more than three (Chinese text wraps between any two characters, so it never overflows:
# it stacks one character a line instead).
SQUEEZED = """() => [...document.querySelectorAll("main td, main th")]
  .filter((c) => c.offsetParent)
  .filter((c) => c.scrollWidth > c.clientWidth + 1
    || (c.clientWidth < 3 * parseFloat(getComputedStyle(c).fontSize) + 16
        && c.textContent.trim().length > 3))
  .map((c) => `${c.textContent.slice(0, 40)}: ${c.clientWidth}px`)"""

CHART_TEXT = """() => [...document.querySelectorAll("svg.chart text")]
  .map((t) => ({
    text: t.textContent,
    px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
  }))
  .filter((t) => t.px < 11)
  .map((t) => `${t.text}: ${t.px.toFixed(1)}px`)"""


@pytest.fixture(params=LANGS)
def tabs(request: Any, browser: Any, server: Server) -> Iterator[tuple[str, Tab, Tab]]:  # noqa: F811
    """A desktop and a phone tab signed in with an evaluator key, in one language."""
    made = []
    for viewport in (DESKTOP, PHONE):
        t = Tab(browser, server, viewport)
        t.context.add_init_script(f"localStorage.setItem('indicator.lang', '{request.param}')")
        t.sign_in(server.evaluator_key)
        made.append(t)
    yield request.param, made[0], made[1]
    for t in made:
        t.close()


def _axe(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]  # no stubs

    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _with_receipt(tab: Tab) -> Any:
    page = tab.goto("/ui/score")
    page.wait_for_selector("#framework option[value=SELF-EVAL]", state="attached")
    page.set_input_files(
        "#form-file",
        files=[{"name": "self-eval.csv", "mimeType": "text/csv", "buffer": GOOD_CSV.encode()}],
    )
    page.click("#upload-go")
    page.wait_for_selector(".receipt .grade")
    return page


def test_every_page_in_both_languages(tabs: tuple[str, Tab, Tab]) -> None:
    lang, desktop, phone = tabs
    problems: dict[str, list[str]] = {}
    for tab in (desktop, phone):
        views = [(name, path, ready) for name, path, ready in PAGES]
        for name, path, ready in [*views, ("receipt", None, ".receipt .grade")]:
            if path is None:
                page = _with_receipt(tab)
            else:
                page = tab.goto(path)
                page.wait_for_selector(ready, state="attached")
            expected = "zh-CN" if lang == "zh" else "en"
            assert page.evaluate("document.documentElement.lang") == expected
            where = f"{name} {lang} {tab.width}px"
            found = _axe(page) + page.evaluate(CONTROL_CONTRAST)
            if tab.width == PHONE["width"]:
                found += page.evaluate(SQUEEZED) + page.evaluate(CHART_TEXT)
            if found:
                problems[where] = found
            tab.shot(f"{lang}-{name}")
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())
