"""Roles on the standards and composite endpoints (the catalogue's are in test_catalogue_wiring).

| endpoint | who |
|---|---|
| POST /v1/composite, /v1/composite/robustness | scorer: client or evaluator (admin) |
| POST /v1/composite/evaluations, /v1/standards/*/from-evaluations | evaluator (admin) |
| POST /v1/standards/historical, /industry, /progress, GET /v1/standards/resolve | reader |
| POST /v1/standards/drafts/{ns}/{version}/standards | curator of ns (admin) |
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.auth.settings import AuthSettings, get_auth_settings
from tests.auth.fixtures import KeyFactory, bearer
from tests.helpers import ApiClient, assert_problem, make_settings

COMPOSITE = {
    "data": {"units": ["A", "B", "C"], "columns": {"x": [1.0, 2.0, 3.0], "y": [3.0, 1.0, 2.0]}},
    "meta": [
        {"level": 1, "code": "x", "weight": 1, "parent": "Index"},
        {"level": 1, "code": "y", "weight": 1, "parent": "Index"},
        {"level": 2, "code": "Index"},
    ],
}
SCORER_ONLY: list[tuple[str, dict[str, Any]]] = [
    ("/v1/composite", COMPOSITE),
    ("/v1/composite/robustness", {**COMPOSITE, "replications": 10}),
]
EVALUATOR_ONLY: list[tuple[str, dict[str, Any]]] = [
    ("/v1/composite/evaluations", {"framework": "PRJ-2020"}),
    (
        "/v1/standards/historical/from-evaluations",
        {"indicator": "EDU-02-001", "evaluated_unit": "A"},
    ),
    ("/v1/standards/industry/from-evaluations", {"indicator": "EDU-02-001", "fiscal_year": 2024}),
]
SAVE = "/v1/standards/drafts/education/9.9.9-draft/standards"


def _not_auth_refusal(status: int) -> None:
    assert status not in (401, 403), status


@pytest.mark.parametrize(("path", "body"), SCORER_ONLY + EVALUATOR_ONLY)
def test_no_key_is_401(api: ApiClient, path: str, body: dict[str, Any]) -> None:
    body_ = assert_problem(api.post(path, json=body), 401)
    assert body_["errors"][0]["loc"] == ["header", "Authorization"]


@pytest.mark.parametrize(("path", "body"), SCORER_ONLY + EVALUATOR_ONLY)
def test_curator_and_reviewer_keys_are_403(
    api: ApiClient, make_key: KeyFactory, path: str, body: dict[str, Any]
) -> None:
    for role in (Role.curator, Role.reviewer):
        r = api.post(path, json=body, headers=bearer(make_key(role, ["*"])))
        assert "needs the role" in assert_problem(r, 403)["detail"]


@pytest.mark.parametrize(("path", "body"), SCORER_ONLY)
def test_client_and_evaluator_may_run_composites(
    api: ApiClient, make_key: KeyFactory, path: str, body: dict[str, Any]
) -> None:
    for role in (Role.client, Role.evaluator):
        r = api.post(path, json=body, headers=bearer(make_key(role)))
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(("path", "body"), EVALUATOR_ONLY)
def test_stored_evaluations_need_an_evaluator(
    api: ApiClient, make_key: KeyFactory, path: str, body: dict[str, Any]
) -> None:
    assert_problem(api.post(path, json=body, headers=bearer(make_key(Role.client))), 403)
    _not_auth_refusal(
        api.post(path, json=body, headers=bearer(make_key(Role.evaluator))).status_code
    )


def test_saving_a_derived_standard_needs_a_curator_of_the_namespace(
    api: ApiClient, make_key: KeyFactory
) -> None:
    body = {
        "kind": "historical",
        "derive": {"series": [{"year": 2023, "value": 1.0}], "method": "mean_last_n", "n": 1},
        "standard": {
            "indicator": "EDU-02-001",
            "region": "110000",
            "source": {"title": "test", "issuer": "test", "year": 2024},
        },
    }
    assert_problem(api.post(SAVE, json=body), 401)
    for role in (Role.evaluator, Role.client, Role.reviewer):
        assert_problem(api.post(SAVE, json=body, headers=bearer(make_key(role, ["*"]))), 403)
    other = make_key(Role.curator, ["health"])
    assert (
        "education"
        in assert_problem(api.post(SAVE, json=body, headers=bearer(other)), 403)["detail"]
    )
    # the right curator gets past auth (the draft itself does not exist: 404, or 428 first)
    own = make_key(Role.curator, ["education"])
    _not_auth_refusal(api.post(SAVE, json=body, headers=bearer(own)).status_code)


def test_standard_reads_follow_the_public_reads_setting(database_url: str) -> None:
    app: FastAPI = create_app(make_settings(database_url))
    app.dependency_overrides[get_auth_settings] = lambda: AuthSettings(public_reads=False)
    client = ApiClient(app)
    try:
        body = {"series": [{"year": 2023, "value": 1.0}], "method": "mean_last_n", "n": 1}
        assert_problem(client.post("/v1/standards/historical", json=body), 401)
        r = client.get("/v1/standards/resolve", params={"indicator": "EDU-02-001"})
        assert_problem(r, 401)
        app.dependency_overrides[get_auth_settings] = lambda: AuthSettings(public_reads=True)
        assert client.post("/v1/standards/historical", json=body).status_code == 200
    finally:
        client.close()
        app.state.engine.dispose()
