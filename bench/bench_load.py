"""Bounded load generator and HTTP figures of the service running as real uvicorn processes.

Two uses:

* ``tests/hardening/test_replicas.py`` starts two server processes on one PostgreSQL database
  and drives them with :func:`mixed_load` (a fixed number of clients for a fixed time, loopback
  only) mixing reads, single scores, batches, stored evaluations with idempotency keys and
  curation writes (draft → PUT with If-Match → publish), then checks the database.
* ``python bench/bench_load.py`` (``make load``) prints requests per second and p50/p99 latency
  of reads, single scores and batches next to ``GET /healthz`` measured in the same run, on one
  and on two uvicorn workers::

      .venv/bin/python bench/bench_load.py [--database-url URL] [--seconds 5] [--clients 8]

  ``--goals`` prints issue #21's ratios (docs/performance.md); ``--tail`` the slowest full
  scores under ``--clients`` clients and when they started (periodic work shows as a period).
  Both print first how steady the host's own speed is (:func:`host_steadiness`): on a shared
  machine a p99 measures the host as much as the code.

  Without ``--database-url`` a SQLite file in a temporary folder is used. The database is
  migrated and seeded with ``catalog/`` first. Rate limiting is turned off in the servers (the
  load comes from one address and one key).

The client is a minimal HTTP/1.1 keep-alive client on asyncio streams, so that it costs far
less CPU than the server it measures (httpx would dominate a 2-core box).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAMEWORK = "SELF-EVAL"
CURATED_NAMESPACE = "education"


# --- requests ---------------------------------------------------------------------------------


def submission(seed: int) -> dict[str, Any]:
    """A SELF-EVAL submission for the seed catalogue: 30 rows (产出 18, 效益 8, 满意度 4) whose
    points add up per class, values varying with ``seed``."""
    rows: list[dict[str, Any]] = []
    for i in range(18):
        rows.append(
            {
                "id": f"o{i}",
                "class_l1": "产出指标",
                "class_l2": ("数量指标", "质量指标", "时效指标")[i % 3],
                "name": f"产出指标{i}",
                "points": 50 / 18,
                "operator": "≥" if i % 4 else "≤",
                "target": 100.0,
                "unit": "%",
                "value": 80.0 + (seed * 7 + i * 3) % 40,
            }
        )
    for i in range(8):
        rows.append(
            {
                "id": f"b{i}",
                "class_l1": "效益指标",
                "class_l2": "社会效益指标",
                "name": f"效益指标{i}",
                "points": 30 / 8,
                "operator": "≥",
                "target": 95.0,
                "unit": "%",
                "value": 70.0 + (seed + i * 5) % 30,
            }
        )
    for i in range(4):
        rows.append(
            {
                "id": f"s{i}",
                "class_l1": "满意度指标",
                "class_l2": "服务对象满意度指标",
                "name": f"满意度{i}",
                "points": 2.5,
                "operator": "≥",
                "target": 90.0,
                "unit": "%",
                "value": 85.0 + (seed + i) % 10,
            }
        )
    return {
        "framework": FRAMEWORK,
        "project": f"P{seed}",
        "budget": {"adjusted": 100.0, "executed": 90.0 + seed % 10},
        "rows": rows,
    }


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


# --- a minimal HTTP/1.1 client ----------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One keep-alive connection to ``host:port``; reconnects after a failure."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.headers = headers or {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        try:
            return await asyncio.wait_for(self._request(method, path, body, headers), timeout)
        except BaseException:
            await self.close()
            raise

    async def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None
    ) -> Reply:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for name, value in {**self.headers, **(headers or {})}.items():
            lines.append(f"{name}: {value}")
        if body is not None:
            if not any(k.lower() == "content-type" for k in (headers or {})):
                lines.append("Content-Type: application/json")
            lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the server")
        status = int(status_line.split(b" ", 2)[1])
        reply_headers: dict[str, str] = {}
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            reply_headers[name.strip().lower()] = value.strip()
        if reply_headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self._reader.readline()).strip() or b"0", 16)
                if size == 0:
                    await self._reader.readline()
                    break
                chunks.append(await self._reader.readexactly(size))
                await self._reader.readline()
            payload = b"".join(chunks)
        else:
            payload = await self._reader.readexactly(int(reply_headers.get("content-length", 0)))
        if reply_headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(status, reply_headers, payload)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDICATOR_")}
    env.update(
        {
            "INDICATOR_DATABASE_URL": database_url,
            "INDICATOR_ENVIRONMENT": "test",
            "INDICATOR_LOG_LEVEL": "WARNING",
            "INDICATOR_LOG_JSON": "false",
            "INDICATOR_RATE_LIMIT_PER_MINUTE": "0",
            "INDICATOR_MAX_BODY_BYTES": str(64 * 1024 * 1024),
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


def start_server(
    database_url: str, port: int, *, workers: int = 1, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``indicator-service serve`` (the production entry point) on 127.0.0.1:``port``."""
    cmd = [
        sys.executable,
        "-m",
        "indicator_service.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env or server_env(database_url), stdout=subprocess.DEVNULL
    )


def wait_ready(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 90) -> None:
    """Wait until ``GET /healthz`` answers 200 on ``port`` (a loaded CI machine starts a server
    with its imports and migrations check slowly: the bound is generous, a ready server returns
    at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(64):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"server on port {port} not ready after {timeout} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def memory_app_factory() -> Any:
    """The service app as ``serve`` builds it, with its scoring routes reading the seed
    catalogue's documents from memory (the documents override of tests and benchmarks,
    ``scoring.router.get_catalogue_lookup``) instead of the database: the in-memory path that
    ``--goals`` measures ``POST /v1/score`` through the database against."""
    from indicator_service.app import app_from_env
    from indicator_service.catalogue.validation import load_catalogue
    from indicator_service.scoring.lookup import DocumentCatalogue
    from indicator_service.scoring.router import get_catalogue_lookup

    cat = load_catalogue(ROOT / "catalog")
    documents = DocumentCatalogue([f for _, f in cat.frameworks], [n for _, n in cat.namespaces])
    app = app_from_env()
    app.dependency_overrides[get_catalogue_lookup] = lambda: documents
    return app


def start_memory_server(database_url: str, port: int) -> subprocess.Popen[bytes]:
    """:func:`memory_app_factory` on 127.0.0.1:``port``, one worker, run by uvicorn as
    ``serve`` runs the service (``cli.uvicorn_options``); API keys still come from
    ``database_url``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-memory", str(port)]
    return subprocess.Popen(cmd, cwd=ROOT, env=server_env(database_url), stdout=subprocess.DEVNULL)


def _serve_memory(port: int) -> None:
    import uvicorn

    from indicator_service.cli import uvicorn_options

    uvicorn.run("bench.bench_load:memory_app_factory", **uvicorn_options("127.0.0.1", port))


def prepare_database(database_url: str) -> str:
    """Migrate ``database_url``, import the seed catalogue, return a new admin key."""
    from indicator_service.auth import service as keys
    from indicator_service.auth.models import Role
    from indicator_service.auth.principal import CLI_OPERATOR
    from indicator_service.catalogue.service import import_catalogue
    from indicator_service.catalogue.validation import load_catalogue
    from indicator_service.core import database
    from indicator_service.core.settings import Environment, Settings

    database.upgrade(database_url)
    settings = Settings(database_url=database_url, environment=Environment.test)
    engine = database.make_engine(settings)
    try:
        with database.session_scope(engine) as session:
            import_catalogue(session, load_catalogue(ROOT / "catalog"))
        with database.session_scope(engine) as session:
            _row, raw = keys.create_key(
                session,
                name="load admin",
                role=Role.admin,
                namespaces=None,
                server_secret=settings.secret_key,
                actor=CLI_OPERATOR,
            )
    finally:
        engine.dispose()
    return raw


# --- the mixed load (replica test) ------------------------------------------------------------


@dataclass
class LoadLog:
    """What the clients sent and saw."""

    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # acknowledged (201) stored evaluations: idempotency key → (evaluation id, project, port)
    evaluations: dict[str, tuple[int, str, int]] = field(default_factory=dict)
    # idempotency replays on the other replica: (key, first id, replayed id, replay status)
    replays: list[tuple[str, int, int | None, int]] = field(default_factory=list)
    published: list[str] = field(default_factory=list)  # acknowledged publishes (200)
    stale_reads: list[str] = field(default_factory=list)

    def count(self, op: str, status: int) -> None:
        per_op = self.statuses.setdefault(op, {})
        per_op[status] = per_op.get(status, 0) + 1

    def total(self) -> int:
        return sum(sum(v.values()) for v in self.statuses.values())

    def server_errors(self) -> dict[str, dict[int, int]]:
        return {
            op: {s: n for s, n in per.items() if s >= 500}
            for op, per in self.statuses.items()
            if any(s >= 500 for s in per)
        }


# Statuses a well-behaved client can legitimately get in the mix; anything else is recorded as
# an error. 409/412/404 are the answers of concurrent curation (a draft already exists, a stale
# ETag, a draft published by the other client meanwhile).
EXPECTED: dict[str, set[int]] = {
    "read": {200},
    "score": {200},
    "batch": {200},
    "evaluation": {201},
    "replay": {201},
    "draft": {201, 409},
    "put": {200, 404, 409, 412},
    "publish": {200, 404, 409},
    "find-draft": {200},
}


async def mixed_load(
    ports: Sequence[int], key: str, *, clients: int = 8, seconds: float = 8.0, run: str = ""
) -> LoadLog:
    """``clients`` concurrent clients for ``seconds``, spread over the servers on ``ports``."""
    run = run or f"{random.randrange(16**8):08x}"
    log = LoadLog()
    auth = {"Authorization": f"Bearer {key}"}
    stop = time.monotonic() + seconds
    kinds = ["read", "score", "evaluation", "curation", "read", "batch", "evaluation", "curation"]

    def conns() -> list[Connection]:
        return [Connection("127.0.0.1", p, auth) for p in ports]

    async def call(
        conn: Connection, op: str, method: str, path: str, body: bytes | None = None, **kw: Any
    ) -> Reply | None:
        try:
            reply = await conn.request(method, path, body, **kw)
        except (TimeoutError, OSError, ValueError) as exc:
            log.errors.append(f"{op} {path}: {exc.__class__.__name__}: {exc}")
            log.count(op, 599)
            return None
        log.count(op, reply.status)
        if reply.status not in EXPECTED[op]:
            log.errors.append(f"{op} {method} {path} → {reply.status}: {reply.body[:300]!r}")
        return reply

    async def reader(n: int, cs: list[Connection]) -> None:
        i = 0
        while time.monotonic() < stop:
            conn = cs[(n + i) % len(cs)]
            known = max(log.published, key=_version_key, default=None)
            if i % 2:
                await call(conn, "read", "GET", "/v1/indicators?limit=20&namespace=health")
            else:
                reply = await call(conn, "read", "GET", f"/v1/namespaces/{CURATED_NAMESPACE}")
                latest = reply.json()["latest_published"] if reply and reply.status == 200 else None
                if (
                    known is not None
                    and latest is not None
                    and _version_key(latest) < _version_key(known)
                ):
                    log.stale_reads.append(f"port {conn.port}: {latest} after {known}")
            i += 1

    async def scorer(n: int, cs: list[Connection]) -> None:
        i = 0
        while time.monotonic() < stop:
            await call(cs[(n + i) % len(cs)], "score", "POST", "/v1/score", dumps(submission(i)))
            i += 1

    async def batcher(n: int, cs: list[Connection]) -> None:
        i = 0
        while time.monotonic() < stop:
            body = dumps({"items": [submission(i * 20 + k) for k in range(20)]})
            await call(cs[(n + i) % len(cs)], "batch", "POST", "/v1/score/batch", body)
            i += 1

    async def evaluator(n: int, cs: list[Connection]) -> None:
        i = 0
        while time.monotonic() < stop:
            conn = cs[(n + i) % len(cs)]
            other = cs[(n + i + 1) % len(cs)]
            idem = f"load-{run}-{n}-{i}"
            sub = submission(1000 * n + i)
            sub["project"] = idem
            body = dumps(sub)
            headers = {"Idempotency-Key": idem}
            reply = await call(conn, "evaluation", "POST", "/v1/evaluations", body, headers=headers)
            if reply is not None and reply.status == 201:
                first = int(reply.json()["id"])
                log.evaluations[idem] = (first, idem, conn.port)
                if i % 3 == 0:  # replay the key on the other replica
                    again = await call(
                        other, "replay", "POST", "/v1/evaluations", body, headers=headers
                    )
                    if again is not None:
                        replayed = int(again.json()["id"]) if again.status == 201 else None
                        log.replays.append((idem, first, replayed, again.status))
            i += 1

    async def curator(n: int, cs: list[Connection]) -> None:
        i = 0
        ns = CURATED_NAMESPACE
        while time.monotonic() < stop:
            conn = cs[(n + i) % len(cs)]
            reply = await call(conn, "draft", "POST", f"/v1/namespaces/{ns}/drafts")
            if reply is None:
                i += 1
                continue
            if reply.status == 201:
                draft = reply.json()
                etag = reply.headers["etag"]
            else:  # a draft exists: find it
                found = await call(conn, "find-draft", "GET", f"/v1/namespaces/{ns}")
                drafts = [
                    v["version"]
                    for v in (found.json()["versions"] if found and found.status == 200 else [])
                    if v["status"] == "draft"
                ]
                if not drafts:
                    i += 1
                    continue
                got = await conn.request("GET", f"/v1/namespaces/{ns}/versions/{drafts[0]}")
                if got.status != 200:
                    i += 1
                    continue
                draft, etag = got.json(), got.headers["etag"]
            version = draft["version"]
            document = draft["document"]
            document["name_en"] = f"Education sector indicators (load {run} {n}.{i})"
            put = await call(
                conn,
                "put",
                "PUT",
                f"/v1/namespaces/{ns}/drafts/{version}",
                dumps(document),
                headers={"If-Match": etag},
            )
            other = cs[(n + i + 1) % len(cs)]  # publish through the other replica
            if put is not None and put.status == 200:
                pub = await call(
                    other, "publish", "POST", f"/v1/namespaces/{ns}/versions/{version}/publish"
                )
                if pub is not None and pub.status == 200:
                    log.published.append(pub.json()["release"]["version"])
            i += 1

    roles: dict[str, Callable[[int, list[Connection]], Awaitable[None]]] = {
        "read": reader,
        "score": scorer,
        "batch": batcher,
        "evaluation": evaluator,
        "curation": curator,
    }
    all_conns: list[list[Connection]] = []

    async def client(n: int) -> None:
        cs = conns()
        all_conns.append(cs)
        await roles[kinds[n % len(kinds)]](n, cs)

    try:
        await asyncio.gather(*(client(n) for n in range(clients)))
    finally:
        for cs in all_conns:
            for c in cs:
                await c.close()
    return log


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("-", 1)[0].split("."))


# --- figures ----------------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    server_cpu: float | None = None  # CPU seconds the server process used meanwhile

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def server_us(self) -> float | None:
        """The server's CPU time per request in µs (the client's own time left out)."""
        if self.server_cpu is None or not self.requests:
            return None
        return 1e6 * self.server_cpu / self.requests


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system, all threads) process ``pid`` has used so far, from
    ``/proc/PID/stat`` (Linux; None where there is none): what a request costs the server, not
    what it waits for."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # after "pid (comm)": state is field 3, utime 14 and stime 15 (clock ticks)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    port: int,
    key: str,
    name: str,
    method: str,
    path: str,
    body: bytes | None,
    *,
    clients: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    pid: int | None = None,
) -> Figure:
    """Closed loop: ``clients`` connections sending the same request for ``seconds`` (a 304
    counts as an answer: revalidation is measured too); with ``pid`` (the server's process),
    the CPU time it used meanwhile too."""
    latencies: list[float] = []
    bad = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal bad
        conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {key}"})
        try:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                reply = await conn.request(method, path, body, headers)
                latencies.append(time.perf_counter() - t0)
                if not (200 <= reply.status < 300 or reply.status == 304):
                    bad += 1
        finally:
            await conn.close()

    cpu0 = None if pid is None else cpu_seconds(pid)
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    cpu1 = None if pid is None else cpu_seconds(pid)
    latencies.sort()

    def pct(q: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    return Figure(name, len(latencies), elapsed, pct(0.50), pct(0.99), bad, cpu)


SCENARIOS: list[tuple[str, str, str, Callable[[], bytes | None]]] = [
    ("GET /healthz (trivial)", "GET", "/healthz", lambda: None),
    ("GET /v1/indicators?limit=20 (read)", "GET", "/v1/indicators?limit=20", lambda: None),
    ("GET /v1/frameworks/SELF-EVAL (read)", "GET", "/v1/frameworks/SELF-EVAL", lambda: None),
    ("POST /v1/score (30 rows)", "POST", "/v1/score", lambda: dumps(submission(7))),
    (
        "POST /v1/score/batch (100 × 30 rows)",
        "POST",
        "/v1/score/batch",
        lambda: dumps({"items": [submission(k) for k in range(100)]}),
    ),
]


def run_figures(database_url: str, *, workers: Sequence[int], clients: int, seconds: float) -> None:
    key = prepare_database(database_url)
    print(f"database: {database_url.split('@')[-1]}; {clients} clients, {seconds:g} s per line")
    print(
        f"{'workers':>7}  {'scenario':<40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>7}"
    )
    for n in workers:
        port = free_port()
        proc = start_server(database_url, port, workers=n)
        try:
            wait_ready(port, proc)
            for name, method, path, body in SCENARIOS:
                payload = body()
                asyncio.run(
                    measure(port, key, name, method, path, payload, clients=clients, seconds=0.5)
                )
                fig = asyncio.run(
                    measure(
                        port, key, name, method, path, payload, clients=clients, seconds=seconds
                    )
                )
                print(
                    f"{n:>7}  {fig.name:<40} {fig.rps:>9.1f} {fig.p50_ms:>8.2f} "
                    f"{fig.p99_ms:>8.2f} {fig.non_2xx:>7}",
                    flush=True,
                )
        finally:
            stop_server(proc)


# --- the goals of issue #21: ratios to /healthz measured side by side ---------------------------

#: The full score on a second server whose scoring routes read the seed catalogue's documents
#: from memory (:func:`memory_app_factory`): the in-memory path the database path is held to.
MEMORY_SCORE = "… full, documents in memory (2nd server)"

#: (name, method, path, body, needs the ETag of the same GET first); :data:`MEMORY_SCORE` goes
#: to the in-memory server, the others to the service as it runs (database catalogue).
GOALS: list[tuple[str, str, str, Callable[[], bytes | None], bool]] = [
    ("GET /healthz (trivial)", "GET", "/healthz", lambda: None, False),
    ("GET /v1/frameworks/SELF-EVAL", "GET", "/v1/frameworks/SELF-EVAL", lambda: None, False),
    ("GET /v1/indicators?limit=20", "GET", "/v1/indicators?limit=20", lambda: None, False),
    ("GET /v1/indicators/HLT-02-001", "GET", "/v1/indicators/HLT-02-001", lambda: None, False),
    (
        "GET /v1/namespaces/health/versions/1.0.0",
        "GET",
        "/v1/namespaces/health/versions/1.0.0",
        lambda: None,
        False,
    ),
    (
        "GET …/EDU-02-001/standard (lookup)",
        "GET",
        "/v1/indicators/EDU-02-001/standard?type=plan&fiscal_year=2019",
        lambda: None,
        False,
    ),
    ("GET /v1/frameworks/SELF-EVAL → 304", "GET", "/v1/frameworks/SELF-EVAL", lambda: None, True),
    ("POST /v1/score (30 rows, full)", "POST", "/v1/score", lambda: dumps(submission(7)), False),
    (
        MEMORY_SCORE,
        "POST",
        "/v1/score",
        lambda: dumps(submission(7)),
        False,
    ),
    (
        "POST /v1/score?receipt=summary (30 rows)",
        "POST",
        "/v1/score?receipt=summary",
        lambda: dumps(submission(7)),
        False,
    ),
]


def _median(xs: Sequence[float]) -> float:
    ordered = sorted(xs)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


async def _etag(port: int, key: str, path: str) -> dict[str, str]:
    conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {key}"})
    try:
        reply = await conn.request("GET", path)
    finally:
        await conn.close()
    return {"If-None-Match": reply.headers["etag"]}


def host_steadiness(seconds: float = 3.0, window: float = 0.25) -> str:
    """How steady this machine's speed is right now: a fixed pure-Python loop run alone (the
    servers idle) for ``seconds``, counted in ``window`` slices; the fewest and most rounds of a
    slice. On a shared host the same loop has run at half speed for a second at a time (83-164
    rounds per slice with nothing else running), which no code change can remove from a p99."""
    sample = {"rows": [{"id": i, "value": i * 1.5, "unit": "%"} for i in range(30)]}
    counts: list[int] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started, n = time.perf_counter(), 0
        while time.perf_counter() - started < window:
            json.dumps(sample)
            n += 1
        counts.append(n)
    low, high = min(counts), max(counts)
    return (
        f"host steadiness: a CPU loop alone, {window * 1000:g} ms slices over {seconds:g} s: "
        f"{low}-{high} rounds (slowest / fastest {low / high:.2f})"
    )


def run_goals(
    database_url: str,
    *,
    clients: Sequence[int],
    seconds: float,
    rounds: int,
    steadiness_seconds: float = 3.0,
) -> None:
    """One worker; every round measures each scenario for ``seconds`` right after the others
    (``/healthz`` first), so each ratio to ``/healthz`` compares neighbours in time on a shared
    machine; the table gives the median over the rounds of req/s, of the ratio, of p50/p99 and
    of the server's CPU time per request (``srv µs``: the server process's own cost, without the
    client's, from ``/proc``; "—" where there is none). Response sizes are printed once (full
    against summary receipt)."""
    key = prepare_database(database_url)
    port, memory_port = free_port(), free_port()
    proc = start_server(database_url, port, workers=1)
    memory_proc = start_memory_server(database_url, memory_port)
    print(
        f"database: {database_url.split('@')[-1]}; one worker; {rounds} rounds of "
        f"{seconds:g} s per line; median over the rounds"
    )
    try:
        wait_ready(port, proc)
        wait_ready(memory_port, memory_proc)
        print(host_steadiness(steadiness_seconds))
        ports = {name: memory_port if name == MEMORY_SCORE else port for name, *_ in GOALS}
        pids = {name: memory_proc.pid if name == MEMORY_SCORE else proc.pid for name, *_ in GOALS}
        sizes = {}
        for name, method, path, body, revalidate in GOALS:
            hdrs = asyncio.run(_etag(port, key, path)) if revalidate else None
            conn_reply = asyncio.run(_one(ports[name], key, method, path, body(), hdrs))
            if conn_reply.status != (304 if revalidate else 200):
                raise RuntimeError(f"{name}: {conn_reply.status} {conn_reply.body[:300]!r}")
            sizes[name] = len(conn_reply.body)
        for n in clients:
            print(
                f"\n{n} client(s)\n{'scenario':<44} {'req/s':>8} {'÷healthz':>9} "
                f"{'p50 ms':>8} {'p99 ms':>8} {'srv µs':>7} {'bytes':>7} {'non-2xx':>7}"
            )
            figures: dict[str, list[Figure]] = {name: [] for name, *_ in GOALS}
            ratios: dict[str, list[float]] = {name: [] for name, *_ in GOALS}
            for _ in range(rounds):
                base = None
                for name, method, path, body, revalidate in GOALS:
                    payload = body()
                    hdrs = asyncio.run(_etag(port, key, path)) if revalidate else None
                    asyncio.run(
                        measure(
                            ports[name],
                            key,
                            name,
                            method,
                            path,
                            payload,
                            clients=n,
                            seconds=0.3,
                            headers=hdrs,
                        )
                    )
                    fig = asyncio.run(
                        measure(
                            ports[name],
                            key,
                            name,
                            method,
                            path,
                            payload,
                            clients=n,
                            seconds=seconds,
                            headers=hdrs,
                            pid=pids[name],
                        )
                    )
                    base = fig.rps if base is None else base
                    figures[name].append(fig)
                    ratios[name].append(fig.rps / base)
            for name, *_ in GOALS:
                figs = figures[name]
                cpu = [us for f in figs if (us := f.server_us) is not None]
                print(
                    f"{name:<44} {_median([f.rps for f in figs]):>8.0f} "
                    f"{100 * _median(ratios[name]):>8.0f}% "
                    f"{_median([f.p50_ms for f in figs]):>8.2f} "
                    f"{_median([f.p99_ms for f in figs]):>8.2f} "
                    f"{f'{_median(cpu):.0f}' if cpu else '—':>7} {sizes[name]:>7} "
                    f"{sum(f.non_2xx for f in figs):>7}",
                    flush=True,
                )
    finally:
        stop_server(proc)
        stop_server(memory_proc)


# --- the tail: which requests are slow, and when ---------------------------------------------


async def timeline(
    port: int, key: str, body: bytes, *, clients: int, seconds: float
) -> list[tuple[float, float]]:
    """``clients`` connections sending the full 30-row score for ``seconds``: (start time since
    the beginning, latency) of every request, in seconds."""
    out: list[tuple[float, float]] = []
    begin = time.perf_counter()
    stop = begin + seconds

    async def worker() -> None:
        conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {key}"})
        try:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                await conn.request("POST", "/v1/score", body)
                out.append((t0 - begin, time.perf_counter() - t0))
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return out


def run_tail(
    database_url: str, *, clients: int, seconds: float, steadiness_seconds: float = 3.0
) -> None:
    """``--tail``: the full score under ``clients`` clients on one worker; the requests slower
    than 30 and 50 ms and when they started (periodic work shows as slow requests at a fixed
    period), after a 1 s warm-up on the same connections' server."""
    key = prepare_database(database_url)
    port = free_port()
    proc = start_server(database_url, port, workers=1)
    try:
        wait_ready(port, proc)
        steadiness = host_steadiness(steadiness_seconds)
        body = dumps(submission(7))
        asyncio.run(timeline(port, key, body, clients=clients, seconds=1.0))
        rec = asyncio.run(timeline(port, key, body, clients=clients, seconds=seconds))
    finally:
        stop_server(proc)
    lat = sorted(x[1] for x in rec)
    pct = [1000 * lat[min(len(lat) - 1, int(q * len(lat)))] for q in (0.5, 0.99)]
    slow = [x for x in rec if x[1] > 0.030]
    print(
        f"database: {database_url.split('@')[-1]}; POST /v1/score (30 rows, full), {clients} "
        f"clients, {seconds:g} s: {len(rec)} requests, {len(rec) / seconds:.0f} req/s, p50 "
        f"{pct[0]:.1f} ms, p99 {pct[1]:.1f} ms, max {1000 * lat[-1]:.1f} ms; "
        f"{len(slow)} over 30 ms, {sum(1 for x in rec if x[1] > 0.050)} over 50 ms"
    )
    print(steadiness)
    for start, latency in sorted(sorted(rec, key=lambda x: -x[1])[:12]):
        print(f"  at {start:7.3f} s: {1000 * latency:6.1f} ms")


async def _one(
    port: int,
    key: str,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str] | None = None,
) -> Reply:
    conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {key}"})
    try:
        return await conn.request(method, path, body, headers)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument(
        "--goals",
        action="store_true",
        help="issue #21's figures: catalogue reads and scores against /healthz, one worker, "
        "1 then --clients clients, --rounds alternating rounds",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--tail",
        action="store_true",
        help="the slowest full scores under --clients clients for --seconds, with their times",
    )
    parser.add_argument("--serve-memory", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_memory:
        _serve_memory(args.serve_memory)
        return
    url = (
        args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-load-')) / 'load.db'}"
    )
    if args.tail:
        run_tail(url, clients=args.clients, seconds=args.seconds)
        return
    if args.goals:
        clients = [1] if args.clients == 1 else [1, args.clients]
        run_goals(url, clients=clients, seconds=args.seconds, rounds=args.rounds)
        return
    run_figures(
        url,
        workers=[int(w) for w in args.workers.split(",")],
        clients=args.clients,
        seconds=args.seconds,
    )


if __name__ == "__main__":
    main()
