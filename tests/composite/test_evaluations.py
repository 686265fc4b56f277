"""Composite comparison of stored evaluations (POST /v1/composite/evaluations)."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from indicator_service.auth.models import Role
from indicator_service.catalogue.service import store_framework
from indicator_service.core.database import session_scope
from indicator_service.core.settings import Settings
from tests.auth.fixtures import authenticate, issue_key
from tests.helpers import ApiClient, assert_problem
from tests.scoring.frameworks import self_evaluation

CODE = "COMPOSITE-EVAL-TEST"


@pytest.fixture(scope="module")
def api(app: FastAPI, engine: Engine, settings: Settings) -> Iterator[ApiClient]:
    """Storing evaluations needs an evaluator key (see docs/security.md)."""
    client = authenticate(ApiClient(app), issue_key(engine, settings, Role.evaluator))
    yield client
    client.close()


REGION = "330100"


def submission(unit: str, qty: float, timely: float, beneficiaries: float, satisfied: float):
    row = {"class_l1": "产出", "operator": "≥", "points": 25}
    return {
        "framework": CODE,
        "version": "1.0.0",
        "project": f"P-{unit}",
        "unit": unit,
        "region": REGION,
        "fiscal_year": 2024,
        "budget": {"adjusted": 200.0, "executed": 190.0},
        "rows": [
            {**row, "id": "out1", "name": "完成数量", "target": 100, "unit": "台", "value": qty},
            {**row, "id": "out2", "name": "及时率", "target": 100, "unit": "%", "value": timely},
            {
                "id": "ben",
                "class_l1": "效益",
                "name": "受益人数",
                "points": 30,
                "operator": "≥",
                "target": 500,
                "unit": "人",
                "value": beneficiaries,
            },
            {
                "id": "sat",
                "class_l1": "满意度",
                "name": "满意度",
                "points": 10,
                "operator": "≥",
                "target": 100,
                "unit": "%",
                "value": satisfied,
            },
        ],
    }


@pytest.fixture(scope="module")
def stored(api: ApiClient, engine: Engine) -> dict[str, Any]:
    with session_scope(engine) as s:
        store_framework(s, self_evaluation("1.0.0", framework=CODE, requires={}))
    receipts = {}
    for unit, values in {
        "U-A": (90, 100, 450, 95),
        "U-B": (100, 80, 500, 90),
        "U-C": (70, 90, 250, 100),
    }.items():
        r = api.post("/v1/evaluations", json=submission(unit, *values))
        assert r.status_code == 201, r.text
        receipts[unit] = r.json()
    return receipts


def fractions(unit_values):
    """Achievement fractions by hand: value ÷ target, capped at 1 (all rows are ≥ rules)."""
    qty, timely, beneficiaries, satisfied = unit_values
    return {
        "out1": min(qty / 100, 1.0),
        "out2": min(timely / 100, 1.0),
        "ben": min(beneficiaries / 500, 1.0),
        "sat": min(satisfied / 100, 1.0),
        "EXEC": 190 / 200,
    }


VALUES = {"U-A": (90, 100, 450, 95), "U-B": (100, 80, 500, 90), "U-C": (70, 90, 250, 100)}


def test_units_compared_on_their_fractions_by_hand(api: ApiClient, stored: dict[str, Any]) -> None:
    r = api.post(
        "/v1/composite/evaluations",
        json={"framework": CODE, "region": REGION, "fiscal_year": 2024, "bands": BANDS},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["evaluations"] == {u: stored[u]["id"] for u in VALUES}
    assert body["aggregates"] == ["OUT", "BEN", "SAT", "EXEC@2", "TOTAL"]
    f = {u: fractions(v) for u, v in VALUES.items()}

    def minmax(leaf):
        col = [f[u][leaf] for u in VALUES]
        lo, hi = min(col), max(col)
        return {u: 50.0 if hi == lo else 100 * (f[u][leaf] - lo) / (hi - lo) for u in VALUES}

    n = {leaf: minmax(leaf) for leaf in ("out1", "out2", "ben", "sat", "EXEC")}
    # out1: A 0.9, B 1.0, C 0.7 → 66.67, 100, 0; out2: A 1.0, B 0.8, C 0.9 → 100, 0, 50
    assert n["out1"]["U-A"] == pytest.approx(200 / 3)
    assert n["EXEC"]["U-B"] == 50.0  # the same execution rate everywhere: mid-scale
    units = {u["unit"]: u for u in body["units"]}
    for u in VALUES:
        out = (25 * n["out1"][u] + 25 * n["out2"][u]) / 50
        total = (50 * out + 30 * n["ben"][u] + 10 * n["sat"][u] + 10 * n["EXEC"][u]) / 100
        assert units[u]["scores"]["OUT"] == pytest.approx(out, rel=1e-12)
        assert units[u]["scores"]["TOTAL"] == pytest.approx(total, rel=1e-12)
    assert units["U-A"]["scores"]["TOTAL"] == pytest.approx(75 + 2 / 3, rel=1e-12)
    assert [units[u]["ranks"]["TOTAL"] for u in VALUES] == [1, 2, 3]
    assert units["U-C"]["grades"]["TOTAL"] == "差"
    # effective weights are the framework's points over 100
    assert body["effective_weights"]["TOTAL"] == pytest.approx(
        {"EXEC": 0.1, "out1": 0.25, "out2": 0.25, "ben": 0.3, "sat": 0.1}
    )


BANDS = [
    {"grade": "差", "min": 0, "max": 60},
    {"grade": "中", "min": 60, "max": 80},
    {"grade": "良", "min": 80, "max": 90},
    {"grade": "优", "min": 90, "max": 100},
]


def test_latest_evaluation_of_a_unit_wins(api: ApiClient, stored: dict[str, Any]) -> None:
    region = "110000"
    first = api.post(
        "/v1/evaluations", json={**submission("U-X", 50, 50, 100, 50), "region": region}
    )
    api.post("/v1/evaluations", json={**submission("U-Y", 80, 80, 400, 80), "region": region})
    again = api.post(
        "/v1/evaluations", json={**submission("U-X", 100, 100, 500, 100), "region": region}
    )
    assert first.status_code == again.status_code == 201
    body = api.post("/v1/composite/evaluations", json={"framework": CODE, "region": region}).json()
    assert body["evaluations"]["U-X"] == again.json()["id"]
    units = {u["unit"]: u for u in body["units"]}
    assert units["U-X"]["scores"]["OUT"] == 100.0  # the better, later evaluation


def test_no_match_and_mixed_versions(
    api: ApiClient, stored: dict[str, Any], engine: Engine
) -> None:
    body = assert_problem(
        api.post("/v1/composite/evaluations", json={"framework": CODE, "fiscal_year": 1999}), 404
    )
    assert "no stored evaluations" in body["detail"]
    with session_scope(engine) as s:
        store_framework(s, self_evaluation("2.0.0", framework=CODE, requires={}))
    region = "440300"
    v2 = copy.deepcopy(submission("U-V", 90, 90, 450, 90))
    api.post("/v1/evaluations", json={**v2, "region": region})
    api.post("/v1/evaluations", json={**v2, "region": region, "version": "2.0.0", "unit": "U-W"})
    body = assert_problem(
        api.post("/v1/composite/evaluations", json={"framework": CODE, "region": region}), 422
    )
    assert body["errors"][0]["loc"] == ["body", "version"]
    ok = api.post(
        "/v1/composite/evaluations", json={"framework": CODE, "region": region, "version": "2.0.0"}
    )
    assert ok.status_code == 200, ok.text
    assert list(ok.json()["evaluations"]) == ["U-W"]
    assert_problem(
        api.post("/v1/composite/evaluations", json={"framework": CODE, "region": "12"}), 422
    )


def test_leaf_fraction_is_final_score_over_points() -> None:
    from indicator_service.composite.evaluations import leaf_fraction

    # a manual deduction of 3 on a fully achieved 10-point leaf: 7 / 10, not the pre-deduction 1.0
    deducted = {"status": "value", "points": 10.0, "fraction": 1.0, "score": 7.0}
    assert leaf_fraction(deducted) == 0.7
    # missing (even when the framework's policy scored it zero) and n/a drop out
    for status in ("missing", "not_applicable"):
        assert math.isnan(leaf_fraction({"status": status, "points": 10.0, "score": 0.0}))
    assert math.isnan(leaf_fraction({"status": "value", "points": 0.0, "score": 0.0}))
