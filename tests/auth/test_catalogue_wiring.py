"""Roles, namespace scopes and audit entries on the catalogue's write endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.catalogue.service import import_catalogue
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from tests.auth.fixtures import bearer, issue_key
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import ApiClient, assert_problem, make_settings
from tests.paths import CATALOG_DIR


@pytest.fixture(scope="module")
def wired(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FastAPI, ApiClient]]:
    """The seed catalogue in a database of its own (this module publishes versions)."""
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("wiring"))
    database.upgrade(url)
    app = create_app(make_settings(url))
    with database.session_scope(app.state.engine) as session:
        import_catalogue(session, load_catalogue(CATALOG_DIR))
    client = ApiClient(app)
    yield app, client
    client.close()
    app.state.engine.dispose()
    if drop is not None:
        drop()


@pytest.fixture(scope="module")
def keys(wired: tuple[FastAPI, ApiClient]) -> dict[str, str]:
    app, _ = wired

    def make(role: Role, namespaces: list[str] | None = None, name: str | None = None) -> str:
        return issue_key(app.state.engine, app.state.settings, role, namespaces, name)

    return {
        "admin": make(Role.admin),
        "health_curator": make(Role.curator, ["health"], "卫健委 curator"),
        "health_reviewer": make(Role.reviewer, ["health"], "卫健委 reviewer"),
        "edu_curator": make(Role.curator, ["education"]),
        "edu_reviewer": make(Role.reviewer, ["education"]),
        "common_curator": make(Role.curator, ["common"]),
        "common_reviewer": make(Role.reviewer, ["common"]),
        "evaluator": make(Role.evaluator),
        "client": make(Role.client),
    }


def _call(api: ApiClient, method: str, url: str, key: str | None, **kw: Any) -> Any:
    headers = dict(kw.pop("headers", {}))
    if key is not None:
        headers.update(bearer(key))
    return api.request(method, url, headers=headers, **kw)


# (method, url, allowed key, keys refused for their role, keys refused for their scope)
WRITES = [
    (
        "POST",
        "/v1/namespaces/health/drafts",
        ["evaluator", "client", "health_reviewer"],
        ["edu_curator"],
    ),
    (
        "PUT",
        "/v1/namespaces/health/drafts/1.0.0",
        ["evaluator", "client", "health_reviewer"],
        ["edu_curator"],
    ),
    (
        "POST",
        "/v1/namespaces/health/versions/1.0.0/publish",  # direct publish: admin only
        ["evaluator", "client", "health_curator", "health_reviewer"],
        [],
    ),
    (
        "POST",
        "/v1/namespaces/health/versions/1.0.0/deprecate",
        ["evaluator", "client", "health_curator"],
        ["edu_reviewer"],
    ),
    (
        "POST",
        "/v1/frameworks/PRJ-2020/drafts",
        ["evaluator", "client", "common_reviewer"],
        ["health_curator"],
    ),
    (
        "PUT",
        "/v1/frameworks/PRJ-2020/drafts/1.0.0",
        ["evaluator", "client", "common_reviewer"],
        ["health_curator"],
    ),
    (
        "POST",
        "/v1/frameworks/PRJ-2020/versions/1.0.0/publish",  # direct publish: admin only
        ["evaluator", "client", "common_curator", "common_reviewer"],
        [],
    ),
    (
        "POST",
        "/v1/frameworks/PRJ-2020/versions/1.0.0/deprecate",
        ["evaluator", "client", "common_curator"],
        ["health_reviewer"],
    ),
]


@pytest.mark.parametrize(("method", "url", "wrong_role", "wrong_scope"), WRITES)
def test_every_write_refuses_missing_bad_and_unauthorised_keys(
    wired: tuple[FastAPI, ApiClient],
    keys: dict[str, str],
    method: str,
    url: str,
    wrong_role: list[str],
    wrong_scope: list[str],
) -> None:
    _, api = wired
    body: dict[str, Any] | None = {} if method == "PUT" else None
    headers = {"If-Match": "*"} if method == "PUT" else {}
    problem = assert_problem(_call(api, method, url, None, json=body, headers=headers), 401)
    assert problem["errors"][0]["type"] == "missing_api_key"
    bad = "isk_ffffffffffff_" + "a" * 43
    problem = assert_problem(_call(api, method, url, bad, json=body, headers=headers), 401)
    assert problem["errors"][0]["type"] == "unknown_key"
    for name in wrong_role:
        r = _call(api, method, url, keys[name], json=body, headers=headers)
        assert assert_problem(r, 403)["errors"][0]["type"] == "insufficient_role", name
    for name in wrong_scope:
        r = _call(api, method, url, keys[name], json=body, headers=headers)
        assert assert_problem(r, 403)["errors"][0]["type"] == "namespace_out_of_scope", name


def _audit(api: ApiClient, key: str, **params: Any) -> list[dict[str, Any]]:
    r = _call(api, "GET", "/v1/audit", key, params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_curate_review_publish_story_is_audited(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    _, api = wired
    curator, reviewer = keys["health_curator"], keys["health_reviewer"]
    created = _call(api, "POST", "/v1/namespaces/health/drafts", curator)
    assert created.status_code == 201, created.text
    draft = created.json()
    version = draft["version"]
    url = f"/v1/namespaces/health/versions/{version}"
    # drafts are not public
    assert_problem(_call(api, "GET", url, None), 401)
    assert_problem(_call(api, "GET", url, keys["evaluator"]), 403)
    assert_problem(_call(api, "GET", url, keys["edu_curator"]), 403)
    assert _call(api, "GET", url, reviewer).status_code == 200
    # a stale edit changes nothing and records nothing
    doc = draft["document"]
    doc["name_en"] = doc["name_en"] + " (revised)"
    edit_url = f"/v1/namespaces/health/drafts/{version}"
    stale = _call(api, "PUT", edit_url, curator, json=doc, headers={"If-Match": '"stale"'})
    assert_problem(stale, 412)
    assert _audit(api, keys["admin"], namespace="health", action="draft.update") == []
    ok = _call(
        api,
        "PUT",
        edit_url,
        curator,
        json=doc,
        headers={"If-Match": created.headers["etag"]},
    )
    assert ok.status_code == 200, ok.text
    submitted = _call(api, "POST", f"{url}/submit", curator)
    assert submitted.status_code == 200, submitted.text
    published = _call(api, "POST", f"{url}/approve", reviewer)
    assert published.status_code == 200, published.text
    new_version = published.json()["release"]["version"]

    entries = _audit(api, reviewer, namespace="health")
    # the oldest entry is the seed's ``catalog import`` (published by the CLI operator)
    *entries, seeded = entries
    assert (seeded["action"], seeded["actor_name"], seeded["object_id"]) == (
        "version.publish",
        "cli",
        "health@1.0.0",
    )
    assert [e["action"] for e in entries] == [
        "version.approve",
        "version.submit",
        "draft.update",
        "draft.create",
    ]
    publish_entry, _submit_entry, update_entry, create_entry = entries
    assert create_entry["actor_name"] == "卫健委 curator"
    assert create_entry["version"] == version
    assert create_entry["after"]["status"] == "draft"
    assert update_entry["before"]["document"]["name_en"] == doc["name_en"].removesuffix(
        " (revised)"
    )
    assert update_entry["after"]["document"]["name_en"] == doc["name_en"]
    assert update_entry["object_id"] == f"health@{version}"
    assert publish_entry["actor_name"] == "卫健委 reviewer"
    assert publish_entry["actor_role"] == "reviewer"
    assert publish_entry["version"] == new_version
    assert publish_entry["after"]["status"] == "published"
    assert publish_entry["after"]["diff"]["required_bump"] == "patch"
    assert all(e["request_id"] for e in entries)
    # the published version is public again
    assert (
        _call(api, "GET", f"/v1/namespaces/health/versions/{new_version}", None).status_code == 200
    )
    # another namespace's curator cannot read this trail
    assert_problem(
        _call(api, "GET", "/v1/audit", keys["edu_curator"], params={"namespace": "health"}),
        403,
    )


def test_framework_drafts_belong_to_the_common_namespace(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    _, api = wired
    r = _call(api, "POST", "/v1/frameworks/SELF-EVAL/drafts", keys["common_curator"])
    if r.status_code == 404:  # the seed names it differently: take the first framework
        code = _call(api, "GET", "/v1/frameworks", None).json()["items"][-1]["code"]
        r = _call(api, "POST", f"/v1/frameworks/{code}/drafts", keys["common_curator"])
    assert r.status_code == 201, r.text
    entries = _audit(api, keys["common_reviewer"], namespace="common", action="draft.create")
    assert entries[0]["object_type"] == "framework_version"
    assert entries[0]["actor_role"] == "curator"


def _open_draft(api: ApiClient, kind: str, code: str, curator: str) -> str:
    """The version of ``code``'s draft (``kind``: namespaces or frameworks), opened if none is."""
    r = _call(api, "POST", f"/v1/{kind}/{code}/drafts", curator)
    assert r.status_code in (201, 409), r.text  # 409: another test opened it already
    listed = _call(api, "GET", f"/v1/{kind}", None).json()["items"]
    versions = next(item["versions"] for item in listed if item["code"] == code)
    return str(next(v["version"] for v in versions if v["version"].endswith("-draft")))


def test_a_framework_drafts_tree_is_not_public(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    # the tree of a framework draft is its document resolved: read like …/document (a curator
    # or reviewer scoped to common), never public
    _, api = wired
    code = _call(api, "GET", "/v1/frameworks", None).json()["items"][0]["code"]
    version = _open_draft(api, "frameworks", code, keys["common_curator"])
    tree = f"/v1/frameworks/{code}/versions/{version}"
    for path in (tree, f"{tree}/document"):
        assert_problem(_call(api, "GET", path, None), 401)
        assert_problem(_call(api, "GET", path, keys["evaluator"]), 403)
        assert_problem(_call(api, "GET", path, keys["health_curator"]), 403)
        assert _call(api, "GET", path, keys["common_reviewer"]).status_code == 200


def test_an_indicator_read_in_a_draft_is_not_public(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    # an indicator, or its standard, read in a draft namespace version (?version=…-draft) is
    # draft content: a curator or reviewer of the namespace reads it, as the draft itself
    _, api = wired
    version = _open_draft(api, "namespaces", "education", keys["edu_curator"])
    page = _call(api, "GET", "/v1/indicators?namespace=education&limit=1", None).json()
    code = page["items"][0]["code"]
    detail = f"/v1/indicators/{code}?version={version}"
    standard = f"/v1/indicators/{code}/standard?version={version}"
    for path in (detail, standard):
        assert_problem(_call(api, "GET", path, None), 401)
        assert_problem(_call(api, "GET", path, keys["evaluator"]), 403)
        assert_problem(_call(api, "GET", path, keys["health_curator"]), 403)
    assert _call(api, "GET", detail, keys["edu_reviewer"]).status_code == 200
    assert _call(api, "GET", f"/v1/indicators/{code}", None).status_code == 200  # published
    # a search in the draft: its indicators are draft content too
    search = f"/v1/indicators?namespace=education&version={version}"
    assert_problem(_call(api, "GET", search, None), 401)
    assert_problem(_call(api, "GET", search, keys["health_curator"]), 403)
    assert_problem(_call(api, "GET", f"/v1/indicators?version={version}", None), 401)
    assert _call(api, "GET", search, keys["edu_reviewer"]).json()["total"] > 0
    # a page past the end has no items, but its total is the draft's
    past = f"{search}&offset=100000"
    assert_problem(_call(api, "GET", past, None), 401)
    assert_problem(_call(api, "GET", f"/v1/indicators?version={version}&offset=100000", None), 401)
    assert _call(api, "GET", past, keys["edu_reviewer"]).json()["items"] == []


def test_a_diff_with_a_draft_is_not_public(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    # a diff names a draft's changes, values included: read like the draft itself; a diff of
    # published versions stays public
    _, api = wired
    draft = _open_draft(api, "namespaces", "education", keys["edu_curator"])
    diff = f"/v1/namespaces/education/diff?from=1.0.0&to={draft}"
    assert_problem(_call(api, "GET", diff, None), 401)
    assert_problem(_call(api, "GET", diff, keys["evaluator"]), 403)
    assert_problem(_call(api, "GET", diff, keys["health_curator"]), 403)
    assert _call(api, "GET", diff, keys["edu_reviewer"]).status_code == 200
    reverse = f"/v1/namespaces/education/diff?from={draft}&to=1.0.0"
    assert_problem(_call(api, "GET", reverse, None), 401)
    same = _call(api, "GET", "/v1/namespaces/education/diff?from=1.0.0&to=1.0.0", None)
    assert same.status_code == 200, same.text
    unknown = _call(api, "GET", "/v1/namespaces/education/diff?from=1.0.0&to=9.9.9", None)
    assert_problem(unknown, 404)
    first = _call(api, "GET", "/v1/frameworks", None).json()["items"][0]
    code = first["code"]
    published = next(v["version"] for v in first["versions"] if not v["version"].endswith("-draft"))
    fw_draft = _open_draft(api, "frameworks", code, keys["common_curator"])
    fw_diff = f"/v1/frameworks/{code}/diff?from={published}&to={fw_draft}"
    assert_problem(_call(api, "GET", fw_diff, None), 401)
    assert_problem(_call(api, "GET", fw_diff, keys["health_curator"]), 403)
    assert _call(api, "GET", fw_diff, keys["common_reviewer"]).status_code == 200


def test_published_reads_stay_public(wired: tuple[FastAPI, ApiClient]) -> None:
    _, api = wired
    assert _call(api, "GET", "/v1/namespaces/education/versions/1.0.0", None).status_code == 200
    assert _call(api, "GET", "/v1/frameworks", None).status_code == 200


def _unpinned(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without its ``version``: the latest published one is used."""
    return {k: v for k, v in body.items() if k != "version"}


def _draft_submission(api: ApiClient, keys: dict[str, str]) -> dict[str, Any]:
    """A 30-row submission for the seed's SELF-EVAL, pinned to its draft version."""
    from bench.bench_load import submission

    version = _open_draft(api, "frameworks", "SELF-EVAL", keys["common_curator"])
    return {**submission(1), "version": version}


def test_scoring_against_a_draft_framework_needs_one_who_may_read_it(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    # a receipt shows the framework's tree: scoring against a draft is a read of the draft
    _, api = wired
    body = _draft_submission(api, keys)
    values = [[row["value"] for row in body["rows"]]]
    template = {
        **{k: v for k, v in body.items() if k != "budget"},
        "rows": [{k: v for k, v in row.items() if k != "value"} for row in body["rows"]],
    }
    calls = [
        ("/v1/score", body),
        ("/v1/score?receipt=summary", body),
        ("/v1/score/what-if", {"submission": body, "overrides": {}}),
        ("/v1/score/columnar", {"template": template, "values": values}),
    ]
    for path, payload in calls:
        for who in ("client", "evaluator"):
            problem = assert_problem(_call(api, "POST", path, keys[who], json=payload), 403)
            assert problem["errors"][0]["type"] == "insufficient_role", (path, who)
    # a batch with a draft among its items is refused as a whole (a refusal of the caller, not
    # a problem of one item's data)
    published = _unpinned(body)
    items = {"items": [published, body]}
    assert_problem(_call(api, "POST", "/v1/score/batch", keys["client"], json=items), 403)
    # the framework's template form is its tree too
    template_url = f"/v1/frameworks/SELF-EVAL/template?version={body['version']}"
    assert_problem(_call(api, "GET", template_url, keys["client"]), 403)
    # admin may (every role check passes); published versions stay open to scorers
    r = _call(api, "POST", "/v1/score", keys["admin"], json=body)
    assert r.status_code == 200
    assert r.json()["framework"]["version"] == body["version"]
    r = _call(api, "POST", "/v1/score", keys["client"], json=published)
    assert r.status_code == 200
    assert not r.json()["framework"]["version"].endswith("-draft")


def test_no_evaluation_is_stored_against_a_draft_framework(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    # a draft can change under its version: a stored score must be reproducible from the
    # versions it echoes, so not even admin stores one against a draft
    _, api = wired
    body = _draft_submission(api, keys)

    def stored() -> int:
        return int(_call(api, "GET", "/v1/evaluations", keys["admin"]).json()["total"])

    before = stored()
    for who in ("evaluator", "admin"):
        problem = assert_problem(_call(api, "POST", "/v1/evaluations", keys[who], json=body), 422)
        assert problem["errors"][0]["loc"] == ["body", "version"]
        assert problem["errors"][0]["type"] == "draft_version"
        zh = _call(
            api,
            "POST",
            "/v1/evaluations",
            keys[who],
            json=body,
            headers={"Accept-Language": "zh-CN"},
        )
        assert "草稿" in zh.json()["detail"], zh.text
    items = {"items": [{"submission": body}]}
    r = _call(api, "POST", "/v1/evaluations/batch", keys["evaluator"], json=items)
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["status"] == 422, item
    assert item["errors"][0]["type"] == "draft_version"
    assert item["evaluation"] is None
    assert stored() == before
    # re-scoring a stored evaluation under the draft stores nothing: a draft reader's operation
    published = _unpinned(body)
    created = _call(api, "POST", "/v1/evaluations", keys["evaluator"], json=published)
    assert created.status_code == 201, created.text
    rescore = f"/v1/evaluations/{created.json()['id']}/rescore"
    payload = {"version": body["version"]}
    assert_problem(_call(api, "POST", rescore, keys["evaluator"], json=payload), 403)


def test_no_review_or_monitoring_record_is_stored_against_a_draft_framework(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    # target reviews and monitoring records are stored and pinned to the version they used,
    # like evaluations: published versions only
    from tests.monitoring.conftest import farmland_request
    from tests.targets.test_review_api import table

    _, api = wired
    version = _draft_submission(api, keys)["version"]
    for path, payload in (
        ("/v1/targets/review", table(framework="SELF-EVAL", version=version)),
        ("/v1/monitoring", farmland_request(version=version)),
    ):
        for who in ("evaluator", "admin"):
            problem = assert_problem(_call(api, "POST", path, keys[who], json=payload), 422)
            assert problem["errors"][0]["type"] == "draft_version", (path, problem)
            assert problem["errors"][0]["loc"] == ["body", "version"]
        published = _unpinned(payload)
        created = _call(api, "POST", path, keys["evaluator"], json=published)
        assert created.status_code == 201, created.text


def test_the_review_form_names_the_query_parameter_that_is_at_fault(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    # the 申报表 upload takes the framework and version as query parameters: a draft version
    # (422) and an unknown framework (404) are located there, not in a body the caller did not
    # write (found by a review: both said body.version / body.framework)
    from tests.targets.declaration import declaration
    from tests.targets.test_review_api import table

    _, api = wired
    version = _draft_submission(api, keys)["version"]
    xlsx = {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    url = "/v1/targets/review/form?region=330102&sector=education&project_type=grant"

    def upload(query: str) -> Any:
        return _call(
            api, "POST", url + query, keys["evaluator"], content=declaration(), headers=xlsx
        )

    problem = assert_problem(upload(f"&framework=SELF-EVAL&version={version}"), 422)
    assert [(e["type"], e["loc"]) for e in problem["errors"]] == [
        ("draft_version", ["query", "version"])
    ]
    problem = assert_problem(upload("&framework=NO-SUCH"), 404)
    assert [e["loc"] for e in problem["errors"]] == [["query", "framework"]]
    problem = assert_problem(upload("&framework=SELF-EVAL&version=9.9.9"), 404)
    assert [e["loc"] for e in problem["errors"]] == [["query", "version"]]
    table_ = table(framework="SELF-EVAL", version="9.9.9")
    r = _call(api, "POST", "/v1/targets/review", keys["evaluator"], json=table_)
    assert [e["loc"] for e in assert_problem(r, 404)["errors"]] == [["body", "version"]]
    r = upload("&framework=SELF-EVAL")
    assert r.status_code == 201, r.text


def test_a_draft_submitted_for_review_stays_private_when_scored_against(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    # submitted, a draft keeps its -draft label and is still unpublished: the same answers
    # (found by a review: the checks first looked at the status "draft" only)
    from tests.monitoring.conftest import farmland_request
    from tests.targets.test_review_api import table

    _, api = wired
    body = _draft_submission(api, keys)
    version = body["version"]
    submit = f"/v1/frameworks/SELF-EVAL/versions/{version}/submit"
    assert _call(api, "POST", submit, keys["common_curator"]).status_code == 200
    assert_problem(_call(api, "POST", "/v1/score", keys["client"], json=body), 403)
    template = f"/v1/frameworks/SELF-EVAL/template?version={version}"
    assert_problem(_call(api, "GET", template, None), 401)
    for path, payload in (
        ("/v1/evaluations", body),
        ("/v1/targets/review", table(framework="SELF-EVAL", version=version)),
        ("/v1/monitoring", farmland_request(version=version)),
    ):
        problem = assert_problem(_call(api, "POST", path, keys["evaluator"], json=payload), 422)
        assert problem["errors"][0]["type"] == "draft_version", path
    assert _call(api, "POST", "/v1/score", keys["admin"], json=body).status_code == 200


def test_an_evaluation_stored_against_a_draft_before_the_refusal_still_compares(
    wired: tuple[FastAPI, ApiClient], keys: dict[str, str]
) -> None:
    # rows stored against a draft before drafts were refused are read back with their own
    # version: the comparison reads its distortion rule (found by a review: a 403 otherwise)
    from indicator_service.scoring.models import Evaluation

    app, api = wired
    body = _draft_submission(api, keys)
    published = _unpinned(body)
    first = _call(api, "POST", "/v1/evaluations", keys["evaluator"], json=published)
    assert first.status_code == 201, first.text
    with database.session_scope(app.state.engine) as session:
        row = session.get(Evaluation, first.json()["id"])
        assert row is not None
        row.framework_version = body["version"]  # as stored before the refusal
        session.add(row)
    again = {**published, "kind": "finance", "reevaluates": first.json()["id"]}
    second = _call(api, "POST", "/v1/evaluations", keys["evaluator"], json=again)
    assert second.status_code == 201, second.text
    comparison = f"/v1/evaluations/{first.json()['id']}/comparison"
    r = _call(api, "GET", comparison, keys["evaluator"])
    assert r.status_code == 200, r.text
