"""The pages and assets under /ui, without a browser: served locally, with their own CSP."""

from __future__ import annotations

import re

import pytest

from indicator_service.web.router import PAGES, STATIC, labels, title
from tests.helpers import ApiClient, assert_problem

UI_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@pytest.mark.parametrize("page", ["", *PAGES])
def test_every_page_is_a_shell_loading_its_module(web_api: ApiClient, page: str) -> None:
    r = web_api.get(f"/ui/{page}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == UI_CSP
    module = page or "catalogue"
    assert f'<script type="module" src="/ui/static/js/{module}.js"></script>' in r.text
    assert "<style" not in r.text
    assert " style=" not in r.text
    # Chinese before any script runs: the language, the title and the heading
    zh, _ = title(module)
    assert '<html lang="zh-CN">' in r.text
    assert f"<title>{zh} · indicator-service</title>" in r.text
    assert f'<h1 data-i18n="title.{module}">{zh}</h1>' in r.text
    assert "跳到正文" in r.text
    assert "Skip to content" not in r.text
    # every script and stylesheet it refers to is served from /ui/static
    for ref in re.findall(r'(?:src|href)="(/ui/static/[^"]+)"', r.text):
        assert web_api.get(ref).status_code == 200, ref


def test_every_page_has_its_titles_in_both_languages() -> None:
    """labels.js is the one place of the titles: each page's zh and en, the zh one Chinese."""
    for page in PAGES:
        assert f"title.{page}" in labels(), page
        zh, en = title(page)
        assert re.search(r"[\u4e00-\u9fff]", zh), (page, zh)
        assert en, page
        assert not re.search(r"[\u4e00-\u9fff]", en), (page, en)
    assert title("score") == ("绩效评分", "Scoring")
    assert labels()["stdtype.plan"] == ("计划标准", "Plan standard")


def test_static_assets_and_imports_resolve(web_api: ApiClient) -> None:
    for path in STATIC.rglob("*.js"):
        r = web_api.get(f"/ui/static/{path.relative_to(STATIC)}")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/javascript; charset=utf-8"
        for target in re.findall(r'from "\./([^"]+)"', r.text):
            assert (path.parent / target).is_file(), (path, target)
    css = web_api.get("/ui/static/css/app.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"


def test_api_keeps_its_strict_policy(web_api: ApiClient) -> None:
    r = web_api.get("/v1/namespaces")
    assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    # a path that only starts like /ui is not the interface
    assert web_api.get("/uix").headers["content-security-policy"].startswith("default-src 'none';")


def test_unknown_pages_and_assets_are_404(web_api: ApiClient) -> None:
    assert_problem(web_api.get("/ui/nope"), 404)
    assert_problem(web_api.get("/ui/static/js/nope.js"), 404)
    assert_problem(web_api.get("/ui/static/%2e%2e/router.py"), 404)
    assert_problem(web_api.get("/ui/static/..%2Fforms.py"), 404)
    assert_problem(web_api.get("/ui/static/js"), 404)
    r = web_api.get("/ui")
    assert r.status_code == 308
    assert r.headers["location"] == "/ui/"


def test_pages_are_not_api_operations(web_api: ApiClient) -> None:
    paths = web_api.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]
    assert "/v1/forms/score" in paths


def test_default_qualitative_levels_in_labels_are_the_national_ones() -> None:
    """score.js names the default levels through labels.js qlevel.*: the same words as
    rules/vocabulary.py (the one source), in both languages."""
    from indicator_service.rules.vocabulary import DEFAULT_QUALITATIVE_LEVELS

    for level in DEFAULT_QUALITATIVE_LEVELS:
        assert labels()[f"qlevel.{level['code']}"] == (level["name_zh"], level["name_en"])
