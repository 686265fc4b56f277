"""Versions, content hashes and diff bump classification."""

from __future__ import annotations

from typing import Any

import pytest

from indicator_service.catalogue.source import FrameworkDoc, NamespaceDoc
from indicator_service.catalogue.versioning import (
    BumpTooSmall,
    Version,
    bump_between,
    canonical_json,
    check_bump,
    content_hash,
    diff_frameworks,
    diff_namespaces,
)

BASE_NS: dict[str, Any] = {
    "namespace": "demo",
    "kind": "sector",
    "sector": "health",
    "code_prefix": "DEM",
    "name_zh": "演示",
    "name_en": "Demo",
    "owner": "test",
    "version": "1.0.0",
    "indicators": [
        {
            "code": "DEM-01-001",
            "name_zh": "接种率",
            "name_en": "Coverage",
            "value_type": "quantitative",
            "operator": "≥",
            "unit": "%",
        },
        {
            "code": "DEM-01-002",
            "name_zh": "满意度",
            "name_en": "Satisfaction",
            "value_type": "quantitative",
            "operator": ">=",
            "unit": "%",
        },
    ],
    "standards": [
        {
            "indicator": "DEM-01-001",
            "type": "plan",
            "value": 90.0,
            "source": {"title": "plan 2023", "issuer": "test", "year": 2024},
        }
    ],
}

BASE_FW: dict[str, Any] = {
    "framework": "DEMO",
    "name_zh": "演示",
    "name_en": "Demo",
    "kind": "project",
    "version": "1.0.0",
    "nodes": [
        {
            "code": "A",
            "level": 1,
            "name_zh": "甲",
            "name_en": "A",
            "points": 60.0,
            "rule": {"kind": "equal"},
        },
        {
            "code": "B",
            "level": 1,
            "name_zh": "乙",
            "name_en": "B",
            "points": 40.0,
            "rule": {"kind": "lower_better"},
        },
    ],
}


def _ns(**changes: Any) -> NamespaceDoc:
    return NamespaceDoc.model_validate({**BASE_NS, "version": "1.0.1", **changes})


def _fw(**changes: Any) -> FrameworkDoc:
    return FrameworkDoc.model_validate({**BASE_FW, "version": "1.0.1", **changes})


def _ind(i: int, **changes: Any) -> list[dict[str, Any]]:
    inds = [dict(x) for x in BASE_NS["indicators"]]
    inds[i].update(changes)
    return inds


OLD_NS = NamespaceDoc.model_validate(BASE_NS)
OLD_FW = FrameworkDoc.model_validate(BASE_FW)


@pytest.mark.parametrize(
    ("new", "bump", "entity", "op"),
    [
        (_ns(name_en="Demo library"), "patch", "namespace", "changed"),
        (_ns(indicators=_ind(0, name_en="Immunisation coverage")), "patch", "indicator", "changed"),
        (_ns(indicators=_ind(0, formula="a / b × 100%")), "patch", "indicator", "changed"),
        (
            _ns(indicators=_ind(0, tags={"project_types": ["training"]})),
            "minor",
            "indicator",
            "changed",
        ),
        (
            _ns(indicators=[*_ind(0), {**BASE_NS["indicators"][0], "code": "DEM-01-003"}]),
            "minor",
            "indicator",
            "added",
        ),
        (_ns(indicators=_ind(0)[:1]), "major", "indicator", "removed"),
        (_ns(indicators=_ind(0, unit="人")), "major", "indicator", "changed"),
        (_ns(indicators=_ind(0, rule={"kind": "equal"})), "major", "indicator", "changed"),
        (
            _ns(standards=[{**BASE_NS["standards"][0], "value": 95.0}]),
            "major",
            "standard",
            "changed",
        ),
        (
            _ns(
                standards=[
                    {
                        **BASE_NS["standards"][0],
                        "source": {"title": "plan 2023 (p. 4)", "issuer": "test", "year": 2024},
                    }
                ]
            ),
            "patch",
            "standard",
            "changed",
        ),
        (
            _ns(
                standards=[*BASE_NS["standards"], {**BASE_NS["standards"][0], "fiscal_year": 2024}]
            ),
            "minor",
            "standard",
            "added",
        ),
        (_ns(standards=[]), "major", "standard", "removed"),
    ],
)
def test_namespace_diff_bumps(new: NamespaceDoc, bump: str, entity: str, op: str) -> None:
    diff = diff_namespaces(OLD_NS, new)
    assert diff.required_bump == bump
    assert [(c.entity, c.op) for c in diff.changes] == [(entity, op)]


def test_operator_spelling_is_not_a_change() -> None:
    # ">=" is normalised to "≥" when the document is read: no diff, same hash
    new = _ns(indicators=_ind(0, operator=">="))
    assert diff_namespaces(OLD_NS, new).changes == ()
    assert content_hash(new) == content_hash(OLD_NS)


def test_field_changes_listed() -> None:
    diff = diff_namespaces(OLD_NS, _ns(indicators=_ind(0, unit="人", name_en="People")))
    (change,) = diff.changes
    assert change.bump == "major"
    assert {(f.field, f.old, f.new) for f in change.fields} == {
        ("unit", "%", "人"),
        ("name_en", "Coverage", "People"),
    }


@pytest.mark.parametrize(
    ("new", "bump", "reason"),
    [
        (_fw(name_en="Demo framework"), "patch", "text-only"),
        (
            _fw(
                nodes=[
                    {**BASE_FW["nodes"][0], "points": 50.0},
                    {**BASE_FW["nodes"][1], "points": 50.0},
                ]
            ),
            "major",
            "re-weighting",
        ),
        (_fw(missing_policy="rebase"), "major", "changed missing-value policy"),
        (_fw(rule_variants={"lower_better": "inverse"}), "major", "changed rule variants"),
        (
            _fw(
                bands=[
                    {"grade": "合格", "name_en": "pass", "min": 60.0, "max": 100.0},
                    {"grade": "不合格", "name_en": "fail", "min": 0.0, "max": 60.0},
                ]
            ),
            "major",
            "changed grading bands",
        ),
        (
            _fw(nodes=[BASE_FW["nodes"][0], {**BASE_FW["nodes"][1], "rule": {"kind": "equal"}}]),
            "major",
            "changed rule",
        ),
        (
            _fw(nodes=[BASE_FW["nodes"][0], {**BASE_FW["nodes"][1], "note": "说明"}]),
            "patch",
            "text-only",
        ),
    ],
)
def test_framework_diff_bumps(new: FrameworkDoc, bump: str, reason: str) -> None:
    diff = diff_frameworks(OLD_FW, new)
    assert diff.required_bump == bump
    assert any(reason in c.reason for c in diff.changes)


def test_added_node_is_minor_but_reweighting_siblings_is_major() -> None:
    added = {"code": "C", "level": 1, "name_zh": "丙", "name_en": "C", "points": 0.0, "open": True}
    diff = diff_frameworks(OLD_FW, _fw(nodes=[*BASE_FW["nodes"], added]))
    assert diff.required_bump == "minor"
    diff = diff_frameworks(
        OLD_FW,
        _fw(
            nodes=[
                BASE_FW["nodes"][0],
                {**BASE_FW["nodes"][1], "points": 30.0},
                {**added, "points": 10.0},
            ]
        ),
    )
    assert diff.required_bump == "major"


def test_check_bump_refuses_smaller_bump_with_explanation() -> None:
    diff = diff_namespaces(OLD_NS, _ns(indicators=_ind(0)[:1]))
    with pytest.raises(BumpTooSmall) as info:
        check_bump("1.0.0", "1.1.0", diff)
    msg = str(info.value)
    assert "1.1.0 is a minor bump over 1.0.0" in msg
    assert "require a major bump" in msg
    assert "indicator DEM-01-002: indicator removed" in msg
    assert "publish as 2.0.0" in msg
    assert check_bump("1.0.0", "2.0.0", diff) == "major"
    with pytest.raises(BumpTooSmall):
        check_bump("1.0.0", "1.0.0", diff_namespaces(OLD_NS, OLD_NS))
    assert check_bump("1.0.0", "1.0.1", diff_namespaces(OLD_NS, _ns(name_en="x"))) == "patch"


@pytest.mark.parametrize(
    ("old", "new", "bump"),
    [
        ("1.0.0", "1.0.1", "patch"),
        ("1.0.0", "1.1.0", "minor"),
        ("1.2.3", "2.0.0", "major"),
        ("1.2.3", "1.2.3", "none"),
        ("1.2.3", "1.1.9", "none"),
        ("1.0.0", "1.1.0-draft", "minor"),
    ],
)
def test_bump_between(old: str, new: str, bump: str) -> None:
    assert bump_between(old, new) == bump


def test_versions_order_drafts_before_release() -> None:
    assert Version.parse("1.1.0-draft").sort_key() < Version.parse("1.1.0").sort_key()
    assert Version.parse("1.0.9").sort_key() < Version.parse("1.1.0-draft").sort_key()
    assert str(Version.parse("1.2.3").bump("minor")) == "1.3.0"
    with pytest.raises(ValueError, match="invalid version"):
        Version.parse("1.2")


def test_content_hash_is_canonical() -> None:
    assert canonical_json({"b": 1, "a": "标准"}) == '{"a":"标准","b":1}'.encode()
    # the version label is not content: the same document at another version hashes the same
    assert content_hash(_ns()) == content_hash(OLD_NS)
    assert content_hash(_ns(name_en="other")) != content_hash(OLD_NS)
    assert len(content_hash(OLD_NS)) == 64
