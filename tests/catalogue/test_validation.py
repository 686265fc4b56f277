"""Validation reports every problem with file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from indicator_service.catalogue.source import normalise_operator, rule_problems
from indicator_service.catalogue.validation import (
    Catalogue,
    load_catalogue,
    parse_yaml,
    validate_documents,
)
from tests.paths import CATALOG_DIR

NS_HEAD = """\
namespace: demo
kind: sector
sector: health
code_prefix: DEM
name_zh: 演示
name_en: Demo
owner: test
version: 1.0.0
"""


def _ind(code: str, **extra: str) -> str:
    lines = [
        f"  - code: {code}",
        "    name_zh: 指标",
        "    name_en: Indicator",
        "    value_type: quantitative",
        f"    operator: '{extra.pop('operator', '≥')}'",
        f"    unit: '{extra.pop('unit', '%')}'",
    ]
    lines += [f"    {k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _check(*texts: str) -> Catalogue:
    docs, issues = [], []
    for n, text in enumerate(texts):
        doc, problems = parse_yaml(textwrap.dedent(text), f"doc{n}.yaml")
        issues += problems
        if doc is not None:
            docs.append(doc)
    return validate_documents(docs, issues)


def _messages(cat: Catalogue) -> list[str]:
    return [str(i) for i in cat.issues]


def test_seed_catalogue_validates() -> None:
    cat = load_catalogue(CATALOG_DIR)
    assert cat.issues == []
    namespaces = {ns.namespace: ns for _s, ns in cat.namespaces}
    assert set(namespaces) == {
        "common",
        "health",
        "education",
        "agriculture_rural",
        "transport",
        "environment",
        "general_public_services",
        "science_technology",
        "culture_tourism_sports",
        "social_security",
        "urban_rural_community",
        "natural_resources",
        "housing_security",
    }
    for code in set(namespaces) - {"common"}:
        assert len(namespaces[code].indicators) >= 15, code
    types = {s.type for ns in namespaces.values() for s in ns.standards}
    assert {"plan", "industry", "historical", "professional"} <= types
    # a row without a source says it is illustrative (and how it was made)
    assert all(s.source or s.illustrative for ns in namespaces.values() for s in ns.standards)
    assert any(s.levels for s in namespaces["health"].standards)  # efficacy table
    frameworks = {fw.framework: fw for _s, fw in cat.frameworks}
    assert set(frameworks) == {"PRJ-2020", "SELF-EVAL", "SELF-EVAL-2021", "DEPT-OVERALL"}
    self_eval = {n.code: n for n in frameworks["SELF-EVAL"].nodes}
    assert [(c, self_eval[c].points) for c in ("EXEC", "OUT", "BEN", "SAT")] == [
        ("EXEC", 10),
        ("OUT", 50),
        ("BEN", 30),
        ("SAT", 10),
    ]
    assert self_eval["OUT"].open
    assert self_eval["BEN.SUS"].open


def test_duplicate_codes_reported_with_both_lines() -> None:
    text = NS_HEAD + "indicators:\n" + _ind("DEM-01-001") + _ind("DEM-01-001")
    msgs = _messages(_check(text))
    # the second entry starts at line 16 (9 header lines + "indicators:" + 6 lines each)
    assert msgs == ["doc0.yaml:16: duplicate indicator code DEM-01-001 (first at line 10)"]


def test_duplicate_yaml_keys() -> None:
    text = NS_HEAD + "owner: again\n"
    assert _messages(_check(text)) == ["doc0.yaml:9: duplicate key 'owner' (first at line 7)"]


def test_dangling_parent_and_cycle() -> None:
    text = (
        NS_HEAD
        + "indicators:\n"
        + _ind("DEM-01-001", level="2", parent="DEM-01-009")
        + _ind("DEM-01-002", level="2", parent="DEM-01-003")
        + _ind("DEM-01-003", level="2", parent="DEM-01-002")
    )
    msgs = _messages(_check(text))
    assert "doc0.yaml:17: indicator DEM-01-001: parent DEM-01-009 does not exist" in msgs
    assert any("parent cycle: DEM-01-002 → DEM-01-003 → DEM-01-002" in m for m in msgs)


def test_unknown_unit_and_operator_and_bad_rule() -> None:
    text = (
        NS_HEAD
        + "indicators:\n"
        + _ind("DEM-01-001", unit="furlong")
        + _ind("DEM-01-002", operator="=>")
        + _ind("DEM-01-003", rule="{kind: deduction, threshold: high}")
    )
    msgs = _messages(_check(text))
    assert any(
        m.startswith("doc0.yaml:15: indicators.0.unit: unknown unit 'furlong'") for m in msgs
    )
    assert any(
        m.startswith("doc0.yaml:20: indicators.1.operator: unknown operator '=>'") for m in msgs
    )
    assert any(
        m.startswith("doc0.yaml:28: indicators.2.rule:")
        and "parameter 'threshold' must be number" in m
        and "missing parameter 'per_unit'" in m
        for m in msgs
    )


SRC = "source: {title: x, issuer: test, year: 2024}"


def test_standard_without_source_and_unknown_type() -> None:
    text = (
        NS_HEAD
        + "indicators:\n"
        + _ind("DEM-01-001")
        + "standards:\n"
        + "  - {indicator: DEM-01-001, type: plan, value: 90}\n"
        + "  - {indicator: DEM-01-001, type: guess, value: 90, "
        + SRC
        + "}\n"
        + "  - {indicator: DEM-01-404, type: plan, value: 90, "
        + SRC
        + "}\n"
    )
    msgs = _messages(_check(text))
    assert (
        "doc0.yaml:17: standards.0: a standard needs a source (a public document: title, issuer,"
        " year …); a value no document gives is marked illustrative: true with a derivation"
    ) in msgs
    assert any(m.startswith("doc0.yaml:18: standards.1.type: Input should be") for m in msgs)
    # cross-document checks run on documents that passed their own validation
    valid = text.replace(
        "type: plan, value: 90}",
        "type: plan, value: 90, source: {title: x, issuer: test, year: 2024}}",
    ).replace("type: guess", "type: other")
    assert _messages(_check(valid)) == ["doc0.yaml:19: standard for unknown indicator DEM-01-404"]


FW = """\
framework: DEMO-FW
name_zh: 演示
name_en: Demo
kind: project
version: 1.0.0
requires: {demo: 1.0.0}
"""


def test_framework_points_bands_and_references() -> None:
    ns = NS_HEAD + "indicators:\n" + _ind("DEM-01-001")
    fw = (
        FW
        + "bands:\n"
        + "  - {grade: A, name_en: a, min: 85, max: 100}\n"
        + "  - {grade: B, name_en: b, min: 60, max: 80}\n"
        + "  - {grade: C, name_en: c, min: 10, max: 60}\n"
        + "nodes:\n"
        + "  - {code: X, level: 1, name_zh: 甲, name_en: X, points: 60}\n"
        + "  - {code: X.1, parent: X, level: 2, name_zh: 甲1, name_en: X1, points: 50,"
        + " indicator: DEM-01-001}\n"
        + "  - {code: Y, level: 1, name_zh: 乙, name_en: Y, points: 30, indicator: DEM-09-009}\n"
        + "  - {code: Z.1, parent: Q, level: 2, name_zh: 丙, name_en: Z, points: 0,"
        + " rule: {kind: equal}}\n"
    )
    msgs = _messages(_check(ns, fw))
    assert "doc1.yaml:10: bands must start at 0 (lowest band C starts at 10)" in msgs
    assert "doc1.yaml:8: bands: gap between B (max 80) and A (min 85)" in msgs
    assert any(m.startswith("doc1.yaml:11: level-1 points add up to 90, not 100") for m in msgs)
    assert "doc1.yaml:12: node X has 60 points but its children add up to 50" in msgs
    assert any(
        m.startswith("doc1.yaml:14: node Y: indicator DEM-09-009 is not in any required")
        for m in msgs
    )
    assert "doc1.yaml:15: node Z.1: parent Q does not exist" in msgs


def test_overlapping_bands_and_missing_required_namespace() -> None:
    fw = (
        FW
        + "bands:\n"
        + "  - {grade: A, name_en: a, min: 0, max: 70}\n"
        + "  - {grade: B, name_en: b, min: 60, max: 100}\n"
        + "nodes:\n"
        + "  - {code: X, level: 1, name_zh: 甲, name_en: X, points: 100, rule: {kind: equal}}\n"
    )
    msgs = _messages(_check(fw))
    assert "doc0.yaml:6: requires demo 1.0.0, which is not in the catalogue" in msgs
    assert "doc0.yaml:9: bands: A and B overlap (60–70)" in msgs


def test_framework_node_cycle_and_constraint() -> None:
    fw = (
        FW.replace("requires: {demo: 1.0.0}\n", "")
        + "constraints:\n"
        + "  - {nodes: [A], min: 60}\n"
        + "nodes:\n"
        + "  - {code: A, level: 1, name_zh: 甲, name_en: A, points: 50, rule: {kind: equal}}\n"
        + "  - {code: B, level: 1, name_zh: 乙, name_en: B, points: 50}\n"
        + "  - {code: C, parent: D, level: 2, name_zh: 丙, name_en: C, points: 50}\n"
        + "  - {code: D, parent: C, level: 2, name_zh: 丁, name_en: D, points: 50}\n"
    )
    msgs = _messages(_check(fw))
    assert "doc0.yaml:7: A = 50 points, below the required 60" in msgs
    assert any("parent cycle: C → D → C" in m for m in msgs)
    assert any(m.startswith("doc0.yaml:10: node B is a leaf without an indicator") for m in msgs)


def test_yaml_syntax_error_and_unknown_document(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("namespace: [unclosed\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("something: else\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("operator: =\n", encoding="utf-8")
    cat = load_catalogue(tmp_path)
    msgs = _messages(cat)
    name = tmp_path.name
    assert any(m.startswith(f"{name}/a.yaml:2: YAML syntax error") for m in msgs)
    assert (
        f"{name}/b.yaml:1: unknown document: expected a top-level 'namespace' or 'framework' key"
        in msgs
    )
    assert any(
        m.startswith(f"{name}/c.yaml:1: bad value") and "quote the operator" in m for m in msgs
    )


@pytest.mark.parametrize(
    ("raw", "expected"), [(">=", "≥"), ("<=", "≤"), ("≥", "≥"), ("qualitative", "定性"), ("=", "=")]
)
def test_operator_normalisation(raw: str, expected: str) -> None:
    assert normalise_operator(raw) == expected


def test_rule_problems() -> None:
    assert rule_problems({"kind": "lower_better", "variant": "inverse"}) == []
    assert rule_problems({"kind": "lower_better", "variant": "b"}) == [
        "rule lower_better: parameter 'variant' must be linear|inverse, got 'b'"
    ]
    assert rule_problems({"kind": "efficacy", "levels": [100, 80, 90, 40, 20]}) == [
        "rule efficacy: levels must be strictly monotonic (优秀 … 较差)"
    ]
    assert rule_problems({"kind": "magic"})[0].startswith("unknown rule kind 'magic'")
    level = {"name_zh": "级", "name_en": "level", "default": 0.9}
    overlapping = [
        {"code": "a", "min": 0.7, "max": 1.0, **level},
        {"code": "b", "min": 0.5, "max": 0.8, **level, "default": 0.6},
        {"code": "b", "min": 0.0, "max": 0.5, **level, "default": 0.1},
    ]
    assert rule_problems({"kind": "qualitative", "levels": overlapping}) == [
        "rule qualitative: level codes must differ: b repeated",
        "rule qualitative: the bands of levels b and a overlap",
    ]
    assert rule_problems({"kind": "higher_better", "over_achievement_penalty": 2}) == [
        "over_achievement_penalty must be in (0, 1]"
    ]
    assert rule_problems({"kind": "equal", "cap": True}) == [
        "rule equal: unknown parameter 'cap' (allowed: over_achievement_factor, "
        "over_achievement_penalty)"
    ]


def test_node_rule_must_fit_the_indicator() -> None:
    ns = (
        NS_HEAD
        + "indicators:\n"
        + _ind("DEM-01-001")
        + "  - {code: DEM-01-002, name_zh: 定性, name_en: Q, value_type: qualitative}\n"
    )
    fw = (
        FW
        + "nodes:\n"
        + "  - {code: A, level: 1, name_zh: 甲, name_en: A, points: 40, indicator: DEM-01-001,"
        + " rule: {kind: qualitative}}\n"
        + "  - {code: B, level: 1, name_zh: 乙, name_en: B, points: 30, indicator: DEM-01-002,"
        + " rule: {kind: higher_better}}\n"
        + "  - {code: C, level: 1, name_zh: 丙, name_en: C, points: 30, indicator: DEM-01-001,"
        + " rule: {kind: efficacy}}\n"
    )
    msgs = _messages(_check(ns, fw))
    assert msgs == [
        "doc1.yaml:8: node A: rule qualitative does not fit indicator DEM-01-001, which is "
        "quantitative",
        "doc1.yaml:9: node B: rule higher_better does not fit indicator DEM-01-002, which is "
        "qualitative",
        "doc1.yaml:10: node C: an efficacy rule without levels needs standard_type (the five "
        "levels come from that standard)",
    ]
    ok = fw.replace("rule: {kind: efficacy}}", "rule: {kind: efficacy}, standard_type: industry}")
    ok = ok.replace(", rule: {kind: qualitative}}", "}").replace(
        ", rule: {kind: higher_better}}", "}"
    )
    assert _messages(_check(ns, ok)) == []


# --- sources, scopes, cost direction, illustrative values (issue #19) ----------------------------


def test_a_standard_needs_a_citation_and_an_illustrative_one_a_derivation() -> None:
    text = (
        NS_HEAD
        + "indicators:\n"
        + _ind("DEM-01-001")
        + "standards:\n"
        + "  - {indicator: DEM-01-001, type: plan, value: 90, source: 国家规划}\n"
        + "  - {indicator: DEM-01-001, type: industry, value: 90, source: {title: 规划}}\n"
        + "  - {indicator: DEM-01-001, type: other, value: 80, illustrative: true}\n"
        + "  - {indicator: DEM-01-001, type: professional, value: 85, illustrative: true,"
        + " derivation: 演示值}\n"
    )
    msgs = _messages(_check(text))
    # a free-text source is no longer accepted; a citation names its issuer and year
    assert any(m.startswith("doc0.yaml:17: standards.0.source: Input should be") for m in msgs)
    assert "doc0.yaml:18: standards.1.source.issuer: Field required" in msgs
    undated = _messages(
        _check(
            NS_HEAD
            + "indicators:\n"
            + _ind("DEM-01-001")
            + "standards:\n"
            + "  - {indicator: DEM-01-001, type: plan, value: 90,"
            + " source: {title: 规划, issuer: 某部}}\n"
        )
    )
    assert any("needs its year" in m for m in undated), undated
    assert (
        "doc0.yaml:19: standards.2: an illustrative standard needs a derivation (how it was made)"
    ) in msgs
    assert not any(m.startswith("doc0.yaml:20") for m in msgs)  # illustrative with derivation


def test_scope_historical_rows_need_their_year_inside_the_validity() -> None:
    text = (
        NS_HEAD
        + "indicators:\n"
        + _ind("DEM-01-001")
        + "standards:\n"
        + "  - {indicator: DEM-01-001, type: historical, value: 73, " + SRC + "}\n"
        + "  - {indicator: DEM-01-001, type: plan, value: 90, fiscal_year: 2026,"
        + " valid_from: 2021-01-01, valid_to: 2025-12-31, " + SRC + "}\n"
        + "  - {indicator: DEM-01-001, type: plan, value: 88, valid_from: 2021-01-01,"
        + " valid_to: 2025-12-31, " + SRC + "}\n"
        + "  - {indicator: DEM-01-001, type: historical, value: 71, fiscal_year: 2022, "
        + SRC + "}\n"
    )  # fmt: skip
    assert _messages(_check(text)) == [
        "doc0.yaml:17: historical standard for DEM-01-001: needs fiscal_year (the year whose "
        "actual value it is)",
        "doc0.yaml:18: standard for DEM-01-001: fiscal_year 2026 lies outside its validity "
        "2021-01-01 to 2025-12-31",
    ]


@pytest.mark.parametrize(
    ("operator", "rule", "problem"),
    [
        ("≥", None, "its rule higher_better scores a higher cost higher"),
        ("=", None, "its rule equal scores '=' as higher-is-better"),
        ("≤", "{kind: step_deduction, step: 5, per_step: 1}", "deducts only below"),
        ("≤", "{kind: deduction, threshold: 100, per_unit: 1, direction: below}", "deducts only"),
        ("≤", "{kind: efficacy, levels: [600, 550, 500, 450, 400]}", "优秀 as its highest"),
    ],
)
def test_a_cost_indicator_must_not_reward_overspending(
    operator: str, rule: str | None, problem: str
) -> None:
    extra = {"class_l1": "产出", "class_l2": "成本指标", "operator": operator, "unit": "元/亩"}
    if rule:
        extra["rule"] = rule
    msgs = _messages(_check(NS_HEAD + "indicators:\n" + _ind("DEM-04-001", **extra)))
    assert len(msgs) == 1
    line = 18 if rule else 14  # the rule, else the operator
    assert msgs[0].startswith(f"doc0.yaml:{line}: indicator DEM-04-001 is a cost (成本) indicator")
    assert problem in msgs[0]


@pytest.mark.parametrize(
    ("operator", "unit", "rule"),
    [
        ("≤", "元/亩", None),
        ("=", "元/亩", "{kind: two_sided, tolerance: 5}"),
        ("=", "元/生·年", "{kind: band, band: 10, per_point: 0.5}"),
        ("≤", "元", "{kind: step_deduction, step: 5, per_step: 1, direction: above}"),
        ("≥", "%", None),  # 成本节约率: a saving rate, higher is better
    ],
)
def test_cost_indicators_that_control_spending_pass(
    operator: str, unit: str, rule: str | None
) -> None:
    extra = {"class_l1": "产出", "class_l2": "成本指标", "operator": operator, "unit": unit}
    if rule:
        extra["rule"] = rule
    assert _messages(_check(NS_HEAD + "indicators:\n" + _ind("DEM-04-001", **extra))) == []


def test_a_framework_node_rule_on_a_cost_indicator_is_checked_too() -> None:
    ns = NS_HEAD + "indicators:\n" + _ind(
        "DEM-04-001", class_l2="成本指标", operator="≤", unit="元"
    )  # fmt: skip
    fw = (
        FW
        + "nodes:\n"
        + "  - {code: X, level: 1, name_zh: 甲, name_en: X, points: 100,"
        + " indicator: DEM-04-001, rule: {kind: higher_better}}\n"
    )
    assert _messages(_check(ns, fw)) == [
        "doc1.yaml:8: node X: DEM-04-001 is a cost (成本) indicator but its rule higher_better "
        "scores a higher cost higher (overspending rewarded): use ≤"
    ]


def test_a_framework_may_not_fix_an_illustrative_standard() -> None:
    ns = (
        NS_HEAD
        + "indicators:\n"
        + _ind("DEM-01-001")
        + "standards:\n"
        + "  - {indicator: DEM-01-001, type: plan, value: 90, " + SRC + "}\n"
        + "  - {indicator: DEM-01-001, type: industry, levels: [80, 76, 73, 65, 60],"
        + " illustrative: true, derivation: 演示}\n"
    )  # fmt: skip
    node = "  - {code: X, level: 1, name_zh: 甲, name_en: X, points: 100, indicator: DEM-01-001,"
    fixed = FW + "nodes:\n" + node + " standard_type: industry}\n"
    assert _messages(_check(ns, fixed)) == [
        "doc1.yaml:8: node X fixes the industry standard of DEM-01-001, which is illustrative "
        "(doc0.yaml:18): a framework may only fix values a public document gives"
    ]
    sourced = FW + "nodes:\n" + node + " standard_type: plan}\n"
    assert _messages(_check(ns, sourced)) == []


def test_seed_cost_indicators_are_scored_two_sided_and_meetings_are_not_lower_better() -> None:
    cat = load_catalogue(CATALOG_DIR)
    defs = {i.code: i for _, ns in cat.namespaces for i in ns.indicators}
    for code in ("AGR-04-001", "EDU-04-001"):
        assert defs[code].operator == "="
        assert (defs[code].effective_rule() or {})["kind"] == "two_sided"
    assert defs["COM-09-001"].operator == "="  # 会议次数: zero meetings is not full marks


def test_target_is_minimum_needs_a_target_and_a_higher_is_better_rule() -> None:
    ns = NS_HEAD + "indicators:\n" + _ind("DEM-01-001") + _ind("DEM-01-002", operator="≤")
    node = "  - {code: X, level: 1, name_zh: 甲, name_en: X, points: 100, target_is_minimum: true"
    no_target = FW + "nodes:\n" + node + ", indicator: DEM-01-001}\n"
    assert _messages(_check(ns, no_target)) == [
        "doc1.yaml:8: nodes.0: target_is_minimum needs the node's target (the minimum)"
    ]
    lower = FW + "nodes:\n" + node + ", target: 10, indicator: DEM-01-002}\n"
    assert _messages(_check(ns, lower)) == [
        "doc1.yaml:8: node X: target_is_minimum needs a higher-is-better rule (a higher declared "
        "target is more demanding), not lower_better"
    ]
    ok = FW + "nodes:\n" + node + ", target: 90, indicator: DEM-01-001}\n"
    assert _messages(_check(ns, ok)) == []
