"""A 409 answers in the language asked (core/i18n.py): the Idempotency-Key reused with another
body, in Chinese with ``Accept-Language: zh-CN`` and in English without the header."""

from __future__ import annotations

import copy
import uuid

from tests.helpers import ApiClient, assert_problem
from tests.scoring.test_evaluations import published, submission, v1_rows  # noqa: F401


def test_409_in_chinese_and_in_english(eapi: ApiClient, published: None) -> None:  # noqa: F811
    project = f"P-{uuid.uuid4().hex[:8]}"
    body = v1_rows(submission(project))
    key = {"Idempotency-Key": f"i18n-{project}"}
    assert eapi.post("/v1/evaluations", json=body, headers=key).status_code == 201
    other = copy.deepcopy(body)
    other["rows"][0]["value"] = 80
    zh = eapi.post("/v1/evaluations", json=other, headers={**key, "Accept-Language": "zh-CN"})
    en = eapi.post("/v1/evaluations", json=other, headers=key)
    body_zh, body_en = assert_problem(zh, 409), assert_problem(en, 409)
    assert zh.headers["content-language"] == "zh-CN"
    assert body_zh["title"] == "冲突"
    assert body_zh["detail"] == "此 Idempotency-Key 已用于另一个不同的请求体"
    assert body_zh["errors"][0]["type"] == body_en["errors"][0]["type"] == "idempotency_key_reused"
    assert body_en["title"] == "Conflict"
    assert (
        body_en["detail"] == "This Idempotency-Key was already used with a different request body"
    )
