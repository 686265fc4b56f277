"""The columnar batch (POST /v1/score/columnar): the rows once, the values as a matrix."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bench.bench_http import as_columnar, submission
from tests.helpers import ApiClient, assert_problem


def test_totals_and_grades_equal_the_json_batch(sapi: ApiClient) -> None:
    items = [submission(k) for k in range(40)]
    items[3]["rows"][5].pop("value")  # missing: scored 0 under the framework's policy
    items[4]["rows"][0]["value"] = -5.0  # clamped to 0 with a warning
    items[5]["budget"]["executed"] = 0.0
    body = as_columnar(items)
    assert body["values"][3][5] is None
    r = sapi.post("/v1/score/columnar", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    ref = sapi.post("/v1/score/batch", json={"items": items}).json()
    assert (got["count"], got["ok"], got["failed"], got["errors"]) == (40, 40, 0, [])
    assert got["totals"] == [i["total"] for i in ref["items"]]
    assert got["grades"] == [i["grade"] for i in ref["items"]]
    assert len(set(got["totals"])) > 10


def test_per_item_engine_errors_name_the_cell(sapi: ApiClient) -> None:
    items = [submission(k) for k in range(3)]
    rank = copy.deepcopy(items[1])
    body = as_columnar(items)
    # A rank-table row: 2.5 is not a rank (item 1); a rank of 3 is fine (items 0 and 2).
    body["template"]["rows"][0]["rule"] = {"kind": "rank_table", "points": [2.0, 1.0, 0.5]}
    body["template"]["rows"][0].pop("operator")
    body["template"]["rows"][0].pop("target")
    body["values"][0][0] = body["values"][2][0] = 3
    body["values"][1][0] = 2.5
    r = sapi.post("/v1/score/columnar", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["ok"], got["failed"]) == (2, 1)
    assert got["totals"][1] is None
    assert got["grades"][1] is None
    assert got["errors"] == [
        {
            "index": 1,
            "errors": [
                {
                    "loc": ["body", "values", 1, 0],
                    "msg": "a rank must be an integer ≥ 1",
                    "type": "invalid_rank",
                }
            ],
        }
    ]
    assert rank  # the JSON batch refuses the same rank at rows.0.value
    rank["rows"][0].update(rule=body["template"]["rows"][0]["rule"], value=2.5)
    rank["rows"][0].pop("operator")
    rank["rows"][0].pop("target")
    ref = sapi.post("/v1/score/batch", json={"items": [rank]}).json()
    assert ref["items"][0]["errors"][0]["type"] == "invalid_rank"


def _body(**changes: Any) -> dict[str, Any]:
    body = as_columnar([submission(0), submission(1)])
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (
            lambda b: b["template"]["rows"][0].update(value=1.0),
            ["body", "template", "rows", 0, "value"],
        ),
        (
            lambda b: b["template"].update(budget={"adjusted": 1.0, "executed": 1.0}),
            ["body", "template", "budget"],
        ),
        (lambda b: b["values"][1].pop(), ["body", "values", 1]),
        (lambda b: b["budgets"].pop(), ["body", "budgets"]),
        (
            lambda b: b["template"]["rows"][0].update(points=1),
            ["body", "template", "rows", 0, "points"],
        ),
        (lambda b: b["values"][0].__setitem__(0, "12"), ["body", "values", 0, 0]),
        (lambda b: b["values"][0].__setitem__(0, False), ["body", "values", 0, 0]),
        (lambda b: b.update(values=[]), ["body", "values"]),
    ],
)
def test_bad_columnar_batches_are_422(sapi: ApiClient, mutate: Any, loc: list[Any]) -> None:
    body = _body()
    mutate(body)
    problem = assert_problem(sapi.post("/v1/score/columnar", json=body), 422)
    assert loc in [e["loc"] for e in problem["errors"]], problem


def test_unknown_framework_is_404_and_a_key_is_needed(sapi: ApiClient) -> None:
    body = _body()
    body["template"]["framework"] = "NOPE"
    assert_problem(sapi.post("/v1/score/columnar", json=body), 404)
    anonymous = sapi.post("/v1/score/columnar", json=_body(), headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_an_infinite_execution_rate_is_a_422_not_a_500(sapi: ApiClient) -> None:
    body = submission(0)
    body["budget"] = {"adjusted": 1e-300, "executed": 1e300}  # both finite; the rate is not
    problem = assert_problem(sapi.post("/v1/score", json=body), 422)
    assert problem["errors"][0]["loc"] == ["body", "budget"]
    batch = sapi.post("/v1/score/batch", json={"items": [body, submission(1)]}).json()
    assert [i["ok"] for i in batch["items"]] == [False, True]
    columnar = as_columnar([submission(0), body])
    got = sapi.post("/v1/score/columnar", json=columnar).json()
    assert got["errors"][0]["index"] == 1
    assert got["errors"][0]["errors"][0]["loc"] == ["body", "budgets", 1]
