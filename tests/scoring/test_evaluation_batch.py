"""POST /v1/evaluations/batch: many evaluations stored in one request, each item on its own
(its idempotency key, its result or its problem; a failed item stores nothing)."""

from __future__ import annotations

import copy
import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import select

from indicator_service.app import create_app
from indicator_service.core.database import session_scope
from indicator_service.core.settings import Settings
from indicator_service.scoring.models import Evaluation
from tests.auth.fixtures import bearer, issue_key
from tests.helpers import ApiClient, assert_problem, kept_answers, make_settings
from tests.scoring.test_evaluations import published, submission, v1_rows  # noqa: F401

URL = "/v1/evaluations/batch"
pytestmark = pytest.mark.usefixtures("published")


def _stored(engine: Engine, project: str) -> list[Evaluation]:
    with session_scope(engine) as s:
        rows = s.exec(select(Evaluation).where(Evaluation.project == project)).all()
        return list(rows)


def test_each_item_is_stored_or_answered_with_its_problem(eapi: ApiClient, engine: Engine) -> None:
    tag = uuid.uuid4().hex[:8]
    good = v1_rows(submission(f"A-{tag}"))  # 9.5 + 22.5 + 22.5 + 27 + 10 = 91.5
    second = v1_rows(submission(f"B-{tag}"))
    second["rows"][3]["value"] = 76  # 满意度 10 · 76 / 95 = 8 → 89.5
    not_adding_up = v1_rows(submission(f"C-{tag}"))
    not_adding_up["rows"][0]["points"] = 30  # 产出 55 ≠ 50
    invalid = v1_rows(submission(f"D-{tag}"))
    invalid["rows"][2]["points"] = "x"
    unknown_version = v1_rows(submission(f"E-{tag}", version="9.9.9"))
    items = [
        {"idempotency_key": f"a-{tag}", "submission": good},
        {"submission": not_adding_up},
        {"submission": invalid, "idempotency_key": f"d-{tag}"},
        {"submission": unknown_version},
        {"idempotency_key": f"b-{tag}", "submission": second},
    ]
    r = eapi.post(URL, json={"items": items})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["count"], body["stored"], body["replayed"], body["failed"]) == (5, 2, 0, 3)
    out = body["items"]
    assert [i["status"] for i in out] == [201, 422, 422, 404, 201]
    assert [i["ok"] for i in out] == [True, False, False, False, True]
    assert [i["project"] for i in out] == [f"{x}-{tag}" for x in "ACDEB"]
    assert [i["idempotency_key"] for i in out] == [f"a-{tag}", None, f"d-{tag}", None, f"b-{tag}"]
    assert [out[0]["evaluation"]["total"], out[4]["evaluation"]["total"]] == [91.5, 89.5]
    assert out[0]["evaluation"]["grade"] == "优"
    # every problem located in its item: the submission's fields under `submission`
    assert {tuple(e["loc"][:5]) for e in out[1]["errors"]} == {
        ("body", "items", 1, "submission", "rows")
    }
    assert out[1]["errors"][0]["type"] == "points_do_not_add_up"
    assert out[2]["errors"][0]["loc"] == ["body", "items", 2, "submission", "rows", 2, "points"]
    assert out[3]["errors"][0]["loc"][:4] == ["body", "items", 3, "submission"]
    # the stored ones are readable where their location says, with the hash echoed
    got = eapi.get(out[0]["location"]).json()
    assert got["id"] == out[0]["evaluation"]["id"]
    assert got["input_hash"] == out[0]["input_hash"]
    assert got["result"]["total"] == 91.5
    # the failed items stored nothing
    assert [len(_stored(engine, f"{x}-{tag}")) for x in "ACDEB"] == [1, 0, 0, 0, 1]


def test_item_keys_replay_as_posting_one_evaluation_does(eapi: ApiClient, engine: Engine) -> None:
    tag = uuid.uuid4().hex[:8]
    keyed = v1_rows(submission(f"K-{tag}"))
    unkeyed = v1_rows(submission(f"U-{tag}"))
    batch = {
        "items": [
            {"idempotency_key": f"k-{tag}", "submission": keyed},
            {"submission": unkeyed},
        ]
    }
    first = eapi.post(URL, json=batch).json()
    again = eapi.post(URL, json=batch).json()  # a retry after a lost answer
    assert (again["stored"], again["replayed"]) == (1, 1)
    assert again["items"][0]["replayed"] is True
    assert again["items"][0]["status"] == 201
    assert again["items"][0]["evaluation"] == first["items"][0]["evaluation"]
    assert len(_stored(engine, f"K-{tag}")) == 1
    assert len(_stored(engine, f"U-{tag}")) == 2  # without a key, each request stores
    # the keys are those of POST /v1/evaluations: the same key there replays the same evaluation
    single = eapi.post("/v1/evaluations", json=keyed, headers={"Idempotency-Key": f"k-{tag}"})
    assert single.status_code == 201
    assert single.json()["id"] == first["items"][0]["evaluation"]["id"]
    # the same key with another submission is a 409 for that item only
    changed = copy.deepcopy(keyed)
    changed["rows"][0]["value"] = 80
    other = eapi.post(
        URL,
        json={
            "items": [
                {"idempotency_key": f"k-{tag}", "submission": changed},
                {"idempotency_key": f"k2-{tag}", "submission": changed},
            ]
        },
    ).json()
    assert [i["status"] for i in other["items"]] == [409, 201]
    assert other["items"][0]["errors"][0]["loc"] == ["body", "items", 0, "idempotency_key"]
    assert other["items"][0]["errors"][0]["type"] == "idempotency_key_reused"
    # 完成数量 25 · 80 / 100 = 20 instead of 22.5: 91.5 − 2.5 = 89.0
    assert other["items"][1]["evaluation"]["total"] == 89.0


def test_owner_and_region_scopes_apply_per_item(
    api: ApiClient, engine: Engine, settings: Settings
) -> None:
    tag = uuid.uuid4().hex[:8]
    scoped = bearer(issue_key(engine, settings, "evaluator", regions=["330000"]))
    inside = v1_rows(submission(f"IN-{tag}"))  # region 330100, inside 330000
    outside = v1_rows(submission(f"OUT-{tag}", region="110000"))
    items = [
        {"idempotency_key": f"same-{tag}", "submission": inside},
        {"submission": outside},
    ]
    r = api.post(URL, json={"items": items}, headers=scoped)
    out = r.json()["items"]
    assert [i["status"] for i in out] == [201, 403]
    assert out[1]["errors"][0]["loc"] == ["body", "items", 1, "submission", "region"]
    assert out[1]["errors"][0]["type"] == "region_out_of_scope"
    assert _stored(engine, f"OUT-{tag}") == []
    # another evaluator key neither reads it nor replays its idempotency key
    other = bearer(issue_key(engine, settings, "evaluator"))
    assert_problem(api.get(out[0]["location"], headers=other), 404)
    mine = api.post(URL, json={"items": items[:1]}, headers=other).json()["items"][0]
    assert (mine["status"], mine["replayed"]) == (201, False)
    assert mine["evaluation"]["id"] != out[0]["evaluation"]["id"]
    # a client key may score but not store
    client = bearer(issue_key(engine, settings, "client"))
    assert_problem(api.post(URL, json={"items": items[:1]}, headers=client), 403)


def test_a_bad_envelope_is_a_422(eapi: ApiClient) -> None:
    problem = assert_problem(eapi.post(URL, json={"items": []}), 422)
    assert problem["errors"][0]["loc"] == ["body", "items"]
    problem = assert_problem(eapi.post(URL, json={"items": [{}], "extra": 1}), 422)
    assert problem["errors"][0]["loc"] == ["body", "extra"]


def test_a_batch_is_one_request_for_the_rate_limit(database_url: str, engine: Engine) -> None:
    app: FastAPI = create_app(
        make_settings(database_url, rate_limit_per_minute=1, rate_limit_burst=1)
    )
    try:
        client = ApiClient(app)
        key = bearer(issue_key(app.state.engine, app.state.settings, "evaluator"))
        tag = uuid.uuid4().hex[:8]
        items = [{"submission": v1_rows(submission(f"RL-{tag}"))} for _ in range(20)]
        r = client.post(URL, json={"items": items}, headers=key)
        assert r.status_code == 200, r.text
        assert r.json()["stored"] == 20
        limited = client.post(URL, json={"items": items[:1]}, headers=key)
        assert_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert len(_stored(engine, f"RL-{tag}")) == 20
        client.close()
    finally:
        app.state.engine.dispose()


@pytest.mark.parametrize(("first", "then"), [("zh-CN", "en"), ("en", "zh-CN")])
def test_a_replayed_item_answers_in_the_language_of_the_replaying_batch(
    eapi: ApiClient, engine: Engine, first: str, then: str
) -> None:
    """An item's evaluation is kept language-neutral (as POST /v1/evaluations keeps it): a batch
    replayed in another language labels it in that language; nothing new is stored."""
    words = {"zh-CN": ("优", "单位自评"), "en": ("Excellent", "unit self-evaluation")}
    project = f"L-{uuid.uuid4().hex[:8]}"
    batch = {
        "items": [{"idempotency_key": f"l-{project}", "submission": v1_rows(submission(project))}]
    }
    made = eapi.post(URL, json=batch, headers={"accept-language": first}).json()
    replay = eapi.post(URL, json=batch, headers={"accept-language": then}).json()
    assert (made["stored"], replay["stored"], replay["replayed"]) == (1, 0, 1)
    for answer, lang in ((made, first), (replay, then)):
        evaluation = answer["items"][0]["evaluation"]
        assert (evaluation["grade"], evaluation["kind"]) == ("优", "self")
        assert (evaluation["grade_label"], evaluation["kind_label"]) == words[lang]
    labels = {"grade_label", "kind_label"}
    machine = [
        {k: v for k, v in a["items"][0]["evaluation"].items() if k not in labels}
        for a in (made, replay)
    ]
    assert machine[0] == machine[1]
    assert len(_stored(engine, project)) == 1
    kept = kept_answers(engine, "scoring.evaluations", f"l-{project}")
    assert len(kept) == 1
    assert not labels & set(kept[0])
