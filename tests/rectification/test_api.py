"""Rectification (整改) records over the API, on evaluations of the seed SELF-EVAL framework:
deadlines by hand, the state machine, the overdue list per region, who may read and move."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import func, select

from indicator_service.auth.models import Role
from indicator_service.core.database import session_scope
from indicator_service.rectification import deadlines
from indicator_service.rectification.models import Rectification
from tests.helpers import ApiClient, assert_problem, kept_answers
from tests.monitoring.conftest import client_for, farmland_request, mon_app  # noqa: F401
from tests.scoring.test_reevaluation import (  # the seed app and its clients
    client,
    project,
    seed_app,  # noqa: F401
    stored,
    submission,
)


@pytest.fixture(scope="module")
def unit(seed_app: FastAPI) -> ApiClient:  # noqa: F811
    return client(seed_app)


@pytest.fixture(scope="module")
def stranger(seed_app: FastAPI) -> ApiClient:  # noqa: F811
    return client(seed_app)


@pytest.fixture(scope="module")
def province(seed_app: FastAPI) -> ApiClient:  # noqa: F811
    return client(seed_app, regions=["330000"])


@pytest.fixture(scope="module")
def other_province(seed_app: FastAPI) -> ApiClient:  # noqa: F811
    return client(seed_app, regions=["320000"])


def demand(subject_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": {"kind": "evaluation", "id": subject_id},
        "leaf": "r3",
        "requirement": "受益人数未达标，说明原因并提出改进措施",
        "owner": "某县教育局",
        "feedback_due": "2027-01-05",
    }
    body.update(changes)
    return body


ZH = {"Accept-Language": "zh-CN"}


def patch(api: ApiClient, rid: int, body: dict[str, Any], tag: str | None) -> Any:
    headers = {"If-Match": tag} if tag is not None else {}
    return api.patch(f"/v1/rectifications/{rid}", json=body, headers=headers)


def test_rectification_lifecycle_and_overdue_list(
    unit: ApiClient, province: ApiClient, stranger: ApiClient, other_province: ApiClient
) -> None:
    own = stored(unit, submission(project(), 100, 500, 95))
    r = province.post("/v1/rectifications", json=demand(own["id"]))
    assert r.status_code == 201, r.text
    rect = r.json()
    rid = rect["id"]
    assert r.headers["location"] == f"/v1/rectifications/{rid}"
    assert r.headers["etag"] == f'"{rid}.1"'
    assert (rect["status"], rect["status_zh"], rect["deadline"]) == ("open", "待反馈", "2027-01-05")
    assert (rect["region"], rect["leaf"], rect["report_due"]) == ("330102", "r3", None)

    # the evaluated party reads it; other keys do not see it at all
    assert unit.get(f"/v1/rectifications/{rid}").status_code == 200
    assert_problem(stranger.get(f"/v1/rectifications/{rid}"), 404)
    assert_problem(other_province.get(f"/v1/rectifications/{rid}"), 404)
    assert stranger.get("/v1/rectifications", params={"subject_id": own["id"]}).json()["total"] == 0
    listed = unit.get("/v1/rectifications", params={"subject_id": own["id"]}).json()
    assert [i["id"] for i in listed["items"]] == [rid]

    # open, 2027-01-05: overdue from 2027-01-06 (the day itself is in time)
    def overdue(api: ApiClient, as_of: str, region: str = "330000") -> dict[str, Any]:
        got = api.get("/v1/rectifications/overdue", params={"region": region, "as_of": as_of})
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    assert rid not in [i["id"] for i in overdue(province, "2027-01-05")["items"]]
    late = overdue(province, "2027-01-08")
    mine = next(i for i in late["items"] if i["id"] == rid)
    assert mine["days_overdue"] == 3
    assert late["by_region"]["330102"] >= 1
    assert rid not in [i["id"] for i in overdue(province, "2027-01-08", "330200")["items"]]
    assert rid not in [i["id"] for i in overdue(stranger, "2027-01-08")["items"]]

    # only the demanding side records the feedback; If-Match is required and checked
    tag = province.get(f"/v1/rectifications/{rid}").headers["etag"]
    step = {"status": "feedback_given", "on": "2027-01-04"}
    assert_problem(patch(unit, rid, step, tag), 403)
    assert_problem(patch(province, rid, step, None), 428)
    assert_problem(patch(province, rid, step, f'"{rid}.7"'), 412)
    r = patch(province, rid, step, tag)
    assert r.status_code == 200, r.text
    given = r.json()
    # 2027-01-04 + 2 months
    assert (given["status"], given["report_due"], given["deadline"]) == (
        "feedback_given",
        "2027-03-04",
        "2027-03-04",
    )
    assert r.headers["etag"] == f'"{rid}.2"'
    assert rid not in [i["id"] for i in overdue(province, "2027-03-04")["items"]]
    assert (
        next(i for i in overdue(province, "2027-03-05")["items"] if i["id"] == rid)["days_overdue"]
        == 1
    )

    # the evaluated party reports; states only move forward; the demanding side closes
    r = patch(
        unit,
        rid,
        {"status": "reported", "on": "2027-03-01", "note": "已补充培训"},
        tag2 := r.headers["etag"],
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reported_on"], r.json()["deadline"]) == (
        "reported",
        "2027-03-01",
        None,
    )
    assert rid not in [i["id"] for i in overdue(province, "2027-06-01")["items"]]
    tag3 = r.headers["etag"]
    assert tag3 != tag2
    problem = assert_problem(patch(province, rid, {"status": "feedback_given"}, tag3), 409)
    assert problem["errors"][0]["type"] == "invalid_transition"
    assert_problem(patch(unit, rid, {"status": "closed", "on": "2027-03-10"}, tag3), 403)
    early = assert_problem(
        patch(province, rid, {"status": "closed", "on": "2027-02-01"}, tag3), 422
    )
    assert [e["loc"] for e in early["errors"]] == [["body", "on"]]
    closed = patch(province, rid, {"status": "closed", "on": "2027-03-10"}, tag3).json()
    assert (closed["status"], closed["closed_on"], closed["revision"]) == (
        "closed",
        "2027-03-10",
        4,
    )
    assert_problem(patch(stranger, rid, {"status": "closed"}, f'"{rid}.4"'), 404)


def test_default_feedback_deadline_is_a_month_after_the_evaluation(
    unit: ApiClient, province: ApiClient
) -> None:
    own = stored(unit, submission(project(), 100, 500, 95))
    body = demand(own["id"])
    del body["feedback_due"], body["leaf"]
    rect = province.post("/v1/rectifications", json=body).json()
    evaluated_on = deadlines.local_date(datetime.fromisoformat(own["created_at"]))
    assert date.fromisoformat(rect["feedback_due"]) == deadlines.add_months(evaluated_on, 1)
    assert rect["leaf"] is None
    # the unit may record a demand on its own evaluation (e.g. one it received on paper)
    mine = unit.post("/v1/rectifications", json=demand(own["id"]))
    assert mine.status_code == 201, mine.text


def test_bad_input_names_every_field_and_stores_nothing(
    unit: ApiClient, province: ApiClient, stranger: ApiClient
) -> None:
    own = stored(unit, submission(project(), 100, 500, 95))
    bad = demand(own["id"], leaf="r9", feedback_due="2020-01-01", report_due="2019-12-31")
    problem = assert_problem(province.post("/v1/rectifications", json=bad), 422)
    assert sorted(tuple(e["loc"]) for e in problem["errors"]) == [
        ("body", "feedback_due"),
        ("body", "leaf"),
        ("body", "report_due"),
    ]
    problem = assert_problem(stranger.post("/v1/rectifications", json=demand(own["id"])), 422)
    assert [e["loc"] for e in problem["errors"]] == [["body", "subject", "id"]]
    shape = demand(own["id"], requirement="", owner=None, subject={"kind": "contract", "id": 1})
    problem = assert_problem(province.post("/v1/rectifications", json=shape), 422)
    locs = {tuple(e["loc"][:3]) for e in problem["errors"]}
    assert {("body", "requirement"), ("body", "owner"), ("body", "subject", "kind")} <= locs
    assert province.get("/v1/rectifications", params={"subject_id": own["id"]}).json()["total"] == 0
    # an update that is wrong in two ways at once
    rid = province.post("/v1/rectifications", json=demand(own["id"])).json()["id"]
    tag = f'"{rid}.1"'
    two = {"status": "reported", "on": "2027-01-01", "report_due": "2027-02-01"}
    problem = assert_problem(patch(unit, rid, two, tag), 422)
    assert [e["loc"] for e in problem["errors"]] == [["body", "report_due"]]
    before_feedback = {"status": "feedback_given", "on": "2027-01-04", "report_due": "2027-01-01"}
    problem = assert_problem(patch(province, rid, before_feedback, tag), 422)
    assert [e["loc"] for e in problem["errors"]] == [["body", "report_due"]]
    assert province.get(f"/v1/rectifications/{rid}").json()["revision"] == 1


def test_problems_in_the_language_asked(
    unit: ApiClient, province: ApiClient, stranger: ApiClient
) -> None:
    """rectification/service.py's messages: Chinese for ``Accept-Language: zh-CN``, English
    without it; the machine codes (``loc``, ``type``) the same in both."""
    own = stored(unit, submission(project(), 100, 500, 95))
    eid = own["id"]
    bad = demand(eid, leaf="r9", report_due="2027-01-01")
    zh = assert_problem(province.post("/v1/rectifications", json=bad, headers=ZH), 422)
    en = assert_problem(province.post("/v1/rectifications", json=bad), 422)
    assert zh["detail"] == "无法按所给内容保存整改要求"
    assert en["detail"] == "the rectification cannot be stored as given"
    assert [(e["loc"], e["type"], e["msg"]) for e in zh["errors"]] == [
        (["body", "leaf"], "unknown_leaf", f"评价 {eid} 没有指标 'r9'"),
        (["body", "report_due"], "deadline_order", "整改报告期限不能早于反馈期限 2027-01-05"),
    ]
    assert [(e["loc"], e["type"], e["msg"]) for e in en["errors"]] == [
        (["body", "leaf"], "unknown_leaf", f"evaluation {eid} has no leaf 'r9'"),
        (
            ["body", "report_due"],
            "deadline_order",
            "the report deadline cannot be before the feedback deadline 2027-01-05",
        ),
    ]
    hidden = stranger.post("/v1/rectifications", json=demand(eid), headers=ZH)
    assert assert_problem(hidden, 422)["errors"][0]["msg"] == f"没有本密钥可读的评价 {eid}"
    hidden = stranger.post("/v1/rectifications", json=demand(eid))
    assert (
        assert_problem(hidden, 422)["errors"][0]["msg"]
        == f"no evaluation {eid} that this key may read"
    )

    rid = province.post("/v1/rectifications", json=demand(eid)).json()["id"]
    assert (
        assert_problem(stranger.get(f"/v1/rectifications/{rid}", headers=ZH), 404)["detail"]
        == f"没有整改记录 {rid}"
    )
    assert (
        assert_problem(stranger.get(f"/v1/rectifications/{rid}"), 404)["detail"]
        == f"no rectification {rid}"
    )
    step = {"status": "feedback_given", "on": "2027-01-04"}
    zh = assert_problem(province.patch(f"/v1/rectifications/{rid}", json=step, headers=ZH), 428)
    assert zh["detail"] == f'更新整改记录须提供 If-Match 请求头（其 ETag 为 "{rid}.1"）'
    forbidden = unit.patch(
        f"/v1/rectifications/{rid}", json=step, headers={**ZH, "If-Match": f'"{rid}.1"'}
    )
    assert assert_problem(forbidden, 403)["detail"] == (
        "只有提出整改要求的一方（其密钥、区域范围覆盖它的密钥、管理员）可以记录反馈或办结"
    )
    assert patch(province, rid, step, f'"{rid}.1"').status_code == 200
    back = {"status": "open"}
    zh = assert_problem(
        province.patch(f"/v1/rectifications/{rid}", json=back, headers={**ZH, "If-Match": "*"}),
        409,
    )
    en = assert_problem(patch(province, rid, back, "*"), 409)
    # the statuses in words (the status_zh / status_en of the answers), the code in the item
    assert zh["detail"] == "整改状态只能向前：当前为“已反馈待整改”，不能改为“待反馈”"
    assert en["detail"] == (
        "a rectification only moves forward: from “feedback given: rectification under way” "
        "it cannot go to “open: results and demands not yet sent”"
    )
    assert (zh["errors"][0]["msg"], en["errors"][0]["msg"]) == (
        "当前为“已反馈待整改”",
        "is “feedback given: rectification under way”",
    )
    assert zh["errors"][0]["type"] == en["errors"][0]["type"] == "invalid_transition"


@pytest.mark.parametrize(("first", "then"), [("zh-CN", "en"), ("en", "zh-CN")])
def test_a_replay_answers_as_the_record_reads_in_the_replaying_language(
    seed_app: FastAPI,  # noqa: F811
    unit: ApiClient,
    province: ApiClient,
    first: str,
    then: str,
) -> None:
    """A rectification's words are the status_zh/status_en pair: the kept answer is
    language-neutral, so a replay in another language is the record as read in that language;
    nothing new is stored."""
    own = stored(unit, submission(project(), 100, 500, 95))
    key = f"rectification-replay-{own['id']}"

    def post(lang: str) -> Any:
        headers = {"Idempotency-Key": key, "Accept-Language": lang}
        return province.post("/v1/rectifications", json=demand(own["id"]), headers=headers)

    def records() -> int:
        with session_scope(seed_app.state.engine) as s:
            return int(s.exec(select(func.count()).select_from(Rectification)).one())

    made = post(first)
    assert made.status_code == 201, made.text
    count = records()
    replay = post(then)
    assert (replay.status_code, replay.headers["content-language"]) == (201, then)
    read = province.get(
        f"/v1/rectifications/{made.json()['id']}", headers={"Accept-Language": then}
    )
    assert replay.json() == read.json() == made.json()
    assert (replay.json()["status_zh"], replay.json()["status_en"]) == deadlines.STATUSES["open"]
    assert records() == count
    assert kept_answers(seed_app.state.engine, "rectification.create", key) == [made.json()]


def test_dates_are_written_yyyy_mm_dd(unit: ApiClient, province: ApiClient) -> None:
    own = stored(unit, submission(project(), 100, 500, 95))
    for bad in (0, "0", 20270105, "2027/01/05", "2027-02-30", "2101-01-01"):
        problem = assert_problem(
            province.post("/v1/rectifications", json=demand(own["id"], feedback_due=bad)), 422
        )
        assert [e["loc"] for e in problem["errors"]] == [["body", "feedback_due"]], bad
    for bad in ("0", "1700000000", "2027-13-01"):
        assert_problem(province.get("/v1/rectifications/overdue", params={"as_of": bad}), 422)
    # the date check's message in the language asked (rectification/schemas.py)
    slashed = demand(own["id"], feedback_due="2027/01/05")
    zh = assert_problem(province.post("/v1/rectifications", json=slashed, headers=ZH), 422)
    en = assert_problem(province.post("/v1/rectifications", json=slashed), 422)
    assert zh["errors"][0]["msg"] == "日期应写作 YYYY-MM-DD"
    assert en["errors"][0]["msg"] == "Value error, expected a date written YYYY-MM-DD"  # pydantic's
    assert province.get("/v1/rectifications", params={"subject_id": own["id"]}).json()["total"] == 0


def test_a_rectification_answers_a_monitoring_flag(mon_app: FastAPI) -> None:  # noqa: F811
    """整改 of an in-year monitoring flag (运行监控): the subject is the stored monitoring record,
    the leaf is the flag's key; the feedback deadline runs one month from the monitoring date."""
    unit = client_for(mon_app, Role.evaluator)
    province = client_for(mon_app, Role.evaluator, regions=["330000"])
    stranger = client_for(mon_app, Role.evaluator)
    r = unit.post("/v1/monitoring", json=farmland_request(project="RECT-MON"))
    assert r.status_code == 201, r.text
    record = r.json()
    flags = {f["key"] for f in record["result"]["flags"]}
    assert "R1.likely_missed" in flags  # forecast 0.968 of 1.2

    body = demand(record["id"], leaf="R1.likely_missed", feedback_due=None)
    body["subject"] = {"kind": "monitoring", "id": record["id"]}
    made = province.post("/v1/rectifications", json=body)
    assert made.status_code == 201, made.text
    rect = made.json()
    assert (rect["subject"]["kind"], rect["leaf"]) == ("monitoring", "R1.likely_missed")
    assert rect["deadline"] == "2026-07-30"  # monitored on 2026-06-30, + 1 month
    assert unit.get(f"/v1/rectifications/{rect['id']}").status_code == 200  # the monitored unit

    # a flag the record does not have, and a record the key may not read: 422 naming the field
    mid = record["id"]
    p = assert_problem(province.post("/v1/rectifications", json=dict(body, leaf="R9.x")), 422)
    assert [(e["loc"], e["msg"]) for e in p["errors"]] == [
        (["body", "leaf"], f"monitoring record {mid} has no flag 'R9.x'")
    ]
    p = assert_problem(
        province.post("/v1/rectifications", json=dict(body, leaf="R9.x"), headers=ZH), 422
    )
    assert p["errors"][0]["msg"] == f"监控记录 {mid} 没有预警 'R9.x'"
    p = assert_problem(stranger.post("/v1/rectifications", json=body), 422)
    assert [(e["loc"], e["msg"]) for e in p["errors"]] == [
        (["body", "subject", "id"], f"no monitoring record {mid} that this key may read")
    ]
    p = assert_problem(stranger.post("/v1/rectifications", json=body, headers=ZH), 422)
    assert p["errors"][0]["msg"] == f"没有本密钥可读的监控记录 {mid}"
