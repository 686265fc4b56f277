"""Stored evaluations and scoring against the database catalogue (migrated session database)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bench.bench_http import as_columnar
from indicator_service.catalogue.service import store_framework
from indicator_service.core.database import session_scope
from indicator_service.core.settings import Settings
from tests.auth.fixtures import bearer, issue_key
from tests.helpers import ApiClient, assert_problem
from tests.scoring.frameworks import self_evaluation

CODE = "SCORE-DB-TEST"


@pytest.fixture(scope="module")
def published(engine: Engine) -> None:
    """Versions 1.0.0, 2.0.0 (lower-is-better: inverse) and 3.0.0 (产出 and 效益 reweighted)
    of a framework without namespaces."""
    with session_scope(engine) as s:
        store_framework(s, self_evaluation("1.0.0", framework=CODE, requires={}))
        store_framework(
            s,
            self_evaluation(
                "2.0.0", framework=CODE, requires={}, rule_variants={"lower_better": "inverse"}
            ),
        )
        v3 = self_evaluation("3.0.0", framework=CODE, requires={}).model_dump(mode="json")
        for n in v3["nodes"]:
            if n["code"] == "OUT":
                n["points"] = 40
            if n["code"] == "BEN":
                n["points"] = 40
        from indicator_service.catalogue.source import FrameworkDoc

        store_framework(s, FrameworkDoc.model_validate(v3))


def submission(project: str, version: str | None = "1.0.0", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "framework": CODE,
        "version": version,
        "project": project,
        "unit": "U-DB",
        "region": "330100",
        "fiscal_year": 2024,
        "budget": {"adjusted": 200.0, "executed": 190.0},  # 95 % → 9.5
        "rows": [
            {
                "id": "out1",
                "class_l1": "产出",
                "name": "完成数量",
                "points": 20,
                "operator": "≥",
                "target": 100,
                "unit": "台",
                "value": 90,
            },  # 18
            {
                "id": "out2",
                "class_l1": "产出",
                "name": "及时率",
                "points": 20,
                "operator": "≥",
                "target": 100,
                "unit": "%",
                "value": 100,
            },  # 20
            {
                "id": "ben",
                "class_l1": "效益",
                "name": "受益人数",
                "points": 40,
                "operator": "≥",
                "target": 500,
                "unit": "人",
                "value": 450,
            },  # 36
            {
                "id": "sat",
                "class_l1": "满意度",
                "name": "满意度",
                "points": 10,
                "operator": "≥",
                "target": 95,
                "unit": "%",
                "value": 95,
            },  # 10
        ],
    }
    body.update(changes)
    return body


def v1_rows(body: dict[str, Any]) -> dict[str, Any]:
    """The same project under version 1: 产出 50 (25 + 25, the second lower-is-better),
    效益 30."""
    out = copy.deepcopy(body)
    out["rows"][0]["points"] = 25  # 22.5
    out["rows"][1].update(points=25, operator="≤", target=90, value=99, unit="万元")
    # linear (1.0.0): 25 · (1 − 9/90) = 22.5; inverse (2.0.0): 25 · 90/99 = 22.727 → 22.73
    out["rows"][2]["points"] = 30  # 27
    return out


def test_score_against_database_catalogue(eapi: ApiClient, published: None) -> None:
    r = eapi.post("/v1/score", json=submission("P-DB-0", version=None))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["framework"]["version"] == "3.0.0"  # the latest published
    assert body["total"] == 93.5  # 9.5 + 18 + 20 + 36 + 10
    assert_problem(eapi.post("/v1/score", json=submission("P", version="7.0.0")), 404)


def test_create_get_list_and_idempotency(eapi: ApiClient, published: None) -> None:
    project = f"P-{uuid.uuid4().hex[:8]}"
    body = v1_rows(submission(project))
    key = {"Idempotency-Key": f"k-{project}"}
    first = eapi.post("/v1/evaluations", json=body, headers=key)
    assert first.status_code == 201, first.text
    created = first.json()
    # v1: 9.5 + 22.5 + 22.5 + 27 + 10 = 91.5
    assert created["total"] == 91.5
    assert created["grade"] == "优"
    assert first.headers["location"] == f"/v1/evaluations/{created['id']}"
    replay = eapi.post("/v1/evaluations", json=body, headers=key)
    assert replay.status_code == 201
    assert replay.json() == created
    other = copy.deepcopy(body)
    other["rows"][0]["value"] = 80
    assert_problem(eapi.post("/v1/evaluations", json=other, headers=key), 409)

    got = eapi.get(f"/v1/evaluations/{created['id']}")
    assert got.json() == created
    eapi.post("/v1/evaluations", json=v1_rows(submission(project, fiscal_year=2023)))
    listed = eapi.get("/v1/evaluations", params={"project": project}).json()
    assert listed["total"] == 2
    only_2024 = eapi.get("/v1/evaluations", params={"project": project, "fiscal_year": 2024})
    assert [i["id"] for i in only_2024.json()["items"]] == [created["id"]]
    page = eapi.get("/v1/evaluations", params={"project": project, "limit": 1, "offset": 1}).json()
    assert (page["total"], len(page["items"])) == (2, 1)
    assert_problem(eapi.get("/v1/evaluations/999999999"), 404)


def test_rescore_under_newer_version(eapi: ApiClient, published: None) -> None:
    project = f"P-{uuid.uuid4().hex[:8]}"
    body = submission(project)  # rows weighted for version 2 (产出 40, 效益 40)
    body["rows"][0]["points"] = 20
    stored = eapi.post("/v1/evaluations", json=v1_rows(body)).json()
    # The v1 inputs do not add up under the latest, v3 (产出 50 ≠ 40): a 422 naming the rows.
    problem = assert_problem(eapi.post(f"/v1/evaluations/{stored['id']}/rescore", json={}), 422)
    assert any(e["type"] == "points_do_not_add_up" for e in problem["errors"])
    # Re-scoring under the same version reproduces the stored result exactly.
    same = eapi.post(f"/v1/evaluations/{stored['id']}/rescore", json={"version": "1.0.0"}).json()
    assert same["total_difference"] == 0.0
    assert same["rescored"]["input_hash"] == stored["input_hash"]
    # Version 2.0.0 switches lower-is-better to the inverse variant.
    newer = eapi.post(f"/v1/evaluations/{stored['id']}/rescore", json={"version": "2.0.0"})
    assert newer.status_code == 200, newer.text
    cmp = newer.json()
    assert (cmp["from_version"], cmp["to_version"]) == ("1.0.0", "2.0.0")
    assert cmp["original"]["total"] == 91.5
    assert cmp["rescored"]["total"] == 91.73
    assert cmp["total_difference"] == 0.23
    assert cmp["grade_changed"] is False
    out = next(n for n in cmp["nodes"] if n["code"] == "OUT")
    assert (out["official"], out["what_if"], out["difference"]) == (45.0, 45.23, 0.23)
    assert_problem(eapi.post("/v1/evaluations/999999999/rescore", json={}), 404)


def _namespace(version: str, unit: str, standard: float) -> Any:
    from indicator_service.catalogue.source import NamespaceDoc

    return NamespaceDoc.model_validate(
        {
            "namespace": "scoringtest",
            "kind": "common",
            "code_prefix": "SCT",
            "name_zh": "评分测试",
            "name_en": "Scoring test",
            "owner": "test",
            "version": version,
            "indicators": [
                {
                    "code": "SCT-01-001",
                    "name_zh": "受益人数",
                    "name_en": "Beneficiaries",
                    "value_type": "quantitative",
                    "operator": "≥",
                    "unit": unit,
                }
            ],
            "standards": [
                {
                    "indicator": "SCT-01-001",
                    "type": "plan",
                    "value": standard,
                    "unit": unit,
                    "source": {"title": f"plan {version}", "issuer": "test", "year": 2024},
                }
            ],
        }
    )


def test_indicators_and_standards_in_the_pinned_namespace_version(
    eapi: ApiClient, engine: Engine
) -> None:
    from indicator_service.catalogue.service import store_namespace

    with session_scope(engine) as s:
        store_namespace(s, _namespace("1.0.0", "人", 500))
        store_namespace(s, _namespace("2.0.0", "万人", 0.05))  # unit changed: major
        store_framework(
            s,
            self_evaluation("1.0.0", framework="SCORE-PIN-TEST", requires={"scoringtest": "1.0.0"}),
        )
    body = {
        "framework": "SCORE-PIN-TEST",
        "rows": [
            {
                "id": "o",
                "class_l1": "产出",
                "points": 50,
                "operator": "≥",
                "target": 1,
                "unit": "项",
                "value": 1,
            },
            {
                "id": "b",
                "class_l1": "效益",
                "indicator": "SCT-01-001",
                "points": 30,
                "standard_type": "plan",
                "unit": "人",
                "value": 450,
            },
            {
                "id": "s",
                "class_l1": "满意度",
                "points": 10,
                "operator": "≥",
                "target": 90,
                "unit": "%",
                "value": 90,
            },
        ],
    }
    r = eapi.post("/v1/score", json=body)
    assert r.status_code == 200, r.text  # unit 人 matches the pinned 1.0.0 definition
    leaf = next(lf for lf in r.json()["leaves"] if lf["id"] == "b")
    assert leaf["target"] == 500.0  # the 1.0.0 standard, not 2.0.0's 0.05
    assert leaf["target_source"]["source"] == "plan 1.0.0（test, 2024）"  # the citation, one line
    assert leaf["score"] == 27.0  # 30 · 450 / 500


# --- authentication, roles, audit and id bounds ------------------------------------------------

SCORING_CALLS: list[tuple[str, str, Any]] = [
    ("POST", "/v1/score", lambda: v1_rows(submission("P-AUTH"))),
    ("POST", "/v1/score/batch", lambda: {"items": [v1_rows(submission("P-AUTH"))]}),
    ("POST", "/v1/score/columnar", lambda: as_columnar([v1_rows(submission("P-AUTH"))])),
    (
        "POST",
        "/v1/score/what-if",
        lambda: {"submission": v1_rows(submission("P-AUTH")), "overrides": {"points": {}}},
    ),
]
EVALUATION_CALLS: list[tuple[str, str, Any]] = [
    ("POST", "/v1/evaluations", lambda: v1_rows(submission("P-AUTH"))),
    ("POST", "/v1/evaluations/batch", lambda: {"items": [{"submission": submission("P-AUTH")}]}),
    ("GET", "/v1/evaluations", None),
    ("GET", "/v1/evaluations/1", None),
    ("POST", "/v1/evaluations/1/rescore", lambda: {}),
]


@pytest.fixture(scope="module")
def role_headers(engine: Engine, settings: Settings) -> dict[str, dict[str, str]]:
    """Request headers with a key of each non-admin role (curator and reviewer: every namespace)."""
    out = {}
    for role in ("client", "evaluator", "curator", "reviewer"):
        namespaces = ["*"] if role in ("curator", "reviewer") else None
        out[role] = bearer(issue_key(engine, settings, role, namespaces))
    return out


def _call(client: ApiClient, method: str, url: str, body: Any, **kw: Any) -> Any:
    if body is None:
        return client.request(method, url, **kw)
    return client.request(method, url, json=body(), **kw)


@pytest.mark.parametrize(("method", "url", "body"), SCORING_CALLS + EVALUATION_CALLS)
def test_every_scoring_endpoint_needs_a_key(
    api: ApiClient, published: None, method: str, url: str, body: Any
) -> None:
    problem = assert_problem(_call(api, method, url, body), 401)
    assert problem["errors"][0]["type"] == "missing_api_key"
    unknown = {"Authorization": "Bearer isk_nope_nope"}
    assert_problem(_call(api, method, url, body, headers=unknown), 401)


@pytest.mark.parametrize(("method", "url", "body"), SCORING_CALLS)
def test_client_and_evaluator_keys_may_score(
    api: ApiClient,
    published: None,
    role_headers: dict[str, dict[str, str]],
    method: str,
    url: str,
    body: Any,
) -> None:
    for role in ("client", "evaluator"):
        r = _call(api, method, url, body, headers=role_headers[role])
        assert r.status_code == 200, (role, r.text)
    for role in ("curator", "reviewer"):
        problem = assert_problem(_call(api, method, url, body, headers=role_headers[role]), 403)
        assert problem["errors"][0]["type"] == "insufficient_role"


@pytest.mark.parametrize(("method", "url", "body"), EVALUATION_CALLS)
def test_only_evaluators_store_and_read_evaluations(
    api: ApiClient,
    published: None,
    role_headers: dict[str, dict[str, str]],
    method: str,
    url: str,
    body: Any,
) -> None:
    for role in ("client", "curator", "reviewer"):
        problem = assert_problem(_call(api, method, url, body, headers=role_headers[role]), 403)
        assert problem["errors"][0]["type"] == "insufficient_role"


def test_storing_an_evaluation_is_audited(
    api: ApiClient, published: None, make_key: Any, admin_key: str
) -> None:
    key = make_key("evaluator", name=f"auditor-{uuid.uuid4().hex[:6]}")
    project = f"P-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"audit-{project}"}
    body = v1_rows(submission(project))
    created = api.post("/v1/evaluations", json=body, headers=headers)
    assert created.status_code == 201, created.text
    ev = created.json()
    # A replay stores nothing and records nothing.
    assert api.post("/v1/evaluations", json=body, headers=headers).json() == ev
    admin = {"Authorization": f"Bearer {admin_key}"}
    trail = api.get(
        "/v1/audit", params={"object_type": "evaluation", "object_id": str(ev["id"])}, headers=admin
    )
    assert trail.status_code == 200, trail.text
    entries = trail.json()["items"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["action"] == "evaluation.create"
    assert entry["actor_role"] == "evaluator"
    assert entry["after"]["total"] == ev["total"] == 91.5
    assert entry["after"]["input_hash"] == ev["input_hash"]


@pytest.mark.parametrize("evaluation_id", [2**31, 2**31 + 1, 2**62, 0, -1])
def test_evaluation_ids_beyond_the_integer_column_are_422(
    eapi: ApiClient, evaluation_id: int
) -> None:
    problem = assert_problem(eapi.get(f"/v1/evaluations/{evaluation_id}"), 422)
    assert problem["errors"][0]["loc"] == ["path", "evaluation_id"]
    rescore = eapi.post(f"/v1/evaluations/{evaluation_id}/rescore", json={})
    assert_problem(rescore, 422)


def test_largest_evaluation_id_is_a_404(eapi: ApiClient) -> None:
    """2^31 − 1 is the largest id PostgreSQL's integer column holds: a plain 404, not a 500."""
    assert_problem(eapi.get(f"/v1/evaluations/{2**31 - 1}"), 404)
    assert_problem(eapi.post(f"/v1/evaluations/{2**31 - 1}/rescore", json={}), 404)


def test_a_receipt_stored_before_explanations_is_still_read(
    eapi: ApiClient, published: None, engine: Engine
) -> None:
    """Receipts stored by earlier versions have no ``explanation`` on their leaves: they are
    read (and re-scored) as they are, the field reading null."""
    from indicator_service.scoring.models import Evaluation

    stored = eapi.post("/v1/evaluations", json=v1_rows(submission(f"P-{uuid.uuid4().hex[:8]}")))
    assert stored.status_code == 201, stored.text
    ev_id = stored.json()["id"]
    with session_scope(engine) as s:
        ev = s.get(Evaluation, ev_id)
        assert ev is not None
        old = copy.deepcopy(ev.result)
        for leaf in old["leaves"]:
            del leaf["explanation"]
        ev.result = old
    got = eapi.get(f"/v1/evaluations/{ev_id}")
    assert got.status_code == 200, got.text
    assert all(leaf["explanation"] is None for leaf in got.json()["result"]["leaves"])
    again = eapi.post(f"/v1/evaluations/{ev_id}/rescore", json={"version": "1.0.0"})
    assert again.status_code == 200, again.text
    assert again.json()["total_difference"] == 0.0
