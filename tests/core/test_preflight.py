"""core.problems' refusal pre-flight takes its scope check from the app (core imports no domain
package): with a check, a malformed write the caller may not make is its 403; without, the 422."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel

from indicator_service.core.errors import ErrorItem, Forbidden
from indicator_service.core.problems import install_problem_handlers
from tests.helpers import ApiClient


class Caller:
    def __init__(self, namespaces: set[str]) -> None:
        self.namespaces = namespaces


class Body(BaseModel):
    name: str


def _caller(request: Request) -> Caller:
    return Caller({request.headers.get("x-ns", "")})


def _check(value: Any, route: APIRoute, request: Request) -> None:
    ns = request.path_params.get("ns")
    if isinstance(value, Caller) and "{ns}" in route.path and ns not in value.namespaces:
        raise Forbidden(
            "out of scope", errors=[ErrorItem(loc=["path", "ns"], msg="no", type="scope")]
        )


def _app(check: Any) -> ApiClient:
    app = FastAPI()
    install_problem_handlers(app, scope_check=check)

    @app.post("/v1/namespaces/{ns}/things")
    async def create(ns: str, body: Body, caller: Annotated[Caller, Depends(_caller)]) -> dict:
        return {"ns": ns, "name": body.name}

    return ApiClient(app)


def test_scope_check_answers_a_malformed_write_first() -> None:
    client = _app(_check)
    bad = client.post("/v1/namespaces/a/things", json={"nom": 1}, headers={"x-ns": "b"})
    assert bad.status_code == 403
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["loc"] == ["path", "ns"]
    # in scope: the body's own problem
    mine = client.post("/v1/namespaces/a/things", json={"nom": 1}, headers={"x-ns": "a"})
    assert mine.status_code == 422
    ok = client.post("/v1/namespaces/a/things", json={"name": "x"}, headers={"x-ns": "a"})
    assert ok.status_code == 200
    client.close()


def test_without_a_scope_check_there_is_no_preflight() -> None:
    client = _app(None)
    bad = client.post("/v1/namespaces/a/things", json={"nom": 1}, headers={"x-ns": "b"})
    assert bad.status_code == 422
    client.close()
