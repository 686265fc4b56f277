"""The read API over the imported seed catalogue, and the draft/publish write path."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from indicator_service.catalogue import service
from indicator_service.catalogue.models import CatalogueFrameworkVersion, CatalogueNamespaceVersion
from indicator_service.core import database
from tests.helpers import ApiClient, assert_problem, kept_answers


def test_namespaces_listed_with_versions(cat_api: ApiClient) -> None:
    r = cat_api.get("/v1/namespaces")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 13
    health = next(n for n in body["items"] if n["code"] == "health")
    assert health["latest_published"] == "1.0.0"
    assert health["code_prefix"] == "HLT"
    assert [v["status"] for v in health["versions"]] == ["published"]
    assert len(health["versions"][0]["content_hash"]) == 64
    assert r.headers["cache-control"] == "no-store"


def test_pinned_published_version_is_cacheable(cat_api: ApiClient) -> None:
    r = cat_api.get("/v1/namespaces/education/versions/1.0.0")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=86400, immutable"
    assert r.headers["etag"] == f'"{r.json()["content_hash"]}"'
    assert len(r.json()["document"]["indicators"]) == 18


def test_indicator_filters_and_pagination(cat_api: ApiClient) -> None:
    r = cat_api.get("/v1/indicators", params={"namespace": "health", "limit": 10})
    body = r.json()
    assert body["total"] == 25
    assert len(body["items"]) == 10
    assert body["next"] is not None
    assert "offset=10" in body["next"]
    page2 = cat_api.get(body["next"]).json()
    assert len(page2["items"]) == 10
    page3 = cat_api.get(page2["next"]).json()
    assert len(page3["items"]) == 5
    assert page3["next"] is None
    codes = [i["code"] for i in body["items"] + page2["items"] + page3["items"]]
    assert codes == sorted(codes)
    assert len(set(codes)) == 25

    def codes_of(**params: object) -> list[str]:
        resp = cat_api.get("/v1/indicators", params={"limit": 500, **params})
        assert resp.status_code == 200, resp.text
        return [i["code"] for i in resp.json()["items"]]

    assert codes_of(q="高血压") == ["HLT-01-001", "HLT-02-010"]
    assert codes_of(q="pm2.5") == ["ENV-05-003"]
    assert codes_of(q="edu-02-00", value_type="quantitative")[:2] == ["EDU-02-001", "EDU-02-002"]
    assert codes_of(project_type="wage_guarantee") == ["COM-10-001", "COM-10-002", "COM-10-003"]
    assert codes_of(sector="transport", value_type="qualitative") == ["TRN-02-003", "TRN-03-001"]
    assert codes_of(class_l2="资金管理", namespace="common") == [
        "COM-02-001",
        "COM-02-002",
        "COM-02-003",
    ]
    assert len(codes_of(level=3)) == 260
    assert codes_of(level=1) == []
    assert len(codes_of(version="1.0.0")) == 260  # every namespace at 1.0.0
    assert codes_of(version="9.0.0") == []


def test_indicator_with_standards(cat_api: ApiClient) -> None:
    r = cat_api.get("/v1/indicators/HLT-02-010")
    assert r.status_code == 200
    body = r.json()
    assert body["indicator"]["unit"] == "%"
    assert body["indicator"]["operator"] == "≥"
    assert body["indicator"]["rule"] == {"kind": "higher_better"}
    assert body["indicator"]["namespace"] == "health"
    # an unnamed province's 2023 target and the five-level table built for the seed: both
    # illustrative (no public document gives them); the 2022 target is no longer filed as a
    # historical value
    assert sorted((s["type"], s["fiscal_year"], s["illustrative"]) for s in body["standards"]) == [
        ("industry", 2023, True),
        ("plan", 2023, True),
    ]
    staff = cat_api.get("/v1/indicators/COM-06-001").json()["indicator"]
    assert staff["rule"] == {
        "kind": "deduction",
        "threshold": 100,
        "per_unit": 0.5,
        "direction": "above",
    }


def test_standard_lookup_explains_the_match(cat_api: ApiClient) -> None:
    # 学前教育毛入园率: the 十四五 target (> 90 %, valid 2021–2025) of the national plan
    r = cat_api.get(
        "/v1/indicators/EDU-02-001/standard",
        params={"type": "plan", "region": "110105", "fiscal_year": 2023},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["match"]["operator"], body["match"]["value"]) == (">", 90)
    assert body["match"]["source"]["title"] == "“十四五”公共服务规划"
    assert body["why"][0] == "no row for region 110105 or its parents: national row (000000)"
    assert body["why"][1] == "no row for 2023 or an earlier year: row without a year"
    assert body["why"][2] == "valid 2021-01-01 to 2025-12-31"
    # 2019 lies in the previous plan's period (第三期学前教育行动计划, ≥ 85 % by 2020)
    r = cat_api.get(
        "/v1/indicators/EDU-02-001/standard", params={"type": "plan", "fiscal_year": 2019}
    )
    assert r.json()["match"]["value"] == 85
    # 2024 has no historical row of its own: 2022's actual value (统计公报) serves it
    r = cat_api.get(
        "/v1/indicators/EDU-02-001/standard", params={"type": "historical", "fiscal_year": 2024}
    )
    assert r.json()["match"]["value"] == 89.7
    assert r.json()["why"][1] == (
        "historical: actual value of 2022, the latest year before 2024 "
        "(a year's own value is not its standard)"
    )
    # the unnamed province's 2023 target is illustrative: used only when asked for
    params = {"type": "plan", "fiscal_year": 2023}
    r = cat_api.get("/v1/indicators/HLT-02-010/standard", params=params)
    assert r.status_code == 404
    r = cat_api.get(
        "/v1/indicators/HLT-02-010/standard", params={**params, "include_illustrative": "true"}
    )
    assert r.json()["match"]["value"] == 76
    assert r.json()["match"]["illustrative"] is True


def test_framework_tree_with_resolved_rules(cat_api: ApiClient) -> None:
    r = cat_api.get("/v1/frameworks/DEPT-OVERALL")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"  # unpinned: latest can move
    fw = r.json()
    assert fw["version"] == "1.0.0"
    assert fw["requires"] == {"common": "1.0.0"}
    nodes = {n["code"]: n for n in fw["nodes"]}
    assert [n["code"] for n in fw["nodes"][:4]] == ["INP", "INP.TGT", "INP.TGT.1", "INP.TGT.2"]
    assert nodes["INP"]["children"] == ["INP.TGT", "INP.CFG"]
    assert nodes["INP.CFG.2"]["rule"] == {
        "kind": "deduction",
        "threshold": 0,
        "per_unit": 0.3,  # the node's own rate: 0.8 from an 8-point example, scaled to 3
        "direction": "above",
    }
    # the framework's variant is applied to lower-is-better defaults
    assert nodes["PRC.EXE.2"]["rule"] == {"kind": "lower_better", "variant": "linear"}
    assert [lv["code"] for lv in nodes["INP.TGT.1"]["rule"]["levels"]] == [
        "achieved",
        "partial",
        "not_achieved",
    ]
    assert sum(n["points"] for n in fw["nodes"] if n["level"] == 1) == 100
    assert [b["grade"] for b in fw["bands"]] == ["优", "良", "中", "差"]
    pinned = cat_api.get("/v1/frameworks/DEPT-OVERALL/versions/1.0.0")
    assert pinned.headers["cache-control"].endswith("immutable")
    assert pinned.json() == fw
    listing = cat_api.get("/v1/frameworks").json()
    assert [f["code"] for f in listing["items"]] == [
        "DEPT-OVERALL",
        "PRJ-2020",
        "SELF-EVAL",
        "SELF-EVAL-2021",
    ]


def test_self_evaluation_rule_and_open_nodes(cat_engine: Engine) -> None:
    with database.session_scope(cat_engine) as session:
        rel = service.get_framework(session, "SELF-EVAL")
        again = service.get_framework(session, "SELF-EVAL", rel.version)
    assert again is rel  # cached per (code, version, hash)
    nodes = {n.code: n for n in rel.nodes}
    assert nodes["EXEC"].rule == {"kind": "budget_execution", "cap": 1.0, "warn_below": 0.9}
    assert nodes["OUT"].open
    assert nodes["OUT"].children == ("OUT.QTY", "OUT.QLT", "OUT.TIM", "OUT.CST")


@pytest.mark.parametrize(
    "url",
    [
        "/v1/namespaces/nosuch",
        "/v1/namespaces/health/versions/9.9.9",
        "/v1/indicators/HLT-99-999",
        "/v1/indicators/XXX-01-001",
        "/v1/indicators/HLT-02-001?version=2.0.0",
        "/v1/frameworks/NOSUCH",
        "/v1/frameworks/PRJ-2020?version=3.0.0",
        "/v1/frameworks/PRJ-2020/diff?from=1.0.0&to=1.1.0",
        "/v1/namespaces/health/diff?from=0.9.0&to=1.0.0",
    ],
)
def test_unknown_codes_and_versions_are_404_problems(cat_api: ApiClient, url: str) -> None:
    body = assert_problem(cat_api.get(url), 404)
    assert body["detail"].startswith("unknown")
    assert body["errors"]


def test_bad_query_values_are_422(cat_api: ApiClient) -> None:
    assert_problem(cat_api.get("/v1/indicators", params={"limit": 0}), 422)
    assert_problem(cat_api.get("/v1/indicators/HLT-02-001/standard?region=11"), 422)
    assert_problem(cat_api.get("/v1/frameworks/PRJ-2020?version=v1"), 422)


_SEARCH = "/v1/indicators"
_LOOKUP = "/v1/indicators/EDU-02-001/standard"


@pytest.mark.parametrize(
    ("path", "query", "fields"),
    [
        (_SEARCH, "namespace=Health!&level=5", ["namespace", "level"]),
        (_SEARCH, "version=1.0&value_type=numeric", ["version", "value_type"]),
        (_SEARCH, "sector=&class_l1=%00&q=" + "x" * 101, ["sector", "class_l1", "q"]),
        (
            _SEARCH,
            "limit=501&offset=-1&class_l2=&project_type=",
            ["class_l2", "project_type", "limit", "offset"],
        ),
        (_LOOKUP, "type=bogus&region=11", ["type", "region"]),
        (
            _LOOKUP,
            "fiscal_year=1989&sector=&project_type=" + "x" * 101,
            ["fiscal_year", "sector", "project_type"],
        ),
        (_LOOKUP, "version=v1&include_illustrative=maybe", ["version", "include_illustrative"]),
    ],
)
def test_each_bad_query_parameter_is_named(
    cat_api: ApiClient, path: str, query: str, fields: list[str]
) -> None:
    """The search's and the lookup's query parameters are read as one model each: a problem
    still names each bad parameter at query.<name>, in the parameters' order, in Chinese."""
    body = assert_problem(cat_api.get(f"{path}?{query}", headers={"Accept-Language": "zh"}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", f] for f in fields]
    assert body["detail"].endswith("、".join(f"查询参数 {f}" for f in fields))


def test_query_models_are_listed_as_parameters(cat_api: ApiClient) -> None:
    """The OpenAPI document lists each query parameter of the search and of the lookup on its
    own, with its constraints (not one object parameter); unknown parameters are ignored."""
    spec = cat_api.get("/openapi.json").json()
    search = {p["name"]: p for p in spec["paths"]["/v1/indicators"]["get"]["parameters"]}
    assert [n for n, p in search.items() if p["in"] == "query"] == [
        "namespace",
        "version",
        "sector",
        "level",
        "class_l1",
        "class_l2",
        "project_type",
        "value_type",
        "q",
        "limit",
        "offset",
    ]
    assert search["limit"]["schema"] == {
        "type": "integer",
        "maximum": 500,
        "minimum": 1,
        "default": 50,
        "title": "Limit",
    }
    assert not any(p["required"] for p in search.values())
    lookup = spec["paths"]["/v1/indicators/{code}/standard"]["get"]["parameters"]
    assert [(p["name"], p["in"]) for p in lookup] == [
        ("code", "path"),
        ("type", "query"),
        ("region", "query"),
        ("fiscal_year", "query"),
        ("sector", "query"),
        ("project_type", "query"),
        ("version", "query"),
        ("include_illustrative", "query"),
        ("If-None-Match", "header"),
    ]
    assert lookup[2]["description"] == "GB/T 2260 code"
    r = cat_api.get(_LOOKUP, params={"type": "plan", "fiscal_year": 2019, "unknown": "1"})
    assert r.status_code == 200, r.text
    assert r.json()["match"]["value"] == 85


def test_draft_edit_publish_and_immutability(cat_api: ApiClient) -> None:
    # published versions cannot be written
    put = cat_api.put("/v1/namespaces/transport/drafts/1.0.0", json={}, headers={"If-Match": "*"})
    assert_problem(put, 409)
    r = cat_api.post("/v1/namespaces/transport/drafts", headers={"Idempotency-Key": "k-1"})
    assert r.status_code == 201, r.text
    draft = r.json()
    # a retry with the same key replays the first response instead of a 409
    replay = cat_api.post("/v1/namespaces/transport/drafts", headers={"Idempotency-Key": "k-1"})
    assert replay.status_code == 201
    assert replay.json() == draft
    assert replay.headers["location"] == r.headers["location"]
    assert replay.headers["etag"] == r.headers["etag"]
    assert draft["version"] == "1.0.1-draft"
    assert draft["status"] == "draft"
    assert r.headers["location"] == "/v1/namespaces/transport/versions/1.0.1-draft"
    assert_problem(cat_api.post("/v1/namespaces/transport/drafts"), 409)  # one draft at a time
    doc = draft["document"]
    # remove an indicator (major change) and edit a name (patch)
    doc["indicators"] = [i for i in doc["indicators"] if i["code"] != "TRN-03-002"]
    doc["name_en"] = "Transport library"
    url = "/v1/namespaces/transport/drafts/1.0.1-draft"
    assert_problem(cat_api.put(url, json=doc), 428)
    assert_problem(cat_api.put(url, json=doc, headers={"If-Match": '"stale"'}), 412)
    r = cat_api.put(url, json=doc, headers={"If-Match": f'"{draft["content_hash"]}"'})
    assert r.status_code == 200, r.text
    bad = {**doc, "indicators": [{**doc["indicators"][0], "unit": "furlong"}]}
    body = assert_problem(cat_api.put(url, json=bad, headers={"If-Match": r.headers["etag"]}), 422)
    assert body["errors"][0]["loc"] == ["body", "indicators", 0, "unit"]
    # the diff between the published version and the draft
    diff = cat_api.get("/v1/namespaces/transport/diff?from=1.0.0&to=1.0.1-draft").json()
    assert diff["required_bump"] == "major"
    assert {(c["entity"], c["key"], c["op"]) for c in diff["changes"]} == {
        ("namespace", "transport", "changed"),
        ("indicator", "TRN-03-002", "removed"),
    }
    # publishing as a patch is refused with an explanation
    publish_url = "/v1/namespaces/transport/versions/1.0.1-draft/publish"
    refused = assert_problem(cat_api.post(publish_url), 409)
    assert "require a major bump" in refused["detail"]
    assert "publish as 2.0.0" in refused["detail"]
    ok = cat_api.post(publish_url, json={"version": "2.0.0"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["release"]["status"] == "published"
    assert ok.json()["diff"]["required_bump"] == "major"
    # latest published moved; the old version stays readable
    assert cat_api.get("/v1/namespaces/transport").json()["latest_published"] == "2.0.0"
    assert_problem(cat_api.get("/v1/indicators/TRN-03-002"), 404)
    old = cat_api.get("/v1/indicators/TRN-03-002", params={"version": "1.0.0"})
    assert old.status_code == 200
    # and the new published version is immutable too
    assert_problem(
        cat_api.put("/v1/namespaces/transport/drafts/2.0.0", json=doc, headers={"If-Match": "*"}),
        409,
    )
    dep = cat_api.post("/v1/namespaces/transport/versions/1.0.0/deprecate")
    assert dep.json()["status"] == "deprecated"
    still = cat_api.get("/v1/namespaces/transport/versions/1.0.0")
    assert still.status_code == 200
    assert still.headers["cache-control"].endswith("immutable")


def test_framework_draft_reweighting_needs_major(cat_api: ApiClient) -> None:
    assert_problem(
        cat_api.put("/v1/frameworks/PRJ-2020/drafts/1.0.0", json={}, headers={"If-Match": "*"}),
        409,
    )
    r = cat_api.post("/v1/frameworks/PRJ-2020/drafts")
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["version"] == "1.0.1-draft"
    doc = draft["document"]
    url = "/v1/frameworks/PRJ-2020/drafts/1.0.1-draft"
    etag = r.headers["etag"]
    # points that no longer add up are refused with the validator's message
    broken = {**doc, "nodes": [dict(n) for n in doc["nodes"]]}
    broken["nodes"][0]["points"] = 20.0  # DEC 15 → 20
    body = assert_problem(cat_api.put(url, json=broken, headers={"If-Match": etag}), 422)
    msgs = [e["msg"] for e in body["errors"]]
    assert "level-1 points add up to 105, not 100 (DEC 20, PRC 20, OUT 35, BEN 30)" in msgs[0]
    # re-weight: 决策 15 → 20, 项目立项 5 → 10 (立项依据充分性 3 → 8); 过程 20 → 15, …
    nodes = {n["code"]: dict(n) for n in doc["nodes"]}
    nodes["DEC"]["points"], nodes["DEC.PRJ"]["points"], nodes["DEC.PRJ.1"]["points"] = 20, 10, 8
    nodes["PRC"]["points"], nodes["PRC.ORG"]["points"] = 15, 3
    nodes["PRC.ORG.1"]["points"], nodes["PRC.ORG.2"]["points"] = 2, 1
    reweighted = {**doc, "nodes": [nodes[n["code"]] for n in doc["nodes"]]}
    r = cat_api.put(url, json=reweighted, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    publish = "/v1/frameworks/PRJ-2020/versions/1.0.1-draft/publish"
    refused = assert_problem(cat_api.post(publish, json={"version": "1.1.0"}), 409)
    assert "re-weighting" in refused["detail"]
    assert "publish as 2.0.0" in refused["detail"]
    ok = cat_api.post(publish, json={"version": "2.0.0"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["diff"]["required_bump"] == "major"
    latest = cat_api.get("/v1/frameworks/PRJ-2020").json()
    assert latest["version"] == "2.0.0"
    assert next(n for n in latest["nodes"] if n["code"] == "DEC")["points"] == 20
    # the old version is still served, unchanged
    old = cat_api.get("/v1/frameworks/PRJ-2020?version=1.0.0").json()
    assert next(n for n in old["nodes"] if n["code"] == "DEC")["points"] == 15
    diff = cat_api.get("/v1/frameworks/PRJ-2020/diff?from=1.0.0&to=2.0.0").json()
    assert {c["key"] for c in diff["changes"]} == {
        "DEC",
        "DEC.PRJ",
        "DEC.PRJ.1",
        "PRC",
        "PRC.ORG",
        "PRC.ORG.1",
        "PRC.ORG.2",
    }
    assert all(c["reason"] == "re-weighting" for c in diff["changes"])


@pytest.mark.parametrize(
    ("path", "read", "first", "then"),
    [
        ("/v1/namespaces/housing_security", "{path}/versions/{version}", "zh-CN", "en"),
        ("/v1/frameworks/SELF-EVAL-2021", "{path}/versions/{version}/document", "en", "zh-CN"),
    ],
)
def test_a_draft_replayed_in_another_language_is_the_draft_as_read(
    cat_api: ApiClient, cat_engine: Engine, path: str, read: str, first: str, then: str
) -> None:
    """A draft's answer carries codes and the source document only (no words of a language):
    the kept answer replays as the draft reads in the replaying request's language; no second
    version is stored."""
    key = f"draft-replay-{first}"

    def versions() -> int:
        with database.session_scope(cat_engine) as s:
            return len(s.exec(select(CatalogueNamespaceVersion)).all()) + len(
                s.exec(select(CatalogueFrameworkVersion)).all()
            )

    made = cat_api.post(
        f"{path}/drafts", headers={"Idempotency-Key": key, "accept-language": first}
    )
    assert made.status_code == 201, made.text
    count = versions()
    replay = cat_api.post(
        f"{path}/drafts", headers={"Idempotency-Key": key, "accept-language": then}
    )
    assert (replay.status_code, replay.headers["content-language"]) == (201, then)
    assert (replay.headers["location"], replay.headers["etag"]) == (
        made.headers["location"],
        made.headers["etag"],
    )
    url = read.format(path=path, version=made.json()["version"])
    assert (
        replay.json() == cat_api.get(url, headers={"accept-language": then}).json() == made.json()
    )
    assert versions() == count
    kind, code = path.split("/")[2:]
    scope = f"catalogue.{kind[:-1]}-draft:{code}"
    kept = kept_answers(cat_engine, scope, key)
    assert kept == [{**made.json(), "_location": made.headers["location"]}]
