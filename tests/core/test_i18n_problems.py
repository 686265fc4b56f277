"""Problems answer in the language of ``Accept-Language``: Chinese for zh-CN, English without the
header (machine clients); ``Content-Language`` and ``Vary`` say so (core/i18n.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.core.settings import Settings
from tests.auth.fixtures import bearer, issue_key
from tests.helpers import ApiClient, assert_problem, make_settings

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
CJK = re.compile("[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[ApiClient]:
    app: FastAPI = create_app(
        make_settings(database_url, max_body_bytes=2048, rate_limit_per_minute=60)
    )
    app.state.rate_limiter.clock = lambda: 1000.0  # no token comes back while the test runs
    c = ApiClient(app)
    yield c
    c.close()


def _languages(response_zh: object, response_en: object) -> None:
    for r, lang in ((response_zh, "zh-CN"), (response_en, "en")):
        assert r.headers["content-language"] == lang  # type: ignore[attr-defined]
        assert "Accept-Language" in r.headers["vary"]  # type: ignore[attr-defined]


def test_404_in_chinese_and_in_english(client: ApiClient) -> None:
    zh = client.get("/v1/namespaces/zz_none", headers=ZH)
    en = client.get("/v1/namespaces/zz_none")
    _languages(zh, en)
    body_zh, body_en = assert_problem(zh, 404), assert_problem(en, 404)
    assert body_zh["title"] == "未找到"
    assert body_en["title"] == "Not found"
    assert CJK.search(body_zh["detail"])
    assert "zz_none" in body_zh["detail"]
    assert not CJK.search(body_en["detail"])
    # a path no route serves: Starlette's 404, worded by the service
    assert assert_problem(client.get("/v1/no/such", headers=ZH), 404)["detail"] == (
        "/v1/no/such 处没有资源"
    )
    assert assert_problem(client.get("/v1/no/such"), 404)["detail"] == "No resource at /v1/no/such"


@pytest.fixture(scope="module")
def key(engine: Engine, settings: Settings) -> dict[str, str]:
    return bearer(issue_key(engine, settings, Role.evaluator, name="i18n"))


def test_401_in_chinese_and_in_english(client: ApiClient) -> None:
    zh = assert_problem(client.post("/v1/score", json={}, headers=ZH), 401)
    en = assert_problem(client.post("/v1/score", json={}), 401)
    assert zh["title"] == "未认证"
    assert zh["detail"].startswith("需要认证")
    assert en["detail"].startswith("Authentication required")


def test_422_validation_errors_in_chinese_and_in_english(
    client: ApiClient, key: dict[str, str]
) -> None:
    """pydantic's messages and the location wording follow the language; loc and type stay."""
    body = {"framework": "SELF-EVAL", "rows": "not a list", "surprise": 1}
    zh = assert_problem(client.post("/v1/score", json=body, headers={**key, **ZH}), 422)
    en = assert_problem(client.post("/v1/score", json=body, headers=key), 422)
    assert zh["title"] == "内容无法处理"
    assert en["title"] == "Unprocessable Entity"  # the HTTP phrase
    assert [e["loc"] for e in zh["errors"]] == [e["loc"] for e in en["errors"]]
    assert [e["type"] for e in zh["errors"]] == [e["type"] for e in en["errors"]]
    zh_msgs = {e["type"]: e["msg"] for e in zh["errors"]}
    en_msgs = {e["type"]: e["msg"] for e in en["errors"]}
    assert zh_msgs["extra_forbidden"] == "不允许此字段（未定义的输入）"
    assert en_msgs["extra_forbidden"] == "Extra inputs are not permitted"
    assert zh["detail"].startswith(f"{len(zh['errors'])} 处字段无效：请求体 ")
    assert en["detail"].startswith(f"{len(en['errors'])} invalid field(s): body.")


def test_413_in_chinese_and_in_english(client: ApiClient, key: dict[str, str]) -> None:
    big = b"{" + b" " * 4096 + b"}"
    headers = {"Content-Type": "application/json", **key}
    zh = assert_problem(client.post("/v1/score", content=big, headers={**headers, **ZH}), 413)
    en = assert_problem(client.post("/v1/score", content=big, headers=headers), 413)
    assert zh["title"] == "请求体过大"
    assert zh["detail"] == "请求体超过上限 2048 字节"
    assert zh["errors"][0]["msg"] == "最多 2048 字节"
    assert en["detail"] == "The request body is larger than the limit of 2048 bytes"


def test_429_in_chinese_and_in_english(
    client: ApiClient, engine: Engine, settings: Settings
) -> None:
    zh_key = bearer(issue_key(engine, settings, Role.evaluator))
    en_key = bearer(issue_key(engine, settings, Role.evaluator))
    for key, lang in ((zh_key, ZH), (en_key, {})):
        answers = [client.get("/v1/namespaces", headers={**key, **lang}) for _ in range(201)]
        refused = answers[-1]
        body = assert_problem(refused, 429)
        if lang:
            assert body["title"] == "请求过于频繁"
            assert "秒后重试" in body["detail"]
            assert body["errors"][0]["msg"] == "频率限制"
            assert refused.headers["content-language"] == "zh-CN"
        else:
            assert body["title"] == "Too Many Requests"
            assert body["detail"].startswith("Rate limit exceeded")
            assert refused.headers["content-language"] == "en"


def test_success_answers_carry_the_language_too(client: ApiClient) -> None:
    r = client.get("/healthz", headers={"Accept-Language": "zh"})
    assert r.status_code == 200
    assert r.headers["content-language"] == "zh-CN"
    assert r.headers["vary"] == "Accept-Language"
    assert client.get("/healthz", headers={"Accept-Language": "fr"}).headers[
        "content-language"
    ] == ("en")
