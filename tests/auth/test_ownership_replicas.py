"""Per-caller idempotency and evaluation isolation across two replicas on one PostgreSQL
database (two ``indicator-service serve`` processes, as in tests/hardening/test_replicas.py).

Two evaluator keys A and B send the same ``Idempotency-Key`` with the same body, one through
each replica, one after the other and then at the same moment: each gets an evaluation of its
own, never the other's; each key's own retries (on either replica, also concurrent) answer its
first response and store nothing twice; neither key reads the other's evaluation on either
replica.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from bench.bench_load import (
    free_port,
    prepare_database,
    start_server,
    stop_server,
    submission,
    wait_ready,
)
from tests.conftest import TEST_DATABASE_URL, _create_database

pytestmark = pytest.mark.postgres

ROUNDS = 6


def _evaluator_key(url: str, name: str) -> str:
    from indicator_service.auth import service
    from indicator_service.auth.models import Role
    from indicator_service.auth.principal import CLI_OPERATOR
    from indicator_service.core import database
    from indicator_service.core.settings import Environment, Settings

    settings = Settings(database_url=url, environment=Environment.test)
    engine = database.make_engine(settings)
    try:
        with database.session_scope(engine) as session:
            _row, raw = service.create_key(
                session,
                name=name,
                role=Role.evaluator,
                namespaces=None,
                server_secret=settings.secret_key,
                actor=CLI_OPERATOR,
            )
    finally:
        engine.dispose()
    return raw


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("ownership"))
    prepare_database(url)
    keys = {"A": _evaluator_key(url, "replica A"), "B": _evaluator_key(url, "replica B")}
    ports = [free_port(), free_port()]
    procs = [start_server(url, port) for port in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_ready(port, proc)
        yield {"url": url, "keys": keys, "ports": ports}
    finally:
        for proc in procs:
            stop_server(proc)
        if drop is not None:
            drop()


def _post(port: int, key: str, idem: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/v1/evaluations",
        json=body,
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem},
        timeout=30,
    )


def _get(port: int, key: str, ev_id: int) -> httpx.Response:
    return httpx.get(
        f"http://127.0.0.1:{port}/v1/evaluations/{ev_id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def _stored(url: str, project: str) -> list[tuple[int, int | None]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, owner_key_id FROM scoring_evaluation WHERE project = :p"),
                {"p": project},
            ).all()
            return [(int(r[0]), r[1]) for r in rows]
    finally:
        engine.dispose()


def test_same_idempotency_key_two_callers_two_replicas(replicas: dict[str, Any]) -> None:
    keys, (one, two), url = replicas["keys"], replicas["ports"], replicas["url"]
    body = {**submission(1), "project": f"P-shared-{uuid.uuid4().hex[:8]}"}
    idem = f"shared-{uuid.uuid4().hex}"
    a = _post(one, keys["A"], idem, body)
    assert a.status_code == 201, a.text
    b = _post(two, keys["B"], idem, body)
    assert b.status_code == 201, b.text
    assert b.json()["id"] != a.json()["id"]
    # each key's retry, on the other replica, is its own first response
    assert _post(two, keys["A"], idem, body).json() == a.json()
    assert _post(one, keys["B"], idem, body).json() == b.json()
    # neither reads the other's evaluation, on either replica
    for port in (one, two):
        assert _get(port, keys["A"], a.json()["id"]).status_code == 200
        assert _get(port, keys["B"], a.json()["id"]).status_code == 404
        assert _get(port, keys["A"], b.json()["id"]).status_code == 404
        assert _get(port, keys["B"], b.json()["id"]).status_code == 200
    assert len(_stored(url, body["project"])) == 2


def test_concurrent_requests_with_one_idempotency_key(replicas: dict[str, Any]) -> None:
    """Per round, at the same moment: A and B with one key and body on different replicas, and
    A's retry of its own request on both replicas."""
    keys, (one, two), url = replicas["keys"], replicas["ports"], replicas["url"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for n in range(ROUNDS):
            body = {**submission(n), "project": f"P-race-{n}-{uuid.uuid4().hex[:8]}"}
            idem = f"race-{n}-{uuid.uuid4().hex}"
            jobs = [
                pool.submit(_post, one, keys["A"], idem, body),
                pool.submit(_post, two, keys["B"], idem, body),
                pool.submit(_post, two, keys["A"], idem, body),
                pool.submit(_post, one, keys["B"], idem, body),
            ]
            replies = [job.result() for job in jobs]
            assert all(r.status_code in (201, 409) for r in replies), [r.text for r in replies]
            by_key: dict[str, set[int]] = {"A": set(), "B": set()}
            for who, r in zip("ABAB", replies, strict=True):
                if r.status_code == 409:  # the same key in flight on the other replica
                    assert r.json()["errors"][0]["type"] == "idempotency_key_in_flight"
                    assert r.headers["retry-after"] == "1"
                else:
                    by_key[who].add(r.json()["id"])
            # a retry settles it: each key has exactly one evaluation, its own
            for who, port in (("A", one), ("B", two)):
                again = _post(port, keys[who], idem, body)
                assert again.status_code == 201, again.text
                by_key[who].add(again.json()["id"])
                assert len(by_key[who]) == 1, (n, who, by_key)
            assert by_key["A"].isdisjoint(by_key["B"])
            stored = _stored(url, body["project"])
            assert sorted(i for i, _ in stored) == sorted(by_key["A"] | by_key["B"])
            assert len({owner for _, owner in stored}) == 2
