"""Migration 0009_evaluation_kinds on a database with an evaluation stored before it: the row
becomes a self-evaluation that re-evaluates nothing, reads as such and can be re-evaluated."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from indicator_service.app import create_app
from indicator_service.core import database
from indicator_service.scoring.receipts import score
from indicator_service.scoring.schemas import ScoreRequest
from tests.auth.fixtures import admin_client
from tests.helpers import make_settings, use_documents
from tests.scoring.frameworks import WORKED_EXAMPLE, catalogue


def test_rows_stored_before_kinds_are_self_evaluations(fresh_database_url: str) -> None:
    url = fresh_database_url
    database.upgrade(url, "0006_ownership")
    req = ScoreRequest.model_validate({**WORKED_EXAMPLE, "project": "P-OLD", "region": "330102"})
    receipt = score(req, catalogue())
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO scoring_evaluation (framework_code, framework_version, project, "
                "region, total, input_hash, request, result, created_at) VALUES (:fw, :v, "
                "'P-OLD', '330102', :total, :hash, :request, :result, CURRENT_TIMESTAMP)"
            ),
            {
                "fw": receipt.framework.code,
                "v": receipt.framework.version,
                "total": receipt.total,
                "hash": receipt.input_hash,
                "request": json.dumps(req.model_dump(mode="json")),
                "result": json.dumps(receipt.model_dump(mode="json")),
            },
        )
    database.upgrade(url)
    with engine.connect() as conn:
        kind, reevaluates = conn.execute(
            text("SELECT kind, reevaluates_id FROM scoring_evaluation")
        ).one()
    assert (kind, reevaluates) == ("self", None)
    engine.dispose()

    app = create_app(make_settings(url))
    use_documents(app, catalogue())
    admin = admin_client(app)
    try:
        listed = admin.get("/v1/evaluations", params={"kind": "self"}).json()
        assert [(i["kind"], i["reevaluates"], i["project"]) for i in listed["items"]] == [
            ("self", None, "P-OLD")
        ]
        old_id = listed["items"][0]["id"]
        body = {**req.model_dump(mode="json"), "kind": "finance", "reevaluates": old_id}
        created = admin.post("/v1/evaluations", json=body)
        assert created.status_code == 201, created.text
        cmp = admin.get(f"/v1/evaluations/{old_id}/comparison").json()
        assert (cmp["total_difference"], cmp["distorted"]) == (0.0, False)
    finally:
        admin.close()
        app.state.engine.dispose()
