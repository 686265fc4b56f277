"""``core.querymodel``: a query model read in one call answers as FastAPI's query model
(``Annotated[Model, Query()]``) does, and ``core.openapi.typed_query`` declares the same
parameters."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import pytest
from fastapi import FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from indicator_service.app import create_app
from indicator_service.core.openapi import typed_query
from indicator_service.core.querymodel import query_model
from tests.helpers import ApiClient, make_settings


class Order(enum.StrEnum):
    first = "first"
    second = "second"


class Probe(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, max_length=8, pattern=r"^[a-z]+$")
    region: str | None = Field(None, pattern=r"^\d{6}$", description="six digits")
    year: int | None = Field(None, ge=1990, le=2100)
    kind: Literal["a", "b"] | None = None
    kinds: list[Literal["a", "b", "c"]] | None = Field(None, description="each once")
    order: Order = Order.first
    strict: bool = False
    limit: int = Field(50, ge=1, le=500)


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: int = 1
    b: list[int] = []


def _app(database_url: str) -> FastAPI:
    app = create_app(make_settings(database_url))

    @app.get("/probe/param")
    async def param(query: Annotated[Probe, Query()]) -> Probe:
        return query

    @app.get("/probe/raw", openapi_extra=typed_query(Probe))
    async def raw(request: Request) -> Probe:
        return query_model(request, Probe)

    @app.get("/closed/param")
    async def closed_param(query: Annotated[Closed, Query()]) -> Closed:
        return query

    @app.get("/closed/raw", openapi_extra=typed_query(Closed))
    async def closed_raw(request: Request) -> Closed:
        return query_model(request, Closed)

    return app


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[ApiClient]:
    c = ApiClient(_app(database_url), raise_app_exceptions=False)
    yield c
    c.close()


QUERIES = [
    "code=abc",
    "code=abc&region=110105&year=2024&kind=b&kinds=a&kinds=c&order=second&strict=true&limit=7",
    "code=abc&code=def",  # repeated: the last one
    "code=abc&kinds=a&kinds=a",  # a list keeps its repeats
    "code=abc&other=1&limit=500",  # a parameter the model does not name: ignored
    "",  # a required field missing
    "code=ABC&region=11&year=1989&kind=c&kinds=d&order=third&strict=maybe&limit=0",
    "code=&region=&year=&limit=",  # empty values are values
    "code=abc&year=2024.5&limit=1e3",
    "code=" + "x" * 9,
    "code=%00",
]


def _same(client: ApiClient, left: str, right: str, query: str) -> None:
    expected = client.get(f"{left}?{query}")
    got = client.get(f"{right}?{query}")
    assert got.status_code == expected.status_code, (query, got.text)
    e, g = expected.json(), got.json()
    if got.status_code == 200:
        assert g == e
        return
    assert got.status_code == 422
    assert (g["type"], g["title"], g["detail"]) == (e["type"], e["title"], e["detail"])
    assert g["errors"] == e["errors"]  # each located at ["query", field], in the same words


@pytest.mark.parametrize("query", QUERIES)
def test_answers_as_a_query_model_does(client: ApiClient, query: str) -> None:
    _same(client, "/probe/param", "/probe/raw", query)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_problems_in_the_language_asked(client: ApiClient, lang: str) -> None:
    headers = {"accept-language": lang}
    query = "code=ABC&limit=0"
    expected = client.get(f"/probe/param?{query}", headers=headers).json()
    got = client.get(f"/probe/raw?{query}", headers=headers).json()
    assert got["errors"] == expected["errors"]
    assert [e["loc"] for e in got["errors"]] == [["query", "code"], ["query", "limit"]]


@pytest.mark.parametrize("query", ["a=2&b=1&b=2", "a=2&c=1", "c=1&c=2", "b=x"])
def test_a_model_that_forbids_others_refuses_them_alike(client: ApiClient, query: str) -> None:
    _same(client, "/closed/param", "/closed/raw", query)


def _parameters(document: dict[str, Any], path: str) -> list[dict[str, Any]]:
    return document["paths"][path]["get"].get("parameters", [])


def test_declares_the_parameters_fastapi_declares(client: ApiClient) -> None:
    document = client.get("/openapi.json").json()
    for left, right in (("/probe/param", "/probe/raw"), ("/closed/param", "/closed/raw")):
        assert _parameters(document, right) == _parameters(document, left)
    assert document["components"]["schemas"]["Order"]["enum"] == ["first", "second"]
    kinds = next(p for p in _parameters(document, "/probe/raw") if p["name"] == "kinds")
    assert kinds["description"] == "each once"
    assert "default" not in kinds["schema"]


def test_the_service_reads_its_query_models_in_one_call(client: ApiClient) -> None:
    """The three hot reads that take a query model declare it as FastAPI would, first after
    their path parameters and before their headers."""
    document = client.get("/openapi.json").json()
    for path, first in (
        ("/v1/indicators", "namespace"),
        ("/v1/indicators/{code}/standard", "type"),
        ("/v1/standards/resolve", "indicator"),
    ):
        params = _parameters(document, path)
        where = [p["in"] for p in params]
        assert where == sorted(where, key=["path", "query", "header"].index), path
        assert next(p for p in params if p["in"] == "query")["name"] == first
        assert params[-1]["name"] == "If-None-Match"
