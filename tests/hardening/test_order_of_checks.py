"""Hostile-input corpus, order of checks: authentication and authorization come before the body
is parsed or validated (401/403 before 400/422, namespace scope checks included), a body that
is not UTF-8 is the documented ``malformed-json`` problem, and a body that stops arriving is
answered 408 and its connection closed after the read timeout."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import MutableMapping
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from bench.bench_load import free_port, server_env, start_server, stop_server, wait_ready
from indicator_service.app import create_app
from indicator_service.auth.models import Role
from tests.auth.fixtures import bearer, issue_key
from tests.hardening.test_hostile_input import snapshot
from tests.helpers import ApiClient, assert_problem, make_settings

JSON = {"content-type": "application/json", "If-Match": "*"}
DRAFT = "/v1/namespaces/education/drafts/1.0.1-draft"
FW_DRAFT = "/v1/frameworks/SELF-EVAL/drafts/1.0.1-draft"
# every write that takes a JSON body and needs a key (a draft need not exist: the key is refused
# before anything is looked up)
WRITES = [
    ("POST", "/v1/score"),
    ("POST", "/v1/score/what-if"),
    ("POST", "/v1/score/columnar"),
    ("POST", "/v1/evaluations"),
    ("POST", "/v1/evaluations/1/rescore"),
    ("PUT", DRAFT),
    ("POST", "/v1/namespaces/education/versions/1.0.1-draft/publish"),
    ("PUT", FW_DRAFT),
    ("POST", f"{DRAFT}/indicators"),
    ("PATCH", f"{DRAFT}/indicators/EDU-01-001"),
    ("POST", f"{DRAFT}/standards"),
    ("PATCH", f"{DRAFT}/standards/0123456789abcdef"),
    ("POST", f"{FW_DRAFT}/nodes"),
    ("PATCH", f"{FW_DRAFT}/nodes/X"),
    ("POST", "/v1/namespaces/education/versions/1.0.1-draft/submit"),
    ("POST", "/v1/namespaces/education/versions/1.0.1-draft/return"),
    ("POST", "/v1/namespaces/education/versions/1.0.1-draft/approve"),
    ("POST", "/v1/standards/drafts/education/1.0.1-draft/standards"),
    ("POST", "/v1/standards/historical/from-evaluations"),
    ("POST", "/v1/composite"),
    ("POST", "/v1/api-keys"),
]
# writes a client key (scoring only) may not make
CURATION = [
    (m, p)
    for m, p in WRITES
    if p.startswith(("/v1/namespaces", "/v1/frameworks", "/v1/standards/drafts", "/v1/api-keys"))
]
# writes a curator of another namespace may not make (scope checked inside the handler)
SCOPED = [
    (m, p)
    for m, p in WRITES
    if p.startswith(("/v1/namespaces/education", "/v1/standards/drafts/education"))
    and not p.endswith("/publish")  # direct publishing needs an admin key
]
BODIES = {
    "malformed": b'{"name": ',
    "not-utf8": b'{"name": "\xc3\x28"}',
    "invalid": b'{"no such field": 1}',
    "wrong-types": b"[1, 2, 3]",
}


@pytest.fixture(scope="module")
def keys(hard_app: FastAPI) -> dict[str, dict[str, str]]:
    engine, settings = hard_app.state.engine, hard_app.state.settings
    return {
        "none": {},
        "health-curator": bearer(issue_key(engine, settings, Role.curator, ["health"])),
        "health-reviewer": bearer(issue_key(engine, settings, Role.reviewer, ["health"])),
        "client": bearer(issue_key(engine, settings, Role.client)),
    }


@pytest.fixture(scope="module")
def client(hard_app: FastAPI) -> Any:
    c = ApiClient(hard_app)
    yield c
    c.close()


@pytest.mark.parametrize("body", list(BODIES), ids=list(BODIES))
@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_no_key_is_401_before_the_body_is_read(
    client: ApiClient, hard_engine: Engine, method: str, path: str, body: str
) -> None:
    before = snapshot(hard_engine)
    response = client.request(method, path, content=BODIES[body], headers=JSON)
    assert_problem(response, 401)
    assert snapshot(hard_engine) == before


@pytest.mark.parametrize("body", list(BODIES), ids=list(BODIES))
@pytest.mark.parametrize(("method", "path"), CURATION, ids=[f"{m} {p}" for m, p in CURATION])
def test_a_key_without_the_role_is_403_before_the_body_is_read(
    client: ApiClient,
    hard_engine: Engine,
    keys: dict[str, dict[str, str]],
    method: str,
    path: str,
    body: str,
) -> None:
    response = client.request(
        method, path, content=BODIES[body], headers={**JSON, **keys["client"]}
    )
    assert_problem(response, 403)


@pytest.mark.parametrize("body", list(BODIES), ids=list(BODIES))
@pytest.mark.parametrize(("method", "path"), SCOPED, ids=[f"{m} {p}" for m, p in SCOPED])
def test_a_key_of_another_namespace_is_403_before_the_body_is_read(
    client: ApiClient,
    hard_engine: Engine,
    keys: dict[str, dict[str, str]],
    method: str,
    path: str,
    body: str,
) -> None:
    role = "health-reviewer" if path.endswith(("/return", "/approve")) else None
    headers = keys[role or "health-curator"]
    before = snapshot(hard_engine)
    response = client.request(method, path, content=BODIES[body], headers={**JSON, **headers})
    problem = assert_problem(response, 403)
    assert problem["type"].endswith("/namespace-out-of-scope"), problem
    assert snapshot(hard_engine) == before


@pytest.mark.parametrize(
    "path", ["/v1/evaluations", "/v1/score", "/v1/score/what-if", "/v1/composite", DRAFT]
)
def test_a_body_that_is_not_utf8_is_malformed_json(hapi: ApiClient, path: str) -> None:
    method = "PUT" if path == DRAFT else "POST"
    response = hapi.request(method, path, content=BODIES["not-utf8"], headers=JSON)
    problem = assert_problem(response, 400)
    assert problem["type"].endswith("/malformed-json")
    assert problem["errors"]
    assert problem["errors"][0]["type"] == "json_invalid"
    assert problem["errors"][0]["loc"][0] == "body"


def test_a_stalled_body_is_408_after_the_read_timeout(seeded_url: str) -> None:
    """ASGI level: the body's first chunk arrives, the rest never does."""
    app = create_app(make_settings(seeded_url, request_read_timeout_seconds=0.3))
    sent: list[MutableMapping[str, Any]] = []
    chunks = [{"type": "http.request", "body": b'{"framework": ', "more_body": True}]

    async def receive() -> dict[str, Any]:
        if chunks:
            return chunks.pop()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/evaluations",
        "raw_path": b"/v1/evaluations",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    started = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    finally:
        app.state.engine.dispose()
    assert time.monotonic() - started < 5
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 408
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    assert headers["connection"] == "close"
    assert headers["content-type"].startswith("application/problem+json")


def test_a_declared_body_that_never_arrives_is_closed_by_the_server(seeded_url: str) -> None:
    """End to end under uvicorn: a client declares 1,000 bytes, sends 10 and waits."""
    port = free_port()
    env = server_env(seeded_url, INDICATOR_REQUEST_READ_TIMEOUT_SECONDS="1")
    server = start_server(seeded_url, port, env=env)
    try:
        wait_ready(port, server)
        with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
            started = time.monotonic()
            s.sendall(
                b"POST /v1/evaluations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n" + b'{"framewo'
            )
            received = b""
            while chunk := s.recv(65536):  # until the server closes the connection
                received += chunk
            elapsed = time.monotonic() - started
        assert received.startswith(b"HTTP/1.1 408 "), received[:200]
        assert 0.9 < elapsed < 10, elapsed
    finally:
        stop_server(server)
