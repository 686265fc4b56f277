"""``POST /v1/targets/review/form``: the 绩效目标申报表 workbook reviewed as the JSON table is."""

from __future__ import annotations

from tests.helpers import assert_problem
from tests.targets.conftest import Callers
from tests.targets.declaration import ROWS, declaration

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
URL = "/v1/targets/review/form?region=330102&sector=education&project_type=grant"


def test_form_is_read_and_reviewed(callers: Callers) -> None:
    r = callers.client.post(URL, content=declaration(), headers={**callers.a, "Content-Type": XLSX})
    assert r.status_code == 201, r.text
    out = r.json()
    req = out["request"]
    # read from the form: project, unit (实施单位), year line, budget, overall goal
    assert req["project"] == "2024年学前教育资助项目"
    assert req["unit"] == "县学前教育中心"
    assert (req["fiscal_year"], req["budget"]) == (2024, 500.0)
    assert req["overall_goal"].startswith("新增普惠性学位300个")
    # merged 一级 cells carried down
    assert [(row["class_l1"], row["class_l2"]) for row in req["rows"]] == [
        ("产出指标", "数量指标"),
        ("产出指标", "质量指标"),
        ("产出指标", "成本指标"),
        ("效益指标", "社会效益指标"),
        ("满意度指标", "服务对象满意度指标"),
    ]
    # the same hand-computed findings as the JSON table (rows in the form's order):
    # 99 % < 99.39 % and 85 % < 89.7 % (偏低), 600 万元 > 500 万元, no 时效 row, one free-text row
    found = sorted((f["code"], f["row"]) for f in out["result"]["findings"])
    assert found == [
        ("below_standard", 1),
        ("below_standard", 3),
        ("free_text", 2),
        ("missing_class", None),
        ("over_budget", 2),
    ]
    assert out["result"]["verdict_zh"] == "不予通过"
    got = callers.client.get(f"/v1/targets/reviews/{out['id']}", headers=callers.a)
    assert got.json()["result"] == out["result"]


def test_query_overrides_the_form_budget(callers: Callers) -> None:
    r = callers.client.post(
        URL + "&budget=800", content=declaration(), headers={**callers.a, "Content-Type": XLSX}
    )
    codes = [f["code"] for f in r.json()["result"]["findings"]]
    assert "over_budget" not in codes  # 600 万元 ≤ 800 万元


def test_bad_cells_are_all_named_and_nothing_is_stored(callers: Callers) -> None:
    before = callers.client.get("/v1/targets/reviews", headers=callers.a).json()["total"]
    rows = list(ROWS)
    rows[0] = ("产出指标", "数量指标", "新增普惠性学位数", "")  # E10: empty target
    rows[1] = ("", "质量指标", "", "≥99%")  # D11: no name
    raw = declaration(rows, budget="待定")  # C5: not an amount
    p = assert_problem(
        callers.client.post(URL, content=raw, headers={**callers.a, "Content-Type": XLSX}), 422
    )
    assert sorted(e["loc"][1] for e in p["errors"]) == ["申报表!C5", "申报表!D11", "申报表!E10"]
    assert all("申报表!" in e["msg"] for e in p["errors"])
    # a row problem found by the review (an indicator listed twice) names its cell too
    rows = list(ROWS)
    rows[4] = ("满意度指标", "服务对象满意度指标", "学前教育毛入园率", "≥90%")  # D14 = D13
    p = assert_problem(
        callers.client.post(
            URL, content=declaration(rows), headers={**callers.a, "Content-Type": XLSX}
        ),
        422,
    )
    assert [e["loc"] for e in p["errors"]] == [["body", "申报表!D14"]]
    after = callers.client.get("/v1/targets/reviews", headers=callers.a).json()["total"]
    assert after == before


def test_not_a_declaration_wrong_type_and_region_scope(callers: Callers) -> None:
    p = assert_problem(
        callers.client.post(
            URL, content=b"a,b\n1,2\n", headers={**callers.a, "Content-Type": "text/csv"}
        ),
        422,
    )
    assert p["errors"][0]["type"] == "layout"
    assert_problem(
        callers.client.post(
            URL, content=b"{}", headers={**callers.a, "Content-Type": "application/json"}
        ),
        415,
    )
    assert_problem(
        callers.client.post(
            URL, content=declaration(), headers={**callers.scoped, "Content-Type": XLSX}
        ),
        403,
    )


def test_cell_problems_answer_in_the_language_asked(callers: Callers) -> None:
    """Each cell's problem in the language asked (the reader keeps zh/en pairs and picks one)."""
    rows = list(ROWS)
    rows[0] = ("产出指标", "数量指标", "新增普惠性学位数", "")  # E10: empty target
    rows[1] = ("", "质量指标", "", "≥99%")  # D11: no name
    raw = declaration(rows, budget="待定")  # C5: not an amount
    expected = {
        "zh-CN": (
            "申报表有 3 处问题",
            {
                "申报表!C5": "申报表!C5：“待定”不是金额（万元）",
                "申报表!D11": "申报表!D11：三级指标为空",
                "申报表!E10": "申报表!E10：指标值为空",
            },
        ),
        "en": (
            "3 problem(s) in the form",
            {
                "申报表!C5": "申报表!C5: '待定' is not an amount (万元)",
                "申报表!D11": "申报表!D11: the indicator name (三级指标) is empty",
                "申报表!E10": "申报表!E10: the target (指标值) is empty",
            },
        ),
    }
    for lang, (detail, msgs) in expected.items():
        headers = {**callers.a, "Content-Type": XLSX, "Accept-Language": lang}
        p = assert_problem(callers.client.post(URL, content=raw, headers=headers), 422)
        assert p["detail"] == detail
        assert {e["loc"][1]: e["msg"] for e in p["errors"]} == msgs
    # a problem the review finds is relocated to its cell, in the language asked
    rows = list(ROWS)
    rows[4] = ("满意度指标", "服务对象满意度指标", "学前教育毛入园率", "≥90%")  # D14 = D13
    headers = {**callers.a, "Content-Type": XLSX, "Accept-Language": "zh-CN"}
    p = assert_problem(callers.client.post(URL, content=declaration(rows), headers=headers), 422)
    assert p["detail"] == "绩效目标表有 1 处问题"
    assert p["errors"][0]["msg"] == "申报表!D14：指标 EDU-02-001 已在第 4 行"
