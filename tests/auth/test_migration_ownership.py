"""Migration 0006_ownership on a database with data: keys, evaluations and idempotency records
stored before it (a database of its own)."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import create_engine, text

from indicator_service.app import create_app
from indicator_service.auth.keys import generate_key, hash_key
from indicator_service.core import database
from indicator_service.scoring.receipts import score
from indicator_service.scoring.schemas import ScoreRequest
from tests.auth.fixtures import admin_client, bearer
from tests.helpers import ApiClient, assert_problem, make_settings
from tests.scoring.frameworks import WORKED_EXAMPLE, catalogue, self_evaluation


def test_rows_stored_before_ownership(fresh_database_url: str) -> None:
    url = fresh_database_url
    database.upgrade(url, "0005_review")
    settings = make_settings(url)
    old_key = generate_key()
    req = ScoreRequest.model_validate({**WORKED_EXAMPLE, "region": "330102"})
    receipt = score(req, catalogue())
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_key (prefix, key_hash, name, role, namespaces, created_at) "
                "VALUES (:p, :h, 'old evaluator', 'evaluator', :ns, CURRENT_TIMESTAMP)"
            ),
            {"p": old_key.prefix, "h": hash_key(old_key.raw, settings.secret_key), "ns": '["*"]'},
        )
        conn.execute(
            text(
                "INSERT INTO scoring_evaluation (framework_code, framework_version, project, "
                "region, input_hash, request, result, created_at) VALUES ('SELF-EVAL', "
                "'1.0.0', 'P-001', '330102', :hash, :request, :result, CURRENT_TIMESTAMP)"
            ),
            {
                "hash": receipt.input_hash,
                "request": json.dumps(req.model_dump(mode="json")),
                "result": json.dumps(receipt.model_dump(mode="json")),
            },
        )
        conn.execute(
            text(
                "INSERT INTO idempotency_record (scope, key, request_hash, status_code, "
                "response_body, created_at) VALUES ('scoring.evaluations', 'old-key', 'x', 201, "
                "'{\"id\": 1}', CURRENT_TIMESTAMP)"
            )
        )
    database.upgrade(url)
    with engine.connect() as conn:
        regions = conn.execute(text("SELECT regions FROM api_key")).scalar_one()
        assert (json.loads(regions) if isinstance(regions, str) else regions) == []
        legacy_id, owner = conn.execute(
            text("SELECT id, owner_key_id FROM scoring_evaluation")
        ).one()
        assert owner is None
        assert conn.execute(text("SELECT owner_key_id FROM idempotency_record")).scalar() is None

    app = create_app(settings)
    admin = admin_client(app)
    plain = ApiClient(app)
    try:
        # the legacy evaluation: admins only
        assert admin.get(f"/v1/evaluations/{legacy_id}").status_code == 200
        assert_problem(plain.get(f"/v1/evaluations/{legacy_id}", headers=bearer(old_key.raw)), 404)
        listed = plain.get("/v1/evaluations", headers=bearer(old_key.raw)).json()
        assert listed["total"] == 0
        assert admin.get("/v1/evaluations").json()["total"] == 1
        # the old key still works and owns what it stores from now on; the old idempotency
        # record (no owner) is not replayed to anyone
        from indicator_service.catalogue.service import store_framework

        with database.session_scope(app.state.engine) as s:
            store_framework(s, self_evaluation("1.0.0", framework="LEGACY", requires={}))
        body = {
            "framework": "LEGACY",
            "project": "P-new",
            "region": "330102",
            "budget": {"adjusted": 1.0, "executed": 1.0},
            "rows": [
                {"id": "o", "class_l1": "产出", "points": 50, "operator": "≥", "target": 1,
                 "unit": "项", "value": 1},
                {"id": "b", "class_l1": "效益", "points": 30, "operator": "≥", "target": 1,
                 "unit": "项", "value": 1},
                {"id": "s", "class_l1": "满意度", "points": 10, "operator": "≥", "target": 1,
                 "unit": "项", "value": 1},
            ],
        }  # fmt: skip
        r = plain.post(
            "/v1/evaluations",
            json=body,
            headers={**bearer(old_key.raw), "Idempotency-Key": "old-key"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["id"] != 1
        assert r.json()["id"] != legacy_id
        mine = plain.get("/v1/evaluations", headers=bearer(old_key.raw)).json()
        assert [item["id"] for item in mine["items"]] == [r.json()["id"]]
    finally:
        admin.close()
        plain.close()
        app.state.engine.dispose()

    # downgrade: the records of two callers under one (scope, key) (the legacy one and the old
    # key's new one) keep the first
    with engine.connect() as conn:
        count = "SELECT count(*) FROM idempotency_record WHERE key = 'old-key'"
        assert conn.execute(text(count)).scalar() == 2
    command.downgrade(database.alembic_config(url), "0005_review")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT key FROM idempotency_record WHERE key = 'old-key'")).all()
        assert len(rows) == 1
    database.upgrade(url)
    engine.dispose()
