"""Historical and industry standards from stored evaluations (a database of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from indicator_service.app import create_app
from indicator_service.core import database
from indicator_service.scoring.models import Evaluation
from tests.auth.fixtures import admin_client
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import ApiClient, assert_problem, make_settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _evaluation(
    n: int, unit: str, year: int, value: float | None, region: str = "110000", **leaf: Any
) -> Evaluation:
    leaves = [
        {"indicator": "OTHER-01", "status": "value", "raw_value": 1.0, "unit": "%"},
        {"indicator": "EDU-02-001", "unit": "%", "status": "value" if value is not None else
         "missing", "raw_value": value, **leaf},
    ]  # fmt: skip
    return Evaluation(
        framework_code="FW", framework_version="1.0.0", unit=unit, region=region,
        fiscal_year=year, total=None, input_hash=f"h{n}", request={},
        result={"leaves": leaves}, created_at=T0 + timedelta(minutes=n),
    )  # fmt: skip


@pytest.fixture(scope="module")
def eapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("standards-eval"))
    database.upgrade(url)
    app: FastAPI = create_app(make_settings(url))
    rows = [
        # unit A: 2021 84, 2022 first 70 then re-evaluated 90 (latest wins), 2023 87, 2024 93
        _evaluation(1, "A", 2021, 84.0),
        _evaluation(2, "A", 2022, 70.0),
        _evaluation(3, "A", 2022, 90.0),
        _evaluation(4, "A", 2023, 87.0),
        _evaluation(5, "A", 2024, 93.0),
        _evaluation(6, "B", 2024, None),  # missing value: skipped
    ]
    # 2024 peers: units P01 … P12 with values 1 … 12 in region 110000, plus one elsewhere
    rows += [_evaluation(10 + v, f"P{v:02d}", 2024, float(v)) for v in range(1, 13)]
    rows.append(_evaluation(40, "Z", 2024, 1000.0, region="310000"))
    with database.session_scope(app.state.engine) as session:
        session.add_all(rows)
    client = admin_client(app)  # stored evaluations are read with an evaluator's key
    yield client
    client.close()
    app.state.engine.dispose()
    if drop is not None:
        drop()


def test_historical_mean_from_evaluations(eapi: ApiClient) -> None:
    # years 2022–2024 of unit A: (90 + 87 + 93) / 3 = 90 (the 2022 re-evaluation replaced 70)
    r = eapi.post(
        "/v1/standards/historical/from-evaluations",
        json={"indicator": "EDU-02-001", "evaluated_unit": "A", "method": "mean_last_n"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["value"] == pytest.approx(90.0, abs=1e-12)
    assert body["years"] == [2022, 2023, 2024]
    assert body["values"] == [90.0, 87.0, 93.0]
    assert len(body["evaluation_ids"]) == 3
    assert body["unit"] == "%"


def test_historical_from_evaluations_refusals(eapi: ApiClient) -> None:
    # unit A has 4 years: a 5-year mean is refused, pointing at the indicator
    problem = assert_problem(
        eapi.post(
            "/v1/standards/historical/from-evaluations",
            json={"indicator": "EDU-02-001", "evaluated_unit": "A", "method": "mean_last_n",
                  "n": 5},
        ),
        422,
    )  # fmt: skip
    assert problem["errors"][0]["loc"] == ["body", "indicator"]
    assert problem["errors"][0]["type"] == "series_too_short"
    # unit B only has a missing value: nothing to derive from
    assert_problem(
        eapi.post(
            "/v1/standards/historical/from-evaluations",
            json={"indicator": "EDU-02-001", "evaluated_unit": "B", "method": "last_year"},
        ),
        404,
    )


def test_industry_from_evaluations(eapi: ApiClient) -> None:
    # region 110000, 2024: unit A 93 and P01 … P12 = 1 … 12 → 13 values 1 … 12, 93
    # sorted: 1 … 12, 93; P50: h = 0.5 × 12 = 6 → 7; P75: h = 9 → 10; P25: h = 3 → 4
    # P95: h = 11.4 → 12 + 0.4 × (93 − 12) = 44.4; P5: h = 0.6 → 1 + 0.6 = 1.6
    r = eapi.post(
        "/v1/standards/industry/from-evaluations",
        json={"indicator": "EDU-02-001", "fiscal_year": 2024, "region": "110000"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n"] == 13
    assert [lv["value"] for lv in body["levels"]] == pytest.approx([44.4, 10.0, 7.0, 4.0, 1.6])
    assert "A" in body["peers"]
    assert "Z" not in body["peers"]
    assert len(body["evaluation_ids"]) == 13
    # winsorising at 5 %/95 % clips 93 to 44.4 (and 1 to 1.6)
    r = eapi.post(
        "/v1/standards/industry/from-evaluations",
        json={"indicator": "EDU-02-001", "fiscal_year": 2024, "region": "110000",
              "winsorize": [0.05, 0.95]},
    )  # fmt: skip
    assert r.json()["n_winsorized"] == 2
    assert r.json()["maximum"] == pytest.approx(44.4)


def test_industry_from_evaluations_small_sample(eapi: ApiClient) -> None:
    problem = assert_problem(
        eapi.post(
            "/v1/standards/industry/from-evaluations",
            json={"indicator": "EDU-02-001", "fiscal_year": 2024, "region": "310000"},
        ),
        422,
    )
    assert problem["errors"][0]["type"] == "sample_too_small"
    assert "minimum sample size 10" in problem["detail"]
