"""Finding stored evaluations by a part of the project code or name (``GET /v1/evaluations?q=``),
within what the calling key may read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from indicator_service.auth.models import Role
from indicator_service.core.settings import Settings
from tests.auth.fixtures import authenticate, issue_key
from tests.helpers import ApiClient, assert_problem
from tests.scoring.test_evaluations import published, submission, v1_rows

__all__ = ["published"]  # the fixture, imported for this module's tests


@pytest.fixture(scope="module")
def other(app: FastAPI, engine: Engine, settings: Settings) -> Iterator[ApiClient]:
    """Another evaluator's key (no region scope: it reads only its own evaluations)."""
    client = authenticate(
        ApiClient(app), issue_key(engine, settings, Role.evaluator, name="another evaluator")
    )
    yield client
    client.close()


def _store(api: ApiClient, project: str, name: str | None = None) -> int:
    body = v1_rows(submission(project))
    if name is not None:
        body["form"] = {"project_name": name}
    r = api.post("/v1/evaluations", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _found(api: ApiClient, q: str) -> list[int]:
    r = api.get("/v1/evaluations", params={"q": q, "limit": 500})
    assert r.status_code == 200, r.text
    return sorted(i["id"] for i in r.json()["items"])


def test_q_finds_projects_by_part_of_code_or_name_owner_scoped(
    eapi: ApiClient, other: ApiClient, published: None
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    farm = _store(eapi, f"ZJ{tag}-017", f"{tag}农田建设补助资金")
    road = _store(eapi, f"ZJ{tag}-018")
    theirs = _store(other, f"HZ{tag}-017", f"{tag}农田水利")

    assert _found(eapi, f"zj{tag.lower()}") == [farm, road]  # a part of the code, any case
    assert _found(eapi, f"{tag}-01") == [farm, road]
    assert _found(eapi, f"{tag}农田建设") == [farm]  # a part of the name
    assert _found(eapi, f"{tag}农田") == [farm]  # the other key's 农田水利 is not readable
    assert _found(other, f"{tag}农田") == [theirs]
    assert _found(other, f"{tag}-017") == [theirs]
    assert _found(eapi, f"{tag}%") == []  # % and _ are literal characters
    assert _found(eapi, f"ZJ{tag}_017") == []
    # the name comes back with the summary; a project without one has null
    items = eapi.get("/v1/evaluations", params={"q": tag}).json()["items"]
    names = {i["id"]: i["project_name"] for i in items}
    assert names == {farm: f"{tag}农田建设补助资金", road: None}
    # q narrows the exact filters too
    assert [
        i["id"]
        for i in eapi.get("/v1/evaluations", params={"q": tag, "project": f"ZJ{tag}-018"}).json()[
            "items"
        ]
    ] == [road]
    assert_problem(eapi.get("/v1/evaluations", params={"q": "x" * 81}), 422)
