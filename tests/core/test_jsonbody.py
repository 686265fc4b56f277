"""``core.jsonbody``: a body validated straight from its bytes answers bad input as a FastAPI
body parameter does (the same problem documents), except for the wording of unparsable JSON and
of a body that is JSON but not an object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from indicator_service.app import create_app
from indicator_service.core.jsonbody import is_json_media, json_body, openapi_body
from tests.helpers import ApiClient, make_settings


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    points: float = Field(ge=0, allow_inf_nan=False)
    tags: list[str] = []


def _app(database_url: str) -> FastAPI:
    app = create_app(make_settings(database_url, max_body_bytes=2048))

    @app.post("/probe/param")
    async def param(body: Item) -> Item:
        return body

    @app.post("/probe/raw", openapi_extra=openapi_body(Item))
    async def raw(request: Request) -> Item:
        return await json_body(request, Item)

    return app


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[ApiClient]:
    c = ApiClient(_app(database_url), raise_app_exceptions=False)
    yield c
    c.close()


GOOD = b'{"name": "a", "points": 1.5, "tags": ["x"]}'
CASES: dict[str, tuple[bytes, str | None]] = {
    "valid": (GOOD, "application/json"),
    "valid, charset parameter": (GOOD, "application/json; charset=utf-8"),
    "valid, +json type": (GOOD, "application/vnd.example+json"),
    "valid after a UTF-8 BOM": (b"\xef\xbb\xbf" + GOOD, "application/json"),
    "no content type": (GOOD, None),
    "text/plain": (GOOD, "text/plain"),
    "empty body": (b"", "application/json"),
    "empty body, no content type": (b"", None),
    "a field missing": (b'{"name": "a"}', "application/json"),
    "an unknown field": (b'{"name": "a", "points": 1, "x": 1}', "application/json"),
    "NaN": (b'{"name": "a", "points": NaN}', "application/json"),
    "negative, nested type error": (b'{"name": "", "points": -1, "tags": [1]}', "application/json"),
    "integer beyond 64 bits": (b'{"name": "a", "points": 1' + b"0" * 30 + b"}", "application/json"),
}


def _post(client: ApiClient, path: str, body: bytes, content_type: str | None) -> Any:
    headers = {"content-type": content_type} if content_type else {}
    return client.post(path, content=body, headers=headers)


@pytest.mark.parametrize("case", CASES)
def test_answers_as_a_body_parameter_does(client: ApiClient, case: str) -> None:
    body, content_type = CASES[case]
    expected = _post(client, "/probe/param", body, content_type)
    got = _post(client, "/probe/raw", body, content_type)
    assert got.status_code == expected.status_code, got.text
    if got.status_code == 200:
        assert got.json() == expected.json()
        return
    e, g = expected.json(), got.json()
    assert g["type"] == e["type"]
    assert g["title"] == e["title"]
    locs = [(x["loc"], x["type"]) for x in g["errors"]]
    assert locs == [(x["loc"], x["type"]) for x in e["errors"]]
    assert all(x["loc"][0] in ("body", "header") for x in g["errors"])  # says where


@pytest.mark.parametrize(
    "body",
    [b'{"name": "a", "points":', b"[1, 2", b'{"name": "\xe9"}'],
    ids=["eof", "array", "utf8"],
)
def test_unparsable_json_is_400_naming_line_and_column(client: ApiClient, body: bytes) -> None:
    r = _post(client, "/probe/raw", body, "application/json")
    assert r.status_code == 400
    problem = r.json()
    assert problem["type"].endswith("/malformed-json")
    [error] = problem["errors"]
    assert error["loc"] == ["body"]
    assert error["type"] == "json_invalid"
    assert "line 1 column" in error["msg"]


@pytest.mark.parametrize("body", [b"[1, 2]", b"null", b'"text"'])
def test_json_that_is_not_an_object_is_422_at_body(client: ApiClient, body: bytes) -> None:
    r = _post(client, "/probe/raw", body, "application/json")
    assert r.status_code == 422
    assert [(e["loc"], e["type"]) for e in r.json()["errors"]] == [(["body"], "model_type")]


def test_body_over_the_limit_is_413(client: ApiClient) -> None:
    body = b'{"name": "' + b"a" * 4096 + b'", "points": 1}'
    r = _post(client, "/probe/raw", body, "application/json")
    assert r.status_code == 413
    assert r.json()["errors"][0]["type"] == "too_large"


def test_documented_like_a_body_parameter(client: ApiClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert (
        paths["/probe/raw"]["post"]["requestBody"] == paths["/probe/param"]["post"]["requestBody"]
    )


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/merge-patch+json", True),
        ("application/problem+json", True),
        ("application/vnd.x+json", True),
        ("text/json", False),
        ("application/jsonp", False),
        ("text/plain", False),
        ("", False),
    ],
)
def test_json_media_types(content_type: str, expected: bool) -> None:
    assert is_json_media(content_type) is expected
