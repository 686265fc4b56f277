"""HTTP benchmarks of the scoring API on one uvicorn worker.

1. Requests per second of ``POST /v1/score`` with 30 rows against ``GET /healthz`` (a trivial
   endpoint of the same app) measured in the same run (goal: ≥ 50 %), and of
   ``POST /bench/floor`` (benchmark app only: the same body and key, nothing scored) and of
   ``POST /bench/no-engine`` (benchmark app only: all of /v1/score's work except the engine's,
   whose result for the benchmark's one structure is computed once: what a free engine would
   reach).
2. A batch of 10,000 submissions × 30 rows scored end to end over HTTP (goal: < 2 s) in the
   columnar form (``POST /v1/score/columnar``: the rows once, the values as a matrix), as the
   row-per-leaf JSON batch and as CSV (``POST /v1/score/batch``); the columnar totals are
   checked against the JSON batch's.

    .venv/bin/python bench/bench_http.py [--seconds 5] [--concurrency 16] [--items 10000]

The server is started here (``uvicorn bench.bench_http:app_factory --factory``) with the test
catalogue documents injected, so the catalogue is not read from the database. The database
(``BENCH_DATABASE_URL``, default a SQLite file in a temporary folder) is migrated first and holds
the ``client`` API key every request sends (the key cache makes its check cheap after the first).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import APIRouter, Request, Response  # noqa: E402

from indicator_service import rules  # noqa: E402
from indicator_service.auth.dependencies import ScorerDep  # noqa: E402
from indicator_service.core.jsonbody import json_body  # noqa: E402
from indicator_service.scoring import prepare, receipts  # noqa: E402
from indicator_service.scoring.router import get_catalogue_lookup  # noqa: E402
from indicator_service.scoring.schemas import ScoreRequest  # noqa: E402

FRAMEWORK = "SELF-EVAL"


def app_factory() -> Any:
    """The service app with the scoring catalogue of the tests (uvicorn factory)."""
    from indicator_service.app import create_app
    from indicator_service.core.settings import Settings
    from tests.scoring.frameworks import catalogue

    app = create_app(
        Settings(
            database_url=os.environ["BENCH_DATABASE_URL"],
            log_json=False,
            log_level="WARNING",
            max_body_bytes=512 * 1024 * 1024,  # a 10,000 × 30 JSON batch is ~50 MB
            rate_limit_per_minute=0,  # all the load comes from one address
        )
    )
    lookup = catalogue()
    app.dependency_overrides[get_catalogue_lookup] = lambda: lookup
    from indicator_service.scoring.router import router as scoring_router

    floor_router = APIRouter()

    @floor_router.post("/bench/floor", include_in_schema=False)
    async def floor(request: Request, _scorer: ScorerDep) -> Response:
        """The same request as /v1/score (body read and validated the same way, key checked),
        nothing scored: the floor any scoring endpoint of this stack pays."""
        await json_body(request, ScoreRequest)
        return Response(b"{}", media_type="application/json")

    @floor_router.post("/bench/no-engine", include_in_schema=False)
    async def no_engine(request: Request, _scorer: ScorerDep) -> Response:
        """/v1/score with the engine's result memoised: validation, catalogue resolution, input
        conversion, receipt, input hash and serialisation, no rule evaluated."""
        body = await json_body(request, ScoreRequest)
        p = prepare.prepare(body, lookup)
        compiled = prepare.compile_prepared(p)
        cols, _ = rules.observations_to_columns(compiled, [p.observations])
        result = memo.get(id(compiled))
        if result is None:
            result = memo[id(compiled)] = rules.evaluate(compiled, cols)
        return Response(
            orjson.dumps(receipts.receipt_dict(p, compiled, result)), media_type="application/json"
        )

    memo: dict[int, rules.BatchResult] = {}
    app.include_router(floor_router)
    # FastAPI tries routes in order: match the floor where /v1/score is matched, just before
    # the scoring router, so that both pay the same route matching.
    routes = app.router.routes
    at = next(
        i for i, r in enumerate(routes) if getattr(r, "original_router", None) is scoring_router
    )
    routes.insert(at, routes.pop())
    return app


def submission(seed: int) -> dict[str, Any]:
    """30 rows: 产出 18 × ~2.78 points, 效益 8, 满意度 4 (points add up per class)."""
    rows: list[dict[str, Any]] = []
    for i in range(18):
        rows.append(
            {
                "id": f"o{i}",
                "class_l1": "产出",
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
                "class_l1": "效益",
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
                "class_l1": "满意度",
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


def as_csv(items: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    cols = [
        "submission",
        "framework",
        "budget_adjusted",
        "budget_executed",
        "class_l1",
        "class_l2",
        "name",
        "id",
        "points",
        "operator",
        "target",
        "unit",
        "value",
    ]
    w = csv.writer(buf)
    w.writerow(cols)
    for k, item in enumerate(items):
        for r in item["rows"]:
            w.writerow(
                [
                    k,
                    item["framework"],
                    item["budget"]["adjusted"],
                    item["budget"]["executed"],
                    r["class_l1"],
                    r.get("class_l2", ""),
                    r["name"],
                    r["id"],
                    r["points"],
                    r["operator"],
                    r["target"],
                    r["unit"],
                    r["value"],
                ]
            )
    return buf.getvalue().encode()


def as_columnar(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The columnar form of submissions sharing their first one's structure (POST
    /v1/score/columnar): the rows once without values, the values as a matrix."""
    rows = [{k: v for k, v in r.items() if k != "value"} for r in items[0]["rows"]]
    template = {k: v for k, v in items[0].items() if k not in ("rows", "budget", "project")}
    return {
        "template": {**template, "rows": rows},
        "values": [[r.get("value") for r in item["rows"]] for item in items],
        "budgets": [item["budget"] for item in items],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_key(database_url: str) -> str:
    """Migrate the benchmark database and create a ``client`` key (may score)."""
    from indicator_service.auth import service
    from indicator_service.auth.models import Role
    from indicator_service.auth.principal import CLI_OPERATOR
    from indicator_service.core.database import make_engine, session_scope, upgrade
    from indicator_service.core.settings import Settings

    upgrade(database_url)
    settings = Settings(database_url=database_url)
    engine = make_engine(settings)
    with session_scope(engine) as session:
        _row, raw = service.create_key(
            session,
            name=f"bench {time.time():.0f}",
            role=Role.client,
            namespaces=None,
            server_secret=settings.secret_key,
            actor=CLI_OPERATOR,
        )
    engine.dispose()
    return raw


async def rate(
    base: str,
    method: str,
    path: str,
    body: bytes | None,
    seconds: float,
    conc: int,
    key: str | None = None,
) -> float:
    """Requests per second over ``conc`` keep-alive connections (a minimal HTTP/1.1 client, so
    that the client costs far less CPU than the server it measures)."""
    host, port = base.removeprefix("http://").split(":")
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if key is not None:
        head += f"Authorization: Bearer {key}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    request = (head + "\r\n").encode() + (body or b"")
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < stop:
                writer.write(request)
                status = await reader.readline()
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                if b" 200 " not in status:
                    raise SystemExit(f"{path}: {status!r}")
                done += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return done / (time.perf_counter() - start)


async def measure(base: str, seconds: float, conc: int, items: int, key: str) -> dict[str, float]:
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120, headers=auth) as client:
        one = json.dumps(submission(1), ensure_ascii=False).encode()
        r = await client.post(
            "/v1/score", content=one, headers={"content-type": "application/json"}
        )
        r.raise_for_status()
        await rate(base, "GET", "/healthz", None, 1.0, conc)  # warm-up
        trivial = await rate(base, "GET", "/healthz", None, seconds, conc)
        scoring = await rate(base, "POST", "/v1/score", one, seconds, conc, key)
        floor = await rate(base, "POST", "/bench/floor", one, seconds, conc, key)
        no_engine = await rate(base, "POST", "/bench/no-engine", one, seconds, conc, key)
        figures = {
            "trivial_rps": trivial,
            "score_rps": scoring,
            "ratio": scoring / trivial,
            "floor_rps": floor,
            "no_engine_rps": no_engine,
        }
        print(
            f"GET /healthz: {trivial:,.0f} req/s; POST /v1/score (30 rows): {scoring:,.0f} req/s"
            f" = {100 * scoring / trivial:.0f} % of the trivial endpoint (goal ≥ 50 %)"
        )
        print(
            f"POST /bench/floor (the same body validated and key checked, nothing scored): "
            f"{floor:,.0f} req/s = {100 * floor / trivial:.0f} % of the trivial endpoint"
        )
        print(
            f"POST /bench/no-engine (all of /v1/score but the rule evaluation): "
            f"{no_engine:,.0f} req/s = {100 * no_engine / trivial:.0f} % of the trivial endpoint"
        )
        batch = [submission(k) for k in range(items)]
        body = json.dumps({"items": batch}, ensure_ascii=False).encode()
        start = time.perf_counter()
        r = await client.post(
            "/v1/score/batch", content=body, headers={"content-type": "application/json"}
        )
        json_s = time.perf_counter() - start
        r.raise_for_status()
        json_result = r.json()
        assert json_result["ok"] == items, r.text[:500]
        csv_body = as_csv(batch)
        start = time.perf_counter()
        r = await client.post(
            "/v1/score/batch", content=csv_body, headers={"content-type": "text/csv"}
        )
        csv_s = time.perf_counter() - start
        r.raise_for_status()
        assert r.json()["ok"] == items, r.text[:500]
        col_body = json.dumps(as_columnar(batch), ensure_ascii=False).encode()
        start = time.perf_counter()
        r = await client.post(
            "/v1/score/columnar", content=col_body, headers={"content-type": "application/json"}
        )
        col_s = time.perf_counter() - start
        r.raise_for_status()
        col = r.json()
        assert col["ok"] == items, r.text[:500]
        assert col["totals"] == [i["total"] for i in json_result["items"]]  # same results
        print(
            f"batch {items:,} × 30 rows over HTTP: columnar {col_s:.2f} s "
            f"({len(col_body) / 1e6:.1f} MB), JSON {json_s:.2f} s ({len(body) / 1e6:.0f} MB), "
            f"CSV {csv_s:.2f} s ({len(csv_body) / 1e6:.0f} MB) (goal < 2 s)"
        )
        figures.update(batch_columnar_s=col_s, batch_json_s=json_s, batch_csv_s=csv_s)
        return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="scoring API HTTP benchmarks")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args(argv)
    port = free_port()
    database_url = os.environ.get("BENCH_DATABASE_URL") or (
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-http-')) / 'bench.db'}"
    )
    key = make_key(database_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_DATABASE_URL": database_url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bench_http:app_factory",
            "--factory",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(measure(base, args.seconds, args.concurrency, args.items, key))
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
