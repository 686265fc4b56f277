"""A revoked key stops working at once on the process that revoked it, and on every other
replica within ``api_key_revocation_check_seconds`` (2 s by default).

Two application instances on one database stand for two replicas: each has its own key cache
(as separate processes have) on a clock the test drives, so the bound is shown without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from indicator_service.app import create_app
from indicator_service.auth import dependencies
from indicator_service.auth.cache import KeyCache, get_key_cache
from indicator_service.auth.keys import parse_key
from indicator_service.auth.models import ApiKey, Role
from indicator_service.auth.settings import AuthSettings
from indicator_service.core import database
from indicator_service.core.settings import Settings
from tests.auth.fixtures import bearer, issue_key, revoke_in_database
from tests.conftest import IS_POSTGRES
from tests.helpers import ApiClient, assert_problem, held_read, make_settings

BOUND = AuthSettings().api_key_revocation_check_seconds


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


Replica = tuple[ApiClient, FakeClock]


@pytest.fixture
def replicas(database_url: str) -> Iterator[list[Replica]]:
    out: list[Replica] = []
    for _ in range(2):
        app: FastAPI = create_app(make_settings(database_url))
        clock = FakeClock()
        app.dependency_overrides[get_key_cache] = lambda cache=KeyCache(clock=clock): cache
        out.append((ApiClient(app), clock))
    yield out
    for client, _clock in out:
        client.close()


def _key_id(engine: Engine, raw: str) -> int:
    parsed = parse_key(raw)
    assert parsed is not None
    with Session(engine) as s:
        key_id = s.exec(select(ApiKey.id).where(col(ApiKey.prefix) == parsed.prefix)).one()
    assert key_id is not None
    return key_id


def _status(client: ApiClient, key: str) -> int:
    return client.get("/v1/evaluations", headers=bearer(key)).status_code


def test_revoked_on_one_replica_stops_there_at_once_and_on_the_other_within_the_bound(
    replicas: list[Replica], engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (a, clock_a), (b, clock_b) = replicas
    admin = issue_key(engine, settings, Role.admin)
    key = issue_key(engine, settings, Role.evaluator)
    checks: list[object] = []
    real = dependencies.read_rows

    async def counting(*args: Any) -> Any:
        checks.append(args[2:])
        return await real(*args)

    monkeypatch.setattr(dependencies, "read_rows", counting)
    # both replicas have verified (and cached) the key
    assert _status(a, key) == 200
    assert _status(b, key) == 200
    revoked = a.request("DELETE", f"/v1/api-keys/{_key_id(engine, key)}", headers=bearer(admin))
    assert revoked.status_code == 200, revoked.text
    # the replica that revoked refuses it at once
    body = assert_problem(a.get("/v1/evaluations", headers=bearer(key)), 401)
    assert body["errors"][0]["type"] == "revoked_key"
    # the other one still trusts its cache until the bound, without a query per request
    clock_b.now += BOUND / 2
    assert [_status(b, key) for _ in range(5)] == [200] * 5
    checks_before = len(checks)
    assert checks_before <= 1
    # ... and refuses it once the bound has passed (far less than the 30 s cache TTL)
    clock_b.now += BOUND / 2
    body = assert_problem(b.get("/v1/evaluations", headers=bearer(key)), 401)
    assert body["errors"][0]["type"] == "revoked_key"
    assert len(checks) == checks_before + 1
    # other keys keep working on both, from their caches
    other = issue_key(engine, settings, Role.evaluator)
    assert _status(b, other) == 200
    clock_a.now += BOUND
    assert _status(a, other) == 200


def test_a_revocation_in_the_database_reaches_every_replica_within_the_bound(
    replicas: list[Replica], engine: Engine, settings: Settings
) -> None:
    """Revoked with the CLI (no server involved): every replica notices within the bound."""
    key = issue_key(engine, settings, Role.evaluator)
    assert [_status(client, key) for client, _ in replicas] == [200, 200]
    revoke_in_database(engine, key)
    for _client, clock in replicas:
        clock.now += BOUND
    assert [_status(client, key) for client, _ in replicas] == [401, 401]


def test_ahead_of_the_bound_the_check_runs_in_the_background(
    replicas: list[Replica], engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three quarters through the bound (``core.database.RENEW_AHEAD``) the first request
    starts the check and is answered from the cache without waiting for it, as are the requests
    behind it; once the check is done the revoked key is refused, before the bound. A request
    that comes past the bound while a check is under way waits for it."""
    _a, (b, clock) = replicas
    gate, reads = threading.Event(), list[int]()
    monkeypatch.setattr(dependencies, "read_rows", held_read(dependencies.read_rows, gate, reads))
    key = issue_key(engine, settings, Role.evaluator)
    assert _status(b, key) == 200
    revoke_in_database(engine, key)
    clock.now += BOUND * (database.RENEW_AHEAD - 0.05)
    assert _status(b, key) == 200
    assert reads == []  # not due yet
    clock.now += BOUND * 0.1
    assert [_status(b, key) for _ in range(3)] == [200] * 3  # the check held: from the cache
    assert reads == [1]
    gate.set()
    deadline = time.monotonic() + 10
    while _status(b, key) == 200:  # each request runs the event loop a little
        assert time.monotonic() < deadline
    body = assert_problem(b.get("/v1/evaluations", headers=bearer(key)), 401)
    assert body["errors"][0]["type"] == "revoked_key"
    # past the bound with a check under way: the request waits for its outcome
    gate.clear()
    other = issue_key(engine, settings, Role.evaluator)
    assert _status(b, other) == 200
    revoke_in_database(engine, other)
    clock.now += BOUND * database.RENEW_AHEAD
    assert _status(b, other) == 200  # starts the check
    assert len(reads) == 2
    clock.now += BOUND * 0.5
    threading.Timer(0.2, gate.set).start()
    started = time.monotonic()
    body = assert_problem(b.get("/v1/evaluations", headers=bearer(other)), 401)
    assert body["errors"][0]["type"] == "revoked_key"
    assert time.monotonic() - started >= 0.15
    assert len(reads) == 2


def test_a_failed_revocation_check_is_retried() -> None:
    """A check that fails is not recorded as done: the next cache hit checks again."""
    clock = FakeClock()
    cache = KeyCache(clock=clock)
    first = cache.claim_revocation_check(BOUND)
    assert first is None  # not due right after start
    clock.now += BOUND
    check = cache.claim_revocation_check(BOUND)
    assert check is not None
    assert check.overdue
    assert cache.claim_revocation_check(BOUND) == (None, True)  # one at a time: wait for it
    cache.revocation_check_done(None)  # failed
    assert cache.claim_revocation_check(BOUND) == check
    cache.revocation_check_done([])
    assert cache.claim_revocation_check(BOUND) is None


def test_as_served_the_check_is_one_query_read_from_the_event_loop_on_postgres(
    replicas: list[Replica], engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the app's lifespan (as ``serve`` runs it): on PostgreSQL the check's query is read
    by the asyncio engine in the event loop, not in a worker thread (on SQLite, the query alone
    goes to one); the keys it finds revoked are evicted as on the thread-pool path."""
    (client, clock), _ = replicas
    kept = issue_key(engine, settings, Role.evaluator)
    revoked = issue_key(engine, settings, Role.evaluator)
    with client.lifespan():
        assert _status(client, kept) == 200
        assert _status(client, revoked) == 200
        revoke_in_database(engine, revoked)
        in_worker: list[object] = []
        real = database._read_rows_sync

        def counting(*args: Any) -> Any:
            in_worker.append(args[1])
            return real(*args)

        monkeypatch.setattr(database, "_read_rows_sync", counting)
        clock.now += BOUND
        assert _status(client, kept) == 200  # ran the check
        assert len(in_worker) == (0 if IS_POSTGRES else 1)
        body = assert_problem(client.get("/v1/evaluations", headers=bearer(revoked)), 401)
        assert body["errors"][0]["type"] == "revoked_key"
