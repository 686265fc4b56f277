# ruff: noqa: E501  (the YAML fixture keeps one standard per line)
"""The document catalogue (YAML, the offline CLI) and the database catalogue (the API) pick the
same standard row: the same namespace is loaded as documents and imported into the database,
and both lookups answer a table of contexts (region chain, years, validity)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indicator_service.catalogue import service
from indicator_service.catalogue.validation import Catalogue, load_catalogue
from indicator_service.core import database
from indicator_service.core.errors import NotFound
from indicator_service.scoring.lookup import DatabaseCatalogue, DocumentCatalogue, allow_drafts

PARITY = textwrap.dedent(
    """\
    namespace: parity_std
    kind: sector
    sector: health
    code_prefix: PTY
    name_zh: 标准一致性
    name_en: Standards parity
    owner: test
    version: 1.0.0
    indicators:
      - {code: PTY-01-001, name_zh: 区域, name_en: Regions, value_type: quantitative, operator: '≥', unit: '%'}
      - {code: PTY-01-002, name_zh: 年度, name_en: Years, value_type: quantitative, operator: '≥', unit: '%'}
      - {code: PTY-01-003, name_zh: 仅后续年度, name_en: Later year only, value_type: quantitative, operator: '≥', unit: '%'}
      - {code: PTY-01-004, name_zh: 有效期, name_en: Validity, value_type: quantitative, operator: '≤', unit: 'μg/m³'}
    standards:
      - {indicator: PTY-01-001, type: plan, value: 60, region: '000000', fiscal_year: 2024, source: {title: national 2024, issuer: test, year: 2024}}
      - {indicator: PTY-01-001, type: plan, value: 70, region: '110000', fiscal_year: 2024, source: {title: province 110000 2024, issuer: test, year: 2024}}
      - {indicator: PTY-01-001, type: plan, value: 75, region: '110100', fiscal_year: 2024, source: {title: city 110100 2024, issuer: test, year: 2024}}
      - {indicator: PTY-01-001, type: plan, value: 80, region: '110105', fiscal_year: 2024, source: {title: county 110105 2024, issuer: test, year: 2024}}
      - {indicator: PTY-01-001, type: industry, value: 99, region: '110108', fiscal_year: 2024, source: {title: county 110108 industry, issuer: test, year: 2024}}
      - {indicator: PTY-01-001, type: plan, value: 72, region: '320000', fiscal_year: 2024, source: {title: province 320000 2024, issuer: test, year: 2024}}
      - {indicator: PTY-01-002, type: plan, value: 50, source: {title: national without a year, issuer: test, year: 2024}}
      - {indicator: PTY-01-002, type: plan, value: 52, fiscal_year: 2020, source: {title: national 2020, issuer: test, year: 2024}}
      - {indicator: PTY-01-002, type: plan, value: 54, fiscal_year: 2022, source: {title: national 2022, issuer: test, year: 2024}}
      - {indicator: PTY-01-002, type: plan, value: 58, fiscal_year: 2026, source: {title: national 2026, issuer: test, year: 2024}}
      - {indicator: PTY-01-002, type: plan, value: 56, region: '110000', fiscal_year: 2021, source: {title: province 110000 2021, issuer: test, year: 2024}}
      - {indicator: PTY-01-003, type: plan, value: 40, fiscal_year: 2026, source: {title: national 2026 only, issuer: test, year: 2024}}
      - {indicator: PTY-01-004, type: professional, value: 35, valid_from: 2016-01-01, valid_to: 2025-12-31, source: {title: limit A, issuer: test, year: 2024}}
      - {indicator: PTY-01-004, type: professional, value: 25, valid_from: 2026-01-01, source: {title: limit B, issuer: test, year: 2024}}
      - {indicator: PTY-01-004, type: professional, value: 30, region: '110105', valid_to: 2023-12-31, source: {title: county limit, issuer: test, year: 2024}}
    """
)

REGIONS, YEARS, LATER, VALIDITY = "PTY-01-001", "PTY-01-002", "PTY-01-003", "PTY-01-004"

# (case, indicator, type, region, fiscal year, source of the expected row or None)
CASES: list[tuple[str, str, str, str, int | None, str | None]] = [
    ("exact region", REGIONS, "plan", "110105", 2024, "county 110105 2024"),
    ("parent city", REGIONS, "plan", "110108", 2024, "city 110100 2024"),
    ("parent province", REGIONS, "plan", "110228", 2024, "province 110000 2024"),
    ("other province", REGIONS, "plan", "320102", 2024, "province 320000 2024"),
    ("national fallback", REGIONS, "plan", "440305", 2024, "national 2024"),
    ("national asked", REGIONS, "plan", "000000", 2024, "national 2024"),
    ("another county's row is not used", REGIONS, "industry", "110105", 2024, None),
    ("exact year", YEARS, "plan", "000000", 2022, "national 2022"),
    ("nearest earlier of two years", YEARS, "plan", "000000", 2023, "national 2022"),
    ("nearest earlier, the older one", YEARS, "plan", "000000", 2021, "national 2020"),
    ("a later year is not used", YEARS, "plan", "000000", 2025, "national 2022"),
    ("year-less row as last resort", YEARS, "plan", "000000", 2019, "national without a year"),
    ("parent region before a closer year", YEARS, "plan", "110105", 2023, "province 110000 2021"),
    ("later-year-only row not used", LATER, "plan", "000000", 2024, None),
    ("later-year-only row in its year", LATER, "plan", "000000", 2026, "national 2026 only"),
    ("inside the first validity period", VALIDITY, "professional", "000000", 2025, "limit A"),
    ("outside it: the next period", VALIDITY, "professional", "000000", 2026, "limit B"),
    ("regional row still valid", VALIDITY, "professional", "110105", 2023, "county limit"),
    ("regional row expired: skipped", VALIDITY, "professional", "110105", 2024, "limit A"),
]


@pytest.fixture(scope="module")
def parity_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    folder = tmp_path_factory.mktemp("parity")
    (folder / "parity.yaml").write_text(PARITY, encoding="utf-8")
    cat = load_catalogue(folder)
    assert cat.issues == []
    return cat


@pytest.fixture(scope="module")
def documents(parity_catalogue: Catalogue) -> DocumentCatalogue:
    return DocumentCatalogue([], [ns for _, ns in parity_catalogue.namespaces])


@pytest.fixture(scope="module")
def parity_engine(cat_engine: Engine, parity_catalogue: Catalogue) -> Engine:
    with database.session_scope(cat_engine) as session:
        service.import_catalogue(session, parity_catalogue)
    return cat_engine


@pytest.fixture
def parity_session(parity_engine: Engine) -> Iterator[Session]:
    with database.session_scope(parity_engine) as session:
        yield session


@pytest.mark.parametrize(
    ("indicator", "type_", "region", "fiscal_year", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_document_and_database_catalogues_pick_the_same_row(
    documents: DocumentCatalogue,
    parity_session: Session,
    indicator: str,
    type_: str,
    region: str,
    fiscal_year: int | None,
    expected: str | None,
) -> None:
    offline = documents.standard(indicator, type_, region, fiscal_year)
    api = DatabaseCatalogue(parity_session, drafts=allow_drafts).standard(
        indicator, type_, region, fiscal_year
    )
    assert offline == api
    assert (offline.source if offline else None) == (
        None if expected is None else {"title": expected, "issuer": "test", "year": 2024}
    )
    # the database lookup behind it: the same row, or its NotFound
    if expected is None:
        with pytest.raises(NotFound, match=f"no standard for {indicator}"):
            service.resolve_standard(
                parity_session, indicator, type=type_, region=region, fiscal_year=fiscal_year
            )
    else:
        match = service.resolve_standard(
            parity_session, indicator, type=type_, region=region, fiscal_year=fiscal_year
        )
        assert match.row.source == {"title": expected, "issuer": "test", "year": 2024}


def test_the_hit_carries_the_row_it_came_from(documents: DocumentCatalogue) -> None:
    hit = documents.standard(YEARS, "plan", "110105", 2023)
    assert hit is not None
    assert (hit.value, hit.unit, hit.type, hit.region, hit.fiscal_year) == (
        56.0,
        None,
        "plan",
        "110000",
        2021,
    )
