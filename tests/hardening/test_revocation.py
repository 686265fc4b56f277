"""A revoked key stops working at once on the process that revoked it, and on every other
replica within ``api_key_revocation_check_seconds`` (2 s by default).

Two application instances on one database stand for two replicas: each has its own key cache
(as separate processes have) on a clock the test drives, so the bound is shown without sleeping.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
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
    assert (check.claimed, check.overdue) == (True, True)
    other = cache.claim_revocation_check(BOUND)  # one at a time: another's is under way
    assert other is not None
    assert (other.claimed, other.overdue, other.since) == (False, True, check.since)
    cache.revocation_check_done(check, None)  # failed (or cancelled before its first step)
    again = cache.claim_revocation_check(BOUND)
    assert again is not None
    assert (again.claimed, again.since) == (True, check.since)
    cache.revocation_check_done(again, [])
    assert cache.claim_revocation_check(BOUND) is None
    cache.revocation_check_done(again, None)  # its task ending after the outcome: no effect
    assert cache.claim_revocation_check(BOUND) is None


def test_a_lost_claim_is_replaced_and_its_late_outcome_does_not_count() -> None:
    clock = FakeClock()
    cache = KeyCache(clock=clock)
    clock.now += BOUND
    lost = cache.claim_revocation_check(BOUND)
    assert lost is not None
    assert lost.claimed
    clock.now += 2 * BOUND  # its claim has stood for two intervals: taken as lost
    check = cache.claim_revocation_check(BOUND)
    assert check is not None
    assert check.claimed
    cache.revocation_check_done(lost, [])  # late: evicts what it found, records nothing
    late = cache.claim_revocation_check(BOUND)
    assert late is not None
    assert not late.claimed  # the new claim still stands
    cache.revocation_check_done(check, [])
    assert cache.claim_revocation_check(BOUND) is None


def test_past_the_bound_a_request_whose_awaited_check_failed_checks_for_itself(
    replicas: list[Replica], engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check started ahead of the bound fails after a request past the bound began to wait
    for it: that request does not trust its cached key on the failed check, it checks for
    itself (and is refused: the key was revoked)."""
    _a, (b, clock) = replicas
    real = dependencies.read_rows
    gate, calls = threading.Event(), list[int]()

    async def fails_once_held(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            deadline = time.monotonic() + 10
            while not gate.is_set():
                assert time.monotonic() < deadline, "held for 10 s"
                await asyncio.sleep(0.005)
            raise OperationalError("SELECT", {}, Exception("connection refused"))
        return await real(*args)

    monkeypatch.setattr(dependencies, "read_rows", fails_once_held)
    key = issue_key(engine, settings, Role.evaluator)
    assert _status(b, key) == 200
    revoke_in_database(engine, key)
    clock.now += BOUND * (database.RENEW_AHEAD + 0.05)
    assert _status(b, key) == 200  # starts the check, held
    clock.now += BOUND * 0.5
    threading.Timer(0.2, gate.set).start()
    body = assert_problem(b.get("/v1/evaluations", headers=bearer(key)), 401)
    assert body["errors"][0]["type"] == "revoked_key"
    assert len(calls) == 2


def test_past_the_bound_a_check_claimed_in_another_event_loop_is_not_relied_on(
    database_url: str, engine: Engine, settings: Settings
) -> None:
    """One key cache used from two event loops (tests share the process's cache): a request
    past the bound whose check was claimed in the other loop (idle, so its check does not move)
    checks for itself instead of trusting its cached key."""
    clock = FakeClock()
    cache = KeyCache(clock=clock)
    app = create_app(make_settings(database_url))
    app.dependency_overrides[get_key_cache] = lambda: cache
    client = ApiClient(app)
    try:
        key = issue_key(engine, settings, Role.evaluator)
        assert _status(client, key) == 200
        revoke_in_database(engine, key)
        clock.now += BOUND
        elsewhere = cache.claim_revocation_check(BOUND)  # claimed in a loop that is not running
        assert elsewhere is not None
        assert elsewhere.claimed
        other_loop = asyncio.new_event_loop()
        try:
            cache.running = (other_loop, other_loop.create_future())
            body = assert_problem(client.get("/v1/evaluations", headers=bearer(key)), 401)
            assert body["errors"][0]["type"] == "revoked_key"
        finally:
            other_loop.close()
    finally:
        client.close()


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
