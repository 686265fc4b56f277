"""Precedence and regional fallback over a fake catalogue lookup."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicator_service.standards.resolve import (
    Order,
    ResolutionError,
    region_chain,
    resolve,
)

CITATION = {"title": "行业统计", "issuer": "test", "year": 2024}


def _lookup(rows: dict[tuple[str, str], dict[str, Any]]) -> Any:
    calls: list[tuple[str, str]] = []

    def lookup(type_: str, region: str) -> dict[str, Any] | None:
        calls.append((type_, region))
        return rows.get((type_, region))

    lookup.calls = calls  # type: ignore[attr-defined]
    return lookup


def _row(id_: int, type_: str, region: str, value: float) -> dict[str, Any]:
    return {"id": id_, "type": type_, "region": region, "value": value}


def test_region_chain() -> None:
    assert region_chain("110105") == ["110105", "110100", "110000", "000000"]
    assert region_chain("110100") == ["110100", "110000", "000000"]
    assert region_chain("110000") == ["110000", "000000"]
    assert region_chain("000000") == ["000000"]
    with pytest.raises(ResolutionError) as e:
        region_chain("1101")
    assert e.value.loc == ("region",)


def test_type_first_national_plan_beats_county_industry() -> None:
    rows = {
        ("industry", "110105"): _row(1, "industry", "110105", 80.0),
        ("plan", "000000"): _row(2, "plan", "000000", 90.0),
        ("historical", "110100"): _row(3, "historical", "110100", 70.0),
    }
    res = resolve(_lookup(rows), region="110105")
    assert res.winner == rows[("plan", "000000")]
    assert (res.winner_type, res.winner_region) == ("plan", "000000")
    # 4 types (plan → industry → professional → historical) × 4 regions: 16 candidates
    assert len(res.candidates) == 16
    won = [c for c in res.candidates if c.outcome == "won"]
    lost = [c for c in res.candidates if c.outcome == "lost"]
    assert len(won) == 1
    assert "no plan standard for the narrower region(s) 110105, 110100, 110000" in won[0].reason
    assert {(c.row or {})["id"] for c in lost} == {1, 3}
    assert all("plan standard ranks above" in c.reason for c in lost)
    assert "plan standard of region 000000 (National) used" in res.explanation


def test_region_first_most_specific_region_wins() -> None:
    rows = {
        ("industry", "110105"): _row(1, "industry", "110105", 80.0),
        ("plan", "000000"): _row(2, "plan", "000000", 90.0),
    }
    res = resolve(_lookup(rows), region="110105", order="region_first")
    assert res.winner_type == "industry"
    assert res.winner_region == "110105"
    assert res.order is Order.region_first
    lost = next(c for c in res.candidates if c.outcome == "lost")
    assert (lost.row or {})["id"] == 2
    assert "region 110105 is more specific than 000000" in lost.reason


def test_precedence_is_configurable_and_fallback_can_be_off() -> None:
    rows = {
        ("plan", "110000"): _row(1, "plan", "110000", 90.0),
        ("historical", "110105"): _row(2, "historical", "110105", 85.0),
    }
    res = resolve(_lookup(rows), region="110105", precedence=["historical", "plan"])
    assert res.winner_type == "historical"
    assert res.winner_region == "110105"
    # without fallback only the county is searched: the province plan row is not a candidate
    lookup = _lookup(rows)
    res2 = resolve(lookup, region="110105", precedence=["plan"], fallback=False)
    assert res2.winner is None
    assert lookup.calls == [("plan", "110105")]
    assert res2.explanation == "no plan standard for region 110105"


def test_a_lookup_that_falls_back_by_itself_counts_at_the_rows_own_region() -> None:
    row = _row(7, "plan", "000000", 90.0)

    def lookup(type_: str, region: str) -> dict[str, Any] | None:
        return row if type_ == "plan" else None  # answers the national row for every region

    res = resolve(lookup, region="110105", precedence=["plan"])
    assert res.winner_region == "000000"
    assert [(c.region, c.outcome) for c in res.candidates] == [
        ("110105", "none"), ("110100", "none"), ("110000", "none"), ("000000", "won"),
    ]  # fmt: skip
    # region_first with a county industry row: the national plan row must not win at county level
    rows = {("industry", "110105"): _row(8, "industry", "110105", 80.0)}

    def lookup2(type_: str, region: str) -> dict[str, Any] | None:
        return row if type_ == "plan" else rows.get((type_, region))

    res2 = resolve(lookup2, region="110105", order="region_first")
    assert res2.winner_type == "industry"
    assert res2.winner_region == "110105"


@pytest.mark.parametrize(
    ("precedence", "loc"),
    [
        ([], ("precedence",)),
        (["plan", "bogus"], ("precedence", 1)),
        (["plan", "plan"], ("precedence", 1)),
    ],
)
def test_bad_precedence(precedence: list[str], loc: tuple[object, ...]) -> None:
    with pytest.raises(ResolutionError) as e:
        resolve(lambda t, r: None, precedence=precedence)
    assert e.value.loc == loc


def test_service_binds_indicator_and_year_and_reports_rows() -> None:
    from dataclasses import dataclass

    from indicator_service.standards.service import (
        resolution_to_dict,
        resolve_standard_with_precedence,
    )

    @dataclass(frozen=True)
    class Hit:  # the shape of the scoring service's StandardHit
        value: float | None
        levels: list[float] | None
        unit: str | None
        type: str
        region: str
        fiscal_year: int | None
        source: dict[str, object]

    calls: list[tuple[str, str, str, int | None]] = []

    def lookup(ind: str, type_: str, region: str, fy: int | None) -> Hit | None:
        calls.append((ind, type_, region, fy))
        if type_ == "industry" and region in ("110000", "000000"):
            # a lookup that itself falls back to the national row when asked for 000000
            return Hit(85.0, None, "%", "industry", region, fy, CITATION)
        return None

    res = resolve_standard_with_precedence(lookup, "GEN001", region="110105", fiscal_year=2025)
    assert {c[0] for c in calls} == {"GEN001"}
    assert {c[3] for c in calls} == {2025}
    out = resolution_to_dict(res, "GEN001", 2025)
    assert out["standard"] == {
        "type": "industry", "value": 85.0, "levels": None, "unit": "%", "region": "110000",
        "fiscal_year": 2025, "source": CITATION,
    }  # fmt: skip
    assert out["winner_region"] == "110000"
    outcomes = [(c["type"], c["region"], c["outcome"]) for c in out["candidates"]]
    assert ("industry", "000000", "lost") in outcomes
    assert ("plan", "110105", "none") in outcomes
    lost = next(c for c in out["candidates"] if c["outcome"] == "lost")
    assert lost["reason"] == "region 110000 is more specific than 000000 (national level)"


def test_row_to_dict_reads_catalogue_table_rows() -> None:
    from datetime import date

    from indicator_service.catalogue.models import CatalogueStandard
    from indicator_service.standards.service import row_to_dict

    row = CatalogueStandard(
        id=4, namespace_version_id=1, position=0, indicator_code="GEN001", type="industry",
        region="110000", fiscal_year=2025, valid_from=date(2025, 1, 1),
        data={"indicator": "GEN001", "type": "industry", "levels": [5, 4, 3, 2, 1], "unit": "%",
              "region": "110000", "source": CITATION, "derivation": "P95/P75/P50/P25/P5"},
    )  # fmt: skip
    assert row_to_dict(row) == {
        "id": 4, "indicator": "GEN001", "type": "industry", "levels": [5, 4, 3, 2, 1],
        "unit": "%", "region": "110000", "fiscal_year": 2025, "valid_from": "2025-01-01",
        "derivation": "P95/P75/P50/P25/P5", "source": CITATION,
    }  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.sets(
        st.tuples(
            st.sampled_from(["plan", "industry", "historical"]),
            st.sampled_from(["110105", "110100", "110000", "000000"]),
        )
    ),
    st.sampled_from(["type_first", "region_first"]),
)
def test_winner_is_the_first_present_pair_in_search_order(
    present: set[tuple[str, str]], order: str
) -> None:
    rows = {(t, r): _row(i, t, r, float(i)) for i, (t, r) in enumerate(sorted(present))}
    res = resolve(_lookup(rows), region="110105", order=order)
    types, regions = ["plan", "industry", "historical"], ["110105", "110100", "110000", "000000"]
    pairs = (
        [(t, r) for t in types for r in regions]
        if order == "type_first"
        else [(t, r) for r in regions for t in types]
    )
    first = next((p for p in pairs if p in present), None)
    if first is None:
        assert res.winner is None
    else:
        assert (res.winner_type, res.winner_region) == first
    assert sum(c.outcome == "won" for c in res.candidates) == (first is not None)
    assert sum(c.outcome == "lost" for c in res.candidates) == max(0, len(present) - 1)


def test_default_precedence_reaches_professional_before_historical() -> None:
    rows = {
        ("professional", "000000"): _row(1, "professional", "000000", 35.0),
        ("historical", "110105"): _row(2, "historical", "110105", 30.0),
    }
    res = resolve(_lookup(rows), region="110105")
    assert res.precedence == ("plan", "industry", "professional", "historical")
    assert res.winner == rows[("professional", "000000")]
    lost = next(c for c in res.candidates if c.outcome == "lost")
    assert lost.reason == (
        "professional standard ranks above historical standard in the precedence plan standard"
        " → industry standard → professional standard → historical standard"
    )


def test_explanation_names_the_year_used_when_it_differs() -> None:
    rows = {
        ("historical", "000000"): {**_row(1, "historical", "000000", 73.0), "fiscal_year": 2022}
    }
    res = resolve(_lookup(rows), precedence=["historical"], fiscal_year=2024)
    assert res.explanation.endswith("; actual value of 2022, not 2024 (the latest year available)")
    same = {("plan", "000000"): {**_row(2, "plan", "000000", 76.0), "fiscal_year": 2024}}
    assert "not 2024" not in resolve(_lookup(same), fiscal_year=2024).explanation
