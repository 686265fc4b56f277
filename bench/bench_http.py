"""HTTP benchmarks of the scoring API on one uvicorn worker.

1. Requests per second of ``POST /v1/score`` with 30 rows against ``GET /healthz`` (a trivial
   endpoint of the same app) measured in the same run (goal: ≥ 50 %).
2. A batch of 10,000 submissions × 30 rows scored end to end over HTTP (goal: < 2 s), as JSON
   and as CSV.

    .venv/bin/python bench/bench_http.py [--seconds 5] [--concurrency 16] [--items 10000]

The server is started here (``uvicorn bench.bench_http:app_factory --factory``) with the test
catalogue documents injected, so no database is needed for scoring.
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
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAMEWORK = "SELF-EVAL"


def app_factory() -> Any:
    """The service app with the scoring catalogue of the tests (uvicorn factory)."""
    from indicator_service.app import create_app
    from indicator_service.core.settings import Settings
    from tests.scoring.frameworks import catalogue

    app = create_app(
        Settings(
            database_url=os.environ.get("BENCH_DATABASE_URL", "sqlite:///./bench-http.db"),
            log_json=False,
            log_level="WARNING",
            max_body_bytes=512 * 1024 * 1024,  # a 10,000 × 30 JSON batch is ~50 MB
            rate_limit_per_minute=0,  # all the load comes from one address
        )
    )
    app.state.scoring_catalogue = catalogue()
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def rate(
    base: str, method: str, path: str, body: bytes | None, seconds: float, conc: int
) -> float:
    """Requests per second over ``conc`` keep-alive connections (a minimal HTTP/1.1 client, so
    that the client costs far less CPU than the server it measures)."""
    host, port = base.removeprefix("http://").split(":")
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
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


async def measure(base: str, seconds: float, conc: int, items: int) -> dict[str, float]:
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        one = json.dumps(submission(1), ensure_ascii=False).encode()
        r = await client.post(
            "/v1/score", content=one, headers={"content-type": "application/json"}
        )
        r.raise_for_status()
        await rate(base, "GET", "/healthz", None, 1.0, conc)  # warm-up
        trivial = await rate(base, "GET", "/healthz", None, seconds, conc)
        scoring = await rate(base, "POST", "/v1/score", one, seconds, conc)
        figures = {"trivial_rps": trivial, "score_rps": scoring, "ratio": scoring / trivial}
        print(
            f"GET /healthz: {trivial:,.0f} req/s; POST /v1/score (30 rows): {scoring:,.0f} req/s"
            f" = {100 * scoring / trivial:.0f} % of the trivial endpoint (goal ≥ 50 %)"
        )
        batch = [submission(k) for k in range(items)]
        body = json.dumps({"items": batch}, ensure_ascii=False).encode()
        start = time.perf_counter()
        r = await client.post(
            "/v1/score/batch", content=body, headers={"content-type": "application/json"}
        )
        json_s = time.perf_counter() - start
        r.raise_for_status()
        assert r.json()["ok"] == items, r.text[:500]
        csv_body = as_csv(batch)
        start = time.perf_counter()
        r = await client.post(
            "/v1/score/batch", content=csv_body, headers={"content-type": "text/csv"}
        )
        csv_s = time.perf_counter() - start
        r.raise_for_status()
        assert r.json()["ok"] == items, r.text[:500]
        print(
            f"batch {items:,} × 30 rows over HTTP: JSON {json_s:.2f} s "
            f"({len(body) / 1e6:.0f} MB), CSV {csv_s:.2f} s ({len(csv_body) / 1e6:.0f} MB)"
            " (goal < 2 s)"
        )
        figures.update(batch_json_s=json_s, batch_csv_s=csv_s)
        return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="scoring API HTTP benchmarks")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args(argv)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
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
        asyncio.run(measure(base, args.seconds, args.concurrency, args.items))
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
