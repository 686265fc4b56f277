"""Scoring against YAML documents resolves a row's ``standard_type`` as the database catalogue
does: along the region chain and to the nearest earlier fiscal year (see
tests/catalogue/test_standard_parity.py for the row-by-row comparison)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from indicator_service.catalogue.source import NamespaceDoc
from indicator_service.scoring import receipts
from indicator_service.scoring.lookup import DocumentCatalogue
from indicator_service.scoring.schemas import ScoreRequest
from tests.helpers import ApiClient
from tests.scoring.frameworks import COMMON, WORKED_EXAMPLE, self_evaluation

#: COMMON's COM-02-001 industry rows (national without a year: 95; 330000 2024: 90) plus
#: Hangzhou (330100) rows for 2021 and 2023 and a later 2026 row.
HANGZHOU = [
    {
        "region": "330100",
        "fiscal_year": 2021,
        "value": 80,
        "source": {"title": "杭州 2021 (test)", "issuer": "test", "year": 2024},
    },
    {
        "region": "330100",
        "fiscal_year": 2023,
        "value": 85,
        "source": {"title": "杭州 2023 (test)", "issuer": "test", "year": 2024},
    },
    {
        "region": "330100",
        "fiscal_year": 2026,
        "value": 99,
        "source": {"title": "杭州 2026 (test)", "issuer": "test", "year": 2024},
    },
]


def _catalogue() -> DocumentCatalogue:
    doc = COMMON.model_dump(mode="json", exclude_none=True)
    doc["standards"] += [
        {"indicator": "COM-02-001", "type": "industry", "unit": "%", **row} for row in HANGZHOU
    ]
    return DocumentCatalogue([self_evaluation()], [NamespaceDoc.model_validate(doc)])


def _sat(region: str, fiscal_year: int) -> dict[str, Any]:
    body = copy.deepcopy(WORKED_EXAMPLE)
    body.update(region=region, fiscal_year=fiscal_year)  # the sat row asks for industry
    receipt = receipts.score(ScoreRequest.model_validate(body), _catalogue())
    leaf = next(lf for lf in receipt.leaves if lf.id == "sat")
    return {"target": leaf.target, **leaf.target_source.model_dump(exclude={"kind"})}


@pytest.mark.parametrize(
    ("region", "fiscal_year", "target", "std_region", "std_year", "source"),
    [
        # a Hangzhou district: the city's row of the nearest earlier year (2026 is later)
        ("330106", 2025, 85.0, "330100", 2023, "杭州 2023 (test)"),
        ("330106", 2022, 80.0, "330100", 2021, "杭州 2021 (test)"),
        ("330100", 2023, 85.0, "330100", 2023, "杭州 2023 (test)"),
        # another Zhejiang city: the province's 2024 row, also for a later year
        ("330206", 2025, 90.0, "330000", 2024, "浙江 2024 (test)"),
        # before any Hangzhou or Zhejiang year: the national row without a year
        ("330106", 2020, 95.0, "000000", None, "行业标准 (test)"),
        ("110105", 2024, 95.0, "000000", None, "行业标准 (test)"),
    ],
    ids=[
        "district-city-nearest-earlier",
        "district-city-older-year",
        "city-exact-year",
        "other-city-province",
        "before-any-year-national",
        "other-province-national",
    ],
)
def test_standard_type_follows_the_region_chain_and_earlier_years(
    region: str,
    fiscal_year: int,
    target: float,
    std_region: str,
    std_year: int | None,
    source: str,
) -> None:
    assert _sat(region, fiscal_year) == {
        "target": target,
        "standard_type": "industry",
        "region": std_region,
        "fiscal_year": std_year,
        "source": f"{source}（test, 2024）",  # the cited document, one line
    }


def test_score_api_with_documents_uses_the_parent_region_and_an_earlier_year(
    sapi: ApiClient,
) -> None:
    body = copy.deepcopy(WORKED_EXAMPLE)
    body.update(region="330106", fiscal_year=2025)  # no Hangzhou rows in the app's documents
    r = sapi.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    sat = next(lf for lf in r.json()["leaves"] if lf["id"] == "sat")
    assert sat["target"] == 90.0
    assert sat["target_source"] == {
        "kind": "standard",
        "standard_type": "industry",
        "region": "330000",
        "fiscal_year": 2024,
        "source": "浙江 2024 (test)（test, 2024）",  # the cited document, one line
    }
