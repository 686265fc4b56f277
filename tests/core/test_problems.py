"""Every error is an RFC 9457 problem document: 400, 404, 405, 413, 415, 422, 500."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from indicator_service.app import create_app
from indicator_service.core.errors import Conflict, ErrorItem
from tests.helpers import ApiClient, assert_problem, make_settings


class Echo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(strict=True, min_length=1)
    points: float = Field(strict=True, ge=0)


def _app_with_probe_routes(database_url: str, **overrides: object) -> FastAPI:
    """The real app (middleware, handlers) plus a few routes that exercise them."""
    app = create_app(make_settings(database_url, **overrides))

    @app.post("/probe/echo")
    async def echo(body: Echo) -> Echo:
        return body

    @app.post("/probe/conflict")
    async def conflict() -> None:
        raise Conflict("already published", errors=[ErrorItem(loc=["version"], msg="x", type="t")])

    @app.get("/probe/crash")
    async def crash() -> None:
        raise RuntimeError("secret internals")

    return app


@pytest.fixture(scope="module")
def probe(database_url: str) -> Iterator[ApiClient]:
    client = ApiClient(
        _app_with_probe_routes(database_url, max_body_bytes=1024), raise_app_exceptions=False
    )
    yield client
    client.close()


def test_valid_body_passes(probe: ApiClient) -> None:
    r = probe.post("/probe/echo", json={"name": "a", "points": 1.5})
    assert r.status_code == 200
    assert r.json() == {"name": "a", "points": 1.5}
    assert r.headers["x-request-id"]


def test_unknown_path_is_404_problem(probe: ApiClient) -> None:
    body = assert_problem(probe.get("/no/such/thing"), 404)
    assert body["instance"] == "/no/such/thing"
    assert "/no/such/thing" in body["detail"]


def test_wrong_method_is_405_with_allow(probe: ApiClient) -> None:
    r = probe.delete("/healthz")
    assert_problem(r, 405)
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET"}


def test_405_allow_lists_methods_of_every_route_on_the_path(api: ApiClient) -> None:
    # GET and DELETE on one resource come from two routes of an included router;
    # Starlette alone would answer "Allow: GET".
    r = api.request("OPTIONS", "/v1/api-keys/1")
    assert_problem(r, 405)
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "DELETE"}


def test_405_allow_of_a_literal_path_beside_a_parameter(api: ApiClient) -> None:
    # /v1/evaluations/batch (POST) is its own resource, though /v1/evaluations/{evaluation_id}
    # (GET) would match its text (the scoring router's path convertor keeps it apart): Allow
    # lists what the API document lists for it, and GET there is a 405.
    r = api.request("OPTIONS", "/v1/evaluations/batch")
    assert_problem(r, 405)
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"POST"}
    assert_problem(api.get("/v1/evaluations/batch"), 405)
    r = api.request("OPTIONS", "/v1/evaluations/7")
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET"}


def test_malformed_json_is_400(probe: ApiClient) -> None:
    r = probe.post(
        "/probe/echo",
        content=b'{"name": "a", "points": ',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(r, 400)
    assert body["errors"][0]["type"] == "json_invalid"


def test_wrong_content_type_is_415(probe: ApiClient) -> None:
    r = probe.post("/probe/echo", content=b"name=a", headers={"content-type": "text/plain"})
    body = assert_problem(r, 415)
    assert body["errors"][0]["loc"] == ["header", "content-type"]


def test_invalid_fields_are_422_with_locations(probe: ApiClient) -> None:
    r = probe.post("/probe/echo", json={"name": "", "points": False, "extra": 1})
    body = assert_problem(r, 422)
    locs = {tuple(e["loc"]) for e in body["errors"]}
    assert locs == {("body", "name"), ("body", "points"), ("body", "extra")}


def test_oversized_body_with_length_is_413(probe: ApiClient) -> None:
    r = probe.post("/probe/echo", json={"name": "x" * 2000, "points": 1})
    body = assert_problem(r, 413)
    assert "1024" in body["detail"]


def test_oversized_chunked_body_is_413(probe: ApiClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"y" * 200
        yield b'", "points": 1}'

    r = probe.post("/probe/echo", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_problem(r, 413)


def test_service_error_renders_status_and_errors(probe: ApiClient) -> None:
    body = assert_problem(probe.post("/probe/conflict"), 409)
    assert body["detail"] == "already published"
    assert body["errors"] == [{"loc": ["version"], "msg": "x", "type": "t"}]


def test_unexpected_error_is_500_problem_without_internals(probe: ApiClient) -> None:
    r = probe.get("/probe/crash")
    body = assert_problem(r, 500)
    assert "secret" not in r.text
    assert body["request_id"] == r.headers["x-request-id"]


def test_request_id_is_echoed_when_supplied(probe: ApiClient) -> None:
    r = probe.get("/healthz", headers={"x-request-id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = probe.get("/healthz", headers={"x-request-id": "bad id\x7f"})
    assert r.headers["x-request-id"] != "bad id\x7f"
