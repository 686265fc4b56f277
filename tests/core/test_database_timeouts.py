"""Timeouts between the service and its database (see docs/reliability.md).

The black-hole test with a real server is ``tests/hardening/test_faults.py::test_silent_…``;
these are the pieces: the libpq parameters, the watchdog's decision (silent or merely slow), the
pool timeout, the readiness timeout and SQLite's busy timeout.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

from indicator_service.app import create_app
from indicator_service.core import database, dbwatch
from tests.auth.fixtures import admin_client
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import assert_problem, make_settings

BOUND = 10.0
"""Generous bound on measured times (the settings under test are a second or less)."""


# --- the watchdog, on a socket pair ---------------------------------------------------------------


class _FakeConnection:
    """What the watchdog needs of a DBAPI connection: ``closed`` and ``fileno()``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def _is_shut_down(peer: socket.socket) -> bool:
    peer.settimeout(0.5)
    try:
        return peer.recv(1) == b""
    except TimeoutError:
        return False


def _probe(ok: bool) -> Any:
    calls: list[float] = []

    def probe() -> None:
        calls.append(time.monotonic())
        if not ok:
            raise OSError("no answer")

    probe.calls = calls  # type: ignore[attr-defined]
    return probe


def test_watchdog_shuts_down_connections_waiting_on_a_silent_database(
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = socket_pair
    dog = dbwatch.Watchdog(thread=False)
    watch = dbwatch.EngineWatch(probe=_probe(ok=False), stall_seconds=0.05)
    dog.watch(watch)
    dog.busy(watch, 1, _FakeConnection(ours))
    dog.tick()  # not yet overdue: no probe
    assert watch.probe.calls == []  # type: ignore[attr-defined]
    assert not watch.silent
    time.sleep(0.1)
    dog.tick()  # overdue, the probe fails: the waiting socket is shut down
    assert len(watch.probe.calls) == 1  # type: ignore[attr-defined]
    assert watch.silent
    assert watch.busy == {}
    assert _is_shut_down(peer)


def test_watchdog_leaves_a_slow_but_alive_database_alone(
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = socket_pair
    dog = dbwatch.Watchdog(thread=False)
    watch = dbwatch.EngineWatch(probe=_probe(ok=True), stall_seconds=0.05)
    dog.watch(watch)
    dog.busy(watch, 1, _FakeConnection(ours))
    time.sleep(0.1)
    dog.tick()  # overdue, the probe succeeds: nothing is touched
    dog.tick()  # probed less than a stall timeout ago: no second probe
    assert len(watch.probe.calls) == 1  # type: ignore[attr-defined]
    assert not watch.silent
    assert list(watch.busy) == [1]
    assert not _is_shut_down(peer)
    dog.idle(watch, 1)
    assert watch.busy == {}


def test_watchdog_skips_a_connection_the_driver_closed(
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = socket_pair
    dog = dbwatch.Watchdog(thread=False)
    watch = dbwatch.EngineWatch(probe=_probe(ok=False), stall_seconds=0.01)
    dog.watch(watch)
    closed = _FakeConnection(ours)
    closed.closed = True
    dog.busy(watch, 1, closed)
    time.sleep(0.05)
    dog.tick()
    assert watch.busy == {}
    assert not _is_shut_down(peer)  # its descriptor may name another socket by now


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path)
    yield url
    if drop is not None:
        drop()


@pytest.mark.postgres
def test_postgres_connections_carry_timeouts_and_keepalives(pg_url: str) -> None:
    settings = make_settings(
        pg_url,
        db_connect_timeout=4,
        db_statement_timeout=7.5,
        db_keepalives_idle=11,
        db_keepalives_interval=3,
        db_keepalives_count=4,
    )
    engine = database.make_engine(settings)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "7500ms"
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        assert params["connect_timeout"] == "4"
        assert params["keepalives"] == "1"
        assert params["keepalives_idle"] == "11"
        assert params["keepalives_interval"] == "3"
        assert params["keepalives_count"] == "4"
        assert params["tcp_user_timeout"] == str((11 + 3 * 4) * 1000)
        assert engine.pool.timeout() == settings.db_pool_timeout  # type: ignore[attr-defined]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_statement_timeout_zero_sets_no_limit(pg_url: str) -> None:
    engine = database.make_engine(make_settings(pg_url, db_statement_timeout=0))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "0"
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_statement_waiting_on_a_lock_outlives_the_stall_timeout(pg_url: str) -> None:
    """Slow is not silent: the watchdog's probe succeeds, the waiting statement is left alone."""
    database.upgrade(pg_url)
    engine = database.make_engine(make_settings(pg_url, db_stall_timeout=0.3))
    other = create_engine(pg_url)
    try:
        with other.connect() as locker:
            locker.execute(text("LOCK TABLE audit_entry IN ACCESS EXCLUSIVE MODE"))
            release = threading.Timer(1.5, locker.rollback)
            release.start()
            started = time.monotonic()
            with engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one()
            waited = time.monotonic() - started
            release.join()
        assert count >= 0
        assert waited >= 1.0  # it really waited for the lock, well past the stall timeout
    finally:
        engine.dispose()
        other.dispose()


def _hold_every_connection(engine: Any) -> list[Any]:
    """Check out connections until the pool has none left (its timeout runs out)."""
    held = []
    for _ in range(100):
        try:
            held.append(engine.connect())
        except PoolTimeout:
            return held
    raise AssertionError("the pool never ran out")


# --- any database ---------------------------------------------------------------------------------


def test_no_free_connection_within_the_pool_timeout_is_a_503(fresh_database_url: str) -> None:
    database.upgrade(fresh_database_url)
    app = create_app(make_settings(fresh_database_url, db_pool_size=1, db_pool_timeout=0.5))
    client = admin_client(app)
    engine = app.state.engine
    held = _hold_every_connection(engine)
    try:
        started = time.monotonic()
        r = client.get("/v1/namespaces")
        elapsed = time.monotonic() - started
        body = assert_problem(r, 503)
        assert body["type"].endswith("/service-unavailable")
        assert "Every database connection is in use" in body["detail"]
        assert r.headers["retry-after"]
        assert elapsed < BOUND
    finally:
        for conn in held:
            conn.close()
    try:
        assert client.get("/v1/namespaces").status_code == 200
    finally:
        client.close()
        engine.dispose()


def test_readyz_answers_within_its_timeout(fresh_database_url: str) -> None:
    database.upgrade(fresh_database_url)
    app = create_app(make_settings(fresh_database_url, readiness_timeout=0.5))
    release = threading.Event()

    def stuck(_session: Session) -> tuple[bool, str]:
        release.wait(30)
        return True, "late"

    app.state.readiness_checks = {**app.state.readiness_checks, "stuck": stuck}
    client = admin_client(app)
    try:
        started = time.monotonic()
        r = client.get("/readyz")
        elapsed = time.monotonic() - started
        assert r.status_code == 503
        assert r.headers["retry-after"]
        checks = {c["name"]: c for c in r.json()["checks"]}
        assert checks["database"]["ok"] is True
        assert checks["stuck"] == {"name": "stuck", "ok": False, "detail": "no answer within 0.5 s"}
        assert elapsed < BOUND
    finally:
        release.set()
        client.close()
        app.state.engine.dispose()


def test_sqlite_busy_timeout_gives_a_503_then_the_write_succeeds(tmp_path: Path) -> None:
    """SQLite has no network to go silent; its wait is for another writer's lock."""
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    database.upgrade(url)
    app = create_app(make_settings(url, db_busy_timeout=0.5))
    client = admin_client(app)
    body = {"name": "busy test", "role": "client"}
    writer = sqlite3.connect(str(make_url(url).database), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        started = time.monotonic()
        r = client.post("/v1/api-keys", json=body)
        elapsed = time.monotonic() - started
        problem = assert_problem(r, 503)
        assert problem["type"].endswith("/service-unavailable")
        assert r.headers["retry-after"]
        assert 0.4 < elapsed < BOUND
        writer.execute("ROLLBACK")
        assert client.post("/v1/api-keys", json=body).status_code == 201
    finally:
        writer.close()
        client.close()
        app.state.engine.dispose()


@pytest.mark.postgres
def test_the_probe_tells_a_silent_database_from_one_that_answers_with_an_error(
    pg_url: str,
) -> None:
    from tests.hardening.test_faults import TcpProxy

    url = make_url(pg_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port)
    args = {"connect_timeout": 2}
    engines = [create_engine(proxied), create_engine(proxied.set(database="no_such_database"))]
    try:
        alive, refusing = (dbwatch.install(e, stall_seconds=1, connect_args=args) for e in engines)
        alive.probe()
        refusing.probe()  # "database does not exist" is an answer: the server is alive
        proxy.silence()
        started = time.monotonic()
        with pytest.raises(Exception, match="timeout"):
            alive.probe()
        assert time.monotonic() - started < BOUND
    finally:
        for e in engines:
            e.dispose()
        proxy.close()
