"""ETag on every read of published catalogue data; If-None-Match with the current tag → 304
without touching the database (counted: no statement, no connection checked out)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from indicator_service.rules.labels import label
from tests.auth.fixtures import admin_client
from tests.catalogue.conftest import seeded_app
from tests.catalogue.test_read_cache import READS, quiet
from tests.dbcount import database_use
from tests.helpers import ApiClient

RESOLVE = "/v1/standards/resolve?indicator=EDU-02-001&fiscal_year=2019"


@pytest.fixture(scope="module")
def tag_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    with seeded_app(tmp_path_factory.mktemp("etags")) as app:
        quiet(app)
        yield app


@pytest.fixture(scope="module")
def tapi(tag_app: FastAPI) -> Iterator[ApiClient]:
    client = admin_client(tag_app)
    yield client
    client.close()


def test_current_tag_is_304_without_the_database(tag_app: FastAPI, tapi: ApiClient) -> None:
    tags = {}
    assert RESOLVE in READS
    for url in READS:
        r = tapi.get(url)
        assert r.status_code == 200, (url, r.text)
        tags[url] = r.headers["etag"]
        assert len(tags[url]) > 2, url
        assert tags[url][0] == tags[url][-1] == '"', url
    with database_use(tag_app.state.engine) as use:
        for url, tag in tags.items():
            r = tapi.get(url, headers={"If-None-Match": tag})
            assert r.status_code == 304, (url, r.status_code, r.text)
            assert r.content == b""
            assert r.headers["etag"] == tag
    assert use.none, use.statements


def test_the_tag_of_a_pinned_version_is_its_content_hash(tapi: ApiClient) -> None:
    r = tapi.get("/v1/frameworks/PRJ-2020/versions/1.0.0")
    assert r.headers["etag"] == f'"{r.json()["content_hash"]}"'
    assert r.headers["cache-control"] == "public, max-age=86400, immutable"
    again = tapi.get(
        "/v1/frameworks/PRJ-2020/versions/1.0.0", headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["cache-control"] == "public, max-age=86400, immutable"
    # the latest version's tag names its number too (a patch may repeat the content)
    latest = tapi.get("/v1/frameworks/PRJ-2020")
    assert latest.headers["etag"] != r.headers["etag"]
    again = tapi.get("/v1/frameworks/PRJ-2020", headers={"If-None-Match": latest.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "no-store"  # unpinned: the latest can move


def test_if_none_match_forms(tapi: ApiClient) -> None:
    url = "/v1/namespaces/health/versions/1.0.0"
    tag = tapi.get(url).headers["etag"]
    assert tapi.get(url, headers={"If-None-Match": f"W/{tag}"}).status_code == 304
    assert tapi.get(url, headers={"If-None-Match": f'"other", {tag}'}).status_code == 304
    assert tapi.get(url, headers={"If-None-Match": "*"}).status_code == 304
    stale = tapi.get(url, headers={"If-None-Match": '"0123"'})
    assert stale.status_code == 200
    assert stale.json()["version"] == "1.0.0"
    # a page of a search is its own representation: another offset, another tag
    a = tapi.get("/v1/indicators?limit=5").headers["etag"]
    b = tapi.get("/v1/indicators?limit=5&offset=5")
    assert b.headers["etag"] != a
    assert (
        tapi.get("/v1/indicators?limit=5&offset=5", headers={"If-None-Match": a}).status_code == 200
    )
    # unknown versions are still 404, whatever the client sends
    missing = tapi.get("/v1/frameworks/PRJ-2020/versions/9.9.9", headers={"If-None-Match": "*"})
    assert missing.status_code == 404


def test_publication_and_deprecation_change_the_tags(tapi: ApiClient) -> None:
    latest = tapi.get("/v1/indicators/EDU-02-001")
    pinned = tapi.get("/v1/namespaces/education/versions/1.0.0")
    search = tapi.get("/v1/indicators?namespace=education")
    draft = tapi.post("/v1/namespaces/education/drafts")
    assert draft.status_code == 201, draft.text
    # a draft is not published data: no 304 for it, and it changes no published tag
    draft_url = f"/v1/namespaces/education/versions/{draft.json()['version']}"
    assert tapi.get(draft_url, headers={"If-None-Match": "*"}).status_code == 200
    same = tapi.get("/v1/indicators/EDU-02-001", headers={"If-None-Match": latest.headers["etag"]})
    assert same.status_code == 304
    ok = tapi.post(
        f"/v1/namespaces/education/versions/{draft.json()['version']}/publish",
        json={"version": "1.0.1"},
    )
    assert ok.status_code == 200, ok.text
    moved = tapi.get("/v1/indicators/EDU-02-001", headers={"If-None-Match": latest.headers["etag"]})
    assert moved.status_code == 200
    assert moved.json()["indicator"]["namespace_version"] == "1.0.1"
    assert moved.headers["etag"] != latest.headers["etag"]
    search_now = tapi.get(
        "/v1/indicators?namespace=education", headers={"If-None-Match": search.headers["etag"]}
    )
    assert search_now.status_code == 200
    # the old version's content is unchanged: its tag holds until it is deprecated
    url = "/v1/namespaces/education/versions/1.0.0"
    assert tapi.get(url, headers={"If-None-Match": pinned.headers["etag"]}).status_code == 304
    assert tapi.post(f"{url}/deprecate").status_code == 200
    after = tapi.get(url, headers={"If-None-Match": pinned.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["status"] == "deprecated"
    assert after.headers["etag"] == f'"{after.json()["content_hash"]}-deprecated"'


LANGUAGE_READS = [
    "/v1/indicators?limit=20",
    "/v1/indicators/EDU-02-001?version=1.0.0",
    "/v1/indicators/EDU-02-001/standard?type=plan&fiscal_year=2019",
    RESOLVE,
]


def test_each_language_has_its_own_tag_and_body(tag_app: FastAPI, tapi: ApiClient) -> None:
    """Bodies carry labels in the language asked: the two languages never share a tag or a
    kept body, and each language's current tag is a 304 without the database."""
    zh = {url: tapi.get(url, headers={"accept-language": "zh-CN"}) for url in LANGUAGE_READS}
    en = {url: tapi.get(url, headers={"accept-language": "en"}) for url in LANGUAGE_READS}
    for url in LANGUAGE_READS:
        assert zh[url].status_code == en[url].status_code == 200, url
        assert zh[url].headers["etag"] != en[url].headers["etag"], url
        assert zh[url].headers["content-language"] == "zh-CN"
        assert zh[url].content != en[url].content, url
    # the kept body of one language is not answered to the other
    again = tapi.get(LANGUAGE_READS[2], headers={"accept-language": "en"})
    assert again.json()["match"]["type_label"] == "plan standard"
    with database_use(tag_app.state.engine) as use:
        for url in LANGUAGE_READS:
            for answers, lang in ((zh, "zh-CN"), (en, "en")):
                tag = answers[url].headers["etag"]
                r = tapi.get(url, headers={"If-None-Match": tag, "accept-language": lang})
                assert r.status_code == 304, (url, lang)
                assert r.headers["etag"] == tag
    assert use.none, use.statements
    # the other language's tag is not current for this language: a full answer
    other = tapi.get(
        LANGUAGE_READS[2],
        headers={"If-None-Match": zh[LANGUAGE_READS[2]].headers["etag"], "accept-language": "en"},
    )
    assert other.status_code == 200


@pytest.mark.parametrize(("lang", "plan"), [("zh-CN", "计划标准"), ("en", "plan standard")])
def test_standard_reads_carry_type_labels(tapi: ApiClient, lang: str, plan: str) -> None:
    headers = {"accept-language": lang}
    found = tapi.get(LANGUAGE_READS[2], headers=headers).json()
    assert (found["match"]["type"], found["match"]["type_label"]) == ("plan", plan)
    assert found["match"]["type_definition"]
    assert ("计划" in found["match"]["type_definition"]) == (lang == "zh-CN")
    assert all(c["type_label"] for c in found["candidates"])
    assert ("年度" in " ".join(found["why"])) == (lang == "zh-CN")
    detail = tapi.get(LANGUAGE_READS[1], headers=headers).json()
    assert all(s["type_label"] and s["type_definition"] for s in detail["standards"])
    indicator = detail["indicator"]
    assert indicator["value_type_label"] == label("value_type", indicator["value_type"], lang)
    method = indicator["definition"]["collection_method"]  # statistics: 情况统计法
    assert indicator["collection_method_label"] == (
        method and label("collection_method", method, lang)
    )
    kind = (indicator["rule"] or {}).get("kind")
    assert indicator["rule_label"] == (kind and label("rule_kind", kind, lang))
    resolved = tapi.get(RESOLVE, headers=headers).json()
    assert resolved["winner_type_label"] == {"plan": plan}.get(
        resolved["winner_type"], resolved["winner_type_label"]
    )
    assert all(c["type_label"] and c["region_level_label"] for c in resolved["candidates"])
    explanation = resolved["explanation"]
    assert ("采用" in explanation) == (lang == "zh-CN"), explanation
    assert ("used" in explanation) == (lang == "en"), explanation
