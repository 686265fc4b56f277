"""The seed catalogue's own frameworks score end to end (catalog/ read as documents).

PRJ-2020 and DEPT-OVERALL have fixed quantitative leaves whose target is the project's own
declared target (成本节约率, 重点支出安排率, 预算调整率, 结转结余率): the submission gives it as
``values.<leaf>.target``. A leaf whose target the framework fixes refuses another one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from indicator_service.app import create_app
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.scoring.lookup import DocumentCatalogue
from tests.helpers import ApiClient, assert_problem, make_settings, use_documents
from tests.paths import CATALOG_DIR, REPO_ROOT

DECLARED = {"OUT.CST.1": 10.0, "INP.CFG.3": 60.0, "PRC.EXE.2": 5.0, "PRC.EXE.4": 8.0}


@pytest.fixture(scope="module")
def seed() -> DocumentCatalogue:
    cat = load_catalogue(CATALOG_DIR)
    assert not cat.issues
    return DocumentCatalogue([f for _, f in cat.frameworks], [n for _, n in cat.namespaces])


@pytest.fixture(scope="module")
def seed_api(database_url: str, seed: DocumentCatalogue, client_key: str) -> Iterator[ApiClient]:
    app: FastAPI = create_app(make_settings(database_url))
    use_documents(app, seed)
    client = ApiClient(app)
    client._client.headers["Authorization"] = f"Bearer {client_key}"
    yield client
    client.close()
    app.state.engine.dispose()


def full_marks(seed: DocumentCatalogue, code: str) -> dict[str, Any]:
    """Every fixed leaf exactly on its target (qualitative: achieved), budget fully executed."""
    fw = next(f for _, f in load_catalogue(CATALOG_DIR).frameworks if f.framework == code)
    parents = {n.parent for n in fw.nodes if n.parent}
    values: dict[str, Any] = {}
    budget = False
    for n in fw.nodes:
        if n.code in parents or n.open:
            continue
        ind = seed.indicator(n.indicator) if n.indicator else None
        kind = ((ind.rule or {}).get("kind") if ind else None) or ""
        if ind is not None and ind.value_type == "qualitative":
            values[n.code] = {"level": "achieved"}
        elif kind == "budget_execution":
            budget = True  # scored from the budget figures
        elif kind == "deduction":
            assert ind is not None  # a kind is read only off an indicator
            values[n.code] = {"value": float((ind.rule or {})["threshold"])}
        elif n.target is not None:
            values[n.code] = {"value": n.target}
        else:
            values[n.code] = {"value": DECLARED[n.code], "target": DECLARED[n.code]}
    body: dict[str, Any] = {
        "framework": code,
        "region": "110000",
        "fiscal_year": 2024,
        "values": values,
    }
    if budget:
        body["budget"] = {"adjusted": 100.0, "executed": 100.0}
    return body


@pytest.mark.parametrize("code", ["PRJ-2020", "DEPT-OVERALL"])
def test_full_marks_give_100_and_the_top_grade(
    seed_api: ApiClient, seed: DocumentCatalogue, code: str
) -> None:
    r = seed_api.post("/v1/score", json=full_marks(seed, code))
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["total"] == 100.0
    assert receipt["grade"]["grade"] == "优"
    declared = [lf for lf in receipt["leaves"] if lf["id"] in DECLARED]
    assert declared
    for leaf in declared:
        assert leaf["target"] == DECLARED[leaf["id"]]
        assert leaf["target_source"]["kind"] == "submitted"


def test_declared_target_scores_the_leaf(seed_api: ApiClient, seed: DocumentCatalogue) -> None:
    body = full_marks(seed, "PRJ-2020")
    body["values"]["OUT.CST.1"] = {"value": 8.0, "target": 10.0}  # 成本节约率 8 % of 10 %: 7 · 0.8
    r = seed_api.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    leaf = next(lf for lf in r.json()["leaves"] if lf["id"] == "OUT.CST.1")
    assert leaf["score"] == 5.6
    assert r.json()["total"] == 98.6


def test_a_leaf_without_any_target_says_where_to_send_it(
    seed_api: ApiClient, seed: DocumentCatalogue
) -> None:
    body = full_marks(seed, "PRJ-2020")
    body["values"]["OUT.CST.1"] = {"value": 8.0}
    problem = assert_problem(seed_api.post("/v1/score", json=body), 422)
    [err] = [e for e in problem["errors"] if e["loc"][:3] == ["body", "values", "OUT.CST.1"]]
    assert err["loc"] == ["body", "values", "OUT.CST.1", "target"]
    assert "declared target" in err["msg"]


def test_a_target_the_framework_fixes_cannot_be_replaced(
    seed_api: ApiClient, seed: DocumentCatalogue
) -> None:
    body = full_marks(seed, "PRJ-2020")
    body["values"]["OUT.QTY.1"] = {"value": 80.0, "target": 80.0}  # the framework says 100
    problem = assert_problem(seed_api.post("/v1/score", json=body), 422)
    [err] = [e for e in problem["errors"] if e["type"] == "target_fixed"]
    assert err["loc"] == ["body", "values", "OUT.QTY.1", "target"]
    assert "100" in err["msg"]
    # the same target as the framework's is accepted
    body["values"]["OUT.QTY.1"] = {"value": 100.0, "target": 100.0}
    assert seed_api.post("/v1/score", json=body).status_code == 200


def test_the_readme_example_scores_as_computed_by_hand(seed_api: ApiClient) -> None:
    body = json.loads((REPO_ROOT / "docs" / "examples" / "score-prj-2020.json").read_text("utf-8"))
    r = seed_api.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    leaves = {lf["id"]: lf["score"] for lf in r.json()["leaves"]}
    assert leaves["OUT.CST.1"] == 5.6  # 7 · 8 / 10
    assert leaves["BEN.SAT.1"] == 9.56  # 10 · 86 / 90 = 9.5555… → 9.56
    assert leaves["PRC.FIN.2"] == 3.76  # 4 · 470 / 500
    assert r.json()["total"] == 97.92  # 100 − 1.4 − 0.44 − 0.24
    assert r.json()["grade"]["grade"] == "优"


def test_department_deduction_rates_are_scaled_to_the_leaf_points(
    seed_api: ApiClient, seed: DocumentCatalogue
) -> None:
    # 3-point leaves: the example rates (5 points −0.5, 8 points −0.8 per percentage point)
    # scaled to −0.3 per point
    body = full_marks(seed, "DEPT-OVERALL")
    body["values"]["INP.CFG.1"] = {"value": 104.0}  # staff at 104 % of posts: 3 − 4 · 0.3
    body["values"]["INP.CFG.2"] = {"value": 5.0}  # 三公经费 +5 %: 3 − 5 · 0.3
    r = seed_api.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    leaves = {lf["id"]: lf for lf in r.json()["leaves"]}
    assert (leaves["INP.CFG.1"]["score"], leaves["INP.CFG.2"]["score"]) == (1.8, 1.5)
    assert leaves["INP.CFG.2"]["rule"]["per_unit"] == 0.3
    assert r.json()["total"] == 97.3  # 100 − 1.2 − 1.5


def test_department_satisfaction_target_is_a_minimum(
    seed_api: ApiClient, seed: DocumentCatalogue
) -> None:
    body = full_marks(seed, "DEPT-OVERALL")
    # a project that declared ≥ 95 is scored against 95: 10 · 93 / 95 = 9.789… → 9.79
    body["values"]["EFF.SAT.1"] = {"value": 93.0, "target": 95.0}
    r = seed_api.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    leaf = next(lf for lf in r.json()["leaves"] if lf["id"] == "EFF.SAT.1")
    assert (leaf["target"], leaf["score"]) == (95.0, 9.79)
    assert leaf["target_source"]["kind"] == "submitted"
    # without a declared target the framework's 90 applies: 93 ≥ 90 → full marks
    body["values"]["EFF.SAT.1"] = {"value": 93.0}
    leaf = next(
        lf
        for lf in seed_api.post("/v1/score", json=body).json()["leaves"]
        if lf["id"] == "EFF.SAT.1"
    )
    assert (leaf["target"], leaf["score"], leaf["target_source"]["kind"]) == (
        90.0,
        10.0,
        "framework",
    )
    # a declared target below the minimum is refused, naming the minimum
    body["values"]["EFF.SAT.1"] = {"value": 93.0, "target": 85.0}
    problem = assert_problem(seed_api.post("/v1/score", json=body), 422)
    [err] = [e for e in problem["errors"] if e["type"] == "target_below_minimum"]
    assert err["loc"] == ["body", "values", "EFF.SAT.1", "target"]
    assert "90" in err["msg"]
