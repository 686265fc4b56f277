"""Per-caller rate limiting: token buckets (pure), the 429 problem the service sends, and who
the caller is (the key's id however it is written; the address for unknown keys)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from indicator_service.app import create_app
from indicator_service.auth import dependencies
from indicator_service.auth.cache import KeyCache, get_key_cache
from indicator_service.auth.models import Role
from indicator_service.auth.settings import AuthSettings, get_auth_settings
from indicator_service.core.ratelimit import RateLimiter, address_identity
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


def test_caller_without_a_cached_key_is_its_address(limited_app: FastAPI) -> None:
    def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
        return {"app": limited_app, "headers": list(headers), "client": ("10.0.0.1", 5)}

    assert address_identity({"client": None}) == "addr:unknown"
    forged = b"Bearer isk_0123456789ab_" + b"s" * 43
    for headers in [(), ((b"authorization", forged),), ((b"authorization", b"  "),)]:
        assert dependencies.rate_limit_caller(scope(*headers)) == "addr:10.0.0.1"


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
    finally:
        client.close()


def test_anonymous_callers_are_limited_by_address(limited_app: FastAPI) -> None:
    client = ApiClient(limited_app)
    try:
        statuses = [client.get("/v1/frameworks").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
    finally:
        client.close()


def _forms(key: str) -> list[dict[str, str]]:
    return [
        {"Authorization": f"Bearer {key}"},
        {"Authorization": f"Bearer  {key}"},
        {"Authorization": f"bearer {key}"},
        {"X-API-Key": key},
        {"Authorization": f"BEARER {key}  "},
        {"X-API-Key": f" {key}"},
    ]


def test_one_key_written_differently_is_one_bucket(
    limited_app: FastAPI, engine: Engine, settings: Settings
) -> None:
    """The bucket is the key's id, not the header text: the same key written six ways gets the
    burst of 3, then 429 whatever the spelling."""
    key = issue_key(engine, settings, Role.evaluator)
    client = ApiClient(limited_app)
    try:
        statuses = [client.get("/v1/namespaces", headers=h).status_code for h in _forms(key)]
        assert statuses == [200, 200, 200, 429, 429, 429]
    finally:
        client.close()


def test_a_valid_key_verified_in_the_database_is_counted_against_its_bucket(
    database_url: str, engine: Engine, settings: Settings
) -> None:
    """With the key cache off every request of a key is verified in the database; each is still
    counted against the key (and the lookups against the address): 3, then 429."""
    app = create_app(make_settings(database_url, rate_limit_per_minute=60, rate_limit_burst=3))
    app.state.rate_limiter.clock = lambda: 1000.0
    app_key_cache = KeyCache()
    app.dependency_overrides[get_key_cache] = lambda: app_key_cache
    app.dependency_overrides[get_auth_settings] = lambda: AuthSettings(api_key_cache_seconds=0)
    key = issue_key(engine, settings, Role.evaluator)
    client = ApiClient(app)
    try:
        statuses = [client.get("/v1/namespaces", headers=h).status_code for h in _forms(key)[:4]]
        assert statuses == [200, 200, 200, 429]
        assert (
            client.get("/v1/namespaces", headers=_forms(key)[3]).json()["errors"][0]["type"]
            == "rate_limited"
        )
    finally:
        client.close()


def test_random_keys_from_one_address_share_its_bucket_with_bounded_lookups(
    limited_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 random well-formed keys from one address: 3 are looked up (401), the other 297 are
    refused with 429 before any database lookup."""
    limited_app_key_cache = KeyCache()
    limited_app.dependency_overrides[get_key_cache] = lambda: limited_app_key_cache
    lookups: list[str] = []
    real = dependencies._verify_sync

    def counting(*args: Any) -> Any:
        lookups.append(args[1])
        return real(*args)

    monkeypatch.setattr(dependencies, "_verify_sync", counting)
    client = ApiClient(limited_app)
    try:
        statuses = [
            client.get(
                "/v1/evaluations",
                headers={"Authorization": f"Bearer isk_{secrets.token_hex(6)}_{'A' * 43}"},
            ).status_code
            for _ in range(300)
        ]
    finally:
        client.close()
    assert statuses[:3] == [401, 401, 401]
    assert set(statuses[3:]) == {429}
    assert len(lookups) == 3
    # a valid key from the same address, once cached, has its own bucket (see the 429 test)


def test_a_refused_key_is_not_looked_up_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch, engine: Engine, settings: Settings
) -> None:
    """Negative cache: the same unknown (or revoked) key sent again is refused without a
    database lookup."""
    app = create_app(make_settings(database_url))
    app_key_cache = KeyCache()
    app.dependency_overrides[get_key_cache] = lambda: app_key_cache
    lookups: list[str] = []
    real = dependencies._verify_sync

    def counting(*args: Any) -> Any:
        lookups.append(args[1])
        return real(*args)

    monkeypatch.setattr(dependencies, "_verify_sync", counting)
    unknown = {"Authorization": f"Bearer isk_{secrets.token_hex(6)}_{'B' * 43}"}
    client = ApiClient(app)
    try:
        for _ in range(20):
            body = assert_problem(client.get("/v1/evaluations", headers=unknown), 401)
            assert body["errors"][0]["type"] == "unknown_key"
    finally:
        client.close()
    assert len(lookups) == 1
