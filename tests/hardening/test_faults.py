"""Faults: a process killed with SIGKILL in the middle of a write, and the database going away.

* ``kill -9`` of ``catalog import`` and of a server in the middle of a publish: the test holds a
  table lock that the writer needs late in its transaction, waits until PostgreSQL shows the
  writer blocked on it (its earlier statements already executed), kills the process, releases
  the lock. The database must be in its previous state, and the service must start again and
  do the same work cleanly.
* Database cut: the service reaches PostgreSQL through a TCP proxy written here; cutting it (all
  connections closed, new ones accepted and closed at once) must give 503 problem documents and
  a red readiness, and the service must recover by itself once the proxy forwards again.
* Silent database: the same proxy keeps every connection open and accepts new ones but forwards
  nothing (a black hole). A request in flight, a new request and ``/readyz`` must each answer
  503 within a few seconds, and the service must recover by itself once the proxy forwards
  again. The times are printed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine, make_url

from bench.bench_load import (
    ROOT,
    free_port,
    prepare_database,
    server_env,
    start_server,
    stop_server,
    wait_ready,
)
from bench.bench_load import (
    Connection as HttpConnection,
)
from indicator_service.app import create_app
from indicator_service.auth.cache import KeyCache, get_key_cache
from indicator_service.catalogue import heads
from indicator_service.core import database
from tests.auth.fixtures import admin_client
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import assert_problem, make_settings
from tests.paths import CATALOG_DIR

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path)
    yield url
    if drop is not None:
        drop()


def _monitor(url: str) -> Engine:
    """Autocommit: pg_stat_activity is a snapshot taken once per transaction."""
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _wait_for_blocked_writer(admin: Connection, dbname: str, timeout: float = 20) -> str:
    """Until a backend of ``dbname`` waits on a lock; the statement it is blocked in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        query = admin.execute(
            text(
                "SELECT query FROM pg_stat_activity WHERE datname = :db "
                "AND wait_event_type = 'Lock'"
            ),
            {"db": dbname},
        ).scalar()
        if query:
            return str(query)
        time.sleep(0.02)
    raise TimeoutError("the writer never blocked on the test's lock")


def _wait_for_no_backends(admin: Connection, dbname: str, timeout: float = 20) -> None:
    """Until the killed writer's backend has noticed and rolled back."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = admin.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                "AND xact_start IS NOT NULL AND pid <> pg_backend_pid()"
            ),
            {"db": dbname},
        ).scalar_one()
        if n == 0:
            return
        time.sleep(0.02)
    raise TimeoutError("the killed writer's transaction is still open")


def _counts(engine: Engine) -> dict[str, int]:
    tables = [
        "catalogue_namespace",
        "catalogue_namespace_version",
        "catalogue_indicator",
        "catalogue_standard",
        "catalogue_framework",
        "catalogue_framework_version",
        "catalogue_framework_node",
        "audit_entry",
    ]
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def test_kill_9_in_the_middle_of_an_import(pg_url: str) -> None:
    database.upgrade(pg_url)
    engine = create_engine(pg_url)
    dbname = make_url(pg_url).database
    assert dbname
    env = server_env(pg_url)
    monitor = _monitor(pg_url)
    cli = [sys.executable, "-m", "indicator_service.cli", "catalog", "import", str(CATALOG_DIR)]
    try:
        before = _counts(engine)
        with engine.connect() as locker, monitor.connect() as watch:
            # frameworks are stored after every namespace, indicator and standard
            locker.execute(text("LOCK TABLE catalogue_framework IN EXCLUSIVE MODE"))
            proc = subprocess.Popen(cli, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
            try:
                blocked = _wait_for_blocked_writer(watch, dbname)
            finally:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            assert proc.returncode == -signal.SIGKILL
            assert blocked.startswith("INSERT INTO catalogue_framework")
            locker.rollback()  # release the lock: the orphaned backend finds its client gone
            _wait_for_no_backends(watch, dbname)
        assert _counts(engine) == before  # nothing of the half-done import is visible

        # the same import runs cleanly afterwards, and a server starts and is ready
        done = subprocess.run(cli, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        after = _counts(engine)
        assert after["catalogue_namespace_version"] > before["catalogue_namespace_version"]
        assert after["catalogue_framework_version"] > 0
        port = free_port()
        server = start_server(pg_url, port)
        try:
            wait_ready(port, server)
            assert _http_status(port, "/readyz") == 200
            assert _http_status(port, "/v1/frameworks/SELF-EVAL") == 200
        finally:
            stop_server(server)
    finally:
        engine.dispose()
        monitor.dispose()


def _http_status(port: int, path: str, method: str = "GET", key: str | None = None) -> int:
    import asyncio

    async def go() -> int:
        conn = HttpConnection("127.0.0.1", port, {"Authorization": f"Bearer {key}"} if key else {})
        try:
            return (await conn.request(method, path)).status
        finally:
            await conn.close()

    return asyncio.run(go())


def _version_rows(engine: Engine, ns: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT v.version, v.status FROM catalogue_namespace_version v "
                "JOIN catalogue_namespace n ON n.id = v.namespace_id WHERE n.code = :ns "
                "ORDER BY v.id"
            ),
            {"ns": ns},
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_kill_9_in_the_middle_of_a_publish(pg_url: str) -> None:
    key = prepare_database(pg_url)
    engine = create_engine(pg_url)
    dbname = make_url(pg_url).database
    assert dbname
    monitor = _monitor(pg_url)
    port = free_port()
    server = start_server(pg_url, port)
    try:
        wait_ready(port, server)
        assert _http_status(port, "/v1/namespaces/health/drafts", "POST", key) == 201
        before = _version_rows(engine, "health")
        assert before[-1] == ("1.0.1-draft", "draft")
        audit_before = _counts(engine)["audit_entry"]
        with engine.connect() as locker, monitor.connect() as watch:
            # the publish updates the version row, then appends its audit entry: block there
            locker.execute(text("LOCK TABLE audit_entry IN EXCLUSIVE MODE"))
            publisher = threading.Thread(
                target=_publish_ignoring_errors, args=(port, key), daemon=True
            )
            publisher.start()
            try:
                blocked = _wait_for_blocked_writer(watch, dbname)
            finally:
                os.kill(server.pid, signal.SIGKILL)
                server.wait()
            assert blocked.startswith("INSERT INTO audit_entry")
            locker.rollback()
            _wait_for_no_backends(watch, dbname)
            publisher.join(10)
        assert _version_rows(engine, "health") == before  # still a draft, nothing published
        assert _counts(engine)["audit_entry"] == audit_before

        # a new server starts cleanly and the same publish succeeds once
        server = start_server(pg_url, port)
        wait_ready(port, server)
        assert _http_status(port, "/readyz") == 200
        path = "/v1/namespaces/health/versions/1.0.1-draft/publish"
        assert _http_status(port, path, "POST", key) == 200
        assert _version_rows(engine, "health")[-1] == ("1.0.1", "published")
        assert _http_status(port, path, "POST", key) == 404  # the draft is gone
    finally:
        stop_server(server)
        engine.dispose()
        monitor.dispose()


def _publish_ignoring_errors(port: int, key: str) -> None:
    # the server is killed under it: no answer is the point
    with contextlib.suppress(OSError, ValueError, TimeoutError):
        _http_status(port, "/v1/namespaces/health/versions/1.0.1-draft/publish", "POST", key)


# --- the database going away --------------------------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``. ``cut()`` closes every open connection and makes
    new ones close at once (as a database that went away); ``silence()`` keeps every connection
    open and accepts new ones but forwards nothing, holding what it receives (a black hole, or a
    database frozen in place); ``restore()`` forwards again (held bytes included)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self._flowing.wait()  # silent: hold the bytes, keep the connection open
                if self._closed:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s: socket.socket) -> None:
        with self._lock:
            self._open.discard(s)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()

    def cut(self) -> None:
        self._cut = True
        with self._lock:
            victims = list(self._open)
        for s in victims:
            self._drop(s)

    def silence(self) -> None:
        self._flowing.clear()

    def restore(self) -> None:
        self._cut = False
        self._flowing.set()

    def close(self) -> None:
        self._closed = True
        self._flowing.set()
        self.cut()
        self._listener.close()


def test_database_cut_gives_503_and_recovers_by_itself(seeded_url: str) -> None:
    url = make_url(seeded_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app(make_settings(proxied, db_pool_size=2))
    client = admin_client(app)
    try:
        assert client.get("/readyz").status_code == 200
        assert client.get("/v1/frameworks/SELF-EVAL").status_code == 200

        proxy.cut()
        for path in ("/v1/frameworks/SELF-EVAL", "/v1/indicators", "/v1/evaluations"):
            body = assert_problem(client.get(path), 503)
            assert body["type"].endswith("/service-unavailable")
        refused = client.get("/v1/namespaces")
        assert_problem(refused, 503)
        assert refused.headers["retry-after"]
        ready = client.get("/readyz")
        assert ready.status_code == 503
        checks = {c["name"]: c for c in ready.json()["checks"]}
        assert checks["database"]["ok"] is False
        assert client.get("/healthz").status_code == 200  # the process itself is fine

        proxy.restore()
        deadline = time.monotonic() + 10
        status = 0
        while time.monotonic() < deadline and status != 200:
            status = client.get("/readyz").status_code
        assert status == 200
        assert client.get("/v1/frameworks/SELF-EVAL").status_code == 200
        assert client.get("/v1/namespaces").status_code == 200
    finally:
        client.close()
        app.state.engine.dispose()
        proxy.close()


def test_a_small_read_from_a_silent_database_is_a_503_within_its_bound(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The small reads in the event loop (``core.database.read_rows``: the map of catalogue
    versions, the revocation check) use their own asyncio connections, which the stall watchdog
    does not watch: a read with no answer by stall + connect timeout gets its request a 503, and
    its connection is cut (not left holding one of the two until a TCP timeout); once the
    database answers again the next read succeeds."""
    url = make_url(seeded_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app(make_settings(proxied, db_stall_timeout=1, db_connect_timeout=2))
    # a key cache whose revocation check is never due: the read that meets the silence is the
    # map's
    app.dependency_overrides[get_key_cache] = lambda keys=KeyCache(clock=lambda: 0.0): keys
    cache = heads.heads_cache(app.state.engine)
    now = [1000.0]
    monkeypatch.setattr(cache, "clock", lambda: now[0])
    client = admin_client(app)
    try:
        with client.lifespan():
            assert app.state.small_reads.timeout == 3
            for _ in range(2):  # the second from memory, the map loaded by a small read
                assert client.get("/v1/frameworks/SELF-EVAL").status_code == 200
            proxy.silence()
            now[0] += cache.refresh_seconds  # the map is due: this read reloads it first
            started = time.monotonic()
            body = assert_problem(client.get("/v1/frameworks/SELF-EVAL"), 503)
            waited = time.monotonic() - started
            assert body["type"].endswith("/service-unavailable")
            assert 2.5 < waited < 5, waited  # 3 s; cancelling the read would take 8 s
            small_reads = app.state.small_reads
            for _ in range(50):  # the abandoned read ends at once: its socket was shut down
                if not small_reads.in_flight:
                    break
                assert client.get("/healthz").status_code == 200  # (runs the event loop)
            assert not small_reads.in_flight
            assert small_reads.engine.pool.checkedout() == 0
            proxy.restore()
            now[0] += cache.refresh_seconds
            loads = cache.loads
            assert client.get("/v1/frameworks/SELF-EVAL").status_code == 200
            assert cache.loads == loads + 1
    finally:
        client.close()
        app.state.engine.dispose()
        proxy.close()


SILENT_SETTINGS = {
    "INDICATOR_DB_POOL_SIZE": "2",
    "INDICATOR_DB_CONNECT_TIMEOUT": "2",
    "INDICATOR_DB_STALL_TIMEOUT": "1",
    "INDICATOR_DB_POOL_TIMEOUT": "3",
    "INDICATOR_READINESS_TIMEOUT": "2",
    # published versions are looked up on every request (not from the in-memory map of
    # catalogue/heads.py), so that a catalogue read is a request in flight in the database
    "INDICATOR_CATALOGUE_REFRESH_SECONDS": "0",
}
BOUND = 15.0
"""Generous bound on every time measured here (the figures are printed, not asserted tightly)."""


def test_silent_database_gives_503_within_seconds_and_recovers(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    key = prepare_database(pg_url)
    url = make_url(pg_url)
    dbname = url.database
    assert dbname
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = create_engine(pg_url)
    monitor = _monitor(pg_url)
    port = free_port()
    server = start_server(proxied, port, env=server_env(proxied, **SILENT_SETTINGS))
    figures: dict[str, float] = {}

    async def get(path: str) -> tuple[int, dict[str, str], Any, float]:
        """Status, headers, JSON body, and the time.monotonic() at which the answer came."""
        conn = HttpConnection("127.0.0.1", port, {"Authorization": f"Bearer {key}"})
        try:
            reply = await conn.request("GET", path, timeout=60)
        finally:
            await conn.close()
        return reply.status, reply.headers, reply.json(), time.monotonic()

    def refused(answer: tuple[int, dict[str, str], Any, float]) -> None:
        status, headers, body, _ = answer
        assert status == 503, body
        assert headers["content-type"].startswith("application/problem+json")
        assert body["type"].endswith("/service-unavailable")
        assert int(headers["retry-after"]) > 0

    async def scenario() -> None:
        assert (await get("/readyz"))[0] == 200
        # two requests at once: both pooled connections have been used
        warm = await asyncio.gather(get("/v1/indicators"), get("/v1/namespaces"))
        assert [w[0] for w in warm] == [200, 200]
        assert (await get("/v1/frameworks/SELF-EVAL"))[0] == 200

        with engine.connect() as locker, monitor.connect() as watch:
            # a request in flight: blocked in PostgreSQL on the test's lock when the proxy goes
            # silent; the lock is released at once, so only the silence holds its answer back
            locker.execute(text("LOCK TABLE catalogue_framework IN ACCESS EXCLUSIVE MODE"))
            in_flight = asyncio.ensure_future(get("/v1/frameworks/SELF-EVAL"))
            blocked = await asyncio.to_thread(_wait_for_blocked_writer, watch, dbname)
            assert "catalogue_framework" in blocked
            proxy.silence()
            silent_at = time.monotonic()
            locker.rollback()
        first, new, ready = await asyncio.gather(in_flight, get("/v1/indicators"), get("/readyz"))
        refused(first)
        refused(new)
        status, headers, body, _ = ready
        assert status == 503, body
        assert int(headers["retry-after"]) > 0
        assert {c["name"]: c["ok"] for c in body["checks"]}["database"] is False
        figures["in flight"] = first[3] - silent_at
        figures["new request"] = new[3] - silent_at
        figures["/readyz"] = ready[3] - silent_at

        # still silent: later requests are refused as quickly
        later_at = time.monotonic()
        later = await get("/v1/namespaces")
        refused(later)
        figures["request while silent"] = later[3] - later_at
        assert max(figures.values()) < BOUND, figures

        proxy.restore()
        restored_at = time.monotonic()
        status = 0
        while status != 200 and time.monotonic() - restored_at < BOUND:
            status = (await get("/readyz"))[0]
            if status != 200:
                await asyncio.sleep(0.1)
        assert status == 200
        figures["recovery: /readyz 200"] = time.monotonic() - restored_at
        for path in ("/v1/frameworks/SELF-EVAL", "/v1/indicators", "/v1/namespaces"):
            assert (await get(path))[0] == 200, path
        figures["recovery: requests 200"] = time.monotonic() - restored_at

    try:
        wait_ready(port, server)
        asyncio.run(scenario())
    finally:
        stop_server(server)
        engine.dispose()
        monitor.dispose()
        proxy.close()
        with capsys.disabled():
            print(
                "\nsilent database, seconds:", ", ".join(f"{k} {v:.2f}" for k, v in figures.items())
            )
