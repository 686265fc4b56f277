"""``?receipt=summary``: the versions, total, grade, each leaf's score and points lost and the
input hash: the same numbers as the full receipt, on ``POST /v1/score`` and the batch."""

from __future__ import annotations

from typing import Any

from tests.helpers import ApiClient, assert_problem
from tests.scoring.frameworks import WORKED_EXAMPLE


def projection(full: dict[str, Any]) -> dict[str, Any]:
    """What the summary must say, read off the full receipt."""
    return {
        "framework": full["framework"],
        "namespaces": full["namespaces"],
        "total": full["total"],
        "grade": full["grade"]["grade"] if full["grade"] else None,
        "leaves": [
            {"id": lf["id"], "indicator": lf["indicator"], "score": lf["score"], "lost": lf["lost"]}
            for lf in full["leaves"]
        ],
        "input_hash": full["input_hash"],
        "grade_label": full["grade_label"],  # the only label of a summary
    }


def test_summary_is_the_full_receipt_in_brief(sapi: ApiClient) -> None:
    full = sapi.post("/v1/score", json=WORKED_EXAMPLE)
    assert full.status_code == 200, full.text
    assert sapi.post("/v1/score?receipt=full", json=WORKED_EXAMPLE).json() == full.json()
    r = sapi.post("/v1/score?receipt=summary", json=WORKED_EXAMPLE)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary == projection(full.json())
    # the worked example's hand-computed figures (docs/scoring.md)
    assert summary["total"] == 94.2
    assert summary["grade"] == "优"
    leaves = {lf["id"]: lf for lf in summary["leaves"]}
    assert leaves["EXEC"]["score"] == 9.8
    assert leaves["cost"]["score"] == 9.2
    assert leaves["cost"]["lost"] == 0.8
    fields = {"framework", "namespaces", "total", "grade", "leaves", "input_hash", "grade_label"}
    assert set(summary) == fields
    assert summary["grade_label"] == "Excellent"  # no Accept-Language: English
    assert len(r.content) * 3 < len(full.content)


def test_summary_grade_label_in_the_language_asked(sapi: ApiClient) -> None:
    for header, name in (("zh-CN", "优"), ("en", "Excellent")):
        r = sapi.post(
            "/v1/score?receipt=summary", json=WORKED_EXAMPLE, headers={"accept-language": header}
        )
        assert r.json()["grade_label"] == name


def test_unknown_receipt_kind_is_422(sapi: ApiClient) -> None:
    body = assert_problem(sapi.post("/v1/score?receipt=short", json=WORKED_EXAMPLE), 422)
    assert body["errors"][0]["loc"] == ["query", "receipt"]


def test_batch_items_carry_their_summary(sapi: ApiClient) -> None:
    other = {**WORKED_EXAMPLE, "project": "another"}
    batch = {"items": [WORKED_EXAMPLE, other]}
    detail = sapi.post("/v1/score/batch?detail=true", json=batch).json()
    r = sapi.post("/v1/score/batch?receipt=summary", json=batch)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [it["ok"] for it in items] == [True, True]
    for it, full in zip(items, detail["items"], strict=True):
        assert it["summary"] == projection(full["result"])
        assert it["result"] is None
        assert it["total"] == full["total"]
    plain = sapi.post("/v1/score/batch", json=batch).json()
    assert all("summary" not in it for it in plain.get("items", []))
