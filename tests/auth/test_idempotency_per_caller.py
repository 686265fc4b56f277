"""Idempotency records belong to the key that made them (docs/security.md).

For every operation that honours ``Idempotency-Key`` — stored evaluations, draft creation
(namespaces and frameworks) and derived standards — a second key sending the first key's
``Idempotency-Key`` (and the same body) makes an unrelated request: it never receives the first
key's stored response.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from indicator_service.auth.models import Role
from indicator_service.catalogue.service import store_framework, store_namespace
from indicator_service.catalogue.source import NamespaceDoc
from indicator_service.core import idempotency
from indicator_service.core.database import session_scope
from indicator_service.core.errors import Conflict
from indicator_service.core.settings import Settings
from tests.auth.fixtures import bearer, issue_key
from tests.helpers import ApiClient, assert_problem
from tests.scoring.frameworks import self_evaluation

NS = "idemtest"
FRAMEWORK = "IDEM-TEST"


def test_records_are_looked_up_per_owner(session: Session) -> None:
    scope, key = f"test.scope.{uuid.uuid4().hex[:6]}", "k-1"
    digest = idempotency.request_fingerprint({"a": 1})
    idempotency.remember(session, scope, key, digest, 201, {"id": 1}, owner_key_id=101)
    mine = idempotency.find_replay(session, scope, key, digest, owner_key_id=101)
    assert mine is not None
    assert mine.response_body == {"id": 1}
    # another owner: no replay, and no conflict even with another body
    assert idempotency.find_replay(session, scope, key, digest, owner_key_id=102) is None
    other = idempotency.request_fingerprint({"a": 2})
    assert idempotency.find_replay(session, scope, key, other, owner_key_id=102) is None
    # both owners may keep a record under the same (scope, key)
    idempotency.remember(session, scope, key, other, 201, {"id": 2}, owner_key_id=102)
    theirs = idempotency.find_replay(session, scope, key, other, owner_key_id=102)
    assert theirs is not None
    assert theirs.response_body == {"id": 2}
    with pytest.raises(Conflict):  # the first owner's own key with another body
        idempotency.find_replay(session, scope, key, other, owner_key_id=101)
    with pytest.raises(Conflict):  # the same owner twice: the unique key holds
        idempotency.remember(session, scope, key, digest, 201, {"id": 3}, owner_key_id=101)
    session.rollback()


@pytest.fixture(scope="module")
def curation(app: FastAPI, engine: Engine, settings: Settings) -> dict[str, Any]:
    with session_scope(engine) as s:
        store_namespace(
            s,
            NamespaceDoc.model_validate(
                {
                    "namespace": NS,
                    "kind": "common",
                    "code_prefix": "IDM",
                    "name_zh": "幂等测试",
                    "name_en": "Idempotency test",
                    "owner": "test",
                    "version": "1.0.0",
                    "indicators": [
                        {
                            "code": "IDM-01-001",
                            "name_zh": "完成率",
                            "name_en": "Completion rate",
                            "value_type": "quantitative",
                            "operator": "≥",
                            "unit": "%",
                        }
                    ],
                }
            ),
        )
        store_framework(s, self_evaluation("1.0.0", framework=FRAMEWORK, requires={}))
    return {
        "first": issue_key(engine, settings, Role.curator, [NS, "common"], name="idem first"),
        "second": issue_key(engine, settings, Role.curator, [NS, "common"], name="idem second"),
    }


@pytest.mark.parametrize(
    "url",
    [f"/v1/namespaces/{NS}/drafts", f"/v1/frameworks/{FRAMEWORK}/drafts"],
    ids=["namespace", "framework"],
)
def test_draft_creation_replays_only_the_callers_own_request(
    api: ApiClient, curation: dict[str, Any], url: str
) -> None:
    idem = {"Idempotency-Key": f"draft-{uuid.uuid4().hex[:8]}"}
    first = api.post(url, headers={**bearer(curation["first"]), **idem})
    assert first.status_code == 201, first.text
    # the second curator's identical request is its own: one draft at a time → 409, not a replay
    second = api.post(url, headers={**bearer(curation["second"]), **idem})
    problem = assert_problem(second, 409)
    assert "draft" in problem["detail"]
    assert all(e["type"] != "idempotency_key_reused" for e in problem.get("errors", []))
    # the first curator's retry is still its replay
    again = api.post(url, headers={**bearer(curation["first"]), **idem})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]


def test_derived_standard_replays_only_the_callers_own_request(
    api: ApiClient, curation: dict[str, Any]
) -> None:
    draft = api.post(f"/v1/namespaces/{NS}/drafts", headers=bearer(curation["first"]))
    if draft.status_code == 409:  # the draft made by the test above
        listed = api.get(
            f"/v1/namespaces/{NS}/versions/1.0.1-draft", headers=bearer(curation["first"])
        )
        assert listed.status_code == 200, listed.text
        etag, version = listed.headers["etag"], "1.0.1-draft"
    else:
        assert draft.status_code == 201, draft.text
        etag, version = draft.headers["etag"], draft.json()["version"]
    body = {
        "kind": "historical",
        "derive": {
            "series": [
                {"year": 2022, "value": 90, "unit": "%"},
                {"year": 2023, "value": 92, "unit": "%"},
            ],
            "method": "last_year",
        },
        "standard": {"indicator": "IDM-01-001", "region": "330102", "source": "test series"},
    }
    url = f"/v1/standards/drafts/{NS}/{version}/standards"
    idem = {"If-Match": etag, "Idempotency-Key": f"save-{uuid.uuid4().hex[:8]}"}
    first = api.post(url, json=body, headers={**bearer(curation["first"]), **idem})
    assert first.status_code == 201, first.text
    # the second curator's identical request runs on its own: its If-Match is stale now (412)
    second = api.post(url, json=body, headers={**bearer(curation["second"]), **idem})
    assert_problem(second, 412)
    again = api.post(url, json=body, headers={**bearer(curation["first"]), **idem})
    assert again.status_code == 201
    assert again.json() == first.json()


def test_stored_evaluation_replays_only_the_callers_own_request(
    api: ApiClient, curation: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    """Caller B sending caller A's Idempotency-Key with A's body gets a new evaluation of its
    own, not A's id and receipt."""
    from indicator_service.scoring.models import Evaluation

    a = issue_key(engine, settings, Role.evaluator, name="idem evaluator A")
    b = issue_key(engine, settings, Role.evaluator, name="idem evaluator B")
    project = f"P-idem-{uuid.uuid4().hex[:8]}"
    body = {
        "framework": FRAMEWORK,
        "version": "1.0.0",
        "project": project,
        "region": "330102",
        "budget": {"adjusted": 100.0, "executed": 100.0},
        "rows": [
            {"id": "o", "class_l1": "产出", "points": 50, "operator": "≥", "target": 1,
             "unit": "项", "value": 1},
            {"id": "b", "class_l1": "效益", "points": 30, "operator": "≥", "target": 1,
             "unit": "项", "value": 1},
            {"id": "s", "class_l1": "满意度", "points": 10, "operator": "≥", "target": 90,
             "unit": "%", "value": 90},
        ],
    }  # fmt: skip
    idem = {"Idempotency-Key": f"eval-{project}"}
    first = api.post("/v1/evaluations", json=body, headers={**bearer(a), **idem})
    assert first.status_code == 201, first.text
    second = api.post("/v1/evaluations", json=body, headers={**bearer(b), **idem})
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    # B reads its own evaluation; A's is a 404 for B
    assert api.get(f"/v1/evaluations/{second.json()['id']}", headers=bearer(b)).status_code == 200
    assert_problem(api.get(f"/v1/evaluations/{first.json()['id']}", headers=bearer(b)), 404)
    # B's first use of the key with another body is not a conflict with A's record
    other = {**body, "project": f"{project}-b"}
    idem_c = {"Idempotency-Key": f"eval-c-{project}"}
    assert (
        api.post("/v1/evaluations", json=body, headers={**bearer(a), **idem_c}).status_code == 201
    )
    third = api.post("/v1/evaluations", json=other, headers={**bearer(b), **idem_c})
    assert third.status_code == 201, third.text
    with session_scope(engine) as s:
        rows = s.exec(select(Evaluation).where(col(Evaluation.project).startswith(project))).all()
        assert len(rows) == 4
        assert len({r.owner_key_id for r in rows}) == 2
