"""POST/GET /v1/monitoring on the seed catalogue: hand-computed answers, ownership, roles, bad
input (422 naming every row and field, nothing stored), idempotency."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import func, select

from indicator_service.auth.models import Role
from indicator_service.core.database import session_scope
from indicator_service.monitoring.models import MonitoringRecord
from tests.helpers import ApiClient, assert_problem, kept_answers
from tests.monitoring.conftest import client_for, farmland_request


def stored(app: FastAPI) -> int:
    with session_scope(app.state.engine) as s:
        return int(s.exec(select(func.count()).select_from(MonitoringRecord)).one())


def test_mid_year_monitoring_is_computed_stored_and_explained(mapi: ApiClient) -> None:
    r = mapi.post("/v1/monitoring", json=farmland_request())
    assert r.status_code == 201, r.text
    body = r.json()
    mid = body["id"]
    assert r.headers["Location"] == f"/v1/monitoring/{mid}"
    assert (body["framework"], body["version"]) == ("SELF-EVAL", "1.2.0")
    res = body["result"]
    assert res["thresholds"] == {"execution_gap": 0.10, "miss_tolerance": 0.05}
    assert res["time_progress"] == pytest.approx(181 / 365)
    # budget: 150/500 = 30 % against 49.59 %: 19.59 points behind, more than 10 → flagged
    assert res["budget"]["execution_rate"] == pytest.approx(0.30)
    assert res["budget"]["behind"] is True
    assert res["budget"]["forecast_rate"] == pytest.approx(0.30 * 365 / 181)
    r1, r2, r3 = res["indicators"]
    # R1: 40 % done at 30 June → forecast 0.48 × 365/181 = 0.968 万亩, 80.66 %
    assert r1["forecast"] == pytest.approx(0.48 * 365 / 181)
    assert r1["forecast_completion"] == pytest.approx(146 / 181)
    assert (r1["status"], r1["status_zh"]) == ("likely_missed", "预计难以完成")
    assert r2["status"] == "on_track"
    # R3: 230 元 against ≤ 200 (+5 % = 210): flagged, explained
    assert r3["status"] == "likely_missed"
    assert r3["forecast_completion"] == pytest.approx(200 / 230)
    assert [(f["id"], f["status"]) for f in res["flags"]] == [
        (f"{mid}:budget.execution_behind", "pending_explanation"),
        (f"{mid}:R1.likely_missed", "pending_explanation"),
        (f"{mid}:R3.likely_missed", "explained"),
    ]
    assert (body["flags"], body["pending"]) == (3, 2)
    assert "共3项预警，其中2项待说明" in res["summary_zh"]
    assert "3 warning(s), 2 awaiting" in res["summary_en"]
    assert res["flags"][2]["text_zh"].endswith(
        "偏离原因：钢材、水泥价格上涨；纠偏措施：优化设计，集中采购主要材料。"
    )
    # the stored record is read back as it was answered, with its inputs (version pinned)
    again = mapi.get(f"/v1/monitoring/{mid}")
    assert again.status_code == 200
    assert again.json() == body
    assert body["request"]["version"] == "1.2.0"
    listed = mapi.get("/v1/monitoring", params={"project": "FARMLAND-2026", "pending": "true"})
    assert mid in [i["id"] for i in listed.json()["items"]]
    none = mapi.get("/v1/monitoring", params={"project": "FARMLAND-2026", "pending": "false"})
    assert mid not in [i["id"] for i in none.json()["items"]]


def test_a_framework_without_thresholds_uses_the_defaults(mapi: ApiClient) -> None:
    r = mapi.post("/v1/monitoring", json=farmland_request(framework="PRJ-2020"))
    assert r.status_code == 201, r.text
    assert r.json()["version"] == "1.0.0"
    assert r.json()["result"]["thresholds"] == {"execution_gap": 0.10, "miss_tolerance": 0.05}
    missing = assert_problem(
        mapi.post("/v1/monitoring", json=farmland_request(framework="NO")), 404
    )
    assert missing["errors"][0]["loc"] == ["body", "framework"]


def test_only_the_owner_its_region_scope_and_admins_read_a_record(mon_app: FastAPI) -> None:
    owner = client_for(mon_app, Role.evaluator)
    other = client_for(mon_app, Role.evaluator)
    province = client_for(mon_app, Role.evaluator, regions=["330000"])
    elsewhere = client_for(mon_app, Role.evaluator, regions=["110000"])
    admin = client_for(mon_app, Role.admin)
    mid = owner.post("/v1/monitoring", json=farmland_request(project="OWNED")).json()["id"]
    for c, status in ((other, 404), (elsewhere, 404), (province, 200), (admin, 200)):
        assert c.get(f"/v1/monitoring/{mid}").status_code == status
        ids = [
            i["id"] for i in c.get("/v1/monitoring", params={"project": "OWNED"}).json()["items"]
        ]
        assert (mid in ids) == (status == 200)
    # a region-scoped key stores only in its regions
    assert_problem(province.post("/v1/monitoring", json=farmland_request(region="110101")), 403)
    for c in (owner, other, province, elsewhere, admin):
        c.close()


def test_roles_who_may_monitor(mon_app: FastAPI) -> None:
    anonymous = ApiClient(mon_app)
    assert_problem(anonymous.post("/v1/monitoring", json=farmland_request()), 401)
    for role in (Role.client, Role.curator, Role.reviewer):
        c = client_for(mon_app, role)
        assert_problem(c.post("/v1/monitoring", json=farmland_request()), 403)
        assert_problem(c.get("/v1/monitoring"), 403)
        c.close()
    anonymous.close()


def bad_rows() -> list[dict[str, Any]]:
    rows = farmland_request()["indicators"]
    rows[0] = {**rows[0], "operator": "≈", "target": "1.2"}
    rows[1] = {**rows[1], "schedule": [{"date": "2026-06-30", "share": 1.5}]}
    del rows[2]["name"]
    return rows


def test_bad_fields_are_all_named_and_nothing_is_stored(mapi: ApiClient, mon_app: FastAPI) -> None:
    before = stored(mon_app)
    body = farmland_request(indicators=bad_rows(), budget={"budget": 0, "executed": -1})
    p = assert_problem(mapi.post("/v1/monitoring", json=body), 422)
    locs = {tuple(e["loc"]) for e in p["errors"]}
    assert {
        ("body", "indicators", 0, "operator"),
        ("body", "indicators", 0, "target"),
        ("body", "indicators", 1, "schedule", 0, "share"),
        ("body", "indicators", 2, "name"),
        ("body", "budget", "budget"),
        ("body", "budget", "executed"),
    } <= locs
    assert stored(mon_app) == before


def test_inconsistent_inputs_are_all_named_and_nothing_is_stored(
    mapi: ApiClient, mon_app: FastAPI
) -> None:
    before = stored(mon_app)
    rows = farmland_request()["indicators"]
    rows[1] = {**rows[1], "id": "R1"}
    rows[0] = {
        **rows[0],
        "schedule": [
            {"date": "2026-09-30", "share": 0.6},
            {"date": "2026-06-30", "share": 0.7},
        ],
    }
    body = farmland_request(
        as_of="2027-01-05",
        indicators=rows,
        budget={"budget": 500, "executed": 150, "schedule": [{"date": "2025-12-31", "share": 1}]},
    )
    p = assert_problem(mapi.post("/v1/monitoring", json=body), 422)
    assert {(tuple(e["loc"]), e["type"]) for e in p["errors"]} == {
        (("body", "as_of"), "out_of_range"),
        (("body", "budget", "schedule", 0, "date"), "out_of_range"),
        (("body", "indicators", 0, "schedule", 1, "date"), "not_increasing"),
        (("body", "indicators", 1, "id"), "duplicate"),
    }
    assert stored(mon_app) == before


def test_idempotency_key_replays_the_first_answer(mapi: ApiClient, mon_app: FastAPI) -> None:
    headers = {"Idempotency-Key": "monitor-june-1"}
    first = mapi.post("/v1/monitoring", json=farmland_request(project="IDEM"), headers=headers)
    count = stored(mon_app)
    replay = mapi.post("/v1/monitoring", json=farmland_request(project="IDEM"), headers=headers)
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert stored(mon_app) == count
    other = mapi.post("/v1/monitoring", json=farmland_request(project="IDEM2"), headers=headers)
    assert_problem(other, 409)
    # the record of the key is per caller: another key with the same key and body stores anew
    second = client_for(mon_app, Role.evaluator)
    again = second.post("/v1/monitoring", json=farmland_request(project="IDEM"), headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
    assert stored(mon_app) == count + 1
    second.close()


@pytest.mark.parametrize(("first", "then"), [("zh-CN", "en"), ("en", "zh-CN")])
def test_a_replay_answers_as_the_record_reads_in_the_replaying_language(
    mapi: ApiClient, mon_app: FastAPI, first: str, then: str
) -> None:
    """A record's words are {zh, en} pairs (status_zh/status_en, text_zh/text_en …): the kept
    answer is language-neutral, so a replay in another language is the record as read in that
    language, byte for byte; nothing new is stored."""
    key = f"monitor-replay-{first}"
    body = farmland_request(project=f"REPLAY-{first}")
    made = mapi.post(
        "/v1/monitoring", json=body, headers={"Idempotency-Key": key, "accept-language": first}
    )
    assert made.status_code == 201, made.text
    count = stored(mon_app)
    replay = mapi.post(
        "/v1/monitoring", json=body, headers={"Idempotency-Key": key, "accept-language": then}
    )
    assert (replay.status_code, replay.headers["content-language"]) == (201, then)
    read = mapi.get(f"/v1/monitoring/{made.json()['id']}", headers={"accept-language": then})
    assert replay.json() == read.json() == made.json()
    result = replay.json()["result"]
    assert result["summary_zh"]
    assert result["summary_en"]
    assert result["flags"]
    assert all(f["label_zh"] and f["label_en"] for f in result["flags"])
    assert stored(mon_app) == count
    assert kept_answers(mon_app.state.engine, "monitoring.records", key) == [made.json()]


def test_a_flag_is_found_by_its_stable_id_by_those_who_may_read_it(
    mapi: ApiClient, mon_app: FastAPI
) -> None:
    from indicator_service.auth.principal import Principal
    from indicator_service.core.errors import NotFound
    from indicator_service.monitoring.service import find_flag

    body = mapi.post("/v1/monitoring", json=farmland_request(project="FLAG-ID")).json()
    owner_id = None
    with session_scope(mon_app.state.engine) as s:
        row = s.get(MonitoringRecord, body["id"])
        assert row is not None
        owner_id = row.owner_key_id
    owner = Principal(key_id=owner_id, name="owner", role=Role.evaluator, namespaces=("*",))
    stranger = Principal(key_id=-1, name="stranger", role=Role.evaluator, namespaces=("*",))
    with session_scope(mon_app.state.engine) as s:
        flag = find_flag(s, f"{body['id']}:R1.likely_missed", owner)
        assert flag == body["result"]["flags"][1]
        for bad, who in (
            (f"{body['id']}:R2.likely_missed", owner),  # R2 is on track: no flag
            (f"{body['id']}:R1.likely_missed", stranger),
            ("R1.likely_missed", owner),
        ):
            with pytest.raises(NotFound):
                find_flag(s, bad, who)


def test_a_missing_record_or_flag_answers_in_the_language_asked(
    mapi: ApiClient, mon_app: FastAPI
) -> None:
    from indicator_service.auth.principal import Principal
    from indicator_service.core.errors import NotFound
    from indicator_service.core.i18n import CHINESE, language
    from indicator_service.monitoring.service import find_flag

    zh = mapi.get("/v1/monitoring/999999999", headers={"Accept-Language": "zh-CN"})
    p = assert_problem(zh, 404)
    assert zh.headers["content-language"] == "zh-CN"
    assert (p["title"], p["detail"]) == ("未找到", "没有绩效运行监控记录 999999999")
    assert p["errors"] == [{"loc": ["path", "monitoring_id"], "msg": "未找到", "type": "not_found"}]
    p = assert_problem(mapi.get("/v1/monitoring/999999999", headers={"Accept-Language": "en"}), 404)
    assert (p["title"], p["detail"]) == ("Not found", "No monitoring record 999999999")
    assert p["errors"][0]["msg"] == "not found"
    body = mapi.post("/v1/monitoring", json=farmland_request(project="FLAG-ZH")).json()
    admin = Principal(key_id=0, name="admin", role=Role.admin, namespaces=("*",))
    with session_scope(mon_app.state.engine) as s, language(CHINESE):
        with pytest.raises(NotFound) as missing:
            find_flag(s, f"{body['id']}:R2.likely_missed", admin)  # R2 is on track
        assert missing.value.detail == f"绩效运行监控记录 {body['id']} 没有预警 'R2.likely_missed'"
        with pytest.raises(NotFound) as malformed:
            find_flag(s, "R1.likely_missed", admin)
        assert malformed.value.detail == "没有绩效运行监控预警 'R1.likely_missed'"
        assert malformed.value.errors[0].msg == "应为 <监控记录编号>:<预警键>"
