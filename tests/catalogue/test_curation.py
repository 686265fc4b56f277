"""Curation through the API: fine-grained draft edits, review, bulk import/export, refusals."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from openpyxl import Workbook, load_workbook

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.catalogue.service import import_catalogue
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from tests.auth.fixtures import bearer, issue_key
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import ApiClient, assert_problem, make_settings
from tests.paths import CATALOG_DIR

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_BODY = 300_000


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, ApiClient]]:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("curation"))
    database.upgrade(url)
    app = create_app(make_settings(url, max_body_bytes=MAX_BODY))
    with database.session_scope(app.state.engine) as session:
        import_catalogue(session, load_catalogue(CATALOG_DIR))
    client = ApiClient(app)
    yield app, client
    client.close()
    app.state.engine.dispose()
    if drop is not None:
        drop()


@pytest.fixture(scope="module")
def keys(env: tuple[FastAPI, ApiClient]) -> dict[str, str]:
    app, _ = env

    def make(role: Role, namespaces: list[str] | None = None, name: str | None = None) -> str:
        return issue_key(app.state.engine, app.state.settings, role, namespaces, name)

    return {
        "admin": make(Role.admin, name="ops"),
        "edu_curator": make(Role.curator, ["education"], "教育局 curator"),
        "edu_curator2": make(Role.curator, ["education"], "教育局 curator 2"),
        "edu_reviewer": make(Role.reviewer, ["education"], "教育局 reviewer"),
        "hlt_curator": make(Role.curator, ["health"], "卫健委 curator"),
        "hlt_reviewer": make(Role.reviewer, ["health"], "卫健委 reviewer"),
        "env_curator": make(Role.curator, ["environment"], "生态环境 curator"),
        "env_reviewer": make(Role.reviewer, ["environment"], "生态环境 reviewer"),
        "trn_curator": make(Role.curator, ["transport"], "交通 curator"),
        "hsg_curator": make(Role.curator, ["housing_security"], "住建 curator"),
        "agr_curator": make(Role.curator, ["agriculture_rural"], "农业 curator"),
        "agr_reviewer": make(Role.reviewer, ["agriculture_rural"], "农业 reviewer"),
        "common_curator": make(Role.curator, ["common"], "财政 curator"),
        "common_reviewer": make(Role.reviewer, ["common"], "财政 reviewer"),
        "evaluator": make(Role.evaluator),
    }


def call(api: ApiClient, method: str, url: str, key: str | None, **kw: Any) -> Any:
    headers = dict(kw.pop("headers", {}))
    if key is not None:
        headers.update(bearer(key))
    return api.request(method, url, headers=headers, **kw)


def new_draft(api: ApiClient, ns: str, key: str) -> tuple[str, str]:
    r = call(api, "POST", f"/v1/namespaces/{ns}/drafts", key)
    assert r.status_code == 201, r.text
    return r.json()["version"], r.headers["etag"]


def audit(api: ApiClient, key: str, **params: Any) -> list[dict[str, Any]]:
    r = call(api, "GET", "/v1/audit", key, params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


NEW_INDICATOR = {
    "code": "EDU-01-002",
    "name_zh": "新增学位数",
    "name_en": "New school places",
    "class_l1": "产出",
    "class_l2": "数量指标",
    "value_type": "quantitative",
    "operator": "≥",
    "unit": "个",
}


# --- the end-to-end story ------------------------------------------------------------------------


def test_bureau_story_draft_import_fix_submit_return_approve(
    env: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    _, api = env
    cur, cur2, rev = keys["edu_curator"], keys["edu_curator2"], keys["edu_reviewer"]
    version, etag = new_draft(api, "education", cur)
    draft = f"/v1/namespaces/education/drafts/{version}"
    header = ["一级指标", "二级指标", "三级指标", "指标编码", "英文名称", "指标解释", "运算符",
              "指标值", "计量单位", "标准类型", "标准来源", "分值", "评分规则"]  # fmt: skip
    bad = xlsx(
        [
            header,
            [
                "产出",
                "数量指标",
                "新增学位数",
                "EDU-01-002",
                None,
                "当年新增公办学位",
                "≥",
                1200,
                "个",
                "plan",
                "{title: 2024年学前教育项目实施方案, issuer: 某县教育局, year: 2024}",
                10,
                "higher_better",
            ],
            [
                "效益",
                "社会效益指标",
                "学前教育毛入园率",
                "EDU-02-001",
                None,
                "修订的指标解释",
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            ],
            [
                "产出",
                "质量指标",
                "校舍达标率",
                "EDU-02-008",
                "Compliant school buildings",
                None,
                "≥",
                95,
                "percent",
                "industry",
                None,
                5,
                None,
            ],
        ]
    )
    # a failed import changes nothing and names each row and column, every problem at once
    # (row 4: the unit and the new standard's missing source, in one upload)
    failed = call(api, "POST", f"{draft}/import", cur, content=bad,
                  headers={"Content-Type": XLSX, "If-Match": etag})  # fmt: skip
    problem = assert_problem(failed, 422)
    where = {(e["loc"][2], e["loc"][3]) for e in problem["errors"]}
    assert where == {(2, "name_en"), (4, "unit"), (4, "source")}
    assert all(e["msg"].startswith("sheet Sheet, row ") for e in problem["errors"])
    assert "nothing was changed" in problem["detail"]
    doc = call(api, "GET", f"/v1/namespaces/education/versions/{version}", cur)
    assert doc.headers["etag"] == etag
    assert audit(api, rev, namespace="education", action="draft.import") == []
    # validate-only reports every row without changing anything
    report = call(api, "POST", f"{draft}/import", cur, content=bad,
                  headers={"Content-Type": XLSX}, params={"validate_only": "true"})  # fmt: skip
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["valid"] is False
    assert body["applied"] is False
    assert [(r["row"], r["status"]) for r in body["rows"]] == [
        (2, "error"),
        (3, "updated"),
        (4, "error"),
    ]
    assert body["rows"][2]["errors"][0]["column"] == "unit"
    assert [e["column"] for e in body["rows"][2]["errors"]] == ["unit", "source"]
    assert {r["sheet"] for r in body["rows"]} == {"Sheet"}  # the XLSX sheet of every row
    # fix the sheet: English name given, unit from the controlled list, a source for the standard
    fixed = xlsx(
        [
            header,
            [
                "产出",
                "数量指标",
                "新增学位数",
                "EDU-01-002",
                "New school places",
                "当年新增公办学位",
                "≥",
                1200,
                "个",
                "plan",
                "{title: 2024年学前教育项目实施方案, issuer: 某县教育局, year: 2024}",
                10,
                "higher_better",
            ],
            [
                "效益",
                "社会效益指标",
                "学前教育毛入园率",
                "EDU-02-001",
                None,
                "修订的指标解释",
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            ],
            [
                "产出",
                "质量指标",
                "校舍达标率",
                "EDU-02-008",
                "Compliant school buildings",
                None,
                "≥",
                95,
                "%",
                "industry",
                "{title: 农村普通中小学校建设标准, issuer: 住房和城乡建设部,"
                " doc_number: 建标109-2008, year: 2008}",
                5,
                None,
            ],
        ]
    )
    ok = call(api, "POST", f"{draft}/import", cur, content=fixed,
              headers={"Content-Type": XLSX, "If-Match": etag})  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.json()["applied"] is True
    assert ok.json()["counts"] == {"created": 2, "updated": 1, "unchanged": 0, "error": 0}
    etag = ok.headers["etag"]
    assert ok.json()["content_hash"] == etag.strip('"')
    stored = call(api, "GET", f"/v1/indicators/EDU-01-002?version={version}", cur).json()
    assert stored["indicator"]["name_en"] == "New school places"
    assert [s["value"] for s in stored["standards"] if s["type"] == "plan"] == [1200]

    # submit; the draft is frozen while under review
    sub = call(api, "POST", f"/v1/namespaces/education/versions/{version}/submit", cur,
               json={"comment": "2024 additions"})  # fmt: skip
    assert sub.status_code == 200, sub.text
    assert sub.json()["status"] == "submitted"
    assert sub.json()["submitted_by"] == "教育局 curator"
    frozen = call(api, "PATCH", f"{draft}/indicators/EDU-01-002", cur2,
                  json={"explanation": "x"}, headers={"If-Match": etag})  # fmt: skip
    assert "return it first" in assert_problem(frozen, 409)["detail"]
    # the reviewer returns it with a comment; the curator fixes a text and resubmits
    back = call(api, "POST", f"/v1/namespaces/education/versions/{version}/return", rev,
                json={"comment": "EDU-01-002 needs an explanation of what counts"})  # fmt: skip
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "draft"
    assert back.json()["review_comment"].startswith("EDU-01-002 needs")
    fix = call(api, "PATCH", f"{draft}/indicators/EDU-01-002", cur2,
               json={"explanation": "当年竣工验收并投入使用的公办学位"},
               headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
               params={"comment": "as asked by the reviewer"})  # fmt: skip
    assert fix.status_code == 200, fix.text
    assert fix.json()["item"]["explanation"] == "当年竣工验收并投入使用的公办学位"
    assert fix.headers["etag"] != etag
    assert call(api, "POST", f"/v1/namespaces/education/versions/{version}/submit",
                cur2).status_code == 200  # fmt: skip
    # approval publishes under the smallest version the changes allow: additions → minor
    approved = call(api, "POST", f"/v1/namespaces/education/versions/{version}/approve", rev,
                    json={"comment": "looks right"})  # fmt: skip
    assert approved.status_code == 200, approved.text
    release = approved.json()["release"]
    assert (release["version"], release["status"]) == ("1.1.0", "published")
    diff = approved.json()["diff"]
    assert diff["required_bump"] == "minor"
    assert {(c["key"], c["op"]) for c in diff["changes"]} >= {
        ("EDU-01-002", "added"),
        ("EDU-02-008", "added"),
        ("EDU-02-001", "changed"),
    }
    assert call(api, "GET", "/v1/namespaces/education", None).json()["latest_published"] == "1.1.0"
    span = {"from": "1.0.0", "to": "1.1.0"}
    diff_url = "/v1/namespaces/education/diff"
    assert call(api, "GET", diff_url, None, params=span).json()["required_bump"] == "minor"
    # the trail tells the whole story, newest first
    entries = audit(api, rev, namespace="education")
    actions = [e["action"] for e in entries]
    assert actions[:7] == [
        "version.approve",
        "version.submit",
        "indicator.update",
        "version.return",
        "version.submit",
        "draft.import",
        "draft.create",
    ]
    by_action = {e["action"]: e for e in entries}
    assert by_action["indicator.update"]["comment"] == "as asked by the reviewer"
    assert by_action["indicator.update"]["before"]["explanation"] == "当年新增公办学位"
    assert by_action["version.return"]["actor_name"] == "教育局 reviewer"
    assert by_action["version.approve"]["after"]["diff"]["required_bump"] == "minor"
    assert by_action["draft.import"]["after"]["counts"]["created"] == 2
    # published: never edited, only deprecated
    edit_published = call(api, "PATCH", "/v1/namespaces/education/drafts/1.1.0/indicators/"
                          "EDU-01-002", cur, json={"explanation": "y"},
                          headers={"If-Match": "*"})  # fmt: skip
    assert "immutable" in assert_problem(edit_published, 409)["detail"]


# --- fine-grained edits ---------------------------------------------------------------------------


def test_indicator_and_standard_edits_need_if_match_and_validate_everything(
    env: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    _, api = env
    cur = keys["hlt_curator"]
    version, etag = new_draft(api, "health", cur)
    base = f"/v1/namespaces/health/drafts/{version}"
    body = {**NEW_INDICATOR, "code": "HLT-01-099", "name_zh": "新增床位数"}
    assert_problem(call(api, "POST", f"{base}/indicators", cur, json=body), 428)
    stale = call(api, "POST", f"{base}/indicators", cur, json=body, headers={"If-Match": '"0"'})
    assert "changed since you read it" in assert_problem(stale, 412)["detail"]
    # every problem of the item at once, with its field
    bad = {**body, "unit": "furlongs", "collection_method": "guess"}
    problem = assert_problem(
        call(api, "POST", f"{base}/indicators", cur, json=bad, headers={"If-Match": etag}), 422
    )
    assert {tuple(e["loc"]) for e in problem["errors"]} == {
        ("body", "unit"),
        ("body", "collection_method"),
    }
    # wrong code prefix: caught by the document-level checks
    foreign = {**body, "code": "EDU-01-099"}
    problem = assert_problem(
        call(api, "POST", f"{base}/indicators", cur, json=foreign, headers={"If-Match": etag}),
        422,
    )
    assert any("EDU-01-099" in e["msg"] for e in problem["errors"])
    created = call(api, "POST", f"{base}/indicators", cur, json=body, headers={"If-Match": etag})
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/indicators/HLT-01-099?version={version}"
    etag = created.headers["etag"]
    dup = call(api, "POST", f"{base}/indicators", cur, json=body, headers={"If-Match": etag})
    assert_problem(dup, 409)
    # a code cannot change; unknown indicators are 404
    renamed = call(api, "PATCH", f"{base}/indicators/HLT-01-099", cur,
                   json={"code": "HLT-01-098"}, headers={"If-Match": etag})  # fmt: skip
    assert_problem(renamed, 422)
    assert_problem(
        call(
            api, "PATCH", f"{base}/indicators/HLT-09-999", cur, json={}, headers={"If-Match": etag}
        ),
        404,
    )
    # standards: add, change (its id follows its identity), retire
    std = {"indicator": "HLT-01-099", "type": "plan", "operator": "≥", "value": 300, "unit": "个",
           "source": {"title": "2024 plan", "issuer": "test", "year": 2024}}  # fmt: skip
    r = call(api, "POST", f"{base}/standards", cur, json=std, headers={"If-Match": etag})
    assert r.status_code == 201, r.text
    sid, etag = r.json()["id"], r.headers["etag"]
    listed = call(api, "GET", f"/v1/namespaces/health/versions/{version}/standards", cur).json()
    assert sid in {i["id"] for i in listed["items"]}
    mismatch = call(api, "PATCH", f"{base}/standards/{sid}", cur, json={"unit": "%"},
                    headers={"If-Match": etag})  # fmt: skip
    assert any("unit" in e["msg"] for e in assert_problem(mismatch, 422)["errors"])
    r = call(api, "PATCH", f"{base}/standards/{sid}", cur, json={"value": 320, "fiscal_year": 2024},
             headers={"If-Match": etag})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["item"]["value"] == 320
    assert r.json()["id"] != sid
    sid, etag = r.json()["id"], r.headers["etag"]
    r = call(api, "DELETE", f"{base}/standards/{sid}", cur, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["item"] is None
    etag = r.headers["etag"]
    assert_problem(
        call(api, "DELETE", f"{base}/standards/{sid}", cur, headers={"If-Match": etag}), 404
    )
    # retiring an indicator removes its standards and makes the change major
    first = call(api, "GET", f"/v1/namespaces/health/versions/{version}", cur).json()
    victim = first["document"]["indicators"][0]["code"]
    r = call(api, "DELETE", f"{base}/indicators/{victim}", cur, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    after = call(api, "GET", f"/v1/namespaces/health/versions/{version}", cur).json()["document"]
    assert victim not in {i["code"] for i in after["indicators"]}
    assert victim not in {s["indicator"] for s in after["standards"]}
    actions = [e["action"] for e in audit(api, keys["hlt_reviewer"], namespace="health")][:6]
    assert actions == ["indicator.retire", "standard.retire", "standard.update",
                       "standard.create", "indicator.create", "draft.create"]  # fmt: skip
    sub = call(api, "POST", f"/v1/namespaces/health/versions/{version}/submit", cur)
    assert sub.status_code == 200
    # the smallest acceptable version of a removal is the next major
    approved = call(api, "POST", f"/v1/namespaces/health/versions/{version}/approve",
                    keys["hlt_reviewer"])  # fmt: skip
    assert approved.status_code == 200, approved.text
    assert approved.json()["release"]["version"] == "2.0.0"


def test_framework_nodes_are_edited_and_reviewed(
    env: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    _, api = env
    cur, rev = keys["common_curator"], keys["common_reviewer"]
    r = call(api, "POST", "/v1/frameworks/PRJ-2020/drafts", cur)
    assert r.status_code == 201, r.text
    version, etag = r.json()["version"], r.headers["etag"]
    base = f"/v1/frameworks/PRJ-2020/drafts/{version}/nodes"
    # re-weighting without balancing is refused with the document-level problem
    unbalanced = call(api, "PATCH", f"{base}/DEC.PRJ.1", cur, json={"points": 4},
                      headers={"If-Match": etag})  # fmt: skip
    assert any("points" in e["msg"] for e in assert_problem(unbalanced, 422)["errors"])
    assert_problem(call(api, "DELETE", f"{base}/DEC.PRJ", cur, headers={"If-Match": etag}), 409)
    r = call(api, "PATCH", f"{base}/DEC.PRJ.1", cur, json={"name_en": "Justification"},
             headers={"If-Match": etag})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["item"]["name_en"] == "Justification"
    assert (
        call(api, "POST", f"/v1/frameworks/PRJ-2020/versions/{version}/submit", cur).status_code
        == 200
    )
    ok = call(api, "POST", f"/v1/frameworks/PRJ-2020/versions/{version}/approve", rev)
    assert ok.status_code == 200, ok.text
    assert ok.json()["release"]["version"] == "1.0.1"
    assert ok.json()["diff"]["required_bump"] == "patch"
    tree = call(api, "GET", "/v1/frameworks/PRJ-2020", None).json()
    assert tree["version"] == "1.0.1"


# --- review refusals ------------------------------------------------------------------------------


def test_review_state_machine_refuses_illegal_moves(
    env: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    _, api = env
    admin, cur, rev = keys["admin"], keys["env_curator"], keys["env_reviewer"]
    version, _ = new_draft(api, "environment", cur)
    url = f"/v1/namespaces/environment/versions/{version}"
    assert (
        "not been submitted"
        in assert_problem(call(api, "POST", f"{url}/approve", rev), 409)["detail"]
    )
    assert_problem(call(api, "POST", f"{url}/return", rev, json={"comment": "x"}), 409)
    # roles: curators cannot approve, reviewers cannot submit
    assert_problem(call(api, "POST", f"{url}/submit", rev), 403)
    # an admin who submits cannot approve with the same key
    assert call(api, "POST", f"{url}/submit", admin).status_code == 200
    own = assert_problem(call(api, "POST", f"{url}/approve", admin), 409)
    assert "submitter's key cannot approve" in own["detail"]
    assert_problem(call(api, "POST", f"{url}/return", admin, json={"comment": "x"}), 409)
    assert_problem(call(api, "POST", f"{url}/approve", cur), 403)
    again = assert_problem(call(api, "POST", f"{url}/submit", cur), 409)
    assert "already submitted" in again["detail"]
    # creating another draft while one is under review
    assert_problem(call(api, "POST", "/v1/namespaces/environment/drafts", cur), 409)
    # returning needs a comment; a too small explicit version is refused with the reason
    assert_problem(call(api, "POST", f"{url}/return", rev, json={"comment": "  "}), 422)
    assert_problem(call(api, "POST", f"{url}/return", rev, json={}), 422)
    assert_problem(call(api, "POST", f"{url}/return", rev, json={"comment": ""}), 422)
    # publishing a draft directly is for administrators only
    assert_problem(call(api, "POST", f"{url}/publish", rev), 403)
    ok = call(api, "POST", f"{url}/approve", rev, json={"version": "1.0.1"})
    assert ok.status_code == 200, ok.text
    assert_problem(call(api, "POST", "/v1/namespaces/environment/versions/1.0.1/submit", cur), 409)
    assert_problem(call(api, "POST", "/v1/namespaces/environment/versions/1.0.1/return", rev,
                        json={"comment": "x"}), 409)  # fmt: skip
    deprecated = call(api, "POST", "/v1/namespaces/environment/versions/1.0.0/deprecate", rev)
    assert deprecated.status_code == 200


# the new write endpoints: (method, path, body, allowed role, namespace the key must cover)
NEW_WRITES = [
    ("POST", "/v1/namespaces/transport/drafts/9.9.9-draft/indicators", {}, "curator", "transport"),
    ("PATCH", "/v1/namespaces/transport/drafts/9.9.9-draft/indicators/TRN-01-001", {}, "curator",
     "transport"),
    ("DELETE", "/v1/namespaces/transport/drafts/9.9.9-draft/indicators/TRN-01-001", None,
     "curator", "transport"),
    ("POST", "/v1/namespaces/transport/drafts/9.9.9-draft/standards", {}, "curator", "transport"),
    ("PATCH", "/v1/namespaces/transport/drafts/9.9.9-draft/standards/0123456789abcdef", {},
     "curator", "transport"),
    ("DELETE", "/v1/namespaces/transport/drafts/9.9.9-draft/standards/0123456789abcdef", None,
     "curator", "transport"),
    ("POST", "/v1/namespaces/transport/drafts/9.9.9-draft/import", {}, "curator", "transport"),
    ("POST", "/v1/namespaces/transport/versions/9.9.9-draft/submit", None, "curator", "transport"),
    ("POST", "/v1/namespaces/transport/versions/9.9.9-draft/return", {"comment": "c"},
     "reviewer", "transport"),
    ("POST", "/v1/namespaces/transport/versions/9.9.9-draft/approve", None, "reviewer",
     "transport"),
    ("POST", "/v1/frameworks/PRJ-2020/drafts/9.9.9-draft/nodes", {}, "curator", "common"),
    ("PATCH", "/v1/frameworks/PRJ-2020/drafts/9.9.9-draft/nodes/DEC", {}, "curator", "common"),
    ("DELETE", "/v1/frameworks/PRJ-2020/drafts/9.9.9-draft/nodes/DEC", None, "curator", "common"),
    ("POST", "/v1/frameworks/PRJ-2020/versions/9.9.9-draft/submit", None, "curator", "common"),
    ("POST", "/v1/frameworks/PRJ-2020/drafts/9.9.9-draft/import", {}, "curator", "common"),
    ("POST", "/v1/frameworks/PRJ-2020/versions/9.9.9-draft/return", {"comment": "c"}, "reviewer",
     "common"),
    ("POST", "/v1/frameworks/PRJ-2020/versions/9.9.9-draft/approve", None, "reviewer", "common"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "url", "body", "role", "ns"), NEW_WRITES)
def test_new_writes_refuse_missing_bad_wrong_role_and_wrong_namespace_keys(
    env: tuple[FastAPI, ApiClient],
    keys: dict[str, str],
    method: str,
    url: str,
    body: dict[str, Any] | None,
    role: str,
    ns: str,
) -> None:
    _, api = env
    kw: dict[str, Any] = {"json": body, "headers": {"If-Match": "*"}}
    assert assert_problem(call(api, method, url, None, **kw), 401)["errors"][0]["type"] == (
        "missing_api_key"
    )
    bad = "isk_ffffffffffff_" + "a" * 43
    assert_problem(call(api, method, url, bad, **kw), 401)
    prefix = "trn" if ns == "transport" else "common"
    other_role = "reviewer" if role == "curator" else "curator"
    wrong_role = keys.get(f"{prefix}_{other_role}") or issue_key(
        env[0].state.engine, env[0].state.settings, Role(other_role), [ns]
    )
    for key in (wrong_role, keys["evaluator"]):
        r = call(api, method, url, key, **kw)
        assert assert_problem(r, 403)["errors"][0]["type"] == "insufficient_role"
    wrong_ns = keys["agr_curator"] if role == "curator" else keys["agr_reviewer"]
    r = call(api, method, url, wrong_ns, **kw)
    assert assert_problem(r, 403)["errors"][0]["type"] == "namespace_out_of_scope"
    # the right key reaches the handler: the draft does not exist
    right = issue_key(env[0].state.engine, env[0].state.settings, Role(role), [ns])
    assert_problem(call(api, method, url, right, **kw), 404)


# --- bulk import and export -----------------------------------------------------------------------


def test_export_round_trips_through_every_format(
    env: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    _, api = env
    cur = keys["trn_curator"]
    version, etag = new_draft(api, "transport", cur)
    src = "/v1/namespaces/transport/versions/1.0.0/export"
    csv_text = call(api, "GET", src, None, params={"format": "csv"})
    assert csv_text.status_code == 200, csv_text.text
    assert csv_text.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_text.text)))
    assert rows[0][:4] == ["level1", "level2", "level3", "code"]
    published = call(api, "GET", "/v1/namespaces/transport/versions/1.0.0", None).json()
    assert [r[3] for r in rows[1:]] == [i["code"] for i in published["document"]["indicators"]]
    by_accept = call(api, "GET", src, None, headers={"Accept": XLSX})
    assert by_accept.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(by_accept.content)).worksheets[0]
    assert [c.value for c in sheet[1]][:4] == ["level1", "level2", "level3", "code"]
    as_yaml = call(api, "GET", src, None, params={"format": "yaml"})
    assert yaml.safe_load(as_yaml.text)["indicators"] == published["document"]["indicators"]
    as_json = call(api, "GET", src, None, params={"format": "json"})
    assert as_json.json()["standards"] == published["document"]["standards"]
    for content, media in (
        (csv_text.content, "text/csv"),
        (by_accept.content, XLSX),
        (as_yaml.content, "application/yaml"),
        (as_json.content, "application/json"),
    ):
        r = call(api, "POST", f"/v1/namespaces/transport/drafts/{version}/import", cur,
                 content=content, headers={"Content-Type": media, "If-Match": etag})  # fmt: skip
        assert r.status_code == 200, (media, r.text)
        counts = r.json()["counts"]
        assert counts["created"] == counts["updated"] == counts["error"] == 0, (media, counts)
        assert r.headers["etag"] == etag, media  # nothing changed
    # drafts export only to their readers
    assert_problem(
        call(api, "GET", f"/v1/namespaces/transport/versions/{version}/export", None), 401
    )
    mine = call(api, "GET", f"/v1/namespaces/transport/versions/{version}/export", cur,
                params={"format": "json"})  # fmt: skip
    assert mine.status_code == 200


def test_bad_uploads_are_refused_naming_row_and_column(
    env: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    _, api = env
    cur = keys["agr_curator"]
    version, etag = new_draft(api, "agriculture_rural", cur)
    url = f"/v1/namespaces/agriculture_rural/drafts/{version}/import"
    h = {"If-Match": etag}
    r = call(api, "POST", url, cur, content=b"code\n", headers={**h, "Content-Type": "text/plain"})
    assert "unsupported content type" in assert_problem(r, 415)["detail"]
    r = call(api, "POST", url, cur, content="code,颜色\nAGR-01-001,红\n".encode(),
             headers={**h, "Content-Type": "text/csv"})  # fmt: skip
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", "row", 1, "column", "颜色"]
    r = call(api, "POST", url, cur, content=b"not a zip", headers={**h, "Content-Type": XLSX})
    assert "XLSX" in assert_problem(r, 422)["detail"]
    r = call(api, "POST", url, cur, content=b"\xff\xfe", headers={**h, "Content-Type": "text/csv"})
    assert_problem(r, 422)
    r = call(
        api,
        "POST",
        url,
        cur,
        content=b"indicators: [a, ",
        headers={**h, "Content-Type": "application/yaml"},
    )
    assert_problem(r, 422)
    sheet = b"code,name_en,target,standard_type\nAGR-01-001,x,abc,plan\n,y,,\n"
    r = call(api, "POST", url, cur, content=sheet, headers={**h, "Content-Type": "text/csv"})
    locs = [e["loc"] for e in assert_problem(r, 422)["errors"]]
    # every problem of every row in one answer: row 2's target is not a number and its new
    # standard has no source; row 3 has no code and its new indicator no name
    assert locs == [
        ["body", "indicators", 2, "target"],
        ["body", "indicators", 2, "source"],
        ["body", "indicators", 3, "code"],
        ["body", "indicators", 3, "name"],
    ]
    # the same file as the `file` part of a multipart/form-data body (as generated clients send
    # it): the same answer; a multipart body without that part is a 422 naming it
    r = call(api, "POST", url, cur, headers=h, files={"file": ("agr.csv", sheet, "text/csv")})
    assert [e["loc"] for e in assert_problem(r, 422)["errors"]] == locs
    r = call(api, "POST", url, cur, headers=h, files={"other": ("agr.csv", sheet, "text/csv")})
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "file"]
    r = call(api, "POST", url, cur, headers=h, files={"file": ("a.png", b"\x89PNG", "image/png")})
    assert "unsupported content type 'image/png'" in assert_problem(r, 415)["detail"]
    # every header problem at once
    r = call(api, "POST", url, cur, content="name,颜色,Name,尺寸\nx,红,y,大\n".encode(),
             headers={**h, "Content-Type": "text/csv"})  # fmt: skip
    locs = [e["loc"] for e in assert_problem(r, 422)["errors"]]
    assert locs == [
        ["body", "row", 1, "column", "颜色"],
        ["body", "row", 1, "column", "name"],
        ["body", "row", 1, "column", "尺寸"],
        ["body", "row", 1, "column", "code"],
    ]
    # the same problems in Chinese: each row's and column's, and the header's count
    zh = {**h, "Content-Type": "text/csv", "Accept-Language": "zh-CN"}
    r = call(api, "POST", url, cur, content=sheet, headers=zh)
    assert [e["msg"] for e in assert_problem(r, 422)["errors"]][:2] == [
        "第 2 行，target 列：不是数值：'abc'",
        "第 2 行，source 列：新增标准时必填",
    ]
    r = call(api, "POST", url, cur, content="name,颜色,Name,尺寸\nx,红,y,大\n".encode(), headers=zh)
    detail = assert_problem(r, 422)["detail"]
    assert detail.startswith("未知列 '颜色'（第 2 列）；可用的列：")
    assert detail.endswith("（另有 3 处问题）")
    # the import needs the draft's ETag and keeps the body-size limit
    ok_csv = b"code,name_en\nAGR-01-001,x\n"
    assert_problem(
        call(api, "POST", url, cur, content=ok_csv, headers={"Content-Type": "text/csv"}), 428
    )
    big = b"code\n" + b"AGR-01-001\n" * (MAX_BODY // 10)
    assert_problem(
        call(api, "POST", url, cur, content=big, headers={**h, "Content-Type": "text/csv"}), 413
    )
    # a YAML document whose rows are invalid: position and field
    doc = {"indicators": [{"code": "AGR-01-001", "name_zh": "x"}]}
    r = call(api, "POST", url, cur, json=doc, headers=h)
    errors = assert_problem(r, 422)["errors"]
    assert {e["loc"][2] for e in errors} == {1}
    assert any(e["loc"][3] == "name_en" for e in errors)
    # nothing was changed by any of these
    now = call(api, "GET", f"/v1/namespaces/agriculture_rural/versions/{version}", cur)
    assert now.headers["etag"] == etag


def test_framework_export_and_document_import(
    env: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    _, api = env
    cur = keys["common_curator"]
    src = "/v1/frameworks/DEPT-OVERALL/versions/1.0.0/export"
    published = call(api, "GET", "/v1/frameworks/DEPT-OVERALL/versions/1.0.0/document", None)
    nodes = published.json()["document"]["nodes"]
    sheet = call(api, "GET", src, None, params={"format": "csv"})
    assert sheet.status_code == 200, sheet.text
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert [r["code"] for r in rows] == [n["code"] for n in nodes]
    assert [float(r["points"]) for r in rows] == [float(n["points"]) for n in nodes]
    leaf = next(r for r in rows if r["level"] == "3")
    assert leaf["level1"]
    assert leaf["level2"]
    assert leaf["level3"] == leaf["name"]
    book = call(api, "GET", src, None, params={"format": "xlsx"})
    assert load_workbook(io.BytesIO(book.content)).worksheets[0].max_row == len(nodes) + 1
    as_yaml = call(api, "GET", src, None, headers={"Accept": "application/yaml"})
    assert as_yaml.headers["content-type"].startswith("application/yaml")

    r = call(api, "POST", "/v1/frameworks/DEPT-OVERALL/drafts", cur)
    assert r.status_code == 201, r.text
    version, etag = r.json()["version"], r.headers["etag"]
    url = f"/v1/frameworks/DEPT-OVERALL/drafts/{version}/import"
    same = call(api, "POST", url, cur, content=as_yaml.content,
                headers={"Content-Type": "application/yaml", "If-Match": etag})  # fmt: skip
    assert same.status_code == 200, same.text
    assert same.json()["counts"]["unchanged"] == len(nodes) + 1  # the nodes and the header
    assert same.headers["etag"] == etag
    # the sheet form is export-only for frameworks
    assert_problem(call(api, "POST", url, cur, content=sheet.content,
                        headers={"Content-Type": "text/csv", "If-Match": etag}), 415)  # fmt: skip
    # re-weighting one node alone breaks the sums: reported, nothing changed
    heavier = {"nodes": [{**nodes[0], "points": nodes[0]["points"] + 1}]}
    bad = call(api, "POST", url, cur, json=heavier, headers={"If-Match": etag})
    assert any("100" in e["msg"] for e in assert_problem(bad, 422)["errors"])
    checked = call(api, "POST", url, cur, json=heavier, params={"validate_only": "true"})
    assert checked.status_code == 200
    assert checked.json()["valid"] is False
    assert checked.json()["problems"]
    renamed = {"nodes": [{**nodes[0], "name_en": nodes[0]["name_en"] + " (2025)"}]}
    ok = call(api, "POST", url, cur, json=renamed, headers={"If-Match": etag})
    assert ok.status_code == 200, ok.text
    assert [(r["key"], r["status"]) for r in ok.json()["rows"]] == [(nodes[0]["code"], "updated")]
    entry = audit(api, keys["common_reviewer"], namespace="common", action="draft.import")[0]
    assert entry["object_id"] == f"DEPT-OVERALL@{version}"
    assert entry["after"]["counts"]["updated"] == 1


# --- reading review states ------------------------------------------------------------------------


def test_review_states_and_the_review_queue(
    env: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    """A returned draft's comment can be read back by its curators, and reviewers find what
    waits for them: per version (``…/versions/{v}/review``) and as a queue (``/v1/reviews``),
    each key seeing only the namespaces it may act on."""
    _, api = env
    cur, rev = keys["edu_curator"], keys["edu_reviewer"]
    version, _ = new_draft(api, "education", cur)
    url = f"/v1/namespaces/education/versions/{version}"

    def queue(key: str, *status: str) -> list[tuple[str, str, str]]:
        r = call(api, "GET", "/v1/reviews", key, params={"status": list(status)} if status else {})
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        return [(i["kind"], i["code"], i["version"]) for i in r.json()["items"]]

    state = call(api, "GET", f"{url}/review", cur).json()
    assert (state["status"], state["submitted_by"], state["review_comment"]) == (
        "draft",
        None,
        None,
    )
    assert ("namespace", "education", version) not in queue(rev)
    assert ("namespace", "education", version) in queue(cur, "draft")

    assert call(api, "POST", f"{url}/submit", cur).status_code == 200
    state = call(api, "GET", f"{url}/review", rev).json()
    assert (state["status"], state["submitted_by"]) == ("submitted", "教育局 curator")
    assert state["submitted_at"] is not None
    assert ("namespace", "education", version) in queue(rev)
    assert ("namespace", "education", version) in queue(keys["admin"], "submitted", "draft")
    # other namespaces' keys neither see it in their queue nor read it
    assert ("namespace", "education", version) not in queue(keys["hlt_reviewer"])
    assert_problem(call(api, "GET", f"{url}/review", keys["hlt_reviewer"]), 403)

    back = call(api, "POST", f"{url}/return", rev, json={"comment": "请补充数据来源"})
    assert back.status_code == 200, back.text
    state = call(api, "GET", f"{url}/review", cur).json()
    assert (state["status"], state["review_comment"]) == ("draft", "请补充数据来源")
    assert ("namespace", "education", version) not in queue(rev)

    # who may ask, and what is refused
    assert_problem(call(api, "GET", f"{url}/review", None), 401)
    assert_problem(call(api, "GET", f"{url}/review", keys["evaluator"]), 403)
    assert_problem(call(api, "GET", "/v1/reviews", keys["evaluator"]), 403)
    assert_problem(call(api, "GET", "/v1/namespaces/education/versions/9.9.9/review", cur), 404)
    assert_problem(call(api, "GET", "/v1/reviews", rev, params={"status": "published"}), 422)
    fw = call(api, "GET", "/v1/frameworks/PRJ-2020/versions/1.0.0/review", keys["common_reviewer"])
    assert fw.json()["status"] in ("published", "deprecated")
    assert_problem(
        call(api, "GET", "/v1/frameworks/PRJ-2020/versions/1.0.0/review", keys["hlt_reviewer"]),
        403,
    )
    page = call(api, "GET", "/v1/reviews", keys["admin"], params={"status": "draft", "limit": 1})
    assert (page.json()["limit"], len(page.json()["items"])) == (1, 1)
    assert page.json()["total"] >= 2  # this draft and the others left open by this module


def test_typed_bodies_are_still_read_and_refused_as_before(
    env: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    """The curation bodies are declared typed (issue #17) but taken as JSON objects and validated
    by the edit, as before: a body that is not an object, or no body, is a 422 at ``body``;
    unparsable JSON a 400; a key without the curator role is refused before the body is read;
    and a bad draft document still names every problem at once."""
    _, api = env
    cur = keys["hsg_curator"]
    version, etag = new_draft(api, "housing_security", cur)
    base = f"/v1/namespaces/housing_security/drafts/{version}"
    json_type = {"If-Match": etag, "Content-Type": "application/json"}
    for url, method in [(base, "PUT"), (f"{base}/indicators", "POST"),
                        (f"{base}/indicators/HOU-01-001", "PATCH")]:  # fmt: skip
        listed = call(api, method, url, cur, content=b"[1, 2]", headers=json_type)
        errors = assert_problem(listed, 422)["errors"]
        assert [tuple(e["loc"]) for e in errors] == [("body",)], (method, url)
        missing = assert_problem(call(api, method, url, cur, headers={"If-Match": etag}), 422)
        assert [(tuple(e["loc"]), e["type"]) for e in missing["errors"]] == [(("body",), "missing")]
        assert_problem(call(api, method, url, cur, content=b"{", headers=json_type), 400)
        # a key that is no curator's: refused on its role before the body is read
        other = call(api, method, url, keys["evaluator"], content=b"[1]", headers=json_type)
        assert_problem(other, 403)
    # a bad path and a bad body: both named in one answer
    both = call(api, "PUT", "/v1/namespaces/BAD!/drafts/x", keys["admin"], content=b"[1]",
                headers=json_type)  # fmt: skip
    locs = {tuple(e["loc"]) for e in assert_problem(both, 422)["errors"]}
    assert locs == {("path", "ns"), ("path", "version"), ("body",)}
    # a draft document with three problems: all three named, nothing changed
    document = call(api, "GET", f"/v1/namespaces/housing_security/versions/{version}", cur).json()
    doc = dict(document["document"])
    doc["kind"] = "regional"
    doc["code_prefix"] = "trn"
    doc["indicators"] = [{**doc["indicators"][0], "level": 9}, *doc["indicators"][1:]]
    bad = call(api, "PUT", base, cur, json=doc, headers={"If-Match": etag})
    locs = {tuple(e["loc"]) for e in assert_problem(bad, 422)["errors"]}
    assert {("body", "kind"), ("body", "code_prefix"), ("body", "indicators", 0, "level")} <= locs
    after = call(api, "GET", f"/v1/namespaces/housing_security/versions/{version}", cur)
    assert after.headers["etag"] == etag
