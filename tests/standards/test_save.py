"""Saving a derived standard into a draft namespace version (catalogue database of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from indicator_service.app import create_app
from indicator_service.catalogue.service import import_catalogue
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from indicator_service.standards.service import inputs_hash
from tests.auth.fixtures import admin_client
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import ApiClient, assert_problem, kept_answers, make_settings
from tests.paths import CATALOG_DIR

SERIES = [
    {"year": 2020, "value": 80, "unit": "%"},
    {"year": 2021, "value": 84, "unit": "%"},
    {"year": 2022, "value": 90, "unit": "%"},
    {"year": 2023, "value": 87, "unit": "%"},
    {"year": 2024, "value": 93, "unit": "%"},
]
CONTEXT: dict[str, Any] = {
    "indicator": "EDU-02-001",
    "region": "110000",
    "fiscal_year": 2025,
    "source": {"title": "北京市 2020–2024 年度绩效评价结果", "issuer": "test", "year": 2024},
}


@pytest.fixture(scope="module")
def save_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("standards-save"))
    database.upgrade(url)
    app: FastAPI = create_app(make_settings(url))
    with database.session_scope(app.state.engine) as session:
        import_catalogue(session, load_catalogue(CATALOG_DIR))
    yield app
    app.state.engine.dispose()
    if drop is not None:
        drop()


@pytest.fixture(scope="module")
def save_api(save_app: FastAPI) -> Iterator[ApiClient]:
    client = admin_client(save_app)  # drafts and publishing need a key (tests/auth tests auth)
    yield client
    client.close()


@pytest.fixture(scope="module")
def draft(save_api: ApiClient) -> dict[str, Any]:
    r = save_api.post("/v1/namespaces/education/drafts")
    assert r.status_code == 201, r.text
    return {"version": r.json()["version"], "etag": r.headers["etag"]}


def _url(version: str) -> str:
    return f"/v1/standards/drafts/education/{version}/standards"


def _historical(**derive: Any) -> dict[str, Any]:
    return {
        "kind": "historical",
        "derive": {"series": SERIES, "method": "mean_last_n", **derive},
        "standard": CONTEXT,
    }


def test_save_historical_then_replace(save_api: ApiClient, draft: dict[str, Any]) -> None:
    body = _historical()
    r = save_api.post(_url(draft["version"]), json=body, headers={"If-Match": draft["etag"]})
    assert r.status_code == 201, r.text
    out = r.json()
    # (90 + 87 + 93) / 3 = 90, computed on the server
    assert out["standard"]["value"] == pytest.approx(90.0, abs=1e-12)
    assert out["standard"]["type"] == "historical"
    assert out["standard"]["unit"] == "%"
    assert out["replaced"] is False
    derivation = out["standard"]["derivation"]
    assert "(90 + 87 + 93) / 3 = 90" in derivation
    assert inputs_hash(_dumped(body["derive"])) in derivation
    assert r.headers["etag"] == f'"{out["etag"]}"'
    assert r.headers["etag"] != draft["etag"]

    # the draft document now holds the row
    doc = save_api.get(f"/v1/namespaces/education/versions/{draft['version']}").json()
    rows = [s for s in _document(doc)["standards"] if s["indicator"] == "EDU-02-001"
            and s["type"] == "historical" and s.get("region") == "110000"]  # fmt: skip
    assert len(rows) == 1
    assert rows[0]["value"] == pytest.approx(90.0)

    # the same identity again (best of 3 = 93): replaced, not appended
    r2 = save_api.post(
        _url(draft["version"]),
        json=_historical(method="best_last_n"),
        headers={"If-Match": r.headers["etag"]},
    )
    assert r2.status_code == 200, r2.text
    assert r2.json()["replaced"] is True
    assert r2.json()["standard"]["value"] == 93.0
    draft["etag"] = r2.headers["etag"]
    doc = save_api.get(f"/v1/namespaces/education/versions/{draft['version']}").json()
    rows = [s for s in _document(doc)["standards"] if s["indicator"] == "EDU-02-001"
            and s["type"] == "historical" and s.get("region") == "110000"]  # fmt: skip
    assert [s["value"] for s in rows] == [93.0]

    # both writes are in the audit trail, the second marked as a replacement
    audit = save_api.get(
        "/v1/audit", params={"namespace": "education", "action": "standard.derive"}
    )
    assert audit.status_code == 200, audit.text
    entries = [e for e in audit.json()["items"] if e["version"] == draft["version"]]
    assert len(entries) >= 2
    assert entries[0]["after"]["value"] == 93.0
    assert entries[0]["comment"] == "replaced a row with the same identity"


def _document(doc: dict[str, Any]) -> dict[str, Any]:
    return doc.get("document", doc)


def _dumped(derive: dict[str, Any]) -> dict[str, Any]:
    """The derive request as the server dumps it (defaults filled in)."""
    from indicator_service.standards.schemas import HistoricalRequest

    return HistoricalRequest.model_validate(derive).model_dump(mode="json")


def test_recomputing_gives_the_stored_value(save_api: ApiClient) -> None:
    r = save_api.post("/v1/standards/historical", json=_historical()["derive"])
    assert r.json()["value"] == pytest.approx(90.0, abs=1e-12)


def test_save_industry_levels(save_api: ApiClient, draft: dict[str, Any]) -> None:
    peers = [{"value": float(v), "unit": "%"} for v in range(61, 81)]
    body = {
        "kind": "industry",
        "derive": {"values": peers},
        "standard": {
            **CONTEXT,
            "source": {"title": "北京市 2024 年同类园所", "issuer": "test", "year": 2024},
        },
    }
    r = save_api.post(_url(draft["version"]), json=body, headers={"If-Match": draft["etag"]})
    assert r.status_code == 201, r.text
    # 61 … 80 is 1 … 20 shifted by 60: 79.05, 75.25, 70.5, 65.75, 61.95
    assert r.json()["standard"]["levels"] == pytest.approx([79.05, 75.25, 70.5, 65.75, 61.95])
    assert r.json()["industry"]["efficacy_rule"]["kind"] == "efficacy"
    draft["etag"] = r.headers["etag"]


def test_ties_are_refused(save_api: ApiClient, draft: dict[str, Any]) -> None:
    body = {
        "kind": "industry",
        "derive": {"values": [{"value": 5.0}] * 10},
        "standard": CONTEXT,
    }
    problem = assert_problem(
        save_api.post(_url(draft["version"]), json=body, headers={"If-Match": draft["etag"]}), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "derive", "values"]
    assert problem["errors"][0]["type"] == "levels_not_monotone"


def test_refusals_name_the_field(save_api: ApiClient, draft: dict[str, Any]) -> None:
    url = _url(draft["version"])
    # a series too short for the method → 422 pointing into body.derive
    short = _historical()
    short["derive"]["series"] = SERIES[:2]
    problem = assert_problem(save_api.post(url, json=short, headers={"If-Match": "*"}), 422)
    assert problem["errors"][0]["loc"] == ["body", "derive", "series"]
    # the catalogue refuses a unit other than the indicator's
    wrong_unit = _historical()
    wrong_unit["standard"] = {**CONTEXT, "unit": "人"}
    problem = assert_problem(save_api.post(url, json=wrong_unit, headers={"If-Match": "*"}), 422)
    assert "differs from indicator" in problem["errors"][0]["msg"]


def test_preconditions_and_immutability(save_api: ApiClient, draft: dict[str, Any]) -> None:
    url = _url(draft["version"])
    assert_problem(save_api.post(url, json=_historical()), 428)
    assert_problem(save_api.post(url, json=_historical(), headers={"If-Match": '"stale"'}), 412)
    published = _url("1.0.0")
    problem = assert_problem(
        save_api.post(published, json=_historical(), headers={"If-Match": "*"}), 409
    )
    assert "immutable" in problem["detail"]
    assert_problem(
        save_api.post("/v1/standards/drafts/nope/1.0.0-draft/standards", json=_historical(),
                      headers={"If-Match": "*"}),
        404,
    )  # fmt: skip


def test_idempotency_key_replays_the_first_response(
    save_api: ApiClient, draft: dict[str, Any]
) -> None:
    body = _historical(method="last_year")  # last year's value: 93
    body["standard"] = {**CONTEXT, "fiscal_year": 2026}
    headers = {"If-Match": draft["etag"], "Idempotency-Key": "save-2026-historical"}
    first = save_api.post(_url(draft["version"]), json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["standard"]["value"] == 93.0
    # the same request again (its If-Match is stale by now): the first answer, not a 412
    again = save_api.post(_url(draft["version"]), json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    # the same key with another body is refused
    other = _historical(method="best_last_n")
    other["standard"] = body["standard"]
    problem = assert_problem(
        save_api.post(_url(draft["version"]), json=other, headers=headers), 409
    )
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    draft["etag"] = first.headers["etag"]


@pytest.mark.parametrize(("first", "then"), [("zh-CN", "en"), ("en", "zh-CN")])
def test_a_replay_answers_in_the_language_of_the_replaying_request(
    save_app: FastAPI, save_api: ApiClient, draft: dict[str, Any], first: str, then: str
) -> None:
    words = {"zh-CN": ("历史标准", "历史数据"), "en": ("historical standard", "past values")}
    body = _historical(method="mean_last_n", n=2)  # (87 + 93) / 2 = 90
    body["standard"] = {**CONTEXT, "fiscal_year": 2027 if first == "en" else 2028}
    key = f"save-replay-{first}"
    headers = {"If-Match": draft["etag"], "Idempotency-Key": key}
    made = save_api.post(
        _url(draft["version"]), json=body, headers={**headers, "accept-language": first}
    )
    assert made.status_code == 201, made.text
    draft["etag"] = made.headers["etag"]
    replay = save_api.post(
        _url(draft["version"]), json=body, headers={**headers, "accept-language": then}
    )
    assert replay.status_code == 201, replay.text
    assert replay.headers["content-language"] == then
    for answer, lang in ((made.json(), first), (replay.json(), then)):
        label, definition = words[lang]
        assert answer["standard"]["type"] == "historical"
        assert answer["standard"]["type_label"].lower() == label
        assert definition in answer["standard"]["type_definition"].lower()
    # the machine fields are the first answer's; only the words follow the replaying request
    labels = {"type_label", "type_definition"}

    def machine(answer: dict[str, Any]) -> dict[str, Any]:
        return {
            **answer,
            "standard": {k: v for k, v in answer["standard"].items() if k not in labels},
        }

    assert machine(replay.json()) == machine(made.json())
    assert replay.headers["etag"] == made.headers["etag"]
    # nothing new stored: the draft is unchanged, one answer is kept, and it holds no words
    assert (
        save_api.get(f"/v1/namespaces/education/versions/{draft['version']}").headers["etag"]
        == made.headers["etag"]
    )
    kept = kept_answers(save_app.state.engine, "standards.save", key)
    assert kept == [machine(made.json())]


def test_published_row_is_what_resolution_returns(
    save_api: ApiClient, draft: dict[str, Any]
) -> None:
    # publish the draft (two standard rows added → minor bump), then resolve from the database
    r = save_api.post(
        f"/v1/namespaces/education/versions/{draft['version']}/publish",
        json={"version": "1.1.0"},
    )
    assert r.status_code == 200, r.text
    # default precedence plan → industry → historical; Dongcheng (110101) falls back to Beijing
    r = save_api.get(
        "/v1/standards/resolve",
        params={"indicator": "EDU-02-001", "region": "110101", "fiscal_year": 2026},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["winner_type"] == "industry"
    assert body["winner_region"] == "110000"
    assert body["standard"]["levels"] == pytest.approx([79.05, 75.25, 70.5, 65.75, 61.95])
    outcomes = {(c["type"], c["region"]): c["outcome"] for c in body["candidates"]}
    # the seed has no national industry row (its 毛入园率 ≥ 85 had no source); the national
    # 十四五 plan row (valid 2021–2025) does not serve 2026
    assert outcomes[("industry", "000000")] == "none"
    assert outcomes[("plan", "000000")] == "none"
    assert outcomes[("historical", "110000")] == "lost"
    # asking for the historical standard gives the saved best-of-3 value 93
    r = save_api.get(
        "/v1/standards/resolve",
        params={"indicator": "EDU-02-001", "region": "110101", "fiscal_year": 2026,
                "precedence": ["historical"]},
    )  # fmt: skip
    assert r.json()["standard"]["value"] == 93.0
    assert r.json()["standard"]["source"] == {
        **CONTEXT["source"],
        "doc_number": None,
        "section": None,
        "url": None,
        "note": None,
    }


def test_database_rows_carry_version_derivation_and_context(save_api: ApiClient) -> None:
    # 2026: after the national 十四五 plan period (its row, valid 2021–2025, would win in 2025)
    r = save_api.get(
        "/v1/standards/resolve",
        params={"indicator": "EDU-02-001", "region": "110000", "fiscal_year": 2026},
    )
    row = r.json()["standard"]
    assert row["namespace"] == "education"
    assert row["namespace_version"] == "1.1.0"
    assert row["derivation"].startswith("derived industry standard (POST /v1/standards/industry)")
    r = save_api.get(
        "/v1/standards/resolve",
        params={"indicator": "EDU-02-001", "region": "110000", "fiscal_year": 2025},
    )
    assert (r.json()["winner_type"], r.json()["standard"]["value"]) == ("plan", 90.0)
    # the seed's grant programme target (2100 人) was one project's quantity, not a standard:
    # no plan row is left for EDU-01-001, whatever the project type
    params = {"indicator": "EDU-01-001", "precedence": ["plan"]}
    grant = save_api.get("/v1/standards/resolve", params={**params, "project_type": "grant"})
    assert grant.json()["standard"] is None


def test_scoring_uses_the_saved_standard(save_api: ApiClient) -> None:
    # runs after the publish test: the historical row (best of 2022–2024 = 93, Beijing, stored
    # for 2025) serves fiscal year 2026 — a historical row only serves later years
    body = {
        "framework": "SELF-EVAL",
        "project": "P-STD",
        "unit": "U-STD",
        "region": "110101",
        "fiscal_year": 2026,
        "budget": {"adjusted": 100.0, "executed": 100.0},
        "rows": [
            {"id": "qty", "class_l1": "OUT", "class_l2": "OUT.QTY", "name": "完成数量",
             "points": 50, "operator": "≥", "target": 100, "unit": "台", "value": 100},
            {"id": "ben", "class_l1": "BEN", "class_l2": "BEN.SOC", "name": "受益人数",
             "points": 30, "operator": "≥", "target": 100, "unit": "人", "value": 100},
            {"id": "enrol", "class_l1": "SAT", "class_l2": "SAT.SVC", "indicator": "EDU-02-001",
             "points": 10, "standard_type": "historical", "value": 90},
        ],
    }  # fmt: skip
    r = save_api.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    leaf = next(lf for lf in r.json()["leaves"] if lf["id"] == "enrol")
    assert leaf["target"] == 93.0
    assert leaf["target_source"] == {
        "kind": "standard",
        "standard_type": "historical",
        "region": "110000",
        "fiscal_year": 2025,
        "source": "北京市 2020–2024 年度绩效评价结果（test, 2024）",  # the citation, one line
    }
    # higher is better: 10 × 90 / 93 = 9.677… → 9.68
    assert leaf["score"] == 9.68
