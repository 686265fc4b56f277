# ruff: noqa: E501  (the YAML fixture keeps one standard per line)
"""Standard resolution precedence (region chain, years, validity) and import bump checks, on a
small namespace imported next to the seed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from indicator_service.catalogue import service
from indicator_service.catalogue.matching import StandardMatch
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from indicator_service.core.errors import Conflict, NotFound
from tests.helpers import ApiClient, assert_problem

DEMO = textwrap.dedent(
    """\
    namespace: demo_std
    kind: sector
    sector: health
    code_prefix: DMS
    name_zh: 标准演示
    name_en: Standards demo
    owner: test
    version: 1.0.0
    indicators:
      - {code: DMS-02-001, name_zh: 覆盖率, name_en: Coverage, value_type: quantitative,
         operator: '≥', unit: '%'}
      - {code: DMS-02-003, name_zh: 管理率, name_en: Management rate, value_type: quantitative,
         operator: '≥', unit: '%'}
      - {code: DMS-02-002, name_zh: 浓度, name_en: Concentration, value_type: quantitative,
         operator: '≤', unit: 'μg/m³'}
    standards:
      - {indicator: DMS-02-001, type: plan, value: 80, region: '000000', fiscal_year: 2023, source: {title: national 2023, issuer: test, year: 2024}}
      - {indicator: DMS-02-001, type: plan, value: 82, region: '110000', fiscal_year: 2023, source: {title: province 2023, issuer: test, year: 2024}}
      - {indicator: DMS-02-001, type: plan, value: 84, region: '110100', fiscal_year: 2022, source: {title: city 2022, issuer: test, year: 2024}}
      - {indicator: DMS-02-001, type: plan, value: 85, region: '110100', fiscal_year: 2020, source: {title: city 2020, issuer: test, year: 2024}}
      - {indicator: DMS-02-001, type: plan, value: 88, region: '110105', fiscal_year: 2024, source: {title: county 2024, issuer: test, year: 2024}}
      - {indicator: DMS-02-001, type: industry, value: 70, source: {title: national threshold, issuer: test, year: 2024}}
      - {indicator: DMS-02-001, type: plan, value: 90, region: '110000', fiscal_year: 2023, project_type: training, source: {title: province training 2023, issuer: test, year: 2024}}
      - {indicator: DMS-02-003, type: historical, value: 71, fiscal_year: 2021, source: {title: 2021年统计公报, issuer: test, year: 2022}}
      - {indicator: DMS-02-003, type: historical, value: 73, fiscal_year: 2022, source: {title: 2022年统计公报, issuer: test, year: 2023}}
      - {indicator: DMS-02-003, type: industry, levels: [80, 76, 73, 65, 60], illustrative: true, derivation: made up for the demo}
      - {indicator: DMS-02-003, type: professional, value: 70, region: '110000', source: {title: 专业标准, issuer: test, year: 2020}}
      - {indicator: DMS-02-002, type: professional, value: 35, valid_from: 2016-01-01, valid_to: 2025-12-31, source: {title: limit A, issuer: test, year: 2024}}
      - {indicator: DMS-02-002, type: professional, value: 25, valid_from: 2026-01-01, source: {title: limit B, issuer: test, year: 2024}}
    """
)


@pytest.fixture(scope="module")
def demo_engine(cat_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("demo")
    (folder / "demo.yaml").write_text(DEMO, encoding="utf-8")
    cat = load_catalogue(folder)
    assert cat.issues == []
    with database.session_scope(cat_engine) as session:
        service.import_catalogue(session, cat)
    return cat_engine


def _resolve(engine: Engine, code: str = "DMS-02-001", **kw: object) -> StandardMatch:
    args: dict[str, object] = {"type": "plan", "region": None, "fiscal_year": None, **kw}
    with database.session_scope(engine) as session:
        return service.resolve_standard(session, code, **args)  # type: ignore[arg-type]


def test_exact_region_beats_parent_beats_national(demo_engine: Engine) -> None:
    # county 110105 has only a 2024 row: for 2024 it wins
    m = _resolve(demo_engine, region="110105", fiscal_year=2024)
    assert (m.row.value, m.why[0]) == (88, "exact region 110105")
    # for 2023 the county row is from a later year; the city (110100) has 2022 and 2020 rows,
    # which beat the province's exact-year row because region comes first
    m = _resolve(demo_engine, region="110105", fiscal_year=2023)
    assert m.row.value == 84
    assert m.why[:2] == [
        "no row for region 110105: parent region 110100",
        "no row for 2023: nearest earlier year 2022",
    ]
    # another county in the same province: no city rows → province exact year
    m = _resolve(demo_engine, region="110228", fiscal_year=2023)
    assert (m.row.value, m.row.region) == (82, "110000")
    assert m.why[1] == "exact fiscal year 2023"
    # another province: national
    m = _resolve(demo_engine, region="320102", fiscal_year=2023)
    assert (m.row.value, m.row.region) == (80, "000000")
    assert [c.value for c in m.candidates] == [80]


def test_nearest_earlier_year_and_project_type(demo_engine: Engine) -> None:
    m = _resolve(demo_engine, region="110100", fiscal_year=2021)
    assert (m.row.value, m.row.fiscal_year) == (85, 2020)
    with pytest.raises(NotFound, match="no standard for DMS-02-001"):
        _resolve(demo_engine, region="110100", fiscal_year=2019)
    m = _resolve(demo_engine, region="110000", fiscal_year=2023, project_type="training")
    assert m.row.value == 90
    assert m.why[-2] == "project type training: exact"
    m = _resolve(demo_engine, region="110000", fiscal_year=2023, project_type="meeting")
    assert m.row.value == 82  # the training row does not apply to meetings


def test_validity_period_and_type_preference(demo_engine: Engine) -> None:
    m = _resolve(demo_engine, "DMS-02-002", type="professional", fiscal_year=2025)
    assert m.row.value == 35
    m = _resolve(demo_engine, "DMS-02-002", type="professional", fiscal_year=2026)
    assert m.row.value == 25
    assert "valid 2026-01-01 to …" in m.why
    # no type asked: plan is preferred over industry at the same region/year rank
    m = _resolve(demo_engine, type=None, region="320102", fiscal_year=2023)
    assert (m.row.type, m.row.value) == ("plan", 80)
    m = _resolve(demo_engine, type="industry", region="320102", fiscal_year=2023)
    assert (m.row.value, m.why[1]) == (70, "no row for 2023 or an earlier year: row without a year")


def test_lookup_endpoint_for_regional_rows(demo_engine: Engine, cat_api: ApiClient) -> None:
    r = cat_api.get(
        "/v1/indicators/DMS-02-001/standard",
        params={"type": "plan", "region": "110105", "fiscal_year": 2024},
    )
    assert r.status_code == 200
    assert r.json()["match"]["source"]["title"] == "county 2024"
    assert_problem(
        cat_api.get("/v1/indicators/DMS-02-001/standard", params={"type": "historical"}), 404
    )


def test_historical_rows_serve_later_years_only(demo_engine: Engine) -> None:
    # for 2023 the latest actual value before it (2022); for 2022 its own value is not used
    m = _resolve(demo_engine, "DMS-02-003", type="historical", fiscal_year=2023)
    assert (m.row.value, m.row.fiscal_year) == (73, 2022)
    assert m.why[1] == (
        "historical: actual value of 2022, the latest year before 2023 "
        "(a year's own value is not its standard)"
    )
    m = _resolve(demo_engine, "DMS-02-003", type="historical", fiscal_year=2022)
    assert (m.row.value, m.row.fiscal_year) == (71, 2021)
    with pytest.raises(NotFound):
        _resolve(demo_engine, "DMS-02-003", type="historical", fiscal_year=2021)


def test_illustrative_rows_only_on_request(demo_engine: Engine, cat_api: ApiClient) -> None:
    with pytest.raises(NotFound):
        _resolve(demo_engine, "DMS-02-003", type="industry", fiscal_year=2024)
    m = _resolve(
        demo_engine, "DMS-02-003", type="industry", fiscal_year=2024, include_illustrative=True
    )
    assert (m.row.levels, m.row.illustrative) == ([80, 76, 73, 65, 60], True)
    assert "illustrative: no public document gives this value (included on request)" in m.why
    # no type asked: the illustrative industry row is skipped and said so
    m = _resolve(demo_engine, "DMS-02-003", type=None, fiscal_year=2024)
    assert (m.row.type, m.row.value) == ("historical", 73)
    assert (
        "1 illustrative row(s) not used (no public document gives them; "
        "include_illustrative=true to use them)"
    ) in m.why
    url = "/v1/indicators/DMS-02-003/standard"
    assert_problem(cat_api.get(url, params={"type": "industry"}), 404)
    r = cat_api.get(url, params={"type": "industry", "include_illustrative": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["match"]["illustrative"] is True
    assert r.json()["match"]["source"] is None
    listed = cat_api.get("/v1/indicators/DMS-02-003").json()["standards"]
    assert sorted((s["type"], s["illustrative"]) for s in listed) == [
        ("historical", False),
        ("historical", False),
        ("industry", True),
        ("professional", False),
    ]
    # the resolver: never the illustrative row unless asked, and then marked as such
    params = {"indicator": "DMS-02-003", "precedence": ["industry"], "fiscal_year": 2024}
    r = cat_api.get("/v1/standards/resolve", params=params)
    assert r.status_code == 200, r.text
    assert r.json()["standard"] is None
    r = cat_api.get("/v1/standards/resolve", params={**params, "include_illustrative": "true"})
    assert r.json()["standard"]["illustrative"] is True
    assert r.json()["standard"]["levels"] == [80, 76, 73, 65, 60]


def test_auto_resolution_reaches_professional_and_names_the_year(
    demo_engine: Engine, cat_api: ApiClient
) -> None:
    from indicator_service.scoring.lookup import DatabaseCatalogue, allow_drafts
    from indicator_service.standards.service import (
        catalogue_lookup,
        resolution_to_dict,
        resolve_standard_with_precedence,
    )

    with database.session_scope(demo_engine) as session:
        res = resolve_standard_with_precedence(
            catalogue_lookup(session), "DMS-02-003", region="110105", fiscal_year=2024
        )
        out = resolution_to_dict(res, "DMS-02-003", 2024)
        # plan → industry → professional → historical: the Beijing professional row wins over
        # the historical one; the illustrative industry row is never a candidate
        assert (out["winner_type"], out["winner_region"]) == ("professional", "110000")
        assert out["explanation"].endswith("; a row without a year (no row for 2024)")
        lost = [c for c in out["candidates"] if c["outcome"] == "lost"]
        assert [(c["type"], c["reason"]) for c in lost] == [
            (
                "historical",
                "professional standard ranks above historical standard in the precedence "
                "plan standard → industry standard → professional standard → historical standard",
            )
        ]
        assert not [c for c in out["candidates"] if c["type"] == "industry" and c["standard"]]
        hist = resolve_standard_with_precedence(
            catalogue_lookup(session), "DMS-02-003", fiscal_year=2024, precedence=["historical"]
        )
        assert hist.explanation.endswith(
            "; actual value of 2022, not 2024 (the latest year available)"
        )
        # the scoring's lookup (auto) gives the same row
        from indicator_service.scoring.lookup import find_standard

        hit = find_standard(
            DatabaseCatalogue(session, drafts=allow_drafts), "DMS-02-003", "auto", "110105", 2024
        )
        assert hit is not None
        assert (hit.type, hit.value) == ("professional", 70)


def test_import_checks_the_bump_against_the_previous_version(
    demo_engine: Engine, tmp_path: Path
) -> None:
    # 1.0.1 drops an indicator: a removal needs a major version
    removed = DEMO.replace("version: 1.0.0", "version: 1.0.1")
    cut = removed.index("  - {code: DMS-02-002")
    end = removed.index("standards:")
    removed = removed[:cut] + removed[end:]
    removed = "\n".join(
        ln for ln in removed.splitlines() if "DMS-02-002" not in ln or "code:" in ln
    )
    folder = tmp_path / "v101"
    folder.mkdir()
    (folder / "demo.yaml").write_text(removed + "\n", encoding="utf-8")
    cat = load_catalogue(folder)
    assert cat.issues == []
    with (
        pytest.raises(Conflict, match=r"require a major bump .*publish as 2\.0\.0"),
        database.session_scope(demo_engine) as session,
    ):
        service.import_catalogue(session, cat)
    (folder / "demo.yaml").write_text(
        removed.replace("version: 1.0.1", "version: 2.0.0") + "\n", encoding="utf-8"
    )
    with database.session_scope(demo_engine) as session:
        report = service.import_catalogue(session, load_catalogue(folder))
    assert report.created == ["namespace demo_std 2.0.0"]
    with database.session_scope(demo_engine) as session:
        assert service.get_namespace(session, "demo_std").latest_published == "2.0.0"
        old = service.get_indicator(session, "DMS-02-002", "1.0.0")
        assert old.namespace_version == "1.0.0"
        with pytest.raises(NotFound):
            service.get_indicator(session, "DMS-02-002")
