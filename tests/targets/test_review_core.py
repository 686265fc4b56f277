"""The pure review core and the review rules as catalogue data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from indicator_service.catalogue.source import FrameworkDoc
from indicator_service.rules.review import TargetReviewRules
from indicator_service.targets import review as core
from tests.paths import CATALOG_DIR


def std(type_: str, value: float) -> core.Standard:
    return core.Standard(type_, value, value, "%", "≥", "000000", 2022, None)


def row(i: int, l1: str, l2: str | None, value: float | None, **kw: Any) -> core.Row:
    return core.Row(
        index=i,
        name=f"r{i}",
        class_l1=l1,
        class_l2=l2,
        target_text="",
        operator="≥" if value is not None else None,
        value=value,
        unit=kw.pop("unit", "%"),
        indicator=kw.pop("indicator", f"X-{i}"),
        **kw,
    )


FULL = [
    row(0, "产出指标", "数量指标", 10),
    row(1, "产出指标", "质量指标", 95),
    row(2, "产出指标", "时效指标", None),
    row(
        3, "产出指标", "成本指标", 300, unit="万元", library_operator="≤", value_in_budget_unit=300
    ),
    row(4, "效益指标", "社会效益指标", None),
    row(5, "满意度指标", "服务对象满意度指标", 90),
]


def test_complete_table_passes() -> None:
    out = core.review(FULL, 500, TargetReviewRules())
    assert (out.majors, out.minors, out.notes, out.verdict) == (0, 0, 0, "pass")


def test_lower_is_better_target_looser_than_standard_is_low() -> None:
    # a ≤ indicator (cost per pupil): a target of 120 against a historical 100 is less
    # ambitious (偏低); 80 is fine; 30 is below 100 / 1.5 = 66.7 (偏高)
    rules = TargetReviewRules()
    for value, expected in ((120.0, "below_standard"), (80.0, None), (30.0, "above_standard")):
        r = row(0, "效益", None, value, library_operator="≤", standards=(std("historical", 100),))
        codes = [f.code for f in core.review([r], None, rules).findings if f.row == 0]
        assert codes == ([expected] if expected else [])


def test_far_above_needs_every_standard_exceeded() -> None:
    # 100: 1.5 × 60 = 90 < 100, but 1.5 × 80 = 120 > 100: not 偏高; 130 > 120 and > 90: 偏高
    rules = TargetReviewRules()
    for value, expected in ((100.0, []), (130.0, ["above_standard"])):
        r = row(0, "效益", None, value, standards=(std("plan", 80), std("historical", 60)))
        assert [f.code for f in core.review([r], None, rules).findings if f.row == 0] == expected


def test_verdict_thresholds_are_data() -> None:
    rules = TargetReviewRules.model_validate({"verdict": {"reject_majors": 1}})
    # one missing class (major) rejects under these rules, only revises under the defaults
    table = FULL[:5]
    assert core.review(table, None, rules).verdict == "reject"
    assert core.review(table, None, TargetReviewRules()).verdict == "revise"
    quiet = TargetReviewRules.model_validate({"severity": {"missing_class": "note"}})
    assert core.review(table, None, quiet).verdict == "pass"


def test_over_budget_only_for_total_amounts() -> None:
    rules = TargetReviewRules()
    total = row(3, "产出", "成本", 600, unit="万元", value_in_budget_unit=600)
    per_unit = row(3, "产出", "成本", 600, unit="元/亩", value_in_budget_unit=None)
    assert [f.code for f in core.review([total], 500, rules).findings if f.row == 3] == [
        "over_budget"
    ]
    assert [f.code for f in core.review([per_unit], 500, rules).findings if f.row == 3] == []


def _doc(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(Path(CATALOG_DIR, "frameworks", name).read_text())
    return data


def test_seed_frameworks_carry_review_rules_with_the_defaults() -> None:
    doc = FrameworkDoc.model_validate(_doc("self_evaluation.yaml"))
    assert doc.target_review == TargetReviewRules()
    assert doc.target_review.far_above_factor == 1.5
    assert [c.class_l2 for c in doc.target_review.expected_classes[:4]] == [
        "数量",
        "质量",
        "时效",
        "成本",
    ]
    doc21 = FrameworkDoc.model_validate(_doc("core_2021.yaml"))
    assert doc21.target_review is not None
    assert ("成本", None) in [
        (c.class_l1, c.class_l2) for c in doc21.target_review.expected_classes
    ]


def test_catalogue_refuses_classes_the_framework_does_not_have() -> None:
    data = _doc("core_2021.yaml")
    data["target_review"] = {}  # the default expects 产出—成本, a level-1 class here
    with pytest.raises(ValidationError, match="'成本' is not a level-2 node under '产出'"):
        FrameworkDoc.model_validate(data)
    data["target_review"] = {"expected_classes": [{"class_l1": "投入", "name_en": "Input"}]}
    with pytest.raises(ValidationError, match="'投入' is not a level-1 node"):
        FrameworkDoc.model_validate(data)
    data["target_review"] = {"low_against": ["historical", "historical"]}
    with pytest.raises(ValidationError, match="lists a standard type twice"):
        FrameworkDoc.model_validate(data)
    data["target_review"] = {"far_above_factor": 0.5}
    with pytest.raises(ValidationError):
        FrameworkDoc.model_validate(data)
