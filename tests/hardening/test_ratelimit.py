"""Per-caller rate limiting: token buckets (pure) and the 429 problem the service sends."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.core.ratelimit import RateLimiter, caller_identity
from indicator_service.core.settings import Settings
from tests.auth.fixtures import bearer, issue_key
from tests.helpers import ApiClient, assert_problem, make_settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a")
    assert wait == pytest.approx(1.0)  # one token a second
    assert limiter.take("b") == 0.0  # another caller has its own bucket
    clock.now += 0.5
    assert limiter.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    clock.now += 3600  # refill is capped at the burst
    assert [limiter.take("a") == 0.0 for _ in range(4)] == [True, True, True, False]


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert RateLimiter.retry_after(0.01) == 1
    assert RateLimiter.retry_after(1.0) == 1
    assert RateLimiter.retry_after(2.2) == 3


def test_bucket_table_is_bounded() -> None:
    limiter = RateLimiter(per_minute=60, burst=1, max_callers=2, clock=FakeClock())
    limiter.take("a")
    limiter.take("b")
    limiter.take("c")  # evicts "a", the least recently used
    assert limiter.take("a") == 0.0  # a fresh, full bucket


def test_caller_identity_digests_the_credential_and_falls_back_to_the_address() -> None:
    key = b"Bearer isk_0123456789ab_secret"
    ident = caller_identity([(b"authorization", key)], ("10.0.0.1", 5))
    assert ident.startswith("key:")
    assert "secret" not in ident
    assert caller_identity([(b"x-api-key", b"isk_x")], None) != ident
    assert caller_identity([], ("10.0.0.1", 5)) == "addr:10.0.0.1"
    assert caller_identity([(b"authorization", b"  ")], ("10.0.0.2", 5)) == "addr:10.0.0.2"


def test_zero_turns_the_limiter_off(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit_per_minute=0))
    assert app.state.rate_limiter is None
    client = ApiClient(app)
    try:
        assert all(client.get("/v1/namespaces").status_code == 200 for _ in range(30))
    finally:
        client.close()


def test_default_settings_limit() -> None:
    settings = Settings()
    assert settings.rate_limit_per_minute > 0
    assert settings.rate_limit_burst > 0


@pytest.fixture
def limited_app(database_url: str) -> FastAPI:
    """1 request per second, bursts of 3, on a clock that stands still: no token comes back
    while a test runs, however slowly the machine runs it."""
    app = create_app(make_settings(database_url, rate_limit_per_minute=60, rate_limit_burst=3))
    app.state.rate_limiter.clock = lambda: 1000.0
    return app


def test_429_problem_with_retry_after_per_key(
    limited_app: FastAPI, engine: Engine, settings: Settings
) -> None:
    first = issue_key(engine, settings, Role.evaluator)
    second = issue_key(engine, settings, Role.evaluator)
    client = ApiClient(limited_app)
    try:
        for _ in range(3):
            assert client.get("/v1/namespaces", headers=bearer(first)).status_code == 200
        refused = client.get("/v1/namespaces", headers=bearer(first))
        body = assert_problem(refused, 429)
        assert body["type"].endswith("/too-many-requests")
        assert body["instance"] == "/v1/namespaces"
        assert body["request_id"] == refused.headers["x-request-id"]
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["cache-control"] == "no-store"
        assert refused.headers["x-content-type-options"] == "nosniff"
        # another key, and the anonymous caller, have buckets of their own
        assert client.get("/v1/namespaces", headers=bearer(second)).status_code == 200
        assert client.get("/v1/namespaces").status_code == 200
        # the probes are never limited
        assert all(client.get("/healthz").status_code == 200 for _ in range(10))
        # a forged key is limited too (before authentication answers 401)
        forged = {"Authorization": "Bearer isk_000000000000_" + "A" * 43}
        statuses = [client.get("/v1/namespaces", headers=forged).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
    finally:
        client.close()


def test_anonymous_callers_are_limited_by_address(limited_app: FastAPI) -> None:
    client = ApiClient(limited_app)
    try:
        statuses = [client.get("/v1/frameworks").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
    finally:
        client.close()
