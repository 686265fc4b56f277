"""A receipt that explains itself (scoring/explain.py): every leaf's formula gives the engine's
score, for every rule kind, on hand-computed cases, random values, the test frameworks, the
seed frameworks and the real form; the words come in both languages; the target's origin says
when a broader region or an earlier year was used."""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicator_service import rules
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.forms import pipeline
from indicator_service.scoring import explain, formulas, receipts
from indicator_service.scoring.labels import labelled
from indicator_service.scoring.lookup import DocumentCatalogue
from indicator_service.scoring.schemas import Receipt, ScoreRequest
from tests.forms.build import FIXTURE_CSV, FIXTURE_XLSX
from tests.paths import CATALOG_DIR, REPO_ROOT
from tests.scoring.frameworks import WORKED_EXAMPLE, catalogue
from tests.scoring.golden_cases import cases
from tests.scoring.test_seed_frameworks import full_marks


def engine_and_formula(
    rule: dict[str, Any], w: float, t: float | None, obs: rules.Observation
) -> tuple[float, dict[str, str], float]:
    """The engine's score of one leaf and the explanation's formula and result."""
    compiled = rules.compile_tree(rules.Tree((rules.Leaf("x", w, rule, t),)))
    result = rules.score_tree(compiled, {"x": obs})
    score = float(result.leaf_score[0])
    made = formulas.rounded_formula(
        compiled.rules[0],
        w,
        t,
        obs.value,
        level=obs.level,
        level_score=obs.level_score,
        deduction=obs.deduction or None,
    )
    assert made is not None
    return score, made[0], made[1]


# (rule, w, t, a, the formula as written by hand, the score by hand)
HAND = [
    ({"kind": "higher_better"}, 10, 90, 86, "86 ÷ 90 × 10 = 9.56", 9.56),
    ({"kind": "higher_better"}, 10, 90, 95, "95 ≥ 90，得满分 = 10.00", 10.0),
    ({"kind": "equal"}, 5, 0, 0, "目标 0，实际 0 ≤ 0 → 5 = 5.00", 5.0),
    ({"kind": "equal"}, 5, 0, 2, "目标 0，实际 2 > 0 → 0 = 0.00", 0.0),
    (
        {"kind": "lower_better", "variant": "linear"},
        8,
        90,
        99,
        "8 × (1 − (99 − 90) ÷ 90) = 7.20",
        7.2,
    ),
    ({"kind": "lower_better", "variant": "inverse"}, 8, 90, 99, "90 ÷ 99 × 8 = 7.27", 7.27),
    ({"kind": "lower_better"}, 8, 90, 200, "200 ≥ 2 × 90 → 0 = 0.00", 0.0),
    ({"kind": "budget_execution"}, 10, 100, 91.5, "10 × 91.5 ÷ 100 = 9.15", 9.15),
    (
        {"kind": "budget_execution"},
        10,
        100,
        110,
        "10 × min(110 ÷ 100, 100%) = 10 × 100% = 10.00",
        10.0,
    ),
    (
        {"kind": "deduction", "threshold": 100, "per_unit": 0.5},
        5,
        None,
        104,
        "5 − 0.5 × (104 − 100) = 3.00",
        3.0,
    ),
    (
        {"kind": "deduction", "threshold": 0, "per_unit": 0.8},
        8,
        None,
        -3,
        "-3 ≤ 0，不扣分 = 8.00",
        8.0,
    ),
    (
        {"kind": "efficacy", "levels": [100, 80, 60, 40, 20]},
        20,
        None,
        90,
        "良好 80 与 优秀 100 之间：20 × (0.8 + (90 − 80) ÷ (100 − 80) × (1 − 0.8)) = 18.00",
        18.0,
    ),
    (
        {"kind": "efficacy", "levels": [100, 80, 60, 40, 20]},
        20,
        None,
        10,
        "10 差于较差档 20 → 20 × 0.2 = 4.00",
        4.0,
    ),
    ({"kind": "rank_table", "points": [60, 57, 54]}, 60, None, 3, "第 3 名 → 54 = 54.00", 54.0),
    (
        {"kind": "two_sided", "tolerance": 5, "zero_at": 25},
        10,
        100,
        110,
        "d = (110 − 100) ÷ 100 × 100% = 10%；10 × (1 − (10 − 5) ÷ (25 − 5)) = 7.50",
        7.5,
    ),
    (
        {"kind": "band", "band": 10, "per_point": 0.5},
        10,
        100,
        113,
        "d = (113 − 100) ÷ 100 × 100% = 13%；10 − 0.5 × (13 − 10) = 8.50",
        8.5,
    ),
    (
        {"kind": "step_deduction", "step": 5, "per_step": 1},
        10,
        100,
        89,
        "d = (89 − 100) ÷ 100 × 100% = -11%；10 − 1 × ⌊11 ÷ 5⌋ = 8.00",
        8.0,
    ),
    (
        {"kind": "higher_better", "over_achievement_penalty": 0.9},
        10,
        100,
        140,
        "140 ≥ 100，得满分（超额完成 × 0.9） = 9.00",
        9.0,
    ),
]


@pytest.mark.parametrize(("rule", "w", "t", "a", "text", "expected"), HAND)
def test_hand_computed_formulas_equal_the_engine(
    rule: dict[str, Any], w: float, t: float | None, a: float, text: str, expected: float
) -> None:
    score, words, result = engine_and_formula(rule, w, t, rules.Observation(value=a))
    assert score == expected
    assert result == expected
    assert words["zh"] == text
    assert words["en"].endswith(f"= {expected:.2f}")


def test_qualitative_and_manual_deduction() -> None:
    rule = {"kind": "qualitative"}
    score, words, result = engine_and_formula(rule, 10, None, rules.Observation(level="partial"))
    assert (score, result) == (7.0, 7.0)
    assert words == {
        "zh": "部分达成年度指标并具有一定效果：10 × 70% = 7.00",
        "en": "partly achieved with some effect: 10 × 70 % = 7.00",
    }
    obs = rules.Observation(level="achieved", level_score=8.5)
    assert engine_and_formula(rule, 10, None, obs)[1:] == (
        {
            "zh": "达成年度指标，评定得分 8.5 = 8.50",
            "en": "annual target achieved, score given 8.5 = 8.50",
        },
        8.5,
    )
    obs = rules.Observation(value=86, deduction=1.5, deduction_reason="资料不全")
    score, words, result = engine_and_formula({"kind": "higher_better"}, 10, 90, obs)
    assert score == result == 8.06  # 9.5556 − 1.5 = 8.0556 → 8.06
    assert words["zh"] == "86 ÷ 90 × 10（人工扣分 − 1.5） = 8.06"


KINDS_WITH_TARGET: dict[str, dict[str, Any]] = {
    "higher_better": {},
    "equal": {},
    "lower_better": {"variant": "linear"},
    "budget_execution": {},
    "two_sided": {"tolerance": 5, "zero_at": 40},
    "band": {"band": 5, "per_point": 0.3},
    "step_deduction": {"step": 3, "per_step": 0.7, "direction": "below"},
}


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(KINDS_WITH_TARGET)),
    inverse=st.booleans(),
    w=st.floats(0.5, 40).map(lambda x: round(x, 2)),
    t=st.floats(1, 1000).map(lambda x: round(x, 2)),
    a=st.floats(-50, 2500).map(lambda x: round(x, 3)),
    penalty=st.sampled_from([None, 0.8]),
)
def test_random_values_the_formula_gives_the_engine_score(
    kind: str, inverse: bool, w: float, t: float, a: float, penalty: float | None
) -> None:
    rule: dict[str, Any] = {"kind": kind, **KINDS_WITH_TARGET[kind]}
    if kind == "lower_better" and inverse:
        rule["variant"] = "inverse"
    if penalty is not None:
        rule["over_achievement_penalty"] = penalty
    score, words, result = engine_and_formula(rule, w, t, rules.Observation(value=a))
    assert result == score
    assert words["zh"].endswith(f"= {score:.2f}")


@settings(max_examples=200, deadline=None)
@given(
    a=st.floats(-10, 130).map(lambda x: round(x, 2)),
    coefficients=st.sampled_from([[1, 0.8, 0.6, 0.4, 0.2], [1, 0.85, 0.7, 0.5, 0.3]]),
    bottom=st.sampled_from(["bottom", "zero"]),
    rising=st.booleans(),
    rank=st.integers(1, 8),
)
def test_random_efficacy_deduction_and_rank(
    a: float, coefficients: list[float], bottom: str, rising: bool, rank: int
) -> None:
    levels = [100, 80, 60, 40, 20] if rising else [20, 40, 60, 80, 100]
    rule: dict[str, Any] = {"kind": "efficacy", "levels": levels, "coefficients": coefficients}
    rule["below_bottom"] = bottom
    score, _, result = engine_and_formula(rule, 20, None, rules.Observation(value=a))
    assert result == score
    for direction in ("above", "below"):
        rule = {"kind": "deduction", "threshold": 50, "per_unit": 0.4, "direction": direction}
        score, _, result = engine_and_formula(rule, 8, None, rules.Observation(value=a))
        assert result == score
    rule = {"kind": "rank_table", "points": [10, 9, 8, 6], "beyond": 2}
    score, _, result = engine_and_formula(rule, 9, None, rules.Observation(value=rank))
    assert result == score == min([10, 9, 8, 6, 2, 2, 2, 2][rank - 1], 9)


def formulas_match(receipt: dict[str, Any]) -> int:
    """Every scored leaf's formula gives its score; returns how many leaves were checked."""
    checked = 0
    for leaf in receipt["leaves"]:
        f = leaf["explain"]["formula"]
        if leaf["score"] is None:
            assert f is None or f["result"] is None, leaf["id"]
            continue
        assert f is not None, leaf["id"]
        assert f["result"] == leaf["score"], (leaf["id"], f, leaf["score"])
        assert f["zh"].endswith(f"= {leaf['score']:.2f}")
        assert f["en"].endswith(f"= {leaf['score']:.2f}")
        checked += 1
    return checked


@pytest.mark.parametrize("name", sorted(cases()))
def test_test_framework_receipts_explain_every_leaf(name: str) -> None:
    req = ScoreRequest.model_validate(cases()[name])
    receipt = orjson.loads(receipts.score_json(req, catalogue()))
    assert formulas_match(receipt) > 0
    # the fast path's dict is what the model dumps (with the labels of the answer)
    assert labelled(receipts.score(req, catalogue())).model_dump(mode="json") == receipt


@pytest.fixture(scope="module")
def seed() -> DocumentCatalogue:
    cat = load_catalogue(CATALOG_DIR)
    return DocumentCatalogue([f for _, f in cat.frameworks], [n for _, n in cat.namespaces])


@pytest.mark.parametrize("code", ["PRJ-2020", "DEPT-OVERALL"])
def test_seed_frameworks_explain_every_leaf(seed: DocumentCatalogue, code: str) -> None:
    body = full_marks(seed, code)
    # move every numeric leaf off its target so that formulas are not all "full points"
    for value in body["values"].values():
        if value.get("value"):
            value["value"] = value["value"] * 0.87
    receipt = Receipt.model_validate(
        orjson.loads(receipts.score_json(ScoreRequest.model_validate(body), seed))
    ).model_dump(mode="json")
    assert formulas_match(receipt) == len(receipt["leaves"])
    kinds = {lf["rule"]["kind"] for lf in receipt["leaves"]}
    assert len(kinds) >= 3, kinds


def test_readme_example_formula(seed: DocumentCatalogue) -> None:
    body = json.loads((REPO_ROOT / "docs" / "examples" / "score-prj-2020.json").read_text("utf-8"))
    receipt = orjson.loads(receipts.score_json(ScoreRequest.model_validate(body), seed))
    leaf = next(lf for lf in receipt["leaves"] if lf["id"] == "BEN.SAT.1")
    e = leaf["explain"]
    assert e["formula"]["zh"] == "86 ÷ 90 × 10 = 9.56"  # the issue's own example
    assert e["target"]["text"] == "≥90%"
    assert e["lost"] == {
        "points": 0.44,
        "zh": "失分 0.44（分值 10.00，得分 9.56）",
        "en": "0.44 points lost (points 10.00, score 9.56)",
    }
    assert formulas_match(receipt) == len(receipt["leaves"])


@pytest.mark.parametrize("path", [FIXTURE_XLSX, FIXTURE_CSV], ids=["xlsx", "csv"])
def test_the_real_form_explains_every_leaf(path: Any) -> None:
    cat = load_catalogue(CATALOG_DIR)
    docs = DocumentCatalogue([f for _, f in cat.frameworks], [n for _, n in cat.namespaces])
    (outcome,) = pipeline.score_forms(path.read_bytes(), None, docs)
    assert outcome.ok, outcome.problems
    assert outcome.receipt is not None
    receipt = outcome.receipt.model_dump(mode="json")
    assert receipt["total"] == 92.56  # the fixture README's hand computation
    assert formulas_match(receipt) == len(receipt["leaves"])
    budget = receipt["explain"]["budget"]
    assert budget["rate"] == 96.0
    assert budget["zh"].startswith(
        "全年预算数 500 万元，全年执行数 480 万元；执行率 = 480 ÷ 500 = 96%"
    )
    assert budget["formula"]["zh"] == "10 × 480 ÷ 500 = 9.60"
    heading = receipt["explain"]["heading"]
    assert heading["project_name"] == receipt["form"]["project_name"]
    assert heading["zh"].startswith(f"项目 {receipt['form']['project_name']}")


def test_target_origin_names_the_broader_region_and_the_earlier_year() -> None:
    body = copy.deepcopy(WORKED_EXAMPLE)
    body["region"], body["fiscal_year"] = "330106", 2025  # 西湖区, a year without a standard
    receipt = orjson.loads(receipts.score_json(ScoreRequest.model_validate(body), catalogue()))
    sat = next(lf for lf in receipt["leaves"] if lf["id"] == "sat")
    origin = sat["explain"]["target_origin"]
    assert origin["kind"] == "standard"
    assert origin["standard_type_name"] == {"zh": "行业标准", "en": "industry standard"}
    assert (origin["region"], origin["fiscal_year"], origin["requested_year"]) == (
        "330000",
        2024,
        2025,
    )
    assert origin["earlier_year"] is True
    assert origin["broader_region"] is True
    assert origin["text"]["zh"] == (
        "行业标准（浙江省，2024 年），来源：浙江 2024 (test)（test, 2024）；2025 年无此标准，"
        "采用 2024 年的标准值；浙江省杭州市西湖区无此标准，采用浙江省的标准值"
    )
    assert "the 2024 value was used" in origin["text"]["en"]
    heading = receipt["explain"]["heading"]
    assert heading["region_name"] == {"zh": "浙江省杭州市西湖区", "en": "西湖区, 杭州市, Zhejiang"}
    assert heading["zh"] == (
        "项目 P-001 · 单位 U-01 · 浙江省杭州市西湖区 · 2025 年度 · 项目支出绩效自评"
        "（SELF-EVAL 1.0.0）"
    )
    # the same standard in its own region and year: neither flag
    body["region"], body["fiscal_year"] = "330000", 2024
    receipt = orjson.loads(receipts.score_json(ScoreRequest.model_validate(body), catalogue()))
    origin = next(lf for lf in receipt["leaves"] if lf["id"] == "sat")["explain"]["target_origin"]
    assert (origin["earlier_year"], origin["broader_region"]) == (False, False)


def test_warnings_grade_and_total_in_words() -> None:
    body = copy.deepcopy(WORKED_EXAMPLE)
    body["budget"] = {"adjusted": 1200.0, "executed": 1000.0}
    receipt = orjson.loads(receipts.score_json(ScoreRequest.model_validate(body), catalogue()))
    ex = receipt["explain"]
    exec_leaf = next(lf for lf in receipt["leaves"] if lf["id"] == "EXEC")
    codes = [w["code"] for w in exec_leaf["explain"]["warnings"]]
    assert codes == exec_leaf["warnings"] == ["execution_below_threshold", "explanation_missing"]
    assert exec_leaf["explain"]["warnings"][0]["zh"] == "预算执行率低于 90%，请说明原因"
    assert ex["budget"]["zh"] == (
        "全年预算数 1200，全年执行数 1000；执行率 = 1000 ÷ 1200 = 83.33%；得分 10 × 1000 ÷ "
        "1200 = 8.33（分值 10）"
    )
    assert ex["budget"]["score"] == exec_leaf["score"] == 8.33
    assert exec_leaf["explain"]["actual"] == {"zh": "全年执行数 1000", "en": "executed 1000"}
    assert exec_leaf["explain"]["target"]["text"] is None  # the budget line gives the amounts
    # 8.33 + 48.4 + 27 + 9 = 92.73
    assert receipt["total"] == 92.73
    assert ex["total"]["zh"] == "总分 = 各项得分之和 92.73 = 92.73"
    g = ex["grade"]
    assert g["band"] == "[90, 100]"
    assert g["name"] == {"zh": "优", "en": "excellent"}
    assert g["zh"].startswith("等级 优：总分在 [90, 100] 分之间；结果应用：")
    assert (
        g["source"]
        == "项目支出绩效评价管理办法（财政部 财预〔2020〕10号, 2020） 第三十八条（评价结果应用）"
    )
    assert g["zh"].endswith(f"（依据：{g['source']}）")
    assert [w["code"] for w in ex["warnings"]] == receipt["warnings"]
    assert all(re.search(r"[\u4e00-\u9fff]", w["zh"]) for w in ex["warnings"])


def test_every_warning_code_has_both_languages() -> None:
    codes = [*rules.WARNING_FLAGS, receipts.EXPLANATION_MISSING]
    for code in codes:
        w = explain.warning_words(code, {})
        assert re.search(r"[\u4e00-\u9fff]", w["zh"]), code
        assert w["en"] != w["zh"], code
    for kind in rules.KINDS:
        rule = (
            {"kind": kind, "levels": [100, 80, 60, 40, 20]}
            if kind == "efficacy"
            else {"kind": kind}
        )
        words = explain.rule_words(rule, "%")
        assert re.search(r"[\u4e00-\u9fff]", words["zh"]), kind
        assert words["en"], kind
        assert not re.search(r"[\u4e00-\u9fff]{3}", words["en"]), kind


def test_number_formatting() -> None:
    assert [explain.num(x) for x in (90.0, 9.5, 2.7777777, 1e-05, 2.5e16, -0.0)] == [
        "90",
        "9.5",
        "2.777778",
        "0.00001",
        "25000000000000000",
        "0",
    ]
    assert explain.num(math.nan) == "—"
