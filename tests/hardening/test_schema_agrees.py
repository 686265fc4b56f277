"""Hostile-input corpus, schema and reality: what the OpenAPI document declares is what the
server does — exports answer only the media types they declare (406 otherwise), dictionaries
whose keys the server checks declare those keys closed (no NUL), arrays whose items the server
refuses to repeat declare ``uniqueItems``."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from tests.helpers import ApiClient, assert_problem
from tests.web.forms import GOOD_CSV

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORTS = [
    "/v1/namespaces/education/versions/{version}/export",
    "/v1/frameworks/SELF-EVAL/versions/{version}/export",
]


def _export(hapi: ApiClient, path: str) -> str:
    """``path`` with the latest published version of its namespace or framework."""
    owner = path.split("/versions/")[0]
    latest = hapi.get(owner).json()
    version = latest.get("latest_published") or latest["version"]
    return path.format(version=version)


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.fixture(scope="module")
def document(hard_app: FastAPI) -> dict[str, Any]:
    doc: dict[str, Any] = hard_app.openapi()
    return doc


@pytest.mark.parametrize("path", EXPORTS)
@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/yaml"),
        ("*/*", "application/yaml"),
        ("application/json", "application/json"),
        ("text/*", "text/csv"),
        (f"text/html, {XLSX};q=0.5", XLSX),
        ("application/json;q=0, text/csv", "text/csv"),
        ("text/yaml", "application/yaml"),
        ("text/html", 406),
        ("image/png, application/xml", 406),
        ("application/json;q=0", 406),
    ],
)
def test_exports_answer_what_they_declare_or_406(
    hapi: ApiClient, document: dict[str, Any], path: str, accept: str | None, expected: Any
) -> None:
    headers = {"accept": accept} if accept is not None else {}
    response = hapi.get(_export(hapi, path), headers=headers)
    template = path.replace("education", "{ns}").replace("SELF-EVAL", "{code}")
    declared = document["paths"][template]["get"]["responses"]
    if expected == 406:
        problem = assert_problem(response, 406)
        assert problem["errors"][0]["loc"] == ["header", "accept"]
        assert "406" in declared
        return
    assert response.status_code == 200, response.text[:300]
    media = response.headers["content-type"].split(";")[0]
    assert media == expected
    assert media in declared["200"]["content"]


def test_the_format_parameter_wins_over_accept(hapi: ApiClient) -> None:
    url = _export(hapi, EXPORTS[0])
    r = hapi.get(url, params={"format": "json"}, headers={"accept": "text/html"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        (XLSX, XLSX),
        ("text/html", 406),
        ("application/json;q=0.1, " + XLSX, XLSX),
    ],
)
def test_scored_form_negotiates(
    hapi: ApiClient, document: dict[str, Any], accept: str | None, expected: Any
) -> None:
    headers = {"content-type": "text/csv", **({"accept": accept} if accept else {})}
    response = hapi.post("/v1/forms/score", content=GOOD_CSV.encode(), headers=headers)
    declared = document["paths"]["/v1/forms/score"]["post"]["responses"]
    if expected == 406:
        assert_problem(response, 406)
        assert "406" in declared
        return
    assert response.status_code == 200, response.text[:300]
    media = response.headers["content-type"].split(";")[0]
    assert media == expected
    assert media in declared["200"]["content"]


def test_maps_declare_the_keys_the_server_accepts(document: dict[str, Any]) -> None:
    """No ``patternProperties`` (they only constrain matching keys); every map of codes carries
    its key rule, NUL excluded, under ``propertyNames`` (``core/openapi.py``)."""
    nodes = list(_walk(document))
    assert not [n for n in nodes if "patternProperties" in n]
    values = document["components"]["schemas"]["ScoreRequest"]["properties"]["values"]
    assert values["propertyNames"]["pattern"] == "^[^\\x00]*$"


def test_a_nul_key_is_refused_by_document_and_server(hapi: ApiClient) -> None:
    from bench.bench_load import submission

    body = submission(3)
    body["values"] = {"a\x00b": {"value": 1}}
    problem = assert_problem(hapi.post("/v1/score", json=body), 422)
    assert any("values" in e["loc"] for e in problem["errors"]), problem


def test_unique_items_declared_where_the_server_refuses_repeats(
    hapi: ApiClient, document: dict[str, Any]
) -> None:
    units = document["components"]["schemas"]["CompositeTable"]["properties"]["units"]
    assert units["uniqueItems"] is True
    params = document["paths"]["/v1/standards/resolve"]["get"]["parameters"]
    (precedence,) = [p for p in params if p["name"] == "precedence"]
    assert any(s.get("uniqueItems") for s in _walk(precedence["schema"]))
    # and the server refuses them
    repeated = hapi.get(
        "/v1/standards/resolve",
        params=[
            ("indicator", "EDU-01-001"),
            ("region", "000000"),
            ("precedence", "plan"),
            ("precedence", "plan"),
        ],
    )
    assert repeated.status_code == 422, repeated.text[:300]
    table = {
        "aggregation": [],
        "data": {"units": ["u1", "u1"], "columns": {"a": [1, 2]}},
        "meta_csv": "Level,iCode,Direction,Weight,Parent,Type\n1,a,1,1,idx,Indicator\n"
        "2,idx,1,1,,Aggregate\n",
    }
    assert_problem(hapi.post("/v1/composite", json=table), 422)
