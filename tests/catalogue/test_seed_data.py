"""The seed catalogue's data: twelve sector libraries that a bureau can cite (issue #19, items 1,
2, 3 and 6). These check the data in catalog/, not the validator's rules (test_validation.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from indicator_service.catalogue.validation import Catalogue, load_catalogue
from tests.paths import CATALOG_DIR

#: namespace → the 类 of the budget's functional classification it follows
SECTOR_LIBRARIES = {
    "general_public_services": "201 一般公共服务",
    "education": "205 教育",
    "science_technology": "206 科学技术",
    "culture_tourism_sports": "207 文化旅游体育与传媒",
    "social_security": "208 社会保障和就业",
    "health": "210 卫生健康",
    "environment": "211 节能环保",
    "urban_rural_community": "212 城乡社区",
    "agriculture_rural": "213 农林水",
    "transport": "214 交通运输",
    "natural_resources": "220 自然资源海洋气象",
    "housing_security": "221 住房保障",
}
OUTPUT_CLASSES = {"数量指标", "质量指标", "时效指标", "成本指标"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    cat = load_catalogue(CATALOG_DIR)
    assert [str(i) for i in cat.issues] == []
    return cat


def _yaml_files() -> list[Path]:
    return sorted(CATALOG_DIR.rglob("*.yaml"))


def _namespaces(cat: Catalogue) -> dict[str, Any]:
    return {ns.namespace: ns for _s, ns in cat.namespaces}


def _citations(cat: Catalogue) -> Iterator[tuple[str, Any]]:
    for _s, ns in cat.namespaces:
        if ns.source is not None:
            yield ns.namespace, ns.source
        for ind in ns.indicators:
            yield ind.code, ind.source
        for row in ns.standards:
            if row.source is not None:
                yield f"{row.indicator} {row.type}", row.source
    for _s, fw in cat.frameworks:
        yield fw.framework, fw.source


def test_twelve_sector_libraries_cover_every_class(catalogue: Catalogue) -> None:
    namespaces = _namespaces(catalogue)
    assert set(namespaces) == {"common", *SECTOR_LIBRARIES}
    for code in SECTOR_LIBRARIES:
        ns = namespaces[code]
        assert ns.kind == "sector"
        assert len(ns.indicators) >= 15, code
        classes = {(i.class_l1, i.class_l2) for i in ns.indicators}
        assert {c for l1, c in classes if l1 == "产出"} >= OUTPUT_CLASSES, code
        assert any(l1 == "效益" for l1, _c in classes), code
        assert any(l1 == "满意度" for l1, _c in classes), code
        for ind in ns.indicators:
            assert ind.name_zh, ind.code
            assert ind.name_en, ind.code
            assert ind.operator, ind.code
            assert ind.data_source or ind.collection_method == "survey", ind.code
            if ind.value_type == "quantitative":
                assert ind.unit, ind.code
                assert ind.formula, ind.code


def test_every_entry_cites_a_public_document(catalogue: Catalogue) -> None:
    cited = list(_citations(catalogue))
    assert len(cited) > 200
    for where, source in cited:
        assert source is not None, where
        assert source.title, where
        assert source.issuer, where
        assert source.year, where
        assert "待核实" not in source.issuer, where  # the mechanical placeholders are gone
    for path in _yaml_files():
        text = path.read_text(encoding="utf-8")
        assert "domain.md" not in text, path.name
        assert "§7" not in text, path.name


def test_standards_carry_a_source_or_say_they_are_illustrative(catalogue: Catalogue) -> None:
    rows = [row for _s, ns in catalogue.namespaces for row in ns.standards]
    for row in rows:
        if row.illustrative:
            assert row.derivation, row.indicator
        else:
            assert row.source is not None, row.indicator
    # the unnamed province's 2023 health targets are not national standards
    health_2023 = [r for r in rows if r.indicator.startswith("HLT-02") and r.fiscal_year == 2023]
    assert health_2023
    assert all(r.illustrative for r in health_2023)


def test_scopes_follow_the_documents(catalogue: Catalogue) -> None:
    rows = [row for _s, ns in catalogue.namespaces for row in ns.standards]
    cited = [r for r in rows if not r.illustrative]
    # historical rows are actual values measured before the document reporting them was issued
    historical = [r for r in cited if r.type == "historical"]
    assert len(historical) >= 20
    for r in historical:
        assert r.fiscal_year is not None, r.indicator
        assert r.source is not None, r.indicator
        assert r.source.year is not None, r.indicator
        assert r.fiscal_year < r.source.year, r.indicator
    # multi-year plan targets carry the plan period, not a fiscal year
    for r in cited:
        if r.type == "plan" and r.fiscal_year is None:
            assert r.valid_from is not None, r.indicator
            assert r.valid_to is not None, r.indicator
    # project-specific quantities are not standards
    for indicator, value in (("TRN-01-001", 32.1), ("EDU-01-001", 2100), ("HLT-01-001", 142)):
        assert not [r for r in cited if r.indicator == indicator and r.value == value]
    # a share of roads in good condition cannot be required above 100 %
    too_high = [
        r for r in rows if r.unit == "%" and r.operator in ("≥", ">") and (r.value or 0) > 100
    ]
    assert too_high == []


def test_cost_indicators_do_not_reward_overspending(catalogue: Catalogue) -> None:
    costs = [
        ind
        for _s, ns in catalogue.namespaces
        for ind in ns.indicators
        if ind.class_l2 == "成本指标" or ind.class_l1 == "成本"
    ]
    assert len(costs) >= 12 * 1
    for ind in costs:
        if ind.operator == "=":
            assert ind.rule is not None, ind.code
            assert ind.rule["kind"] in ("two_sided", "band"), ind.code
        else:
            assert ind.operator in ("≤", "<"), ind.code
