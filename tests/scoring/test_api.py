"""Scoring API: receipts, 422 problems naming rows and fields, batches, what-if."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helpers import ApiClient, assert_problem
from tests.scoring.frameworks import WORKED_EXAMPLE


def example(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(WORKED_EXAMPLE)
    body.update(changes)
    return body


def row(body: dict[str, Any], row_id: str) -> dict[str, Any]:
    return next(r for r in body["rows"] if r["id"] == row_id)


def test_worked_example_receipt(sapi: ApiClient) -> None:
    r = sapi.post("/v1/score", json=WORKED_EXAMPLE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 94.2
    assert body["grade"]["grade"] == "优"
    assert body["grade"]["recommendation_en"] == "support as appropriate"
    assert body["framework"] == {
        "code": "SELF-EVAL",
        "version": "1.0.0",  # the draft 1.1.0 is not picked by default
        "name_zh": "项目支出绩效自评",
        "name_en": "Project self-evaluation",
    }
    assert body["namespaces"] == {"common": "1.0.0"}
    assert body["missing_policy"] == "zero"
    assert "half-up" in body["rounding"]
    nodes = {n["code"]: n for n in body["nodes"]}
    assert nodes["OUT"]["subtotal"] == 48.4
    assert nodes["BEN"]["subtotal"] == 27.0
    assert nodes["SAT"]["subtotal"] == 9.0
    assert nodes["成本指标"]["path"] == ["OUT", "成本指标"]
    leaves = {lf["id"]: lf for lf in body["leaves"]}
    assert leaves["EXEC"]["score"] == 9.8
    assert leaves["EXEC"]["target_source"]["kind"] == "budget"
    assert (leaves["EXEC"]["raw_value"], leaves["EXEC"]["target"]) == (98.0, 100.0)
    assert leaves["cost"]["score"] == 9.2  # ≤ from the catalogue indicator, linear
    assert leaves["cost"]["rule"] == {"kind": "lower_better", "variant": "linear"}
    assert leaves["cost"]["lost"] == 0.8
    assert leaves["cost"]["unit"] == "元/台"
    assert leaves["sat"]["target"] == 90.0  # the Zhejiang 2024 industry standard
    assert leaves["sat"]["target_source"] == {
        "kind": "standard",
        "standard_type": "industry",
        "region": "330000",
        "fiscal_year": 2024,
        "source": "浙江 2024 (test)（test, 2024）",  # the cited document, one line
    }
    assert leaves["qty"]["effective_weight"] == 0.2
    assert leaves["qty"]["fraction"] == 0.96
    assert len(body["input_hash"]) == 64


def test_same_request_same_hash_and_result(sapi: ApiClient) -> None:
    a = sapi.post("/v1/score", json=WORKED_EXAMPLE).json()
    b = sapi.post("/v1/score", json=WORKED_EXAMPLE).json()
    assert a == b
    changed = example()
    row(changed, "qty")["value"] = 97
    c = sapi.post("/v1/score", json=changed).json()
    assert c["input_hash"] != a["input_hash"]
    assert c["total"] == 94.4


def test_national_standard_when_region_has_none(sapi: ApiClient) -> None:
    body = example(region="110000")
    r = sapi.post("/v1/score", json=body).json()
    sat = next(lf for lf in r["leaves"] if lf["id"] == "sat")
    assert sat["target"] == 95.0
    assert sat["score"] == 8.53  # 10 · 81 / 95 = 8.526


def test_not_applicable_rebases_the_total(sapi: ApiClient) -> None:
    body = example()
    row(body, "econ").pop("value")
    row(body, "econ")["not_applicable"] = True
    r = sapi.post("/v1/score", json=body).json()
    # (94.2 − 12) · 100 / 85 = 96.7058…
    assert r["applicable_points"] == 85.0
    assert r["total"] == 96.71


def test_fixed_framework_with_values(sapi: ApiClient) -> None:
    r = sapi.post(
        "/v1/score",
        json={
            "framework": "DEPT-FIXED",
            "values": {
                "STAFF": {"value": 104},
                "SANGONG": {"value": 3},
                "EFF": {"value": 90},
                "COM-02-001": {"value": 95},
            },
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    scores = {lf["id"]: lf["score"] for lf in body["leaves"]}
    assert scores == {"STAFF": 3.0, "SANGONG": 5.6, "EFF": 18.0, "SAT": 67.0}
    assert body["total"] == 93.6
    assert body["missing_policy"] == "reject"


def test_budget_for_a_framework_without_execution_leaf(sapi: ApiClient) -> None:
    r = sapi.post(
        "/v1/score",
        json={"framework": "DEPT-FIXED", "budget": {"adjusted": 1.0, "executed": 1.0}},
    )
    problem = assert_problem(r, 422)
    assert ["body", "budget"] in [e["loc"] for e in problem["errors"]]


def test_missing_value_rejected_by_policy(sapi: ApiClient) -> None:
    r = sapi.post(
        "/v1/score",
        json={"framework": "DEPT-FIXED", "values": {"STAFF": {"value": 104}}},
    )
    problem = assert_problem(r, 422)
    locs = {tuple(e["loc"]) for e in problem["errors"]}
    assert ("body", "values", "SANGONG", "value") in locs
    assert ("body", "values", "EFF", "value") in locs


def test_every_offending_row_and_field_is_named(sapi: ApiClient) -> None:
    body = example()
    row(body, "quality")["indicator"] = "COM-99-999"  # unknown code
    row(body, "cost")["unit"] = "元"  # unit mismatch
    row(body, "time")["level"] = "achieved"  # qualitative value for a quantitative row
    row(body, "time").pop("value")
    row(body, "econ")["points"] = 14  # 效益 rows add up to 29
    body["rows"].append(dict(row(body, "qty")))  # duplicate row id
    problem = assert_problem(sapi.post("/v1/score", json=body), 422)
    found = {(tuple(e["loc"]), e["type"]) for e in problem["errors"]}
    expected = {
        (("body", "rows", 1, "indicator"), "unknown_code"),
        (("body", "rows", 3, "unit"), "unit_mismatch"),
        (("body", "rows", 2, "level"), "qualitative_for_quantitative"),
        (("body", "rows", 4, "points"), "points_do_not_add_up"),
        (("body", "rows", 5, "points"), "points_do_not_add_up"),
        (("body", "rows", 7, "id"), "duplicate_row"),
    }
    assert expected <= found, found


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"points": -1}, ["body", "rows", 0, "points"]),
        ({"points": True}, ["body", "rows", 0, "points"]),
        ({"value": "96"}, ["body", "rows", 0, "value"]),
        ({"name": "a\x00b"}, ["body", "rows", 0, "name"]),
        ({"colour": "red"}, ["body", "rows", 0, "colour"]),
    ],
)
def test_request_validation(sapi: ApiClient, patch: dict[str, Any], loc: list[Any]) -> None:
    body = example()
    body["rows"][0].update(patch)
    problem = assert_problem(sapi.post("/v1/score", json=body), 422)
    assert loc in [e["loc"] for e in problem["errors"]]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_rejected(sapi: ApiClient, literal: str) -> None:
    import json

    text = json.dumps(WORKED_EXAMPLE, ensure_ascii=False).replace(
        '"value": 96', f'"value": {literal}'
    )
    r = sapi.post("/v1/score", content=text.encode(), headers={"content-type": "application/json"})
    assert_problem(r, 422)


def test_qualitative_score_outside_band(sapi: ApiClient) -> None:
    body = example()
    row(body, "social")["level_score"] = 11.0  # achieved band is [12, 15]
    problem = assert_problem(sapi.post("/v1/score", json=body), 422)
    assert problem["errors"][0]["loc"] == ["body", "rows", 5, "level_score"]
    row(body, "social")["level_score"] = 12.0
    assert sapi.post("/v1/score", json=body).json()["total"] == 91.2


def test_unknown_framework_and_version(sapi: ApiClient) -> None:
    assert_problem(sapi.post("/v1/score", json=example(framework="NOPE")), 404)
    assert_problem(sapi.post("/v1/score", json=example(version="9.9.9")), 404)
    r = sapi.post("/v1/score", json=example(version="1.1.0-draft"))
    assert r.json()["framework"]["version"] == "1.1.0-draft"


def test_manual_deduction_needs_reason(sapi: ApiClient) -> None:
    body = example()
    row(body, "qty")["deduction"] = 2
    problem = assert_problem(sapi.post("/v1/score", json=body), 422)
    assert problem["errors"][0]["loc"] == ["body", "rows", 0, "deduction_reason"]
    row(body, "qty")["deduction_reason"] = "资料不全"
    r = sapi.post("/v1/score", json=body).json()
    qty = next(lf for lf in r["leaves"] if lf["id"] == "qty")
    assert qty["score"] == 17.2
    assert "manual_deduction" in qty["warnings"]
    assert r["total"] == 92.2


# --- batch -------------------------------------------------------------------------------------


def test_batch_json_per_item_errors(sapi: ApiClient) -> None:
    bad = example()
    row(bad, "quality")["indicator"] = "COM-99-999"
    invalid = example()
    invalid["rows"][0]["points"] = "x"
    r = sapi.post("/v1/score/batch", json={"items": [WORKED_EXAMPLE, bad, invalid]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["count"], body["ok"], body["failed"]) == (3, 1, 2)
    assert body["items"][0]["total"] == 94.2
    assert body["items"][0]["grade"] == "优"
    assert body["items"][1]["errors"][0]["loc"] == ["body", "items", 1, "rows", 1, "indicator"]
    assert body["items"][2]["errors"][0]["loc"] == ["body", "items", 2, "rows", 0, "points"]


def test_batch_items_echo_project_and_input_hash(sapi: ApiClient) -> None:
    """Each item answer carries its project and the input hash its receipt (and a stored
    evaluation) carries: on the general path, on the shared-structure path, for a failed item."""
    singles = {}
    for project in ("P-1", "P-2"):
        r = sapi.post("/v1/score", json=example(project=project))
        assert r.status_code == 200, r.text
        singles[project] = r.json()["input_hash"]
    assert singles["P-1"] != singles["P-2"]  # the project is part of the hashed inputs
    varied = example(project="P-3")
    row(varied, "time").pop("value")
    row(varied, "time")["level"] = "achieved"  # another shape: the general path
    invalid = example(project="P-4")
    invalid["rows"][0]["points"] = "x"
    bodies = [example(project="P-1"), example(project="P-2"), varied, invalid]
    r = sapi.post("/v1/score/batch", json={"items": bodies})
    items = r.json()["items"]
    assert [i["project"] for i in items] == ["P-1", "P-2", "P-3", "P-4"]
    assert [i["input_hash"] for i in items[:2]] == [singles["P-1"], singles["P-2"]]
    assert items[2]["ok"] is False
    assert items[2]["input_hash"] is not None
    assert items[3]["ok"] is False
    assert items[3]["input_hash"] is None
    # one structure: the columnar path gives the same hashes as the single requests
    r = sapi.post("/v1/score/batch", json={"items": bodies[:2]})
    assert [(i["project"], i["input_hash"]) for i in r.json()["items"]] == list(singles.items())


def test_batch_items_sharing_a_structure_keep_their_own_values(sapi: ApiClient) -> None:
    second = example(budget={"adjusted": 200.0, "executed": 150.0})  # 75 % → 7.5, warning
    row(second, "qty")["value"] = 50  # 20 · 0.5 = 10
    third = example()
    row(third, "time").pop("value")
    row(third, "time")["level"] = "achieved"
    r = sapi.post("/v1/score/batch?detail=true", json={"items": [WORKED_EXAMPLE, second, third]})
    items = r.json()["items"]
    assert items[0]["total"] == 94.2
    # 94.2 − 9.8 + 7.5 − 19.2 + 10 = 82.7
    assert items[1]["total"] == 82.7
    exec_leaf = items[1]["result"]["leaves"][0]
    assert (exec_leaf["raw_value"], exec_leaf["target"]) == (150.0, 200.0)
    assert exec_leaf["warnings"] == ["execution_below_threshold", "explanation_missing"]
    assert items[2]["ok"] is False
    assert items[2]["errors"][0]["loc"] == ["body", "items", 2, "rows", 2, "level"]


def test_batch_validate_only_and_detail(sapi: ApiClient) -> None:
    r = sapi.post("/v1/score/batch", json={"items": [WORKED_EXAMPLE], "validate_only": True})
    item = r.json()["items"][0]
    assert item["ok"] is True
    assert item["total"] is None
    r = sapi.post("/v1/score/batch?detail=true", json={"items": [WORKED_EXAMPLE]})
    assert r.json()["items"][0]["result"]["total"] == 94.2


CSV_HEADER = (
    "submission,framework,region,fiscal_year,budget_adjusted,budget_executed,"
    "一级指标,二级指标,三级指标,id,indicator,分值,计算符号,指标值,计量单位,实际完成值,level\n"
)
CSV = (
    CSV_HEADER
    + """A,SELF-EVAL,330000,2024,100,98,产出,数量指标,完成数量,qty,,50,≥,100,台,96.8,
A,,,,,,效益,社会效益,,soc,COM-03-001,30,,,,,achieved
A,,,,,,满意度,,,sat,COM-02-001,10,≥,90,%,81,
B,SELF-EVAL,330000,2024,100,50,产出,数量指标,完成数量,qty,,50,≥,100,台,50,
B,,,,,,效益,社会效益,,soc,COM-03-001,30,,,,,partial
B,,,,,,满意度,,,sat,COM-02-001,10,≥,90,%,abc,
"""
)


def test_batch_csv(sapi: ApiClient) -> None:
    r = sapi.post("/v1/score/batch", content=CSV.encode(), headers={"content-type": "text/csv"})
    problem = assert_problem(r, 422)  # 'abc' is not a number
    assert problem["errors"][0]["loc"] == ["line", 7, "value"]
    fixed = CSV.replace("abc", "45")
    r = sapi.post("/v1/score/batch", content=fixed.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    # A: 9.8 + 48.4 + 30 + 9 = 97.2; B: 5 + 25 + 21 + 5 = 56
    assert [i["total"] for i in items] == [97.2, 56.0]
    assert [i["grade"] for i in items] == ["优", "差"]


def test_batch_rejects_other_media_types(sapi: ApiClient) -> None:
    r = sapi.post("/v1/score/batch", content=b"x", headers={"content-type": "text/plain"})
    assert_problem(r, 415)


# --- what-if ------------------------------------------------------------------------------------


def test_what_if_points_targets_and_bands(sapi: ApiClient) -> None:
    r = sapi.post(
        "/v1/score/what-if",
        json={
            "submission": WORKED_EXAMPLE,
            "overrides": {
                "targets": {"econ": 80},  # 12 → 15
                "bands": [
                    {"grade": "A", "name_en": "a", "min": 95, "max": 100},
                    {"grade": "B", "name_en": "b", "min": 0, "max": 95},
                ],
            },
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["official"]["total"] == 94.2
    assert body["what_if"]["total"] == 97.2
    assert body["total_difference"] == 3.0
    assert body["grade_changed"] is True
    assert body["what_if"]["grade"]["grade"] == "A"
    nodes = {n["code"]: n for n in body["nodes"]}
    assert nodes["BEN"] == {
        "code": "BEN",
        "path": ["BEN"],
        "official": 27.0,
        "what_if": 30.0,
        "difference": 3.0,
    }
    assert nodes["OUT"]["difference"] == 0.0


def test_what_if_unknown_leaf(sapi: ApiClient) -> None:
    r = sapi.post(
        "/v1/score/what-if",
        json={"submission": WORKED_EXAMPLE, "overrides": {"points": {"nope": 5}}},
    )
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", "overrides", "points", "nope"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (b"", ["body"]),
        (b"\xff\xfe", ["body"]),
        ("submission,class_l1,points,colour\nA,产出,50,red\n".encode(), ["header", "colour"]),
        (b"submission,name\nA,x\n", ["header"]),
        ("submission,class_l1,points\nA,产出,1e999\n".encode(), ["line", 2, "points"]),
        ("submission,class_l1,points\nA,产\x00出,5\n".encode(), ["body"]),
    ],
)
def test_bad_csv_batches_are_422(sapi: ApiClient, body: bytes, loc: list[Any]) -> None:
    r = sapi.post("/v1/score/batch", content=body, headers={"content-type": "text/csv"})
    problem = assert_problem(r, 422)
    assert loc in [e["loc"] for e in problem["errors"]]


def test_csv_submission_failing_validation_is_a_per_item_error(sapi: ApiClient) -> None:
    text = CSV.replace("abc", "45").replace(
        "B,SELF-EVAL,330000,2024,100,50,产出,数量指标,完成数量,qty,,50",
        "B,SELF-EVAL,330000,2024,100,50,产出,数量指标,完成数量,qty,,-5",
    )
    r = sapi.post("/v1/score/batch", content=text.encode(), headers={"content-type": "text/csv"})
    items = r.json()["items"]
    assert items[0]["total"] == 97.2
    assert items[1]["ok"] is False
    assert items[1]["errors"][0]["loc"] == ["submission", "B", "rows", 0, "points"]


def test_a_row_operator_contradicting_its_indicator_is_refused(sapi: ApiClient) -> None:
    # COM-01-002 is ≤ (lower is better): a row saying ≥ would otherwise be scored lower-is-better
    body = example()
    row(body, "cost")["operator"] = "≥"
    problem = assert_problem(sapi.post("/v1/score", json=body), 422)
    [err] = [e for e in problem["errors"] if e["type"] == "operator_mismatch"]
    assert err["loc"] == ["body", "rows", 3, "operator"]
    assert "COM-01-002" in err["msg"]
    # the same direction in another spelling is fine, and so is an explicit rule
    row(body, "cost")["operator"] = "<="
    assert sapi.post("/v1/score", json=body).status_code == 200
    row(body, "cost")["operator"] = "≥"
    row(body, "cost")["rule"] = {"kind": "higher_better"}
    assert sapi.post("/v1/score", json=body).status_code == 200


def test_auto_standard_follows_the_resolver_precedence(sapi: ApiClient) -> None:
    body = example()
    row(body, "sat")["standard_type"] = "auto"  # no plan row: the industry row of 330000, 2024
    r = sapi.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    leaf = next(lf for lf in r.json()["leaves"] if lf["id"] == "sat")
    assert leaf["target"] == 90.0
    assert leaf["target_source"]["standard_type"] == "industry"
    assert leaf["target_source"]["region"] == "330000"


def test_auto_standard_prefers_a_national_plan_to_a_regional_industry_row() -> None:
    from indicator_service.catalogue.source import NamespaceDoc
    from indicator_service.scoring.lookup import DocumentCatalogue, find_standard
    from tests.scoring.frameworks import COMMON

    doc = COMMON.model_dump(mode="json", exclude_none=True)
    doc["standards"].append(
        {
            "indicator": "COM-02-001",
            "type": "plan",
            "value": 97,
            "unit": "%",
            "source": {"title": "plan", "issuer": "test", "year": 2024},
        }
    )
    cat = DocumentCatalogue([], [NamespaceDoc.model_validate(doc)])
    hit = find_standard(cat, "COM-02-001", "auto", "330000", 2024)
    assert hit is not None
    assert (hit.type, hit.region, hit.value) == ("plan", "000000", 97.0)
    industry = find_standard(cat, "COM-02-001", "industry", "330000", 2024)
    assert industry is not None
    assert (industry.type, industry.region, industry.value) == ("industry", "330000", 90.0)
    assert find_standard(cat, "COM-01-001", "auto", "330000", 2024) is None


def test_explanations_are_echoed_and_asked_for(sapi: ApiClient) -> None:
    """偏差原因分析: a row's explanation and the budget's are echoed on their leaves; a leaf whose
    warning asks for one (over-achievement, execution below 90 %) and has none says so, and so
    does every leaf that loses points without one."""
    body = example(budget={"adjusted": 100.0, "executed": 80.0})  # 80 %: below 90 %
    row(body, "qty")["value"] = 140  # ≥ 1.3 × 100: over-achievement
    row(body, "econ")["explanation"] = "市场价格下降"
    r = sapi.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    receipt = r.json()
    leaves = {lf["id"]: lf for lf in receipt["leaves"]}
    assert leaves["qty"]["warnings"] == ["over_achievement", "explanation_missing"]
    assert leaves["EXEC"]["warnings"] == ["execution_below_threshold", "explanation_missing"]
    assert leaves["econ"]["explanation"] == "市场价格下降"
    assert leaves["econ"]["warnings"] == []  # 80 of 100: no warning asks for it
    assert "explanation_missing" in receipt["warnings"]

    row(body, "qty")["explanation"] = "需求超出预期"
    body["budget"]["explanation"] = "项目延期至次年"
    again = sapi.post("/v1/score", json=body).json()
    leaves = {lf["id"]: lf for lf in again["leaves"]}
    assert leaves["qty"]["warnings"] == ["over_achievement"]
    assert leaves["qty"]["explanation"] == "需求超出预期"
    assert leaves["EXEC"]["explanation"] == "项目延期至次年"
    # the rows that still lose points without an explanation ask for one, the others do not
    missing = {lf["id"] for lf in again["leaves"] if "explanation_missing" in lf["warnings"]}
    assert missing == {lf["id"] for lf in again["leaves"] if lf["lost"] and not lf["explanation"]}
    assert missing.isdisjoint({"qty", "EXEC", "econ"})
    assert again["total"] == receipt["total"]  # explanations do not change scores
    assert again["input_hash"] != receipt["input_hash"]  # but they are part of the input


def test_explanation_column_of_a_form(sapi: ApiClient) -> None:
    csv_body = (
        "submission,framework,budget_adjusted,budget_executed,class_l1,name,points,operator,"
        "target,unit,value,偏差原因分析及改进措施\n"
        "a,SELF-EVAL,100,95,产出,完成数量,50,≥,100,台,140,需求超出预期\n"
        "a,SELF-EVAL,100,95,效益,增收,30,≥,100,万元,90,\n"
        "a,SELF-EVAL,100,95,满意度,满意度,10,≥,90,%,95,\n"
    )
    r = sapi.post(
        "/v1/score/batch?detail=true", content=csv_body, headers={"content-type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    leaves = r.json()["items"][0]["result"]["leaves"]
    assert [lf["explanation"] for lf in leaves] == [None, "需求超出预期", None, None]
    assert leaves[1]["warnings"] == ["over_achievement"]


def test_every_leaf_that_loses_points_asks_for_an_explanation(sapi: ApiClient) -> None:
    """A target not reached must be explained (偏差原因分析及改进措施): every leaf that loses
    points without an explanation asks for one; full marks and an explained shortfall do not."""
    body = example(budget={"adjusted": 100.0, "executed": 100.0})
    row(body, "qty")["value"] = 99  # 19.8 of 20
    row(body, "econ")["value"] = 80
    row(body, "econ")["explanation"] = "市场价格下降"
    r = sapi.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    receipt = r.json()
    leaves = {lf["id"]: lf for lf in receipt["leaves"]}
    missing = {i for i, lf in leaves.items() if "explanation_missing" in lf["warnings"]}
    lost = {i for i, lf in leaves.items() if lf["lost"] and lf["lost"] > 0}
    assert "qty" in missing
    assert "econ" in lost
    assert "econ" not in missing
    assert "EXEC" not in missing  # 100 % executed: nothing lost
    assert missing == {i for i in lost if leaves[i]["explanation"] is None}
    assert leaves["qty"]["warnings"] == ["explanation_missing"]
    assert "explanation_missing" in receipt["warnings"]
    for lf in leaves.values():
        if lf["status"] == "not_applicable" or not lf["lost"]:
            assert "explanation_missing" not in lf["warnings"]
