"""Test helpers: a synchronous ASGI client, settings for tests, problem assertions."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import select

from indicator_service.core.database import session_scope
from indicator_service.core.idempotency import IdempotencyRecord
from indicator_service.core.settings import Environment, Settings
from indicator_service.scoring.lookup import CatalogueLookup
from indicator_service.scoring.router import get_catalogue_lookup


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "environment": Environment.test,
        "log_json": False,
        "log_level": "WARNING",
        # Tests share one client address and a few keys; rate limiting is tested on its own.
        "rate_limit_per_minute": 0,
        # A test process holds many apps: freezing its heap at each lifespan would keep their
        # cycles for good (tested on its own in tests/core/test_gcpause.py).
        "gc_freeze_at_start": False,
        **overrides,
    }
    return Settings(**values)


class ApiClient:
    """A synchronous facade over ``httpx.AsyncClient`` + ``ASGITransport`` for tests."""

    def __init__(self, app: FastAPI, *, raise_app_exceptions: bool = True) -> None:
        # asyncio.Runner ends its loop as asyncio.run does (pending tasks cancelled and awaited,
        # async generators and the default executor shut down): a loop closed under a pending
        # task would leave the AnyIO worker threads that task started waiting forever, and the
        # interpreter waits for them at exit (stop_orphaned_worker_threads). Its own loop, not
        # installed as the thread's current one: several clients may be open at once.
        self._app = app
        self._runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions),
            base_url="http://testserver",
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        # each request in a copy of the caller's context, as a task of its own would be
        return self._runner.run(
            self._client.request(method, url, **kwargs), context=contextvars.copy_context()
        )

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    @contextmanager
    def lifespan(self) -> Iterator[None]:
        """The app's startup and shutdown (its lifespan) around the block, run in this client's
        event loop as a server runs them (httpx's ASGI transport sends no lifespan events)."""
        context = self._app.router.lifespan_context(self._app)
        self._runner.run(context.__aenter__())
        try:
            yield
        finally:
            self._runner.run(context.__aexit__(None, None, None))

    def close(self) -> None:
        try:
            self._runner.run(self._client.aclose())
        finally:
            self._runner.close()


def stop_orphaned_worker_threads() -> int:
    """Stop the AnyIO worker threads still waiting for work in a non-daemon thread; how many.

    A worker thread stops when the task it was started for (its event loop's root task)
    finishes; one whose loop was closed under that task waits on its queue forever, and a worker
    started from the main thread (``ApiClient``'s loops) is not a daemon thread, so the
    interpreter waits for it at exit. ``stop`` is AnyIO's own way of ending a worker (a ``None``
    on its queue); a worker still running a call is left alone."""
    stopped = 0
    for thread in threading.enumerate():
        if thread.name != "AnyIO worker thread" or thread.daemon or not thread.is_alive():
            continue
        stop = getattr(thread, "stop", None)
        if callable(stop):
            stop()
            stopped += 1
    return stopped


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem response with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    return body


def use_documents(app: FastAPI, catalogue: CatalogueLookup) -> CatalogueLookup:
    """Make the scoring endpoints of ``app`` read ``catalogue`` (documents) instead of the
    database, through the override of ``get_catalogue_lookup``."""
    app.dependency_overrides[get_catalogue_lookup] = lambda: catalogue
    return catalogue


def kept_answers(engine: Engine, scope: str, key: str) -> list[Any]:
    """The answers kept for Idempotency-Key ``key`` in ``scope`` (one per caller that used it):
    what a replay is built from."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        ).all()
        return [copy.deepcopy(r.response_body) for r in rows]


def held_read(real: Any, gate: threading.Event, reads: list[int]) -> Any:
    """A stand-in for ``core.database.read_rows`` that counts its calls in ``reads`` and holds
    each until ``gate`` is set (the event loop keeps serving meanwhile), then reads with
    ``real``; held for 10 s it fails (a request that waited for it would hang)."""

    async def held(*args: Any) -> Any:
        reads.append(1)
        deadline = time.monotonic() + 10
        while not gate.is_set():
            assert time.monotonic() < deadline, "held for 10 s"
            await asyncio.sleep(0.005)
        return await real(*args)

    return held
