"""GET /v1/standards/resolve over catalogue documents (the lookup the scoring API reads)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from indicator_service.app import create_app
from indicator_service.catalogue.source import NamespaceDoc
from indicator_service.scoring.lookup import DocumentCatalogue
from tests.helpers import ApiClient, assert_problem, make_settings, use_documents

NS = NamespaceDoc.model_validate(
    {
        "namespace": "common",
        "kind": "common",
        "code_prefix": "COM",
        "name_zh": "共性指标",
        "name_en": "Common indicators",
        "owner": "test",
        "version": "1.0.0",
        "indicators": [
            {
                "code": "COM-01-001",
                "name_zh": "验收合格率",
                "name_en": "Acceptance pass rate",
                "value_type": "quantitative",
                "operator": "≥",
                "unit": "%",
            }
        ],
        "standards": [
            # national plan target, Beijing (110000) industry table, Dongcheng (110101) history
            {"indicator": "COM-01-001", "type": "plan", "value": 95, "unit": "%",
             "source": {"title": "年度绩效目标", "issuer": "test", "year": 2024}},
            {"indicator": "COM-01-001", "type": "industry", "levels": [99, 97, 95, 90, 80],
             "unit": "%", "region": "110000", "fiscal_year": 2025,
             "derivation": "P95/P75/P50/P25/P5 of 2024 peer values",
             "source": {"title": "行业统计", "issuer": "test", "year": 2024}},
            {"indicator": "COM-01-001", "type": "historical", "value": 96.5, "unit": "%",
             "region": "110101", "fiscal_year": 2024, "derivation": "actual value of 2024",
             "source": {"title": "历年评价", "issuer": "test", "year": 2024}},
        ],
    }
)  # fmt: skip


@pytest.fixture(scope="module")
def rapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    db = tmp_path_factory.mktemp("standards") / "unused.db"
    app: FastAPI = create_app(make_settings(f"sqlite:///{db}"))
    use_documents(app, DocumentCatalogue([], [NS]))
    client = ApiClient(app)
    yield client
    client.close()


def test_plan_wins_by_default_with_national_fallback(rapi: ApiClient) -> None:
    r = rapi.get(
        "/v1/standards/resolve",
        params={"indicator": "COM-01-001", "region": "110101", "fiscal_year": 2025},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["winner_type"] == "plan"
    assert body["winner_region"] == "000000"
    assert body["standard"]["value"] == 95.0
    assert body["regions"] == ["110101", "110100", "110000", "000000"]
    lost = {(c["type"], c["region"]): c["reason"] for c in body["candidates"]
            if c["outcome"] == "lost"}  # fmt: skip
    assert set(lost) == {("industry", "110000"), ("historical", "110101")}
    assert lost[("industry", "110000")].startswith("plan standard ranks above industry standard")
    assert "plan standard of region 000000 (National) used" in body["explanation"]


def test_precedence_and_order_change_the_winner(rapi: ApiClient) -> None:
    base = {"indicator": "COM-01-001", "region": "110101", "fiscal_year": 2025}
    r = rapi.get("/v1/standards/resolve", params={**base, "precedence": ["industry", "plan"]})
    body = r.json()
    assert body["winner_type"] == "industry"
    assert body["winner_region"] == "110000"
    assert body["standard"]["levels"] == [99.0, 97.0, 95.0, 90.0, 80.0]
    assert body["standard"]["source"]["title"] == "行业统计"
    assert body["standard"]["illustrative"] is False
    r = rapi.get("/v1/standards/resolve", params={**base, "order": "region_first"})
    body = r.json()
    assert body["winner_type"] == "historical"
    assert body["winner_region"] == "110101"
    assert body["standard"]["value"] == 96.5


def test_fiscal_year_filters_rows(rapi: ApiClient) -> None:
    # the industry row is for 2025 only: for 2024 the search finds no industry row
    r = rapi.get(
        "/v1/standards/resolve",
        params={"indicator": "COM-01-001", "region": "110000", "fiscal_year": 2024,
                "precedence": ["industry"]},
    )  # fmt: skip
    body = r.json()
    assert body["standard"] is None
    assert body["winner_type"] is None
    assert {c["outcome"] for c in body["candidates"]} == {"none"}


def test_unknown_indicator_is_404(rapi: ApiClient) -> None:
    problem = assert_problem(
        rapi.get("/v1/standards/resolve", params={"indicator": "NOPE-01-001"}), 404
    )
    assert problem["errors"][0]["loc"] == ["query", "indicator"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"region": "11010"}, "region"),
        ({"precedence": ["plan", "bogus"]}, "precedence"),
        ({"fiscal_year": "x"}, "fiscal_year"),
    ],
)
def test_bad_query_is_422(rapi: ApiClient, params: dict[str, object], field: str) -> None:
    r = rapi.get("/v1/standards/resolve", params={"indicator": "COM-01-001", **params})
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"][:2] == ["query", field]


def test_duplicate_precedence_is_422(rapi: ApiClient) -> None:
    r = rapi.get(
        "/v1/standards/resolve",
        params={"indicator": "COM-01-001", "precedence": ["plan", "plan"]},
    )
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["query", "precedence", 1]
