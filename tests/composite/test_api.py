"""The composite API on the ASEM fixture and on the hand-computed slice."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.composite.test_cli import DATA, META, independent_scores
from tests.composite.test_engine import CO2, LPI, RENEW, TBTS, UNITS, mm, wmean
from tests.helpers import ApiClient, assert_problem

BANDS = [
    {"grade": "差", "min": 0, "max": 60},
    {"grade": "中", "min": 60, "max": 80},
    {"grade": "良", "min": 80, "max": 90},
    {"grade": "优", "min": 90, "max": 100},
]


def asem_body(**extra: Any) -> dict[str, Any]:
    return {
        "data_csv": DATA.read_text(encoding="utf-8"),
        "meta_csv": META.read_text(encoding="utf-8"),
        **extra,
    }


def slice_body(**extra: Any) -> dict[str, Any]:
    nan_to_null = [None if math.isnan(v) else v for v in TBTS]
    return {
        "data": {
            "units": UNITS,
            "columns": {"LPI": LPI, "TBTs": nan_to_null, "Renew": RENEW, "CO2": CO2},
        },
        "meta": [
            {"level": 1, "code": "LPI", "weight": 1, "parent": "P1"},
            {"level": 1, "code": "TBTs", "direction": -1, "weight": 2, "parent": "P1"},
            {"level": 1, "code": "Renew", "weight": 1, "parent": "P2"},
            {"level": 1, "code": "CO2", "direction": -1, "weight": 3, "parent": "P2"},
            {"level": 2, "code": "P1", "weight": 1, "parent": "Index"},
            {"level": 2, "code": "P2", "weight": 3, "parent": "Index"},
            {"level": 3, "code": "Index"},
        ],
        **extra,
    }


def test_asem_csv_defaults(api: ApiClient) -> None:
    r = api.post("/v1/composite", json=asem_body())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["aggregates"][-1] == "Index"
    assert len(body["aggregates"]) == 11
    assert len(body["indicators"]) == 49
    assert len(body["units"]) == 51
    expected = independent_scores()
    for u in body["units"]:
        for code, v in u["scores"].items():
            assert v == pytest.approx(expected[(u["unit"], code)], rel=1e-12, abs=1e-12)
    index = sorted(body["units"], key=lambda u: -u["scores"]["Index"])
    assert index[0]["ranks"]["Index"] == 1
    assert sum(body["effective_weights"]["Index"].values()) == pytest.approx(1.0)
    # 8 pillars of equal weight under 2 sub-indices: LPI is 1/8 of Physical, 1/5 · 1/2 · …
    assert body["effective_weights"]["Index"]["LPI"] == pytest.approx(1 / 8 * 1 / 5 * 1 / 2)
    assert body["effective_weights"]["Physical"]["LPI"] == pytest.approx(1 / 8)


def test_json_columns_slice_by_hand(api: ApiClient) -> None:
    r = api.post("/v1/composite", json=slice_body(bands=BANDS))
    assert r.status_code == 200, r.text
    units = {u["unit"]: u for u in r.json()["units"]}
    lpi, tbts, renew, co2 = mm(LPI), mm(TBTS, -1), mm(RENEW), mm(CO2, -1)
    for i, code in enumerate(UNITS):
        p1 = wmean([(lpi[i], 1), (tbts[i], 2)])
        p2 = wmean([(renew[i], 1), (co2[i], 3)])
        index = (p1 + 3 * p2) / 4
        assert units[code]["scores"]["P1"] == pytest.approx(p1, rel=1e-12, abs=1e-12)
        assert units[code]["scores"]["Index"] == pytest.approx(index, rel=1e-12)
        grade = "差" if index < 60 else "中" if index < 80 else "良" if index < 90 else "优"
        assert units[code]["grades"]["Index"] == grade


def test_options_change_the_result(api: ApiClient) -> None:
    geo = slice_body(
        normalisation={"method": "minmax", "low": 1, "high": 100},
        aggregation={"method": "geometric"},
    )
    r = api.post("/v1/composite", json=geo)
    assert r.status_code == 200, r.text
    lpi, tbts = mm(LPI, 1, 1, 100), mm(TBTS, -1, 1, 100)
    aut = r.json()["units"][0]
    assert aut["scores"]["P1"] == pytest.approx((lpi[0] * tbts[0] ** 2) ** (1 / 3), rel=1e-12)
    assert r.json()["aggregation"] == [{"method": "geometric", "p": 1.0}] * 2
    r = api.post("/v1/composite", json=slice_body(threshold={"P1": 0.6}))
    assert r.json()["units"][2]["scores"]["P1"] is None
    assert r.json()["units"][2]["ranks"]["P1"] is None


def test_geometric_refusal_names_unit_and_indicator(api: ApiClient) -> None:
    r = api.post("/v1/composite", json=asem_body(aggregation={"method": "geometric"}))
    body = assert_problem(r, 422)
    assert "positive" in body["detail"]
    loc = body["errors"][0]["loc"]
    assert loc[:2] == ["body", "data_csv"]
    assert len(loc) == 4


def test_tree_errors_point_into_the_body(api: ApiClient) -> None:
    b = slice_body()
    b["meta"][0]["parent"] = "Nowhere"
    body = assert_problem(api.post("/v1/composite", json=b), 422)
    assert body["errors"][0]["loc"] == ["body", "meta", 0, "Parent"]
    assert "unknown parent 'Nowhere'" in body["errors"][0]["msg"]
    meta_csv = "Level,iCode,Direction,Weight,Parent,Type\n1,LPI,1,1,Nowhere,Indicator\n"
    body = assert_problem(
        api.post("/v1/composite", json={**asem_body(), "meta_csv": meta_csv}), 422
    )
    assert ["body", "meta_csv", 2, "Parent"] in [e["loc"] for e in body["errors"]]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"data_csv": "uCode\nA\n"}, "body"),  # both data and data_csv
        ({"normalisation": {"method": "minmax", "low": True}}, "low"),
        ({"normalisation": {"method": "nope"}}, "method"),
        ({"threshold": 2.0}, "threshold"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_request_validation(api: ApiClient, change: dict[str, Any], where: str) -> None:
    body = assert_problem(api.post("/v1/composite", json=slice_body(**change)), 422)
    assert any(where in [str(p) for p in e["loc"]] for e in body["errors"]), body


def test_nan_and_bool_values_rejected(api: ApiClient) -> None:
    raw = (
        b'{"data": {"units": ["A", "B"], "columns": {"X": [1.0, NaN]}},'
        b' "meta": [{"level": 1, "code": "X", "parent": "R"}, {"level": 2, "code": "R"}]}'
    )
    body = assert_problem(
        api.post("/v1/composite", content=raw, headers={"content-type": "application/json"}),
        422,
    )
    assert body["errors"][0]["loc"][:4] == ["body", "data", "columns", "X"]
    b = slice_body()
    b["data"]["columns"]["LPI"] = [True, 1.0, 2.0]
    assert_problem(api.post("/v1/composite", json=b), 422)
    b = slice_body()
    b["meta"][0]["weight"] = 0
    assert_problem(api.post("/v1/composite", json=b), 422)


def robustness_body(**extra: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bands": BANDS,
        "normalisation": {"method": "minmax", "low": 1, "high": 100},
        "uncertainty": {
            "weight_noise": 0.3,
            "aggregations": [{"method": "arithmetic"}, {"method": "geometric"}],
            "exclusion_level": 1,
        },
        "replications": 200,
        "seed": 7,
        "sensitivity_samples": 32,
    }
    return asem_body(**{**options, **extra})


def test_robustness_on_asem_is_reproducible(api: ApiClient) -> None:
    r1 = api.post("/v1/composite/robustness", json=robustness_body())
    assert r1.status_code == 200, r1.text
    r2 = api.post("/v1/composite/robustness", json=robustness_body())
    assert r1.content == r2.content
    body = r1.json()
    assert body["target"] == "Index"
    assert body["factors"] == ["weights", "aggregation", "exclusion"]
    assert body["sensitivity"]["factors"] == body["factors"]
    assert len(body["units"]) == 51
    nominal = api.post(
        "/v1/composite", json=asem_body(normalisation={"method": "minmax", "low": 1})
    ).json()
    by_unit = {u["unit"]: u for u in nominal["units"]}
    for u in body["units"]:
        assert u["nominal_score"] == pytest.approx(by_unit[u["unit"]]["scores"]["Index"], 1e-13)
        assert u["nominal_rank"] == by_unit[u["unit"]]["ranks"]["Index"]
        assert sum(u["grade_probability"].values()) == pytest.approx(1.0)
        assert u["score"]["p5"] <= u["score"]["median"] <= u["score"]["p95"]
        assert u["rank"]["p5"] <= u["rank"]["median"] <= u["rank"]["p95"]
    r3 = api.post("/v1/composite/robustness", json=robustness_body(seed=8))
    assert r3.status_code == 200
    assert r3.content != r1.content


def test_robustness_limits(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from indicator_service.composite import service

    # 200 + 32 · 5 runs × 51 units × 49 indicators = 899,640 units of work
    monkeypatch.setattr(service, "MAX_WORK", 899_639)
    body = assert_problem(api.post("/v1/composite/robustness", json=robustness_body()), 422)
    assert "too much work" in body["detail"]
    monkeypatch.setattr(service, "MAX_WORK", 899_640)
    assert api.post("/v1/composite/robustness", json=robustness_body()).status_code == 200
    body = assert_problem(
        api.post("/v1/composite/robustness", json=robustness_body(target="Nope")), 422
    )
    assert body["errors"][0]["loc"] == ["body", "target"]
