"""A corpus of hostile requests: each is answered with a 4xx problem document and changes nothing.

Malformed and truncated JSON, wrong content types, huge numbers and strings, NaN and infinity
literals, deeply nested bodies, oversized bodies, NUL bytes and odd Unicode, SQL and path
fragments in codes and search terms, forged and revoked keys. After each request the catalogue,
the stored evaluations, idempotency records, keys and the audit trail are compared with a
snapshot taken before it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.bench_load import submission
from indicator_service.app import create_app
from indicator_service.auth.models import Role
from tests.auth.fixtures import bearer, issue_key
from tests.helpers import ApiClient, assert_problem, make_settings

VALID = json.dumps(submission(3), ensure_ascii=False)
DRAFT = "/v1/namespaces/education/drafts/1.0.1-draft"

# Tables whose content a refused request must not change (counts and a content digest).
SNAPSHOT_SQL = {
    "namespace_versions": "SELECT version, status, content_hash FROM catalogue_namespace_version "
    "ORDER BY id",
    "framework_versions": "SELECT version, status, content_hash FROM catalogue_framework_version "
    "ORDER BY id",
    "indicators": "SELECT count(*) FROM catalogue_indicator",
    "standards": "SELECT count(*) FROM catalogue_standard",
    "evaluations": "SELECT count(*) FROM scoring_evaluation",
    "idempotency": "SELECT count(*) FROM idempotency_record",
    "keys": "SELECT id, revoked_at FROM api_key ORDER BY id",
    "audit": "SELECT count(*) FROM audit_entry",
}


def snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            name: [tuple(r) for r in conn.execute(text(sql))] for name, sql in SNAPSHOT_SQL.items()
        }


def _nested(depth: int) -> str:
    return '{"framework": "SELF-EVAL", "rows": ' + "[" * depth + "]" * depth + "}"


def _with(**changes: Any) -> str:
    body = submission(3)
    body.update(changes)
    return json.dumps(body, ensure_ascii=False)


def _row(**changes: Any) -> str:
    body = submission(3)
    body["rows"][0].update(changes)
    return json.dumps(body, ensure_ascii=False)


def _raw(field: str, literal: str, *, row: bool = True) -> bytes:
    """A submission whose ``field`` (of the first row, or top level) is the raw JSON ``literal``."""
    text_ = _row(**{field: "__RAW__"}) if row else _with(**{field: "__RAW__"})
    assert '"__RAW__"' in text_
    return text_.replace('"__RAW__"', literal).encode()


JSON = {"content-type": "application/json"}

# (id, method, path, request kwargs, accepted statuses)
CORPUS: list[tuple[str, str, str, dict[str, Any], set[int]]] = [
    # malformed and truncated JSON
    (
        "score-malformed",
        "POST",
        "/v1/score",
        {"content": b'{"framework": ', "headers": JSON},
        {400},
    ),
    (
        "score-truncated",
        "POST",
        "/v1/score",
        {"content": VALID[: len(VALID) // 2].encode(), "headers": JSON},
        {400},
    ),
    (
        "eval-truncated",
        "POST",
        "/v1/evaluations",
        {"content": VALID[:-1].encode(), "headers": JSON},
        {400},
    ),
    (
        "batch-garbage",
        "POST",
        "/v1/score/batch",
        {"content": b"\xff\xfe\x00garbage", "headers": JSON},
        {400, 422},
    ),
    (
        "put-malformed",
        "PUT",
        DRAFT,
        {"content": b"{'single': 'quotes'}", "headers": {**JSON, "If-Match": "*"}},
        {400},
    ),
    ("score-empty", "POST", "/v1/score", {"content": b"", "headers": JSON}, {400, 422}),
    ("score-array", "POST", "/v1/score", {"content": b"[]", "headers": JSON}, {422}),
    ("score-null", "POST", "/v1/score", {"content": b"null", "headers": JSON}, {422}),
    ("keys-malformed", "POST", "/v1/api-keys", {"content": b'{"name":', "headers": JSON}, {400}),
    ("composite-malformed", "POST", "/v1/composite", {"content": b"{,}", "headers": JSON}, {400}),
    (
        "standards-malformed",
        "POST",
        "/v1/standards/historical",
        {"content": b"[1,2", "headers": JSON},
        {400},
    ),
    # wrong content types
    (
        "score-text",
        "POST",
        "/v1/score",
        {"content": VALID.encode(), "headers": {"content-type": "text/plain"}},
        {415},
    ),
    (
        "score-xml",
        "POST",
        "/v1/score",
        {"content": b"<a/>", "headers": {"content-type": "application/xml"}},
        {415},
    ),
    ("score-form", "POST", "/v1/score", {"data": {"framework": "SELF-EVAL"}}, {415}),
    (
        "eval-multipart",
        "POST",
        "/v1/evaluations",
        {"files": {"f": ("a.json", VALID.encode())}},
        {415},
    ),
    (
        "put-text",
        "PUT",
        DRAFT,
        {"content": b"{}", "headers": {"content-type": "text/plain", "If-Match": "*"}},
        {415},
    ),
    (
        "batch-bogus-type",
        "POST",
        "/v1/score/batch",
        {"content": VALID.encode(), "headers": {"content-type": "application/x-bogus"}},
        {415},
    ),
    # CSV bodies with bare carriage returns and broken quoting (were 500s: csv.Error)
    (
        "csv-bare-cr",
        "POST",
        "/v1/score/batch",
        {"content": b'framework,rows\r0"x', "headers": {"content-type": "text/csv"}},
        {422},
    ),
    (
        "csv-unterminated",
        "POST",
        "/v1/score/batch",
        {"content": b'a\n"unterminated', "headers": {"content-type": "text/csv"}},
        {422},
    ),
    (
        "meta-csv-bare-cr",
        "POST",
        "/v1/composite",
        {"json": {"aggregation": [], "data": {"columns": {}, "units": ["0"]}, "meta_csv": "\r0"}},
        {422},
    ),
    (
        "data-csv-quote",
        "POST",
        "/v1/composite",
        {"json": {"aggregation": [], "data_csv": 'uCode,"x\r\n', "meta_csv": "Level"}},
        {422},
    ),
    # huge numbers and strings
    (
        "value-1e400",
        "POST",
        "/v1/score",
        {"content": _raw("value", "1e400"), "headers": JSON},
        {400, 422},
    ),
    (
        "value-bigint",
        "POST",
        "/v1/score",
        {"content": _raw("value", "9" * 5000), "headers": JSON},
        {400, 422},
    ),
    (
        "points-huge",
        "POST",
        "/v1/score",
        {"content": _row(points=1e308).encode(), "headers": JSON},
        {422},
    ),
    (
        "target-huge",
        "POST",
        "/v1/evaluations",
        {"content": _row(target=1e308, value=1e308).encode(), "headers": JSON},
        {201, 422},
    ),
    (
        "year-huge",
        "POST",
        "/v1/evaluations",
        {"content": _with(fiscal_year=10**30).encode(), "headers": JSON},
        {422},
    ),
    (
        "budget-huge",
        "POST",
        "/v1/evaluations",
        {
            "content": _with(budget={"adjusted": 1e-300, "executed": 1e308}).encode(),
            "headers": JSON,
        },
        {422},
    ),
    (
        "project-1mb",
        "POST",
        "/v1/evaluations",
        {"content": _with(project="x" * 1_000_000).encode(), "headers": JSON},
        {422},
    ),
    (
        "name-1mb",
        "POST",
        "/v1/score",
        {"content": _row(name="名" * 300_000).encode(), "headers": JSON},
        {422},
    ),
    (
        "many-rows",
        "POST",
        "/v1/score",
        {"content": _with(rows=[submission(3)["rows"][0]] * 20_000).encode(), "headers": JSON},
        {422},
    ),
    ("limit-huge", "GET", "/v1/indicators?limit=99999999999999999999999", {}, {422}),
    ("offset-negative", "GET", "/v1/indicators?offset=-1", {}, {422}),
    # NaN and infinity literals
    (
        "value-nan",
        "POST",
        "/v1/score",
        {"content": _raw("value", "NaN"), "headers": JSON},
        {400, 422},
    ),
    (
        "value-inf",
        "POST",
        "/v1/evaluations",
        {"content": _raw("value", "Infinity"), "headers": JSON},
        {400, 422},
    ),
    (
        "budget-neg-inf",
        "POST",
        "/v1/score",
        {
            "content": _raw("budget", '{"adjusted": 1, "executed": -Infinity}', row=False),
            "headers": JSON,
        },
        {400, 422},
    ),
    (
        "value-nan-string",
        "POST",
        "/v1/score",
        {"content": _row(value="NaN").encode(), "headers": JSON},
        {422},
    ),
    (
        "value-inf-string",
        "POST",
        "/v1/evaluations",
        {"content": _row(value="Infinity").encode(), "headers": JSON},
        {422},
    ),
    # deeply nested bodies
    (
        "nested-deep",
        "POST",
        "/v1/score",
        {"content": _nested(100_000).encode(), "headers": JSON},
        {400, 422},
    ),
    (
        "nested-put",
        "PUT",
        DRAFT,
        {
            "content": ('{"a":' * 5000 + "1" + "}" * 5000).encode(),
            "headers": {**JSON, "If-Match": "*"},
        },
        {400, 422},
    ),
    (
        "nested-moderate",
        "POST",
        "/v1/evaluations",
        {"content": _nested(500).encode(), "headers": JSON},
        {400, 422},
    ),
    # NUL bytes and odd Unicode
    (
        "project-nul",
        "POST",
        "/v1/evaluations",
        {"content": _with(project="a\x00b").encode(), "headers": JSON},
        {422},
    ),
    (
        "row-name-nul",
        "POST",
        "/v1/evaluations",
        {"content": _row(name="\x00").encode(), "headers": JSON},
        {422},
    ),
    (
        "lone-surrogate",
        "POST",
        "/v1/evaluations",
        {"content": _raw("project", '"\\ud800"', row=False), "headers": JSON},
        {400, 422},
    ),
    (
        "unit-surrogate",
        "POST",
        "/v1/score",
        {"content": _raw("unit", '"\\udfff\\ud800"'), "headers": JSON},
        {400, 422},
    ),
    (
        "invalid-utf8",
        "POST",
        "/v1/evaluations",
        {"content": VALID.encode().replace(b"P3", b"P\xc3\x28"), "headers": JSON},
        {400, 422},
    ),
    (
        "bidi-project",
        "POST",
        "/v1/score",
        {"content": _with(framework="SELF\u202e-EVAL").encode(), "headers": JSON},
        {404, 422},
    ),
    (
        "zero-width-framework",
        "POST",
        "/v1/evaluations",
        {"content": _with(framework="SELF-EVAL\u200b").encode(), "headers": JSON},
        {404, 422},
    ),
    (
        "put-nul-name",
        "PUT",
        DRAFT,
        {"json": {"namespace": "education", "name_en": "a\x00b"}, "headers": {"If-Match": "*"}},
        {422},
    ),
    ("search-nul", "GET", "/v1/indicators?q=%00", {}, {422}),
    ("code-nul", "GET", "/v1/indicators/EDU%00", {}, {404, 422}),
    ("eval-list-nul", "GET", "/v1/evaluations?project=%00x", {}, {422}),
    (
        "idem-key-unicode",
        "POST",
        "/v1/evaluations",
        {"content": VALID.encode(), "headers": {**JSON, "Idempotency-Key": "ключ".encode()}},
        {400, 422},
    ),
    # SQL and path fragments in codes and search terms
    ("code-sql", "GET", "/v1/indicators/EDU-01' OR '1'='1", {}, {404, 422}),
    ("code-path", "GET", "/v1/indicators/..%2F..%2Fetc%2Fpasswd", {}, {404, 422}),
    ("ns-sql", "GET", "/v1/namespaces/education;DROP TABLE catalogue_indicator", {}, {404, 422}),
    ("ns-path", "GET", "/v1/namespaces/%2e%2e%2f%2e%2e/versions/1.0.0", {}, {404, 422}),
    (
        "search-sql",
        "GET",
        "/v1/indicators?q=%27%3B%20DROP%20TABLE%20catalogue_indicator%3B--",
        {},
        {200},
    ),
    ("search-like", "GET", "/v1/indicators?q=%25%25%25_", {}, {200}),
    ("filter-sql", "GET", "/v1/indicators?namespace=education%27%20OR%201%3D1--", {}, {404, 422}),
    (
        "framework-sql",
        "POST",
        "/v1/score",
        {"content": _with(framework="X' OR 1=1 --").encode(), "headers": JSON},
        {404, 422},
    ),
    (
        "publish-sql",
        "POST",
        "/v1/namespaces/education/versions/1.0.1-draft';--/publish",
        {},
        {404, 422},
    ),
    ("draft-path", "POST", "/v1/namespaces/..%2Fcommon/drafts", {}, {404, 422}),
    ("eval-id-sql", "GET", "/v1/evaluations/1%20OR%201=1", {}, {404, 422}),
    ("eval-id-huge", "GET", "/v1/evaluations/99999999999999999999999999", {}, {404, 422}),
    # beyond a 32-bit id column: PostgreSQL said "integer out of range" (a 500) before
    ("eval-id-int32", "GET", "/v1/evaluations/3322644015186", {}, {404, 422}),
    ("rescore-id-int32", "POST", "/v1/evaluations/3322644015186/rescore", {"json": {}}, {404, 422}),
    (
        "publish-version-int32",
        "POST",
        "/v1/namespaces/education/versions/1.0.1-draft/publish",
        {"json": {"version": "17.502.7965484638062"}},
        {422},
    ),
    ("audit-id-huge", "GET", "/v1/audit/99999999999999999999999999", {}, {404, 422}),
    ("key-id-huge", "DELETE", "/v1/api-keys/99999999999999999999999999", {}, {404, 422}),
    ("version-sql", "GET", "/v1/frameworks/SELF-EVAL?version=1.0.0%27--", {}, {422}),
    # static files: a NUL byte or a 5,000-character name reached the file system (500s)
    ("static-nul", "GET", "/ui/static/%00", {}, {404}),
    ("static-nul-suffix", "GET", "/ui/static/css/app.css%00.js", {}, {404}),
    ("static-long-name", "GET", "/ui/static/" + "a" * 5000 + ".js", {}, {404}),
    ("static-long-dirs", "GET", "/ui/static/" + "d/" * 2500 + "x.css", {}, {404}),
    ("static-traversal", "GET", "/ui/static/..%2F..%2Fapp.py", {}, {404}),
    ("static-not-an-asset", "GET", "/ui/static/js", {}, {404}),
    (
        "resolve-sql",
        "GET",
        "/v1/standards/resolve?indicator=X%27%20OR%201%3D1&region=000000",
        {},
        {404, 422},
    ),
]


@pytest.fixture(scope="module")
def victim_keys(hard_app: FastAPI) -> dict[str, str]:
    """A revoked key and a valid one whose secret part is then forged."""
    engine, settings = hard_app.state.engine, hard_app.state.settings
    revoked = issue_key(engine, settings, Role.evaluator, name="to revoke")
    valid = issue_key(engine, settings, Role.evaluator, name="to forge")
    admin = ApiClient(hard_app)
    try:
        admin_key = issue_key(engine, settings, Role.admin, name="revoker")
        listed = admin.get("/v1/api-keys", headers=bearer(admin_key)).json()
        prefix = revoked.split("_")[1]
        (key_id,) = [k["id"] for k in listed["items"] if k["prefix"] == prefix]
        assert admin.delete(f"/v1/api-keys/{key_id}", headers=bearer(admin_key)).status_code == 200
    finally:
        admin.close()
    head, prefix, secret = valid.split("_", 2)
    forged = f"{head}_{prefix}_{'A' * len(secret)}"
    return {"revoked": revoked, "forged": forged, "valid": valid}


@pytest.fixture(scope="module")
def draft_etag(hapi: ApiClient) -> str:
    created = hapi.post("/v1/namespaces/education/drafts")
    assert created.status_code == 201, created.text
    return str(created.headers["etag"])


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "statuses"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_hostile_request_is_refused_and_changes_nothing(
    hapi: ApiClient,
    hard_engine: Engine,
    draft_etag: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    statuses: set[int],
) -> None:
    before = snapshot(hard_engine)
    response = hapi.request(method, path, **kwargs)
    assert response.status_code in statuses, response.text[:500]
    if response.status_code >= 400:
        assert_problem(response, response.status_code)
    if response.status_code < 300 and method == "POST" and path == "/v1/evaluations":
        return  # an accepted evaluation is stored: that is the point of the endpoint
    assert snapshot(hard_engine) == before


KEY_CASES: list[tuple[str, dict[str, str], int, str]] = [
    ("forged", {}, 401, "unknown_key"),
    ("revoked", {}, 401, "revoked_key"),
    ("nul", {"Authorization": "Bearer isk_\x00"}, 401, ""),
    ("empty-bearer", {"Authorization": "Bearer "}, 401, ""),
    ("basic", {"Authorization": "Basic dXNlcjpwYXNz"}, 401, "malformed_api_key"),
    ("sql", {"Authorization": "Bearer isk_' OR 1=1 --"}, 401, ""),
    ("huge", {"Authorization": "Bearer isk_" + "a" * 20_000}, 401, ""),
    ("two-keys", {"X-API-Key": "isk_000000000000_" + "B" * 43}, 401, "malformed_api_key"),
]


@pytest.mark.parametrize(
    ("case", "extra", "status", "error_type"), KEY_CASES, ids=[c[0] for c in KEY_CASES]
)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/api-keys", {"name": "intruder", "role": "admin"}),
        ("POST", "/v1/namespaces/health/drafts", None),
        ("GET", "/v1/audit", None),
        ("GET", "/v1/namespaces", None),
    ],
    ids=["create-key", "create-draft", "audit", "public-read"],
)
def test_forged_and_revoked_keys_are_refused(
    hard_app: FastAPI,
    hard_engine: Engine,
    victim_keys: dict[str, str],
    case: str,
    extra: dict[str, str],
    status: int,
    error_type: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    headers = dict(extra)
    if case in ("forged", "revoked"):
        headers = bearer(victim_keys[case])
    if case == "two-keys":
        headers.update(bearer(victim_keys["valid"]))
    before = snapshot(hard_engine)
    client = ApiClient(hard_app)
    try:
        response = client.request(method, path, json=body, headers=headers)
    finally:
        client.close()
    problem = assert_problem(response, status)
    assert response.headers["www-authenticate"].startswith("Bearer")
    if error_type:
        assert problem["errors"][0]["type"] == error_type
    assert snapshot(hard_engine) == before


def test_oversized_bodies_are_413_and_change_nothing(seeded_url: str, hard_engine: Engine) -> None:
    app = create_app(make_settings(seeded_url, max_body_bytes=4096))
    key = issue_key(app.state.engine, app.state.settings, Role.admin, name="oversize")
    client = ApiClient(app)
    before = snapshot(hard_engine)
    try:
        big = json.dumps({**submission(1), "project": "x" * 10_000}).encode()
        for path in ("/v1/evaluations", "/v1/score", "/v1/score/batch", "/v1/api-keys"):
            assert_problem(client.post(path, content=big, headers={**JSON, **bearer(key)}), 413)
        # a Content-Length that lies about a large body is refused before reading it
        lying = {**JSON, **bearer(key), "content-length": str(10**12)}
        assert_problem(client.post("/v1/evaluations", content=big, headers=lying), 413)

        # streamed without a Content-Length: counted while reading
        async def chunks() -> Any:
            for _ in range(10):
                yield b" " * 1024

        streamed = client.post("/v1/evaluations", content=chunks(), headers={**JSON, **bearer(key)})
        assert_problem(streamed, 413)
    finally:
        client.close()
        app.state.engine.dispose()
    assert snapshot(hard_engine) == before


# --- round two (issue 22) -----------------------------------------------------------------------


def _rule_row(rule: Any) -> dict[str, Any]:
    body = submission(3)
    body["rows"][0]["rule"] = rule
    return body


NEW_INDICATOR = {
    "code": "EDU-01-099",
    "name_zh": "新指标",
    "name_en": "New indicator",
    "value_type": "quantitative",
    "operator": "≥",
    "unit": "个",
}
BAD_KINDS = [["higher_better"], {"kind": "higher_better"}, 3, None, "x" * 10_000]


@pytest.fixture(scope="module")
def framework_draft(hapi: ApiClient) -> str:
    created = hapi.post("/v1/frameworks/SELF-EVAL/drafts")
    assert created.status_code == 201, created.text
    return str(created.json()["version"])


@pytest.mark.parametrize("kind", BAD_KINDS, ids=["list", "object", "number", "null", "long"])
@pytest.mark.parametrize(
    "target",
    [
        "score",
        "evaluation",
        "what-if",
        "batch",
        "indicator-post",
        "indicator-patch",
        "draft-put",
        "import",
        "import-validate-only",
        "node-post",
    ],
)
def test_rule_kind_of_any_type_is_a_problem(
    hapi: ApiClient,
    hard_engine: Engine,
    draft_etag: str,
    framework_draft: str,
    target: str,
    kind: Any,
) -> None:
    """A rule whose ``kind`` is a list or an object was a 500 (``kind in RULE_PARAMS`` on an
    unhashable value) on every operation that takes a rule."""
    rule = {"kind": kind}
    any_etag = {"If-Match": "*"}
    document = hapi.get("/v1/namespaces/education/versions/1.0.1-draft").json()["document"]
    indicator = {**document["indicators"][0], "rule": rule}
    file = json.dumps({"indicators": [indicator]}).encode()
    fw = f"/v1/frameworks/SELF-EVAL/drafts/{framework_draft}/nodes"
    calls: dict[str, tuple[str, str, dict[str, Any]]] = {
        "score": ("POST", "/v1/score", {"json": _rule_row(rule)}),
        "evaluation": ("POST", "/v1/evaluations", {"json": _rule_row(rule)}),
        "what-if": (
            "POST",
            "/v1/score/what-if",
            {"json": {"submission": _rule_row(rule), "overrides": {}}},
        ),
        "batch": ("POST", "/v1/score/batch", {"json": {"items": [_rule_row(rule)]}}),
        "indicator-post": (
            "POST",
            f"{DRAFT}/indicators",
            {"json": {**NEW_INDICATOR, "rule": rule}, "headers": any_etag},
        ),
        "indicator-patch": (
            "PATCH",
            f"{DRAFT}/indicators/{indicator['code']}",
            {"json": {"rule": rule}, "headers": any_etag},
        ),
        "draft-put": (
            "PUT",
            DRAFT,
            {
                "json": {**document, "indicators": [indicator, *document["indicators"][1:]]},
                "headers": any_etag,
            },
        ),
        "import": ("POST", f"{DRAFT}/import", {"content": file, "headers": {**JSON, **any_etag}}),
        "import-validate-only": (
            "POST",
            f"{DRAFT}/import?validate_only=true",
            {"content": file, "headers": JSON},
        ),
        "node-post": (
            "POST",
            fw,
            {
                "json": {
                    "code": "X9",
                    "level": 1,
                    "name_zh": "甲",
                    "name_en": "A",
                    "points": 1,
                    "rule": rule,
                },
                "headers": any_etag,
            },
        ),
    }
    method, path, kwargs = calls[target]
    before = snapshot(hard_engine)
    response = hapi.request(method, path, **kwargs)
    assert response.status_code < 500, response.text[:500]
    text = response.text
    assert len(text) < 5000  # the long kind is quoted as an excerpt
    if target == "batch":
        (item,) = response.json()["items"]
        assert item["ok"] is False
        assert any("rule" in e["loc"] for e in item["errors"]), item
    elif target == "import-validate-only":
        body = response.json()
        assert body["valid"] is False
        assert body["rows"][0]["status"] == "error"
        assert "rule" in json.dumps(body["rows"][0]["errors"])
    else:
        problem = assert_problem(response, 422)
        assert "rule" in json.dumps(problem["errors"]), problem
    assert snapshot(hard_engine) == before


# --- malformed and amplifying files: bulk import and form upload --------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOMB_YAML = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "indicators:\n  - {code: EDU-01-001, name_zh: x, name_en: x, value_type: quantitative,\n"
    "     operator: '≥', unit: 个, rule: {kind: *f}}\n"
)


def _xlsx(
    rows: list[list[Any]],
    replace: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    add: dict[str, str] | None = None,
) -> bytes:
    """A workbook of ``rows``, its parts rewritten (``(part, old, new)``) and parts added."""
    import io
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    done = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename).decode()
            for part, old, new in replace:
                if part == info.filename:
                    assert old in data, (part, data[:800])
                    data = data.replace(old, new)
                    done += 1
            dst.writestr(info.filename, data)
        for part, data in (add or {}).items():
            dst.writestr(part, data)
    assert done == len(replace)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def _many_rows_xlsx(n: int) -> bytes:
    """``n`` data rows of one number cell (a few kilobytes compressed for 300,000)."""
    rows = "<row><c><v>1</v></c></row>" * n
    return _xlsx(
        [["code"], [1]],
        [
            (SHEET, '<row r="2"><c r="A2" t="n"><v>1</v></c></row>', rows),
            (SHEET, '<dimension ref="A1:A2" />', f'<dimension ref="A1:A{n + 1}" />'),
        ],
    )


def _huge_header_xlsx(size: int) -> bytes:
    """A header cell that is a shared string of ``size`` characters."""
    sst = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        f'uniqueCount="1"><si><t>{"h" * size}</t></si></sst>'
    )
    ss_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    ss_rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    return _xlsx(
        [["HEADER_PLACEHOLDER", "code"], ["x", "EDU-01-001"]],
        [
            (SHEET, 't="inlineStr"><is><t>HEADER_PLACEHOLDER</t></is>', 't="s"><v>0</v>'),
            (
                "[Content_Types].xml",
                "</Types>",
                f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ss_type}"/></Types>',
            ),
            (
                "xl/_rels/workbook.xml.rels",
                "</Relationships>",
                f'<Relationship Id="rIdSS" Type="{ss_rel}" Target="sharedStrings.xml"/>'
                "</Relationships>",
            ),
        ],
        add={"xl/sharedStrings.xml": sst},
    )


FORM_HEAD = "framework,class_l1,points,value\n"
# (id, body, media type, where: "import" | "form" | "both", expected line or None)
FILE_CASES: list[tuple[str, bytes, str, str, int | None]] = [
    ("json-deep", b'{"indicators":\n' + b"[" * 20_000 + b"]" * 20_000 + b"}", "application/json",
     "import", 2),
    ("yaml-deep", b"indicators:\n  " + b"[" * 20_000 + b"]" * 20_000, "application/yaml", "import",
     2),
    ("json-bigint", b'{"name_zh":\n' + b"9" * 5000 + b"}", "application/json", "import", 2),
    ("yaml-bigint", b"name_zh: x\nowner: " + b"9" * 5000 + b"\n", "application/yaml", "import", 2),
    ("yaml-alias-bomb", BOMB_YAML.encode(), "application/yaml", "import", 2),
    ("csv-bare-cr", b'code,name_en\nEDU-01-001,a\rb"c\n', "text/csv", "import", 3),
    ("csv-cell-131073", b"code,name_en\nEDU-01-001," + b"x" * 131_073 + b"\n", "text/csv", "both",
     2),
    ("csv-cell-40000", b"code,name_en\nEDU-01-001," + b"x" * 40_000 + b"\n", "text/csv", "both", 2),
    ("csv-unterminated", b'code,name_en\nEDU-01-001,"abc\n', "text/csv", "both", 2),
    ("csv-after-quote", b'code,name_en\nEDU-01-001,"a"b\n', "text/csv", "both", 2),
    ("form-bare-cr", (FORM_HEAD + 'SELF-EVAL,产出,10,1\r2"x\n').encode(), "text/csv", "form", 3),
    ("xlsx-300k-rows", _many_rows_xlsx(300_000), XLSX, "both", 20_002),
    ("xlsx-20mb-header", _huge_header_xlsx(20_000_000), XLSX, "both", 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "media", "where", "line"),
    [c[1:] for c in FILE_CASES],
    ids=[c[0] for c in FILE_CASES],
)
@pytest.mark.parametrize("target", ["import-validate-only", "import", "form"])
def test_malformed_and_amplifying_files_are_short_problems(
    hapi: ApiClient,
    hard_engine: Engine,
    draft_etag: str,
    target: str,
    body: bytes,
    media: str,
    where: str,
    line: int | None,
) -> None:
    """Each was a 500 (RecursionError, ValueError of int(), csv.Error) or an amplification (a
    558-byte alias bomb answered 32 MB; 300,000 XLSX rows took 16 s; a 20 MB header cell was
    echoed three times): now a 422 problem naming the line, a few kilobytes long."""
    if (where == "form") != (target == "form") and where != "both":
        pytest.skip("not a file of this endpoint")
    paths = {
        "import-validate-only": (f"{DRAFT}/import?validate_only=true", {}),
        "import": (f"{DRAFT}/import", {"If-Match": "*"}),
        "form": ("/v1/forms/score?framework=SELF-EVAL", {}),
    }
    path, headers = paths[target]
    before = snapshot(hard_engine)
    response = hapi.post(path, content=body, headers={"content-type": media, **headers})
    assert len(response.content) < 4096, response.content[:500]
    assert snapshot(hard_engine) == before
    if response.status_code == 200 and target == "import-validate-only":
        # a file that reads (a bare CR ends a line, as in RFC 4180 readers): rows reported
        report = response.json()
        assert report["valid"] is False
        assert any(r["row"] == line and r["status"] == "error" for r in report["rows"]), report
        return
    if target == "form" and media == XLSX and response.status_code == 413:
        # the national-layout reader refuses the expansion first (forms/reader.py)
        assert_problem(response, 413)
        assert snapshot(hard_engine) == before
        return
    problem = assert_problem(response, 422)
    if line is not None:
        text = json.dumps(problem, ensure_ascii=False)
        assert any(
            f in text for f in (f"line {line}", f"row {line}", f'"row", {line}', f'"line", {line}')
        ), problem
    assert snapshot(hard_engine) == before


def test_every_rule_kind_has_its_typed_model() -> None:
    """The union, the kind table and the engine's kinds describe the same kinds, and every
    parameter of every kind can be told in words (the catalogue's messages)."""
    import typing

    from indicator_service.rules import KINDS, RULE_MODELS, Rule
    from indicator_service.rules.kinds import RULE_MODIFIERS, expected_value, rule_parameters

    union = typing.get_args(typing.get_args(Rule)[0])
    kinds = {typing.get_args(m.model_fields["kind"].annotation)[0]: m for m in union}
    assert set(kinds) == set(RULE_MODELS) == set(KINDS)
    for kind, model in kinds.items():
        params = rule_parameters(kind)
        assert set(params) == set(model.model_fields) - {"kind"}, kind
        assert set(RULE_MODIFIERS) <= set(params), kind
        for name, field in params.items():
            assert expected_value(field), (kind, name)
