"""Benchmark: catalogue load, import and reads on a temporary SQLite database.

    .venv/bin/python bench/bench_catalogue.py [--n 500]

Prints: YAML load + validation of catalog/, import in one transaction, get_framework uncached
and cached, resolve_standard, and three HTTP reads through the ASGI app in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from indicator_service.app import create_app
from indicator_service.catalogue import frameworks, service
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from indicator_service.core.settings import Environment, Settings

CATALOG = Path(__file__).resolve().parents[1] / "catalog"
PATHS = (
    "/v1/frameworks/PRJ-2020",
    "/v1/indicators?q=%E7%8E%87&limit=50",
    "/v1/indicators/HLT-02-010/standard?type=plan&region=110105&fiscal_year=2024",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    n = parser.parse_args().n
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    database.upgrade(url)
    app = create_app(
        Settings(
            database_url=url,
            environment=Environment.test,
            log_json=False,
            log_level="ERROR",
            rate_limit_per_minute=0,  # one client sends every request
        )
    )
    t0 = time.perf_counter()
    cat = load_catalogue(CATALOG)
    t1 = time.perf_counter()
    with database.session_scope(app.state.engine) as session:
        service.import_catalogue(session, cat)
    t2 = time.perf_counter()
    print(f"load + validate catalog/: {1e3 * (t1 - t0):.0f} ms; import: {1e3 * (t2 - t1):.0f} ms")
    with database.session_scope(app.state.engine) as session:
        service.get_framework(session, "PRJ-2020")  # first call: statement compilation
        frameworks._FRAMEWORK_CACHE.clear()
        a = time.perf_counter()
        service.get_framework(session, "PRJ-2020")
        b = time.perf_counter()
        for _ in range(n):
            service.get_framework(session, "PRJ-2020")
        c = time.perf_counter()
        for _ in range(n):
            service.resolve_standard(
                session, "HLT-02-010", type="plan", region="110105", fiscal_year=2024
            )
        d = time.perf_counter()
    print(
        f"get_framework: uncached {1e3 * (b - a):.1f} ms, cached {1e6 * (c - b) / n:.0f} µs; "
        f"resolve_standard {1e6 * (d - c) / n:.0f} µs"
    )

    async def http() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for path in PATHS:
                await client.get(path)
                start = time.perf_counter()
                for _ in range(n // 2):
                    r = await client.get(path)
                assert r.status_code == 200, r.text
                ms = 1e3 * (time.perf_counter() - start) / (n // 2)
                print(f"GET {path}: {ms:.2f} ms/request (in-process ASGI)")

    asyncio.run(http())


if __name__ == "__main__":
    main()
