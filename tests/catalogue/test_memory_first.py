"""Reads of published data and common-size scores are answered in the event loop from memory
(``core.database.memory_first``): no worker thread, no connection; work that needs the database
runs again in the thread pool. Prepared submission structures over published versions are shared
between requests and scoped by the versions they read (``scoring.lookup.ScopedStructures``)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from sqlmodel import select, text

from indicator_service.catalogue import heads
from indicator_service.catalogue.models import CatalogueNamespace
from indicator_service.core import database
from indicator_service.core.database import NeedsDatabase, memory_session
from indicator_service.scoring import router as scoring_router
from tests.auth.fixtures import admin_client
from tests.catalogue.conftest import seeded_app
from tests.catalogue.test_read_cache import READS, quiet, self_eval
from tests.conftest import IS_POSTGRES
from tests.dbcount import database_use
from tests.helpers import ApiClient, held_read


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    with seeded_app(tmp_path) as app:
        quiet(app)
        yield app


@pytest.fixture
def api(app: FastAPI) -> Iterator[ApiClient]:
    client = admin_client(app)
    yield client
    client.close()


@pytest.fixture
def worker_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions memory_first hands to the thread pool."""
    calls: list[str] = []
    real = database.run_in_threadpool

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args[1].__name__ if fn is database._with_session else fn.__name__)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(database, "run_in_threadpool", counting)
    return calls


def driven_heads(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> tuple[heads.HeadsCache, list[float]]:
    """The app's map of catalogue versions on a clock the test drives (``now[0]``, seconds)."""
    cache = heads.heads_cache(app.state.engine)
    now = [1000.0]
    monkeypatch.setattr(cache, "clock", lambda: now[0])
    return cache, now


def test_a_memory_session_refuses_to_query_and_checks_out_nothing(app: FastAPI) -> None:
    engine = app.state.engine
    with database_use(engine) as use, memory_session(engine) as session:
        with pytest.raises(NeedsDatabase):
            session.exec(select(CatalogueNamespace)).all()
        with pytest.raises(NeedsDatabase):
            session.get(CatalogueNamespace, 1)
    assert use.none, use.statements


def test_published_reads_need_no_worker_thread_after_the_first(
    app: FastAPI, api: ApiClient, worker_calls: list[str]
) -> None:
    first = {url: api.get(url) for url in READS}
    assert all(r.status_code == 200 for r in first.values())
    assert worker_calls  # the first reads filled the caches from the database
    worker_calls.clear()
    with database_use(app.state.engine) as use:
        for url in READS:
            again = api.get(url)
            assert again.status_code == 200, (url, again.text)
            assert again.json() == first[url].json(), url
            assert again.headers["etag"] == first[url].headers["etag"], url
    assert worker_calls == []
    assert use.none, use.statements


def test_published_reads_hand_nothing_to_a_worker_thread(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any thread hand-off counts, not only memory_first's: a sync handler or a sync dependency
    (a database session) would run in the thread pool through anyio."""
    for url in READS:
        assert api.get(url).status_code == 200, url
    handed: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(getattr(fn, "__qualname__", repr(fn)))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    for url in READS:
        assert api.get(url).status_code == 200, url
        assert handed == [], (url, handed)


def test_reads_memory_cannot_answer_go_to_the_database(
    api: ApiClient, worker_calls: list[str]
) -> None:
    draft = api.post("/v1/namespaces/health/drafts")
    assert draft.status_code == 201, draft.text
    number = draft.json()["version"]
    worker_calls.clear()
    got = api.get(f"/v1/namespaces/health/versions/{number}")
    assert got.status_code == 200, got.text
    assert got.json()["status"] == "draft"
    # the draft's commit dropped the map of versions: reloaded (its one query alone, in a
    # worker without the lifespan's asyncio engine), then the draft is tried in memory and read
    # in a worker
    assert worker_calls == ["_read_rows_sync", "_namespace_version"]
    worker_calls.clear()
    missing = api.get("/v1/frameworks/SELF-EVAL?version=9.9.9")
    assert missing.status_code == 404
    assert worker_calls == ["_framework"]  # not in memory: the database decides


def test_scores_of_common_size_stay_in_the_loop_large_ones_go_to_a_worker(
    api: ApiClient, worker_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.post("/v1/score", json=self_eval(1)).status_code == 200
    worker_calls.clear()
    small = api.post("/v1/score", json=self_eval(2))
    assert small.status_code == 200, small.text
    assert worker_calls == []
    monkeypatch.setattr(scoring_router, "IN_LOOP_MAX_ROWS", 2)  # 3 rows: "large"
    large = api.post("/v1/score", json=self_eval(2))
    assert large.status_code == 200, large.text
    assert worker_calls == ["_score_with_database"]
    assert large.json() == small.json()


def _with_standard_row(seed: int) -> dict[str, Any]:
    """SELF-EVAL with the 受益 row's target taken from EDU-02-001's plan standard (2019: ≥ 85 %
    in the seed catalogue)."""
    body = self_eval(seed)
    body["fiscal_year"] = 2019
    ben = body["rows"][1]
    ben.pop("target")
    ben.pop("operator")
    ben.update(indicator="EDU-02-001", standard_type="plan", name="学前三年毛入园率")
    return body


def _leaf(receipt: dict[str, Any], leaf_id: str) -> dict[str, Any]:
    return next(lf for lf in receipt["leaves"] if lf["id"] == leaf_id)


def test_a_shared_structure_follows_a_new_namespace_version(api: ApiClient) -> None:
    before = api.post("/v1/score", json=_with_standard_row(1))
    assert before.status_code == 200, before.text
    assert _leaf(before.json(), "ben")["target"] == 85.0
    again = api.post("/v1/score", json=_with_standard_row(2))  # the shared structure
    assert _leaf(again.json(), "ben")["target"] == 85.0
    # education publishes 2.0.0, whose 2017–2020 plan standard is 88 % (a major change)
    draft = api.post("/v1/namespaces/education/drafts")
    assert draft.status_code == 201, draft.text
    doc = draft.json()["document"]
    changed = 0
    for std in doc["standards"]:
        if std["indicator"] == "EDU-02-001" and std["type"] == "plan" and std.get("value") == 85:
            std["value"] = 88
            changed += 1
    assert changed == 1
    number = draft.json()["version"]
    put = api.put(
        f"/v1/namespaces/education/drafts/{number}",
        json=doc,
        headers={"If-Match": draft.headers["etag"]},
    )
    assert put.status_code == 200, put.text
    published = api.post(
        f"/v1/namespaces/education/versions/{number}/publish", json={"version": "2.0.0"}
    )
    assert published.status_code == 200, published.text
    after = api.post("/v1/score", json=_with_standard_row(2))
    assert after.status_code == 200, after.text
    assert _leaf(after.json(), "ben")["target"] == 88.0


def test_one_reload_at_a_time_for_the_requests_in_the_loop(app: FastAPI) -> None:
    """When the map of versions goes stale, the first request in the loop goes to the database
    to reload it; the ones behind it keep the snapshot while that reload runs (at most one more
    refresh interval), instead of all going to the thread pool at once."""
    engine = app.state.engine
    cache = heads.HeadsCache(refresh_seconds=2.0, clock=lambda: now[0])
    now = [0.0]
    with database.session_scope(engine) as session:
        first = cache.get(session)
    now[0] = 2.5  # stale
    with memory_session(engine) as session:
        with pytest.raises(NeedsDatabase):  # the first goes to reload it
            cache.get(session)
        assert cache.get(session) is first  # the next keeps the snapshot meanwhile
        now[0] = 4.4
        assert cache.get(session) is first  # still within one interval of the claim
        now[0] = 4.6  # the claimant never came back: the next one claims again
        with pytest.raises(NeedsDatabase):
            cache.get(session)
    with database.session_scope(engine) as session:  # the reload in the thread pool
        fresh = cache.get(session)
    assert fresh is not first
    assert fresh.loaded_at == 4.6
    now[0] = 6.7  # stale again: a new claim, not the old one
    with memory_session(engine) as session, pytest.raises(NeedsDatabase):
        cache.get(session)
    cache.invalidate()  # a commit in this process: no grace, the database at once
    with memory_session(engine) as session, pytest.raises(NeedsDatabase):
        cache.get(session)
    zero = heads.HeadsCache(refresh_seconds=0.0, clock=lambda: now[0])
    with database.session_scope(engine) as session:
        zero.get(session)
    with memory_session(engine) as session:  # 0 s: every read reloads, none waits
        for _ in range(2):
            with pytest.raises(NeedsDatabase):
                zero.get(session)


def test_a_due_map_of_versions_is_renewed_alone_and_the_score_stays_in_the_loop(
    app: FastAPI, api: ApiClient, worker_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As served (under the app's lifespan): when the map of catalogue versions is due, the
    request that finds it so reloads it (its one query: from the event loop on PostgreSQL, in
    a worker on SQLite) and is then scored in the loop, not sent whole to a worker."""
    cache, now = driven_heads(app, monkeypatch)
    with api.lifespan():
        first = api.post("/v1/score", json=self_eval(3))
        assert first.status_code == 200, first.text
        loads = cache.loads
        worker_calls.clear()
        handed: list[str] = []
        real = anyio.to_thread.run_sync

        async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
            handed.append(repr(fn))
            return await real(fn, *args, **kwargs)

        monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
        now[0] += cache.refresh_seconds
        again = api.post("/v1/score", json=self_eval(3))
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
        assert cache.loads == loads + 1
        if IS_POSTGRES:
            assert worker_calls == []
            assert handed == []
        else:
            assert worker_calls == ["_read_rows_sync"]
            assert len(handed) == 1
        # not due again: nothing reloaded, nothing handed off
        assert api.post("/v1/score", json=self_eval(3)).json() == first.json()
        assert cache.loads == loads + 1
        assert len(worker_calls) == (0 if IS_POSTGRES else 1)


def _until(condition: Any, api: ApiClient) -> None:
    """Serve ``GET /healthz`` (the client's event loop runs only during a request, as a
    server's runs all the time) until ``condition`` holds."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "not within 10 s"
        assert api.get("/healthz").status_code == 200


def test_ahead_of_its_interval_the_map_is_renewed_in_the_background(
    app: FastAPI, api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three quarters through its interval (``core.database.RENEW_AHEAD``) the first request
    starts the map's reload and is answered without waiting for it, as are the requests behind
    it (one reload); a request that comes past the whole interval while the reload is still
    under way waits for it."""
    cache, now = driven_heads(app, monkeypatch)
    gate, reads = threading.Event(), list[int]()
    with api.lifespan():
        first = api.post("/v1/score", json=self_eval(6))
        assert first.status_code == 200, first.text
        loads = cache.loads
        monkeypatch.setattr(heads, "read_rows", held_read(heads.read_rows, gate, reads))
        now[0] += cache.refresh_seconds * (database.RENEW_AHEAD - 0.05)
        assert api.post("/v1/score", json=self_eval(6)).json() == first.json()
        assert reads == []  # not yet
        now[0] += cache.refresh_seconds * 0.1
        for _ in range(3):  # the reload held: answered all the same, from the map
            assert api.post("/v1/score", json=self_eval(6)).json() == first.json()
        assert (reads, cache.loads) == ([1], loads)
        gate.set()
        _until(lambda: cache.loads == loads + 1, api)
        # past the whole interval with a reload under way: the request waits for it
        gate.clear()
        now[0] += cache.refresh_seconds * database.RENEW_AHEAD
        assert api.post("/v1/score", json=self_eval(6)).status_code == 200  # starts it
        assert (len(reads), cache.loads) == (2, loads + 1)
        now[0] += cache.refresh_seconds * 0.5
        threading.Timer(0.2, gate.set).start()
        started = time.monotonic()
        assert api.post("/v1/score", json=self_eval(6)).status_code == 200
        assert time.monotonic() - started >= 0.15
        assert (len(reads), cache.loads) == (2, loads + 2)


def test_a_failed_renewal_in_the_background_is_logged_and_tried_again(
    app: FastAPI, api: ApiClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache, now = driven_heads(app, monkeypatch)
    real = heads.read_rows
    failures: list[int] = []

    async def broken(*args: Any) -> Any:
        failures.append(1)
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    with api.lifespan():
        assert api.post("/v1/score", json=self_eval(7)).status_code == 200
        loads = cache.loads
        monkeypatch.setattr(heads, "read_rows", broken)
        now[0] += cache.refresh_seconds * (database.RENEW_AHEAD + 0.05)
        with caplog.at_level(logging.WARNING, logger=database.log.name):
            assert api.post("/v1/score", json=self_eval(7)).status_code == 200  # not a 503
            _until(
                lambda: any("map of catalogue versions" in r.getMessage() for r in caplog.records),
                api,
            )
        assert failures == [1]
        monkeypatch.setattr(heads, "read_rows", real)
        assert api.post("/v1/score", json=self_eval(7)).status_code == 200  # tries again
        _until(lambda: cache.loads == loads + 1, api)


def test_a_renewal_under_way_at_shutdown_is_cancelled_not_reported_as_failed(
    app: FastAPI, api: ApiClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache, now = driven_heads(app, monkeypatch)
    reads = list[int]()
    with caplog.at_level(logging.WARNING, logger=database.log.name):
        with api.lifespan():
            assert api.post("/v1/score", json=self_eval(8)).status_code == 200
            monkeypatch.setattr(
                heads, "read_rows", held_read(heads.read_rows, threading.Event(), reads)
            )
            now[0] += cache.refresh_seconds * (database.RENEW_AHEAD + 0.05)
            assert api.post("/v1/score", json=self_eval(8)).status_code == 200
            assert reads == [1]  # held when the lifespan ends
            assert [t for t in database._RENEWALS if not t.done()]
        assert not [t for t in database._RENEWALS if not t.done()]
    assert not [r for r in caplog.records if "failed" in r.getMessage()]


def test_a_failed_renewal_fails_the_request_and_the_next_one_tries_again(
    app: FastAPI, api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, now = driven_heads(app, monkeypatch)
    assert api.post("/v1/score", json=self_eval(4)).status_code == 200
    loads = cache.loads
    now[0] += cache.refresh_seconds
    real = heads.read_rows

    async def broken(*args: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(heads, "read_rows", broken)
    failed = api.post("/v1/score", json=self_eval(4))
    assert failed.status_code == 503, failed.text
    monkeypatch.setattr(heads, "read_rows", real)
    assert api.post("/v1/score", json=self_eval(4)).status_code == 200  # not left claimed
    assert cache.loads == loads + 1


@pytest.mark.postgres
def test_a_small_reads_connection_lost_is_replaced_and_the_read_tried_again(
    app: FastAPI, api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The asyncio engine's connections are taken without a ping: one the server dropped (a
    restart, an idle timeout) fails the read once, and the read is tried again on a new one."""
    cache, now = driven_heads(app, monkeypatch)
    with api.lifespan():
        assert api.post("/v1/score", json=self_eval(5)).status_code == 200
        now[0] += cache.refresh_seconds
        assert api.post("/v1/score", json=self_eval(5)).status_code == 200  # pooled connection
        loads = cache.loads
        with app.state.engine.connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": database.SMALL_READS_NAME},
            ).scalar_one()
        assert ended >= 1
        now[0] += cache.refresh_seconds
        again = api.post("/v1/score", json=self_eval(5))
        assert again.status_code == 200, again.text
        assert cache.loads == loads + 1


def test_a_reload_begun_before_a_local_commit_is_not_kept(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit of this process that writes a version row drops the map at once: a reload that
    was already reading (here with no map at all) must not put back what it read before."""
    engine = app.state.engine
    cache = heads.HeadsCache()
    real = heads.read_rows

    async def committed_meanwhile(*args: Any) -> Any:
        rows = await real(*args)
        cache.invalidate()  # as the commit of a publish in this process does
        return rows

    monkeypatch.setattr(heads, "read_rows", committed_meanwhile)
    asyncio.run(cache.renew(engine, None))
    assert cache.loads == 1
    with memory_session(engine) as session, pytest.raises(NeedsDatabase):
        cache.get(session)  # no map kept: the next read goes to the database
    monkeypatch.setattr(heads, "read_rows", real)
    asyncio.run(cache.renew(engine, None))  # not invalidated meanwhile: kept
    with memory_session(engine) as session:
        assert cache.get(session).framework("SELF-EVAL", None) is not None


def test_with_no_map_one_request_reads_it_and_the_others_wait(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At start or after a local commit of a version row there is no map at all: of a burst of
    requests in the loop one reads it and the others wait for that read (each read it)."""
    engine = app.state.engine
    cache = heads.HeadsCache()
    real = heads.read_rows
    reads: list[int] = []

    async def slow(*args: Any) -> Any:
        reads.append(1)
        await asyncio.sleep(0.05)
        return await real(*args)

    monkeypatch.setattr(heads, "read_rows", slow)

    async def burst() -> None:
        await asyncio.gather(*(cache.renew(engine, None) for _ in range(8)))

    asyncio.run(burst())
    assert (len(reads), cache.loads) == (1, 1)
    with memory_session(engine) as session:
        assert cache.get(session).framework("SELF-EVAL", None) is not None
    cache.invalidate()  # a publish in this process: the next burst reads it once again
    asyncio.run(burst())
    assert (len(reads), cache.loads) == (2, 2)


def test_with_no_map_a_failed_read_fails_its_request_and_the_waiters_go_on(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader's failure is its own request's (a 503 as before); the requests that waited
    for it go on without a map (their read takes the database path) and the next one reads
    it again."""
    engine = app.state.engine
    cache = heads.HeadsCache()
    real = heads.read_rows

    async def broken(*args: Any) -> Any:
        await asyncio.sleep(0.05)
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(heads, "read_rows", broken)

    async def burst() -> list[BaseException | None]:
        return await asyncio.gather(
            *(cache.renew(engine, None) for _ in range(4)), return_exceptions=True
        )

    outcomes = asyncio.run(burst())
    assert isinstance(outcomes[0], OperationalError)
    assert outcomes[1:] == [None, None, None]
    assert cache.loads == 0
    monkeypatch.setattr(heads, "read_rows", real)
    asyncio.run(cache.renew(engine, None))
    assert cache.loads == 1
