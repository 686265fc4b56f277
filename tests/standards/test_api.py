"""Derived-standards API: values computed by hand (see test_derive.py for the arithmetic)."""

from __future__ import annotations

import math

import pytest

from tests.helpers import ApiClient, assert_problem

SERIES = [
    {"year": 2020, "value": 80},
    {"year": 2021, "value": 84},
    {"year": 2022, "value": 90},
    {"year": 2023, "value": 87},
    {"year": 2024, "value": 93},
]
PEERS = [{"value": float(v), "unit": "%"} for v in range(1, 21)]


def test_historical_mean(api: ApiClient) -> None:
    # (90 + 87 + 93) / 3 = 90
    r = api.post("/v1/standards/historical", json={"series": SERIES, "method": "mean_last_n"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["value"] == pytest.approx(90.0, abs=1e-12)
    assert body["years"] == [2022, 2023, 2024]
    assert body["values"] == [90.0, 87.0, 93.0]
    assert body["n"] == 3
    assert body["method"] == "mean_last_n"
    assert body["parameters"]["n"] == 3


def test_historical_trend(api: ApiClient) -> None:
    # Theil–Sen slope 3.125 through (2022, 87): 2025 → 96.375
    r = api.post(
        "/v1/standards/historical",
        json={"series": SERIES, "method": "trend", "target_year": 2025},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["value"] == pytest.approx(96.375, abs=1e-9)
    assert body["trend"]["slope"] == pytest.approx(3.125, abs=1e-12)
    assert body["trend"]["band_low"] <= body["value"] <= body["trend"]["band_high"]


def test_historical_best_lower_better(api: ApiClient) -> None:
    r = api.post(
        "/v1/standards/historical",
        json={"series": SERIES, "method": "best_last_n", "direction": "lower_better"},
    )
    assert r.json()["value"] == 87.0


@pytest.mark.parametrize(
    ("body", "loc", "type_"),
    [
        # too short for a 3-year mean
        ({"series": SERIES[:2], "method": "mean_last_n"}, ["body", "series"], "series_too_short"),
        # duplicate year at position 1
        (
            {"series": [SERIES[0], SERIES[0]], "method": "last_year"},
            ["body", "series", 1, "year"],
            "duplicate_year",
        ),
        # mixed units
        (
            {
                "series": [
                    {"year": 2023, "value": 1, "unit": "%"},
                    {"year": 2024, "value": 2, "unit": "元"},
                ],
                "method": "last_year",
            },
            ["body", "series", 1, "unit"],
            "mixed_units",
        ),
        ({"series": SERIES, "method": "trend"}, ["body", "target_year"], "missing"),
    ],
)
def test_historical_refusals(
    api: ApiClient, body: dict[str, object], loc: list[object], type_: str
) -> None:
    problem = assert_problem(api.post("/v1/standards/historical", json=body), 422)
    assert problem["errors"][0]["loc"] == loc
    assert problem["errors"][0]["type"] == type_
    assert problem["detail"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"series": [{"year": 2024, "value": NaN}], "method": "last_year"}',
        b'{"series": [{"year": 2024, "value": Infinity}], "method": "last_year"}',
        b'{"series": [{"year": 2024, "value": true}], "method": "last_year"}',
        b'{"series": [{"year": 2024, "value": 1, "extra": 1}], "method": "last_year"}',
        b'{"series": [], "method": "last_year"}',
        b'{"series": [{"year": 2024, "value": 1}], "method": "median"}',
    ],
)
def test_historical_schema_rejections(api: ApiClient, raw: bytes) -> None:
    r = api.post(
        "/v1/standards/historical", content=raw, headers={"content-type": "application/json"}
    )
    assert r.status_code in (400, 422), r.text
    problem = assert_problem(r, r.status_code)
    assert problem["errors"]


def test_industry_levels_and_efficacy_rule(api: ApiClient) -> None:
    # numpy linear percentiles of 1 … 20: P95 19.05, P75 15.25, P50 10.5, P25 5.75, P5 1.95
    r = api.post("/v1/standards/industry", json={"values": PEERS})
    assert r.status_code == 200, r.text
    body = r.json()
    levels = [lv["value"] for lv in body["levels"]]
    assert levels == pytest.approx([19.05, 15.25, 10.5, 5.75, 1.95], abs=1e-12)
    assert [lv["name_zh"] for lv in body["levels"]] == ["优秀", "良好", "平均", "较低", "较差"]
    assert body["n"] == 20
    assert body["unit"] == "%"
    assert body["sd"] == pytest.approx(math.sqrt(35.0), abs=1e-12)
    assert body["iqr"] == pytest.approx(9.5, abs=1e-12)
    assert body["efficacy_rule"]["kind"] == "efficacy"
    assert body["efficacy_rule"]["levels"] == pytest.approx(levels)
    assert "values" not in body


def test_industry_ties_give_no_efficacy_rule(api: ApiClient) -> None:
    r = api.post("/v1/standards/industry", json={"values": [{"value": 5}] * 10})
    assert r.status_code == 200, r.text
    assert r.json()["efficacy_rule"] is None
    assert r.json()["levels_strictly_monotone"] is False


def test_industry_refuses_small_sample(api: ApiClient) -> None:
    problem = assert_problem(api.post("/v1/standards/industry", json={"values": PEERS[:9]}), 422)
    assert problem["errors"][0]["loc"] == ["body", "values"]
    assert problem["errors"][0]["type"] == "sample_too_small"
    assert "minimum sample size 10" in problem["detail"]


def test_industry_refuses_mixed_units(api: ApiClient) -> None:
    values = [*PEERS[:12], {"value": 3.0, "unit": "元"}]
    problem = assert_problem(api.post("/v1/standards/industry", json={"values": values}), 422)
    assert problem["errors"][0]["loc"] == ["body", "values", 12, "unit"]


def test_progress_classification(api: ApiClient) -> None:
    # CAGR (121/100)^(1/2) − 1 = 0.1; required (126.5625/100)^(1/2) − 1 = 0.125 → R 0.8
    series = [{"year": 2018, "value": 100}, {"year": 2020, "value": 121}]
    r = api.post(
        "/v1/standards/progress",
        json={"series": series, "target_value": 126.5625, "target_year": 2020},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ratio"] == pytest.approx(0.8, abs=1e-9)
    assert body["status"] == "acceleration_needed"
    assert body["label_zh"] == "有进展但需加快"


def test_progress_refuses_non_positive(api: ApiClient) -> None:
    series = [{"year": 2018, "value": 0}, {"year": 2020, "value": 121}]
    problem = assert_problem(api.post("/v1/standards/progress", json={"series": series}), 422)
    assert problem["errors"][0]["type"] == "non_positive_value"
    assert problem["errors"][0]["loc"] == ["body", "series"]


@pytest.mark.parametrize("confidence", [5e-324, 0.49, 0.9995, 1.0])
def test_trend_confidence_outside_its_range_is_422(api: ApiClient, confidence: float) -> None:
    # 5e-324 made scipy's Theil–Sen overflow (a 500 found by schemathesis)
    series = [
        {"year": 1900, "value": 0.0},
        {"year": 1901, "value": 1.0},
        {"year": 1902, "value": 0.0},
    ]
    body = {"method": "trend", "series": series, "confidence": confidence, "target_year": 1903}
    problem = assert_problem(api.post("/v1/standards/historical", json=body), 422)
    assert problem["errors"][0]["loc"] == ["body", "confidence"]
