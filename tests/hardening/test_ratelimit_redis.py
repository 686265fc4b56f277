"""The rate limit shared by every replica through Redis (``INDICATOR_REDIS_URL``), and failing
open when Redis is down.

Two application instances stand for two replicas; they share only the database and Redis. The
tests use the local Redis (``INDICATOR_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/15``)
and are skipped when it does not answer. Buckets are namespaced per test, and a rate of one
token a minute keeps the outcome independent of how fast the machine runs the test.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from indicator_service.app import create_app
from indicator_service.auth.cache import KeyCache, get_key_cache
from indicator_service.auth.models import Role
from indicator_service.core.ratelimit import RedisRateLimiter
from indicator_service.core.settings import Settings
from tests.auth.fixtures import bearer, issue_key
from tests.helpers import ApiClient, assert_problem, make_settings

REDIS_URL = os.environ.get("INDICATOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_answers(), reason=f"no Redis at {REDIS_URL}")


def _replica(database_url: str, redis_url: str, prefix: str) -> FastAPI:
    app = create_app(
        make_settings(
            database_url, rate_limit_per_minute=1, rate_limit_burst=3, redis_url=redis_url
        )
    )
    assert isinstance(app.state.rate_limiter, RedisRateLimiter)
    app.state.rate_limiter.prefix = prefix
    app_key_cache = KeyCache()
    app.dependency_overrides[get_key_cache] = lambda: app_key_cache
    return app


@pytest.fixture
def two_replicas(database_url: str) -> Iterator[list[ApiClient]]:
    prefix = f"test:{uuid.uuid4().hex}:"
    clients = [ApiClient(_replica(database_url, REDIS_URL, prefix)) for _ in range(2)]
    yield clients
    for c in clients:
        c.close()
    conn = redis.Redis.from_url(REDIS_URL)
    for k in conn.scan_iter(f"{prefix}*"):
        conn.delete(k)


@needs_redis
def test_two_replicas_share_one_limit(
    two_replicas: list[ApiClient], engine: Engine, settings: Settings
) -> None:
    """A burst of 3 is 3 requests in all, wherever they land: the combined rate holds."""
    a, b = two_replicas
    key = issue_key(engine, settings, Role.evaluator)
    statuses = [
        (a if i % 2 == 0 else b).get("/v1/namespaces", headers=bearer(key)).status_code
        for i in range(10)
    ]
    assert statuses.count(200) == 3, statuses
    assert statuses[:3] == [200, 200, 200]
    body = assert_problem(b.get("/v1/namespaces", headers=bearer(key)), 429)
    assert body["errors"][0]["type"] == "rate_limited"
    assert int(body["detail"].split("retry in ")[1].split(" ")[0]) >= 1
    # probes are never limited
    assert all(c.get("/healthz").status_code == 200 for c in (a, b) for _ in range(5))


@needs_redis
def test_an_address_is_one_caller_for_every_replica(two_replicas: list[ApiClient]) -> None:
    a, b = two_replicas
    anonymous = [(a if i % 2 else b).get("/v1/frameworks").status_code for i in range(6)]
    assert anonymous == [200, 200, 200, 429, 429, 429]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_redis_outage_fails_open_with_a_warning_and_a_metric(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = _replica(database_url, f"redis://127.0.0.1:{_closed_port()}/0", "test:down:")
    client = ApiClient(app)
    try:
        with caplog.at_level(logging.WARNING, logger="indicator_service.ratelimit"):
            statuses = [client.get("/v1/frameworks").status_code for _ in range(8)]
        metrics = client.get("/metrics").text
    finally:
        client.close()
    assert statuses == [200] * 8  # not limited, and never a 5xx
    assert any("Redis" in r.getMessage() for r in caplog.records)
    # one failed attempt, then Redis is left alone for a few seconds (no timeout per request)
    assert "indicator_ratelimit_backend_errors_total 1.0" in metrics


@needs_redis
def test_two_replicas_hold_the_combined_rate_over_time(
    database_url: str, engine: Engine, settings: Settings
) -> None:
    """Sustained load, not only the burst: two replicas sharing 120 a minute (2 a second) with a
    burst of 3 accept, in all, the burst plus 2 a second of the time they were driven (Redis's
    clock refills the bucket), however the requests are spread between them."""
    prefix = f"test:{uuid.uuid4().hex}:"
    apps = []
    for _ in range(2):
        app = create_app(
            make_settings(
                database_url, rate_limit_per_minute=120, rate_limit_burst=3, redis_url=REDIS_URL
            )
        )
        assert isinstance(app.state.rate_limiter, RedisRateLimiter)
        app.state.rate_limiter.prefix = prefix
        replica_keys = KeyCache()  # a replica's own key cache, as a separate process has
        app.dependency_overrides[get_key_cache] = lambda keys=replica_keys: keys
        apps.append(app)
    clients = [ApiClient(app) for app in apps]
    key = issue_key(engine, settings, Role.evaluator)
    try:
        # warm each replica (catalogue map, key cache) in buckets of their own, so that the
        # timed loop measures the limit, not the first requests' set-up
        for app, c in zip(apps, clients, strict=True):
            app.state.rate_limiter.prefix = prefix + "warm:"
            assert c.get("/v1/frameworks", headers=bearer(key)).status_code == 200
            app.state.rate_limiter.prefix = prefix
        started = time.monotonic()
        accepted = {0: 0, 1: 0}
        sent = 0
        while time.monotonic() - started < 2.5:
            which = sent % 2
            status = clients[which].get("/v1/frameworks", headers=bearer(key)).status_code
            assert status in (200, 429), status
            accepted[which] += status == 200
            sent += 1
        elapsed = time.monotonic() - started
    finally:
        for c in clients:
            c.close()
        conn = redis.Redis.from_url(REDIS_URL)
        for k in conn.scan_iter(f"{prefix}*"):
            conn.delete(k)
    allowed = 3 + 2 * elapsed
    total = accepted[0] + accepted[1]
    assert sent > 2 * allowed, (sent, elapsed)  # the replicas were offered more than the limit
    assert total <= allowed + 1, (accepted, elapsed)  # the combined rate held
    assert total >= 3 + 2 * (elapsed - 0.6), (accepted, elapsed)  # and the limit was reached
    # Both replicas served. Which one finds a refilled token is timing (a CI run saw {0: 6, 1: 1}
    # on a loaded machine): beyond the burst no share is owed to either; that the bound above
    # holds for the two together is what shows the limit is shared (alone, each would allow it).
    assert min(accepted.values()) >= 1, accepted
