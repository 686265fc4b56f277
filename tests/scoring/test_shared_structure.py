"""A CSV batch whose submissions share one structure (a form's lines for many units) is scored
as one columnar batch: the same response as the general path, which still takes every batch
that does not qualify or has a problem anywhere."""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

import pytest

from bench.bench_http import as_csv, submission
from indicator_service.core.i18n import language
from indicator_service.scoring import batch
from indicator_service.scoring.csvform import read_batch_csv, validated
from indicator_service.scoring.labels import batch_labels
from tests.helpers import ApiClient
from tests.scoring.frameworks import catalogue

CATALOGUE = catalogue()


def _general(raw: bytes) -> dict[str, Any]:
    keys, subs = read_batch_csv(raw)
    out = batch.score_batch(validated(keys, subs), CATALOGUE)
    return batch_labels(out.model_dump(mode="json"))  # as answered: with the labels


def _csv(items: list[dict[str, Any]], edit: Any = None) -> bytes:
    """as_csv, with ``edit(line number, row dict)`` applied to the data lines."""
    raw = as_csv(items).decode()
    if edit is None:
        return raw.encode()
    reader = csv.DictReader(io.StringIO(raw))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*(reader.fieldnames or []), "not_applicable"])
    writer.writeheader()
    for n, row in enumerate(reader):
        edit(n, row)
        writer.writerow(row)
    return out.getvalue().encode()


def test_shared_structure_gives_the_general_response() -> None:
    raw = _csv([submission(k) for k in range(40)])
    _keys, subs = read_batch_csv(raw)
    fast = batch.score_shared_structure(subs, CATALOGUE)
    assert fast is not None
    assert batch_labels(fast) == _general(raw)
    assert len({i["total"] for i in fast["items"]}) > 5  # the values differ per submission


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda n, r: r.update(target="99") if n == 45 else None, id="other-target"),
        pytest.param(lambda n, r: r.update(name="x") if n == 70 else None, id="other-name"),
        pytest.param(
            lambda n, r: r.update(value="", not_applicable="1") if n == 33 else None,
            id="not-applicable",
        ),
        pytest.param(
            lambda n, r: r.update(budget_adjusted="", budget_executed="") if n >= 60 else None,
            id="no-budget",
        ),
    ],
)
def test_other_structures_take_the_general_path(edit: Any) -> None:
    raw = _csv([submission(k) for k in range(3)], edit)
    _keys, subs = read_batch_csv(raw)
    assert batch.score_shared_structure(subs, CATALOGUE) is None
    assert _general(raw)["count"] == 3


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("differ_at", [None, (1, 0), (2, 29)], ids=["same", "early", "late"])
def test_submissions_are_left_as_they_were(exact: bool, differ_at: Any) -> None:
    """Values are taken out of the rows for the structure comparison and put back: whether the
    batch qualifies or not (the general path then reads the same dicts), nothing changes."""
    items = [submission(k) for k in range(3)]
    items[1]["rows"][5].pop("value")  # a row without a value (missing) is kept so too
    if differ_at is not None:
        k, j = differ_at
        items[k]["rows"][j]["name"] = "另一个指标"
    before = copy.deepcopy(items)
    out = batch.score_shared_structure(items, CATALOGUE, exact=exact)
    assert (out is None) == (differ_at is not None)
    assert items == before


def test_a_problem_anywhere_takes_the_general_path() -> None:
    """Points that do not add up fail every submission: reported per item by the general path."""
    raw = _csv(
        [submission(k) for k in range(3)],
        lambda n, r: r.update(points="1") if n % 30 == 0 else None,
    )
    _keys, subs = read_batch_csv(raw)
    assert batch.score_shared_structure(subs, CATALOGUE) is None
    general = _general(raw)
    assert general["failed"] == 3
    assert general["items"][0]["errors"][0]["type"] == "points_do_not_add_up"


def test_an_invalid_project_is_still_refused() -> None:
    items = [submission(k) for k in range(2)]
    _keys, subs = read_batch_csv(_csv(items))
    subs[1]["project"] = "x" * 1000  # longer than a code may be
    assert batch.score_shared_structure(subs, CATALOGUE) is None


def test_http_csv_batch_equals_the_general_path(sapi: ApiClient) -> None:
    raw = _csv([submission(k) for k in range(25)])
    r = sapi.post("/v1/score/batch", content=raw, headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json() == _general(raw)
    # validate_only and detail take the general path (receipts are per submission)
    r = sapi.post("/v1/score/batch?detail=true", content=raw, headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    assert [i["total"] for i in r.json()["items"]] == [i["total"] for i in _general(raw)["items"]]
    assert r.json()["items"][0]["result"]["total"] == r.json()["items"][0]["total"]


@pytest.mark.parametrize(("header", "lang"), [("zh-CN", "zh-CN"), ("en", "en")])
def test_both_batch_paths_answer_the_same_labels(sapi: ApiClient, header: str, lang: str) -> None:
    """The shared-structure path and the item path (forced with ?receipt=summary) give each
    item the grade's name in the language asked."""
    raw = _csv([submission(k) for k in range(6)])
    headers = {"content-type": "text/csv", "accept-language": header}
    fast = sapi.post("/v1/score/batch", content=raw, headers=headers).json()
    with language(lang):
        assert fast == _general(raw)
    slow = sapi.post("/v1/score/batch?receipt=summary", content=raw, headers=headers).json()
    names = {"zh-CN": {"优", "良", "中", "差"}, "en": {"Excellent", "Good", "Fair", "Poor"}}[lang]
    for a, b in zip(fast["items"], slow["items"], strict=True):
        assert a["grade_label"] == b["grade_label"] == b["summary"]["grade_label"]
        assert a["grade_label"] in names


def _general_json(body: dict[str, Any]) -> dict[str, Any]:
    from indicator_service.scoring.schemas import BatchRequest

    whole = BatchRequest.model_validate(body)
    out = batch.score_batch(list(whole.items), CATALOGUE, validate_only=whole.validate_only)
    return batch_labels(out.model_dump(mode="json"))


def _post_json(sapi: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    r = sapi.post("/v1/score/batch", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_json_batch_of_one_structure(sapi: ApiClient) -> None:
    items = [submission(k) for k in range(30)]
    items[3]["rows"][0]["value"] = 96  # an integer actual is a number like any other
    body = {"items": items}
    assert batch.score_shared_structure(items, CATALOGUE, exact=True) is not None
    assert _post_json(sapi, body) == _general_json(body)


def _with_points(sub: dict[str, Any], first: Any) -> dict[str, Any]:
    """The satisfaction rows re-weighted 1 + 4 + 2.5 + 2.5 (still 10 points)."""
    sub["rows"][26]["points"] = first
    sub["rows"][27]["points"] = 4.0
    return sub


def test_json_fields_are_compared_exactly(sapi: ApiClient) -> None:
    """``true`` equals 1 in Python but is no number of points: the general path refuses that
    item, and the batch does not pass as one structure."""
    items = [_with_points(submission(0), 1.0), _with_points(submission(1), True)]
    assert items[0]["rows"][26] == {**items[1]["rows"][26], "value": items[0]["rows"][26]["value"]}
    assert batch.score_shared_structure(items, CATALOGUE, exact=True) is None
    body = {"items": items}
    out = _post_json(sapi, body)
    assert out["failed"] == 1
    assert out["items"][0]["ok"]
    assert out["items"][1]["errors"][0]["loc"][-1] == "points"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"items": [submission(0), submission(1)], "validate_only": True}, id="check"),
        pytest.param({"items": [submission(0), {**submission(1), "region": "330000"}]}, id="head"),
    ],
)
def test_json_batches_that_do_not_qualify(sapi: ApiClient, body: dict[str, Any]) -> None:
    assert batch.score_shared_structure(body["items"], CATALOGUE, exact=True) is None or (
        body.get("validate_only")
    )
    assert _post_json(sapi, body) == _general_json(body)


def test_a_json_item_that_is_no_object_is_named(sapi: ApiClient) -> None:
    r = sapi.post("/v1/score/batch", json={"items": [submission(0), []]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "items", 1]
