"""Who may read a stored evaluation (docs/security.md, "Stored evaluations: who may read them").

Every cell of the documented table (role × operation × scope) is tested through the HTTP API:
the table is read from docs/security.md and must equal ``TABLE`` below, and each cell is one
parametrised test run with concrete keys against a fixed set of stored evaluations.

The evaluations (framework ``OWNERSHIP-TEST``, fiscal year 2024, one unit each):

=====  ===========================  ========
name   stored by                    region
=====  ===========================  ========
E1     A (evaluator, no regions)    330102
E2     A                            330100
E3     A                            320100
E4     C (evaluator, 330102)        330102
E5     A, then its owner removed    330102   (as stored before 0006_ownership)
E6     B (evaluator, no regions)    330102
E7     A                            330200
E8     B                            320100
=====  ===========================  ========

Which of them each key may read is written out by hand in ``VISIBLE`` (not computed by the rule
under test). Writes made by the cells (store, replay) use fiscal year 2023 and other projects,
so they never change what the read cells see.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from indicator_service.auth.models import ApiKey, Role
from indicator_service.catalogue.service import store_framework, store_namespace
from indicator_service.catalogue.source import NamespaceDoc
from indicator_service.core.database import session_scope
from indicator_service.core.settings import Settings
from indicator_service.scoring.models import Evaluation
from tests.auth.fixtures import bearer, issue_key
from tests.helpers import ApiClient, assert_problem
from tests.paths import REPO_ROOT
from tests.scoring.frameworks import self_evaluation

CODE = "OWNERSHIP-TEST"
INDICATOR = "OWN-01-001"
YEAR = 2024  # the read cells' evaluations
WRITE_YEAR = 2023  # evaluations stored by the write cells

# --- the documented table ------------------------------------------------------------------

OPERATIONS = ("store", "read by id", "list and filters", "re-score", "compare and derive", "replay")
TABLE: dict[str, dict[str, str]] = {
    "admin": dict.fromkeys(OPERATIONS[1:], "all")
    | {"store": "any region", "replay": "own requests"},
    "evaluator without regions": dict.fromkeys(OPERATIONS[1:], "own")
    | {"store": "any region", "replay": "own requests"},
    "evaluator with regions": dict.fromkeys(OPERATIONS[1:], "own + regions")
    | {"store": "its regions", "replay": "own requests"},
    "client": dict.fromkeys(OPERATIONS, "403"),
    "curator": dict.fromkeys(OPERATIONS, "403"),
    "reviewer": dict.fromkeys(OPERATIONS, "403"),
    "no key": dict.fromkeys(OPERATIONS, "401"),
}


def documented_table() -> dict[str, dict[str, str]]:
    text = (REPO_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    match = re.search(
        r"<!-- evaluation-access-table -->\n(.*?)<!-- /evaluation-access-table -->", text, re.S
    )
    assert match, "the access table is missing from docs/security.md"
    lines = [line.strip() for line in match.group(1).strip().splitlines()]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return rows


def test_the_documented_table_is_the_tested_table() -> None:
    assert documented_table() == TABLE


# --- keys and evaluations --------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    name: str
    role: str
    regions: tuple[str, ...] = ()


KEYS = {
    "admin": Key("admin", "admin"),
    "A": Key("A", "evaluator"),
    "B": Key("B", "evaluator"),
    "C": Key("C", "evaluator", ("330102",)),  # a county bureau
    "city": Key("city", "evaluator", ("330100",)),
    "province": Key("province", "evaluator", ("330000",)),
    "other province": Key("other province", "evaluator", ("320000",)),
    "national": Key("national", "evaluator", ("000000",)),
    "two regions": Key("two regions", "evaluator", ("320100", "330200")),
    "client": Key("client", "client"),
    "curator": Key("curator", "curator"),
    "reviewer": Key("reviewer", "reviewer"),
}
CALLERS: dict[str, tuple[str, ...]] = {
    "admin": ("admin",),
    "evaluator without regions": ("A", "B"),
    "evaluator with regions": (
        "C",
        "city",
        "province",
        "other province",
        "national",
        "two regions",
    ),
    "client": ("client",),
    "curator": ("curator",),
    "reviewer": ("reviewer",),
    "no key": ("",),
}
STORED = {  # name: (stored by, region)
    "E1": ("A", "330102"),
    "E2": ("A", "330100"),
    "E3": ("A", "320100"),
    "E4": ("C", "330102"),
    "E5": ("A", "330102"),  # owner removed afterwards
    "E6": ("B", "330102"),
    "E7": ("A", "330200"),
    "E8": ("B", "320100"),
}
ALL = set(STORED)
OWN = {"admin": set(), "A": {"E1", "E2", "E3", "E7"}, "B": {"E6", "E8"}, "C": {"E4"}}
VISIBLE: dict[str, set[str]] = {
    "admin": ALL,
    "A": {"E1", "E2", "E3", "E7"},
    "B": {"E6", "E8"},
    "C": {"E1", "E4", "E6"},
    "city": {"E1", "E2", "E4", "E6"},
    "province": {"E1", "E2", "E4", "E6", "E7"},
    "other province": {"E3", "E8"},
    "national": ALL - {"E5"},
    "two regions": {"E3", "E7", "E8"},
}
# where each key may store (covered) and may not (outside its regions)
STORE_IN = {
    "admin": ("650102", None),
    "A": ("650102", None),
    "B": ("110105", None),
    "C": ("330102", "330100"),
    "city": ("330106", "330000"),
    "province": ("330483", "320100"),
    "other province": ("320505", "330102"),
    "national": ("540102", None),
    "two regions": ("330200", "330100"),
}


def namespace_doc() -> NamespaceDoc:
    return NamespaceDoc.model_validate(
        {
            "namespace": "ownershiptest",
            "kind": "common",
            "code_prefix": "OWN",
            "name_zh": "归属测试",
            "name_en": "Ownership test",
            "owner": "test",
            "version": "1.0.0",
            "indicators": [
                {
                    "code": INDICATOR,
                    "name_zh": "受益人数",
                    "name_en": "Beneficiaries",
                    "value_type": "quantitative",
                    "operator": "≥",
                    "unit": "人",
                }
            ],
        }
    )


def submission(
    project: str, region: str, beneficiaries: float, year: int = YEAR, unit: str | None = None
) -> dict[str, Any]:
    """产出 50 (25 + 25), 效益 30 (the catalogue indicator), 满意度 10, execution 10."""
    row = {"class_l1": "产出", "operator": "≥", "points": 25, "target": 100, "unit": "台"}
    return {
        "framework": CODE,
        "version": "1.0.0",
        "project": project,
        "unit": unit or project,
        "region": region,
        "fiscal_year": year,
        "budget": {"adjusted": 200.0, "executed": 190.0},
        "rows": [
            {**row, "id": "out1", "name": "完成数量", "value": 90},
            {**row, "id": "out2", "name": "验收数量", "value": 100},
            {
                "id": "ben",
                "class_l1": "效益",
                "indicator": INDICATOR,
                "name": "受益人数",
                "points": 30,
                "operator": "≥",
                "target": 500,
                "unit": "人",
                "value": beneficiaries,
            },
            {
                "id": "sat",
                "class_l1": "满意度",
                "name": "满意度",
                "points": 10,
                "operator": "≥",
                "target": 95,
                "unit": "%",
                "value": 95,
            },
        ],
    }


@dataclass
class World:
    api: ApiClient
    keys: dict[str, str]  # key name → key text
    key_ids: dict[str, int]  # key name → key id
    ids: dict[str, int]  # evaluation name → id
    projects: dict[str, str]  # evaluation name → project
    run: str  # a tag unique to this module run

    def headers(self, key: str, **extra: str) -> dict[str, str]:
        return {**(bearer(self.keys[key]) if key else {}), **extra}

    def names(self, ids: Any) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id[i] for i in ids if i in by_id}


@pytest.fixture(scope="module")
def world(app: FastAPI, engine: Engine, settings: Settings) -> Iterator[World]:
    with session_scope(engine) as s:
        store_namespace(s, namespace_doc())
        store_framework(
            s, self_evaluation("1.0.0", framework=CODE, requires={"ownershiptest": "1.0.0"})
        )
    run = uuid.uuid4().hex[:6]
    keys = {
        name: issue_key(
            engine,
            settings,
            Role(k.role),
            ["*"] if k.role in ("curator", "reviewer") else None,
            name=f"ownership {name} {run}",
            regions=list(k.regions) or None,
        )
        for name, k in KEYS.items()
    }
    api = ApiClient(app)
    ids, projects = {}, {}
    for n, (name, (owner, region)) in enumerate(STORED.items()):
        projects[name] = f"P-{run}-{name}"
        r = api.post(
            "/v1/evaluations",
            json=submission(projects[name], region, 400.0 + 10 * n),
            headers=bearer(keys[owner]),
        )
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    with session_scope(engine) as s:  # E5: as stored before ownership was recorded
        legacy = s.get(Evaluation, ids["E5"])
        assert legacy is not None
        legacy.owner_key_id = None
    key_ids: dict[str, int] = {}
    with session_scope(engine) as s:
        for name in KEYS:
            key_id = s.exec(select(ApiKey.id).where(ApiKey.name == f"ownership {name} {run}")).one()
            assert key_id is not None
            key_ids[name] = key_id
    yield World(api, keys, key_ids, ids, projects, run)
    api.close()


def cases(operation: str) -> list[Any]:
    return [
        pytest.param(caller, key, id=f"{caller}-{key or 'anonymous'}")
        for caller, names in CALLERS.items()
        for key in names
        if TABLE[caller][operation]  # every row has a value for every operation
    ]


def refused(world: World, caller: str, operation: str, response: Any) -> bool:
    """For the 401/403 rows: the response is that refusal; True when the cell is a refusal."""
    cell = TABLE[caller][operation]
    if cell not in ("401", "403"):
        return False
    problem = assert_problem(response, int(cell))
    expected = "missing_api_key" if cell == "401" else "insufficient_role"
    assert problem["errors"][0]["type"] == expected
    return True


def expected_visible(caller: str, operation: str, key: str) -> set[str]:
    cell = TABLE[caller][operation]
    if cell == "all":
        return ALL
    if cell == "own":
        assert VISIBLE[key] == OWN[key]
        return OWN[key]
    assert cell == "own + regions", cell
    assert VISIBLE[key] >= OWN.get(key, set())
    return VISIBLE[key]


# --- the cells -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("caller", "key"), cases("read by id"))
def test_read_by_id(world: World, caller: str, key: str) -> None:
    for name, ev_id in world.ids.items():
        r = world.api.get(f"/v1/evaluations/{ev_id}", headers=world.headers(key))
        if refused(world, caller, "read by id", r):
            continue
        if name in expected_visible(caller, "read by id", key):
            assert r.status_code == 200, (name, r.text)
            assert r.json()["project"] == world.projects[name]
        else:
            problem = assert_problem(r, 404)
            # the same answer as for an id that does not exist
            absent = world.api.get(f"/v1/evaluations/{2**31 - 1}", headers=world.headers(key))
            assert problem["detail"].replace(str(ev_id), "N") == assert_problem(absent, 404)[
                "detail"
            ].replace(str(2**31 - 1), "N")


@pytest.mark.parametrize(("caller", "key"), cases("list and filters"))
def test_list_and_filters(world: World, caller: str, key: str) -> None:
    params: dict[str, Any] = {"framework": CODE, "fiscal_year": YEAR, "limit": 500}
    r = world.api.get("/v1/evaluations", params=params, headers=world.headers(key))
    if refused(world, caller, "list and filters", r):
        return
    visible = expected_visible(caller, "list and filters", key)
    assert r.status_code == 200, r.text
    page = r.json()
    listed = [item["id"] for item in page["items"] if item["project"].startswith(f"P-{world.run}")]
    assert world.names(listed) == visible
    if caller != "admin":  # admins also see other tests' evaluations of other frameworks
        assert page["total"] == len(visible)
    # every filter narrows the visible set, never widens it
    for region in ("330102", "330100", "320100"):
        got = world.api.get(
            "/v1/evaluations", params={**params, "region": region}, headers=world.headers(key)
        ).json()
        want = {n for n in visible if STORED[n][1] == region}
        assert world.names(i["id"] for i in got["items"]) == want, region
    for name, project in world.projects.items():
        got = world.api.get(
            "/v1/evaluations", params={"project": project}, headers=world.headers(key)
        ).json()
        assert world.names(i["id"] for i in got["items"]) == ({name} & visible), name
        assert got["total"] == len({name} & visible)


@pytest.mark.parametrize(("caller", "key"), cases("re-score"))
def test_rescore(world: World, caller: str, key: str) -> None:
    for name, ev_id in world.ids.items():
        r = world.api.post(f"/v1/evaluations/{ev_id}/rescore", json={}, headers=world.headers(key))
        if refused(world, caller, "re-score", r):
            continue
        if name in expected_visible(caller, "re-score", key):
            assert r.status_code == 200, (name, r.text)
            assert r.json()["evaluation_id"] == ev_id
        else:
            assert_problem(r, 404)


@pytest.mark.parametrize(("caller", "key"), cases("compare and derive"))
def test_compare_and_derive(world: World, caller: str, key: str) -> None:
    composite = world.api.post(
        "/v1/composite/evaluations",
        json={"framework": CODE, "fiscal_year": YEAR},
        headers=world.headers(key),
    )
    industry = world.api.post(
        "/v1/standards/industry/from-evaluations",
        json={"indicator": INDICATOR, "fiscal_year": YEAR, "framework": CODE, "min_sample": 2},
        headers=world.headers(key),
    )
    if refused(world, caller, "compare and derive", composite):
        assert refused(world, caller, "compare and derive", industry)
        for name in STORED:
            historical = world.api.post(
                "/v1/standards/historical/from-evaluations",
                json={
                    "indicator": INDICATOR,
                    "project": world.projects[name],
                    "method": "last_year",
                },
                headers=world.headers(key),
            )
            assert refused(world, caller, "compare and derive", historical)
        return
    visible = expected_visible(caller, "compare and derive", key)
    assert composite.status_code == 200, composite.text
    assert world.names(composite.json()["evaluations"].values()) == visible
    assert industry.status_code == 200, industry.text
    assert world.names(industry.json()["evaluation_ids"]) == visible
    for name in STORED:
        historical = world.api.post(
            "/v1/standards/historical/from-evaluations",
            json={
                "indicator": INDICATOR,
                "project": world.projects[name],
                "method": "last_year",
            },
            headers=world.headers(key),
        )
        if name in visible:
            assert historical.status_code == 200, (name, historical.text)
            assert historical.json()["evaluation_ids"] == [world.ids[name]]
        else:
            assert_problem(historical, 404)


@pytest.mark.parametrize(("caller", "key"), cases("store"))
def test_store(world: World, caller: str, key: str, engine: Engine) -> None:
    cell = TABLE[caller]["store"]
    inside, outside = STORE_IN.get(key, ("330102", None))
    project = f"W-{world.run}-{key or 'anonymous'}"
    r = world.api.post(
        "/v1/evaluations",
        json=submission(project, inside, 450, year=WRITE_YEAR),
        headers=world.headers(key),
    )
    if refused(world, caller, "store", r):
        return
    assert r.status_code == 201, r.text
    stored = r.json()
    assert (
        world.api.get(f"/v1/evaluations/{stored['id']}", headers=world.headers(key)).json()[
            "project"
        ]
        == project
    )
    with session_scope(engine) as s:
        row = s.get(Evaluation, stored["id"])
        assert row is not None
        assert row.region == inside
        assert row.owner_key_id == world.key_ids[key]
    if cell == "any region":
        assert outside is None
        return
    assert cell == "its regions"
    if outside is None:  # 000000 covers every region
        assert KEYS[key].regions == ("000000",)
        return
    before = _count(engine, project)
    problem = assert_problem(
        world.api.post(
            "/v1/evaluations",
            json=submission(project, outside, 450, year=WRITE_YEAR),
            headers=world.headers(key, **{"Idempotency-Key": f"out-{world.run}"}),
        ),
        403,
    )
    assert problem["errors"][0]["type"] == "region_out_of_scope"
    assert problem["errors"][0]["loc"] == ["body", "region"]
    assert _count(engine, project) == before  # nothing stored


def _count(engine: Engine, project: str) -> int:
    with session_scope(engine) as s:
        return len(s.exec(select(Evaluation).where(col(Evaluation.project) == project)).all())


@pytest.mark.parametrize(("caller", "key"), cases("replay"))
def test_replay_answers_only_the_keys_own_requests(
    world: World, caller: str, key: str, engine: Engine
) -> None:
    """Key A stored an evaluation with an Idempotency-Key; another key sending the same header
    and the same body makes a new, unrelated evaluation (its own replay then answers it)."""
    region = STORE_IN.get(key, ("330102", None))[0]
    idem = f"shared-{world.run}-{region}"
    body = submission(f"R-{world.run}-{region}", region, 420, year=WRITE_YEAR)
    first_key = "admin" if key == "national" else "national"  # both store in every region
    first = world.api.post(
        "/v1/evaluations", json=body, headers=world.headers(first_key, **{"Idempotency-Key": idem})
    )
    assert first.status_code == 201, first.text  # (a replay itself when several cells share it)
    original = first.json()

    r = world.api.post(
        "/v1/evaluations", json=body, headers=world.headers(key, **{"Idempotency-Key": idem})
    )
    if refused(world, caller, "replay", r):
        return
    assert TABLE[caller]["replay"] == "own requests"
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["id"] != original["id"]  # not the first caller's evaluation
    assert r.headers["Location"] == f"/v1/evaluations/{mine['id']}"
    # its own replay answers its own request, byte for byte
    again = world.api.post(
        "/v1/evaluations", json=body, headers=world.headers(key, **{"Idempotency-Key": idem})
    )
    assert again.status_code == 201
    assert again.json() == mine
    # its own key with another body is a conflict; the first caller's record is untouched
    other = {**body, "project": f"{body['project']}-other"}
    conflict = world.api.post(
        "/v1/evaluations", json=other, headers=world.headers(key, **{"Idempotency-Key": idem})
    )
    assert assert_problem(conflict, 409)["errors"][0]["type"] == "idempotency_key_reused"
    replay = world.api.post(
        "/v1/evaluations", json=body, headers=world.headers(first_key, **{"Idempotency-Key": idem})
    )
    assert replay.json() == original
    with session_scope(engine) as s:
        row = s.get(Evaluation, mine["id"])
        assert row is not None
        assert row.owner_key_id == world.key_ids[key]
        first_row = s.get(Evaluation, original["id"])
        assert first_row is not None
        assert first_row.owner_key_id == world.key_ids[first_key]
