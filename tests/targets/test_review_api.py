"""``POST /v1/targets/review`` on the seed catalogue, with hand-computed findings and verdicts.

The project: a 2024 preschool grant programme of county 330102 (education, project type
``grant``), budget 500 万元, reviewed under SELF-EVAL 1.2.0 (default rules: 不予通过 at 3 major
findings, 修改后通过 at 1 counted finding; 偏低 below a historical or industry standard).

Seed standards used (catalog/namespaces/education.yaml):
- EDU-02-001 学前教育毛入园率: historical 89.7 % (2022, national); plan > 90 % (2021–2025).
- EDU-02-009 专任教师学历合格率: historical 99.39 % (2022).
- EDU-04-001 生均公用经费: budget_expenditure = 500 元/生·年 (illustrative).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlmodel import func, select

from indicator_service.core.database import session_scope
from indicator_service.targets.models import TargetReview
from tests.helpers import assert_problem, kept_answers
from tests.targets.conftest import Callers

URL = "/v1/targets/review"


def table(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project": "2024年学前教育资助项目",
        "unit": "县教育局",
        "sector": "education",
        "project_type": "grant",
        "region": "330102",
        "fiscal_year": 2024,
        "budget": 500,
        "overall_goal": "新增普惠性学位300个，学前教育毛入园率稳步提高。",
        "rows": [
            # linked by its exact name (no code given)
            {"name": "新增普惠性学位数", "target": "≥300个"},
            {
                "name": "幼儿园专任教师学历合格率",
                "indicator": "EDU-02-009",
                "target": "≥99%",
            },
            {"name": "学前教育毛入园率", "indicator": "EDU-02-001", "target": "≥85%"},
            # free text, a total cost above the 500 万元 budget
            {
                "name": "项目总成本",
                "class_l1": "产出指标",
                "class_l2": "成本指标",
                "target": "≤600万元",
            },
            {
                "name": "社会公众认可度",
                "indicator": "EDU-06-001",
                "class_l1": "满意度指标",
                "class_l2": "服务对象满意度指标",
                "target": "≥90%",
            },
        ],
    }
    body.update(changes)
    return body


def codes(out: dict[str, Any]) -> list[tuple[str, int | None]]:
    return sorted((f["code"], f["row"]) for f in out["result"]["findings"])


def test_below_standard_missing_class_over_budget_rejected(callers: Callers) -> None:
    r = callers.client.post(URL, json=table(), headers=callers.a)
    assert r.status_code == 201, r.text
    out = r.json()
    assert r.headers["location"] == f"/v1/targets/reviews/{out['id']}"
    res = out["result"]
    assert (res["framework"], res["version"]) == ("SELF-EVAL", "1.2.0")
    # the findings, by hand:
    # - 时效 has no row (完整性, major)
    # - row 1: 99 % < historical 99.39 % (偏低, major)
    # - row 2: 85 % < historical 89.7 % (偏低, major)
    # - row 3: free text (相关性, note) and 600 万元 > 500 万元 budget (可行性, major)
    assert codes(out) == [
        ("below_standard", 1),
        ("below_standard", 2),
        ("free_text", 3),
        ("missing_class", None),
        ("over_budget", 3),
    ]
    assert (res["majors"], res["minors"], res["notes"]) == (4, 0, 1)
    assert (res["verdict"], res["verdict_zh"], out["verdict"]) == ("reject", "不予通过", "reject")
    missing = next(f for f in res["findings"] if f["code"] == "missing_class")
    assert missing["criterion_zh"] == "完整性"
    assert "产出—时效" in missing["zh"]
    assert "timeliness" in missing["en"]
    # 偏低 cites the historical standard: type, region, year, source
    low = res["rows"][2]["findings"][0]
    assert low["code"] == "below_standard"
    assert low["criterion_zh"] == "适当性"
    assert "偏低" in low["zh"]
    assert "89.7" in low["zh"]
    assert "too low" in low["en"]
    [cited] = low["standards"]
    assert (cited["type"], cited["value"], cited["unit"]) == ("historical", 89.7, "%")
    assert (cited["region"], cited["fiscal_year"]) == ("000000", 2022)
    assert cited["source"]["title"] == "2022年全国教育事业发展统计公报"
    # the row lists every applicable standard: the 2021–2025 plan (> 90) and the historical
    assert sorted((s["type"], s["value"]) for s in res["rows"][2]["standards"]) == [
        ("historical", 89.7),
        ("plan", 90.0),
    ]
    over = next(f for f in res["findings"] if f["code"] == "over_budget")
    assert over["criterion_zh"] == "可行性"
    assert "600" in over["zh"]
    assert "500" in over["zh"]
    # linking: by name, by code, none
    assert [row["linked_by"] for row in res["rows"]] == ["name", "code", "code", None, "code"]
    assert res["rows"][0]["indicator"] == "EDU-01-003"
    crit = {c["criterion"]: (c["ok"], c["findings"]) for c in res["criteria"]}
    assert crit == {
        "completeness": (False, 1),
        "relevance": (True, 0),  # a note does not count
        "appropriateness": (False, 2),
        "feasibility": (False, 1),
    }
    assert res["explanation_zh"].startswith("审核结论：不予通过")
    assert res["explanation_en"].startswith("Verdict: not approved")


def test_suggestions_fill_the_missing_class_and_propose_standards(callers: Callers) -> None:
    res = callers.client.post(URL, json=table(), headers=callers.a).json()["result"]
    by_code = {s["indicator"]: s for s in res["suggestions"]}
    # 资助资金按时发放率 (时效, tagged grant) fills the missing class: listed first
    first = res["suggestions"][0]
    assert first["indicator"] == "EDU-03-001"
    assert first["fills_missing_class"] is True
    # 普惠性幼儿园覆盖率: its plan standard ended in 2020, so the historical 89.55 % is proposed
    p = by_code["EDU-02-002"]["proposed"]
    assert (p["type"], p["value"], p["fiscal_year"]) == ("historical", 89.55, 2022)
    # 九年义务教育巩固率: plan ≥ 96 % (2021–2025)
    assert by_code["EDU-05-001"]["proposed"]["value"] == 96.0
    # indicators already in the table, and those of another project type, are not suggested
    assert not {"EDU-02-001", "EDU-02-009", "EDU-01-003", "EDU-06-001"} & set(by_code)
    assert "EDU-04-001" not in by_code  # tagged subsidy, the project is a grant


def test_revised_table_approved_after_revision_then_approved(callers: Callers) -> None:
    body = table()
    rows = body["rows"]
    rows[1]["target"] = "≥99.5%"  # above the historical 99.39
    rows[2]["target"] = "≥90%"  # above the historical 89.7, not beyond 1.5 × the plan
    rows[3]["target"] = "≤450万元"  # within the budget
    rows.append({"name": "资助资金按时发放率", "indicator": "EDU-03-001", "target": "=100%"})
    rows[4]["target"] = "群众认可"  # words: 满意度 has no quantitative row (minor)
    out = callers.client.post(URL, json=body, headers=callers.a).json()
    assert codes(out) == [("free_text", 3), ("not_quantitative", None)]
    assert (out["result"]["verdict"], out["result"]["verdict_zh"]) == ("revise", "修改后通过")
    rows[4]["target"] = "≥92%"
    out = callers.client.post(URL, json=body, headers=callers.a).json()
    assert codes(out) == [("free_text", 3)]
    assert (out["result"]["verdict"], out["result"]["verdict_zh"]) == ("pass", "通过")


def test_far_above_unit_conversion_cost_standard_and_unit_mismatch(callers: Callers) -> None:
    body = table(project_type="subsidy", include_illustrative=True)
    body["rows"][2]["target"] = "≥140%"  # > 1.5 × 90 (plan) and > 1.5 × 89.7: 偏高
    body["rows"][1]["target"] = "≥99人"  # % expected: cannot be compared
    # 0.06 万元/生·年 = 600 元/生·年 > the budget-expenditure standard 500 (illustrative)
    body["rows"].append(
        {"name": "生均公用经费", "indicator": "EDU-04-001", "target": "=0.06万元/生·年"}
    )
    res = callers.client.post(URL, json=body, headers=callers.a).json()["result"]
    found = {(f["code"], f["row"]): f for f in res["findings"]}
    high = found[("above_standard", 2)]
    assert high["severity"] == "minor"
    assert "偏高" in high["zh"]
    assert "1.5" in high["zh"]
    assert ("unit_mismatch", 1) in found
    assert "人" in found[("unit_mismatch", 1)]["zh"]
    cost = found[("above_cost_standard", 5)]
    assert cost["criterion"] == "feasibility"
    assert res["rows"][5]["value"] == pytest.approx(600.0)
    assert res["rows"][5]["unit"] == "元/生·年"
    [std] = cost["standards"]
    assert (std["type"], std["value"], std["illustrative"]) == ("budget_expenditure", 500.0, True)
    # majors: missing 时效, unit mismatch, over budget (600 万元) = 3 → 不予通过
    assert res["majors"] == 3
    assert res["verdict"] == "reject"


def test_2021_framework_expects_cost_as_a_level_1_class(callers: Callers) -> None:
    res = callers.client.post(URL, json=table(framework="SELF-EVAL-2021"), headers=callers.a)
    out = res.json()["result"]
    missing = sorted(f["zh"] for f in out["findings"] if f["code"] == "missing_class")
    # the cost row is filed under 产出—成本, so the level-1 成本 class is missing, and 时效
    assert missing == [
        "缺少产出—时效指标：框架要求目标表包含该类指标。",
        "缺少成本指标：框架要求目标表包含该类指标。",
    ]


def test_bad_rows_are_all_named_and_nothing_is_stored(callers: Callers) -> None:
    before = callers.client.get("/v1/targets/reviews", headers=callers.a).json()["total"]
    body = table()
    body["rows"][0] = {"name": "某自定义指标", "target": "≥3个"}  # no class
    body["rows"][1]["indicator"] = "EDU-99-999"  # unknown
    body["rows"][2]["target"] = "  "  # empty
    body["rows"][4]["indicator"] = "EDU-02-001"  # twice (row 2)
    p = assert_problem(callers.client.post(URL, json=body, headers=callers.a), 422)
    assert sorted(tuple(e["loc"]) for e in p["errors"]) == [
        ("body", "rows", 0, "class_l1"),
        ("body", "rows", 1, "indicator"),
        ("body", "rows", 2, "target"),
        ("body", "rows", 4, "indicator"),
    ]
    # schema errors: every field at once
    bad = table(budget="500", fiscal_year=1800)
    bad["rows"][3]["target"] = 600
    p = assert_problem(callers.client.post(URL, json=bad, headers=callers.a), 422)
    locs = {tuple(e["loc"]) for e in p["errors"]}
    assert {("body", "budget"), ("body", "fiscal_year"), ("body", "rows", 3, "target")} <= locs
    after = callers.client.get("/v1/targets/reviews", headers=callers.a).json()["total"]
    assert after == before


def test_framework_without_review_rules_and_unknown_framework(callers: Callers) -> None:
    p = assert_problem(
        callers.client.post(URL, json=table(framework="PRJ-2020"), headers=callers.a), 422
    )
    assert p["errors"][0]["loc"] == ["body", "framework"]
    assert_problem(callers.client.post(URL, json=table(framework="NOPE"), headers=callers.a), 404)


def test_stored_reviews_are_owner_scoped(callers: Callers) -> None:
    c = callers.client
    created = c.post(URL, json=table(project="归属测试"), headers=callers.a).json()
    rid = created["id"]
    got = c.get(f"/v1/targets/reviews/{rid}", headers=callers.a)
    assert got.status_code == 200
    assert got.json()["request"]["version"] == "1.2.0"  # the version used is pinned
    assert got.json()["result"] == created["result"]
    assert_problem(c.get(f"/v1/targets/reviews/{rid}", headers=callers.b), 404)
    assert c.get(f"/v1/targets/reviews/{rid}", headers=callers.admin).status_code == 200
    mine = c.get("/v1/targets/reviews?project=归属测试", headers=callers.a).json()
    theirs = c.get("/v1/targets/reviews?project=归属测试", headers=callers.b).json()
    assert (mine["total"], theirs["total"]) == (1, 0)
    assert mine["items"][0]["verdict_zh"] == "不予通过"
    # roles: a curator may not review targets; no key is 401
    assert_problem(c.post(URL, json=table(), headers=callers.curator), 403)
    assert_problem(c.post(URL, json=table()), 401)
    # a region-scoped key reviews only in its regions
    assert_problem(c.post(URL, json=table(), headers=callers.scoped), 403)
    ok = c.post(URL, json=table(region="330106"), headers=callers.scoped)
    assert ok.status_code == 201


def test_idempotency_key_replays_the_first_review(callers: Callers) -> None:
    h = {**callers.a, "Idempotency-Key": "targets-replay-1"}
    first = callers.client.post(URL, json=table(project="重放"), headers=h)
    again = callers.client.post(URL, json=table(project="重放"), headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = copy.deepcopy(table(project="重放"))
    other["budget"] = 900
    assert_problem(callers.client.post(URL, json=other, headers=h), 409)


@pytest.mark.parametrize(("first", "then"), [("zh-CN", "en"), ("en", "zh-CN")])
def test_a_replay_answers_as_the_review_reads_in_the_replaying_language(
    callers: Callers, first: str, then: str
) -> None:
    """A review's words are {zh, en} pairs (verdict_zh/verdict_en, each finding's zh and en …):
    the kept answer is language-neutral, so a replay in another language is the review as read
    in that language; nothing new is stored."""
    key = f"targets-replay-{first}"
    body = table(project=f"重放-{first}")

    def post(lang: str) -> Any:
        return callers.client.post(
            URL, json=body, headers={**callers.a, "Idempotency-Key": key, "accept-language": lang}
        )

    def reviews() -> int:
        with session_scope(callers.app.state.engine) as s:
            return int(s.exec(select(func.count()).select_from(TargetReview)).one())

    made = post(first)
    assert made.status_code == 201, made.text
    count = reviews()
    replay = post(then)
    assert (replay.status_code, replay.headers["content-language"]) == (201, then)
    read = callers.client.get(
        f"/v1/targets/reviews/{made.json()['id']}", headers={**callers.a, "accept-language": then}
    )
    assert replay.json() == read.json() == made.json()
    result = replay.json()["result"]
    assert result["verdict_zh"]
    assert result["verdict_en"]
    assert result["explanation_zh"]
    assert result["explanation_en"]
    assert reviews() == count
    assert kept_answers(callers.app.state.engine, "targets.reviews", key) == [made.json()]


def test_row_problems_answer_in_the_language_asked(callers: Callers) -> None:
    """The same 422 in Chinese (``Accept-Language: zh-CN``) and in English, each checked alone
    (the messages used to be one ``中文 / English`` string)."""
    body = table()
    body["rows"][0] = {"name": "某自定义指标", "target": "≥3个"}  # no class
    body["rows"][1]["indicator"] = "EDU-99-999"  # unknown
    body["rows"][2]["target"] = "  "  # empty
    body["rows"][4]["indicator"] = "EDU-02-001"  # already row 3
    expected = {
        "zh-CN": (
            "绩效目标表有 4 处问题",
            {
                0: "未关联指标库的行须填写一级指标（class_l1）",
                1: "指标库中没有指标 'EDU-99-999'",
                2: "年度指标值为空",
                4: "指标 EDU-02-001 已在第 3 行",
            },
        ),
        "en": (
            "4 problem(s) in the target table",
            {
                0: "a row not linked to the library needs its class_l1 (一级指标)",
                1: "no library indicator 'EDU-99-999'",
                2: "the target (年度指标值) is empty",
                4: "indicator EDU-02-001 is already row 3",
            },
        ),
    }
    for lang, (detail, msgs) in expected.items():
        r = callers.client.post(URL, json=body, headers={**callers.a, "Accept-Language": lang})
        p = assert_problem(r, 422)
        assert r.headers["content-language"] == lang
        assert p["detail"] == detail
        assert {e["loc"][2]: e["msg"] for e in p["errors"]} == msgs
    zh = {**callers.a, "Accept-Language": "zh-CN"}
    p = assert_problem(callers.client.post(URL, json=table(framework="PRJ-2020"), headers=zh), 422)
    assert p["detail"].startswith("框架 PRJ-2020 ")
    assert p["detail"].endswith(
        "没有绩效目标审核规则（target_review）：请使用 SELF-EVAL 或 SELF-EVAL-2021"
    )
    p = assert_problem(callers.client.get("/v1/targets/reviews/999999999", headers=zh), 404)
    assert (p["title"], p["detail"]) == ("未找到", "没有绩效目标审核记录 999999999")
    assert p["errors"][0]["msg"] == "未找到"
