"""Published versions are read from memory: after the first request, catalogue reads and
scores through the database catalogue send no statement and check out no connection; a
publication or deprecation is seen at once by the replica that made it and by the others within
``INDICATOR_CATALOGUE_REFRESH_SECONDS`` (catalogue/heads.py); drafts are always read fresh."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import Session

from indicator_service.app import create_app
from indicator_service.auth.cache import KeyCache, get_key_cache
from indicator_service.auth.settings import AuthSettings, get_auth_settings
from indicator_service.catalogue import indicators
from indicator_service.catalogue.heads import heads_cache
from indicator_service.catalogue.service import IndicatorFilters, list_indicators, standards_for
from tests.auth.fixtures import admin_client
from tests.catalogue.conftest import seeded_app
from tests.dbcount import database_use
from tests.helpers import ApiClient, make_settings

READS = [
    "/v1/frameworks/SELF-EVAL",
    "/v1/frameworks/PRJ-2020?version=1.0.0",
    "/v1/frameworks/PRJ-2020/versions/1.0.0",
    "/v1/frameworks/PRJ-2020/versions/1.0.0/document",
    "/v1/indicators?limit=20",
    "/v1/indicators?namespace=health&limit=5&offset=5",
    "/v1/indicators?version=1.0.0&level=3&limit=500",
    "/v1/indicators?q=率&sector=health&limit=50",
    "/v1/indicators/HLT-02-001",
    "/v1/indicators/EDU-02-001?version=1.0.0",
    "/v1/namespaces/health/versions/1.0.0",
    "/v1/indicators/EDU-02-001/standard?type=plan&fiscal_year=2019",
    "/v1/standards/resolve?indicator=EDU-02-001&fiscal_year=2019",
    "/v1/standards/resolve?indicator=HLT-02-001&region=110000&sector=health&order=region_first",
]


def self_eval(seed: int) -> dict[str, Any]:
    """A SELF-EVAL submission of the seed catalogue (产出 50, 效益 30, 满意度 10 points)."""
    rows = [
        {
            "id": "qty",
            "class_l1": "产出指标",
            "class_l2": "数量指标",
            "name": "完成数量",
            "points": 50,
            "operator": "≥",
            "target": 100.0,
            "unit": "台",
            "value": 90.0 + seed,
        },
        {
            "id": "ben",
            "class_l1": "效益指标",
            "class_l2": "社会效益指标",
            "name": "受益人数",
            "points": 30,
            "operator": "≥",
            "target": 95.0,
            "unit": "%",
            "value": 95.0,
        },
        {
            "id": "sat",
            "class_l1": "满意度指标",
            "class_l2": "服务对象满意度指标",
            "name": "满意度",
            "points": 10,
            "operator": "≥",
            "target": 90.0,
            "unit": "%",
            "value": 81.0,
        },
    ]
    return {
        "framework": "SELF-EVAL",
        "project": f"P{seed}",
        "budget": {"adjusted": 100.0, "executed": 90.0},
        "rows": rows,
    }


def quiet(app: FastAPI, *, freeze: bool = True) -> None:
    """No periodic look-up while database use is counted: the app gets a key cache of its own
    whose revocation check (auth's, one query per interval) is 60 s away, and with ``freeze``
    the clock of its map of versions stops (the refresh interval has tests of its own below;
    commits in this process still drop the map)."""
    keys = KeyCache()
    app.dependency_overrides[get_key_cache] = lambda: keys
    app.dependency_overrides[get_auth_settings] = lambda: AuthSettings(
        api_key_revocation_check_seconds=60
    )
    if freeze:
        heads_cache(app.state.engine).clock = lambda: 0.0


@pytest.fixture(scope="module")
def quiet_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    with seeded_app(tmp_path_factory.mktemp("read-cache")) as app:
        quiet(app)
        yield app


@pytest.fixture(scope="module")
def qapi(quiet_app: FastAPI) -> Iterator[ApiClient]:
    client = admin_client(quiet_app)
    yield client
    client.close()


def test_published_reads_cost_nothing_after_the_first(quiet_app: FastAPI, qapi: ApiClient) -> None:
    first = {}
    for url in READS:
        r = qapi.get(url)
        assert r.status_code == 200, (url, r.text)
        first[url] = r.json()
    assert first["/v1/indicators?limit=20"]["total"] > 20  # the memory path pages too
    with database_use(quiet_app.state.engine) as use:
        for url in READS:
            again = qapi.get(url)
            assert again.status_code == 200, (url, again.text)
            assert again.json() == first[url], url
    assert use.none, use.statements


def test_score_through_the_database_costs_nothing_after_the_first(
    quiet_app: FastAPI, qapi: ApiClient
) -> None:
    first = qapi.post("/v1/score", json=self_eval(1))
    assert first.status_code == 200, first.text
    with database_use(quiet_app.state.engine) as use:
        again = qapi.post("/v1/score", json=self_eval(2))
    assert again.status_code == 200, again.text
    assert use.none, use.statements
    # 完成数量 92 of ≥ 100 → 50 × 0.92 = 46; 效益 30; 满意度 81 of 90 → 10 × 0.9 = 9;
    # budget execution 90 % of its 10 points = 9: 46 + 30 + 9 + 9 = 94
    assert again.json()["total"] == 94.0
    assert again.json()["framework"]["version"] == "1.2.0"  # catalog/frameworks


def test_summary_receipt_through_the_database(quiet_app: FastAPI, qapi: ApiClient) -> None:
    full = qapi.post("/v1/score", json=self_eval(3)).json()
    with database_use(quiet_app.state.engine) as use:
        r = qapi.post("/v1/score?receipt=summary", json=self_eval(3))
    assert r.status_code == 200, r.text
    assert use.none, use.statements
    summary = r.json()
    assert summary["total"] == full["total"] == 94.5  # qty 93 of 100: 46.5 + 30 + 9 + 9
    assert summary["grade"] == full["grade"]["grade"] == "优"
    assert summary["input_hash"] == full["input_hash"]
    assert summary["framework"] == full["framework"]
    assert summary["framework"]["version"] == "1.2.0"  # catalog/frameworks
    assert [(lf["id"], lf["score"], lf["lost"]) for lf in summary["leaves"]] == [
        (lf["id"], lf["score"], lf["lost"]) for lf in full["leaves"]
    ]


def test_unknown_codes_and_versions_still_404(qapi: ApiClient) -> None:
    assert qapi.get("/v1/frameworks/NOPE").status_code == 404
    assert qapi.get("/v1/frameworks/SELF-EVAL?version=9.9.9").status_code == 404
    assert qapi.get("/v1/indicators/HLT-99-999").status_code == 404
    assert qapi.get("/v1/indicators/ZZZ-01-001").status_code == 404
    assert qapi.get("/v1/namespaces/health/versions/9.9.9").status_code == 404
    assert qapi.get("/v1/indicators?namespace=health&version=9.9.9").status_code == 404


def test_the_search_in_memory_answers_as_the_database(quiet_app: FastAPI) -> None:
    cases = [
        IndicatorFilters(),
        IndicatorFilters(namespace="health"),
        IndicatorFilters(version="1.0.0", level=3),
        IndicatorFilters(sector="education", class_l1="产出"),
        IndicatorFilters(q="率", value_type="quantitative"),
        IndicatorFilters(q="EDU-02"),
        IndicatorFilters(project_type="construction"),
        IndicatorFilters(class_l2="质量指标", level=2),
    ]
    with Session(quiet_app.state.engine) as session:
        memory = [list_indicators(session, f, 500, 0) for f in cases]
        paged = list_indicators(session, IndicatorFilters(), 7, 11)
        codes = ["HLT-02-001", "EDU-02-001", "TRN-01-001", "COM-01-001", "HLT-02-010"]
        memory_standards = [standards_for(session, c) for c in codes]
        pinned = standards_for(session, "EDU-02-001", "1.0.0")
    original = indicators.listed_versions, indicators.standard_versions
    try:
        indicators.listed_versions = lambda *_a: None
        indicators.standard_versions = lambda *_a: None
        with Session(quiet_app.state.engine) as session:
            database_answer = [list_indicators(session, f, 500, 0) for f in cases]
            assert list_indicators(session, IndicatorFilters(), 7, 11) == paged
            assert [standards_for(session, c) for c in codes] == memory_standards
            assert standards_for(session, "EDU-02-001", "1.0.0") == pinned
    finally:
        indicators.listed_versions, indicators.standard_versions = original
    assert memory == database_answer
    assert all(total > 0 for _items, total in memory[:7]), [t for _i, t in memory]
    assert any(memory_standards)


def _publish_copy(api: ApiClient, kind: str, code: str, version: str) -> None:
    """Create a draft identical to the latest version and publish it as ``version``."""
    draft = api.post(f"/v1/{kind}/{code}/drafts")
    assert draft.status_code == 201, draft.text
    number = draft.json()["version"]
    ok = api.post(f"/v1/{kind}/{code}/versions/{number}/publish", json={"version": version})
    assert ok.status_code == 200, ok.text


def test_this_replica_sees_its_own_publication_at_once(qapi: ApiClient) -> None:
    assert qapi.get("/v1/indicators/TRN-01-001").json()["indicator"]["namespace_version"] == "1.0.0"
    _publish_copy(qapi, "namespaces", "transport", "1.0.1")
    got = qapi.get("/v1/indicators/TRN-01-001").json()["indicator"]
    assert got["namespace_version"] == "1.0.1"
    listed = qapi.get("/v1/indicators?namespace=transport&limit=1").json()["items"][0]
    assert listed["namespace_version"] == "1.0.1"
    dep = qapi.post("/v1/namespaces/transport/versions/1.0.0/deprecate")
    assert dep.status_code == 200, dep.text
    old = qapi.get("/v1/indicators/TRN-01-001?version=1.0.0").json()["indicator"]
    assert old["namespace_status"] == "deprecated"


def test_drafts_are_always_read_fresh(qapi: ApiClient) -> None:
    draft = qapi.post("/v1/namespaces/health/drafts")
    assert draft.status_code == 201, draft.text
    body = draft.json()
    url = f"/v1/namespaces/health/versions/{body['version']}"
    assert qapi.get(url).json()["document"]["name_en"] == body["document"]["name_en"]
    doc = {**body["document"], "name_en": "Health library (edited)"}
    put = qapi.put(
        f"/v1/namespaces/health/drafts/{body['version']}",
        json=doc,
        headers={"If-Match": draft.headers["etag"]},
    )
    assert put.status_code == 200, put.text
    assert qapi.get(url).json()["document"]["name_en"] == "Health library (edited)"
    pinned = qapi.get(f"/v1/indicators/HLT-02-001?version={body['version']}").json()
    assert pinned["indicator"]["namespace_status"] == "draft"


def test_another_replica_sees_a_publication_within_the_refresh_interval(tmp_path: Path) -> None:
    with seeded_app(tmp_path, catalogue_refresh_seconds=2.0) as a:
        b = create_app(make_settings(a.state.settings.database_url, catalogue_refresh_seconds=2.0))
        now = [0.0]
        heads_cache(b.state.engine).clock = lambda: now[0]
        api_a, api_b = admin_client(a), admin_client(b)
        try:
            assert api_b.get("/v1/frameworks/PRJ-2020").json()["version"] == "1.0.0"
            _publish_copy(api_a, "frameworks", "PRJ-2020", "1.0.1")
            assert api_a.get("/v1/frameworks/PRJ-2020").json()["version"] == "1.0.1"
            now[0] += 1.9  # within the interval: b still serves the version it knew as latest
            assert api_b.get("/v1/frameworks/PRJ-2020").json()["version"] == "1.0.0"
            # a version b does not know yet is read from the database, not refused
            assert api_b.get("/v1/frameworks/PRJ-2020?version=1.0.1").status_code == 200
            now[0] += 0.2  # past the interval
            assert api_b.get("/v1/frameworks/PRJ-2020").json()["version"] == "1.0.1"
            dep = api_a.post("/v1/frameworks/PRJ-2020/versions/1.0.0/deprecate")
            assert dep.status_code == 200, dep.text
            pinned = "/v1/frameworks/PRJ-2020/versions/1.0.0"
            assert api_a.get(pinned).json()["status"] == "deprecated"
            assert api_b.get(pinned).json()["status"] == "published"
            now[0] += 2.1
            assert api_b.get(pinned).json()["status"] == "deprecated"
        finally:
            api_a.close()
            api_b.close()
            b.state.engine.dispose()


def test_refresh_zero_reads_the_versions_every_time(tmp_path: Path) -> None:
    with seeded_app(tmp_path, catalogue_refresh_seconds=0.0) as app:
        quiet(app, freeze=False)
        api = admin_client(app)
        try:
            assert api.get("/v1/frameworks/SELF-EVAL").status_code == 200
            loads = heads_cache(app.state.engine).loads
            with database_use(app.state.engine) as use:
                assert api.get("/v1/frameworks/SELF-EVAL").status_code == 200
            assert heads_cache(app.state.engine).loads == loads + 1
            catalogue = [s for s in use.statements if "catalogue_" in s]
            assert len(catalogue) == 1  # the namespace and framework version lists
        finally:
            api.close()
