"""Per-caller rate limiting: an in-process token bucket per API key (or per client address).

Each caller has a bucket holding up to ``burst`` tokens, refilled at ``per_minute / 60`` tokens a
second; a request takes one token, and a request finding the bucket empty is refused with a 429
problem carrying ``Retry-After`` (whole seconds until a token is back).

**Who the caller is.** A request whose key this process has verified recently (it is in the key
cache) is counted against that key's id, however the key is written (``Bearer K``,
``bearer  K``, ``X-API-Key: K``). Every other request is counted against its client address: no
key, a malformed key, an unknown or revoked key, and a valid key not verified recently. The last
one, once the database has verified it, is also counted against its key (the authentication
dependency takes that token). So the address bucket is the gate in front of every database
lookup of a key: 300 random keys from one address share one bucket, and a key is never limited
more loosely than its id's bucket allows. The application supplies the identification
(``identify``); without it every request counts against its address.

**Where the buckets live.** Without ``INDICATOR_REDIS_URL`` in the process
(:class:`RateLimiter`): with N replicas (or uvicorn workers) a caller gets up to N times the
configured rate; the table of buckets is a bounded LRU. With it, in Redis
(:class:`RedisRateLimiter`): one bucket per caller for every replica, updated atomically by a Lua
script on Redis's clock. When Redis cannot be reached the limiter fails open: the request is
allowed, a warning is logged, ``indicator_ratelimit_backend_errors_total`` is incremented, and
Redis is not tried again for :data:`REDIS_RETRY_SECONDS` (so an outage costs one timeout, not one
per request).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from indicator_service.core.cache import LRU
from indicator_service.core.errors import ErrorItem, TooManyRequests
from indicator_service.core.i18n import _

# Probes and metrics are never limited: an orchestrator must always see the process.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# scope["state"] key: the bucket the middleware charged for this request.
CHARGED = "rate_limit_caller"

REDIS_TIMEOUT_SECONDS = 0.25
REDIS_RETRY_SECONDS = 5.0

log = logging.getLogger("indicator_service.ratelimit")


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by caller. ``take(caller)`` → 0.0 when allowed, else seconds to wait."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        *,
        max_callers: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0:
            raise ValueError(_("per_minute must be positive (0 means: no limiter at all)"))
        self.rate = per_minute / 60.0
        self.capacity = float(max(burst, 1))
        self.max_callers = max_callers
        self.clock = clock  # seconds, monotonic (tests freeze it)
        self._buckets: LRU[str, _Bucket] = LRU(max_callers)

    def take(self, caller: str) -> float:
        now = self.clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[caller] = bucket
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    async def acquire(self, caller: str) -> float:
        """``take`` for callers that may also be given a :class:`RedisRateLimiter`."""
        return self.take(caller)

    async def aclose(self) -> None:
        return None

    @staticmethod
    def retry_after(wait: float) -> int:
        """The ``Retry-After`` value (whole seconds, at least 1) for a wait in seconds."""
        return max(1, math.ceil(wait))


# One token bucket in a Redis hash, refilled and taken atomically on Redis's clock (replicas'
# clocks play no part). Returns the seconds to wait as a string ("0" when allowed).
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    """The same token buckets, kept in Redis and shared by every replica; fails open."""

    def __init__(
        self,
        url: str,
        per_minute: int,
        burst: int,
        *,
        on_error: Callable[[], None] = lambda: None,
        prefix: str = "indicator:ratelimit:",
        timeout: float = REDIS_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0:
            raise ValueError(_("per_minute must be positive (0 means: no limiter at all)"))
        self.rate = per_minute / 60.0
        self.capacity = float(max(burst, 1))
        self.prefix = prefix
        self.on_error = on_error
        self.clock = clock
        self._redis = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._take = self._redis.register_script(_TAKE)
        self._down_until = 0.0

    async def acquire(self, caller: str) -> float:
        now = self.clock()
        if now < self._down_until:
            return 0.0
        try:
            reply = await self._take(keys=[self.prefix + caller], args=[self.rate, self.capacity])
            return float(reply)
        except (RedisError, OSError, TimeoutError) as exc:
            self._down_until = now + REDIS_RETRY_SECONDS
            self.on_error()
            log.warning(
                "rate limit store (Redis) unavailable, requests are not limited for %g s: %s",
                REDIS_RETRY_SECONDS,
                exc.__class__.__name__,
            )
            return 0.0

    async def aclose(self) -> None:
        await self._redis.aclose()

    retry_after = staticmethod(RateLimiter.retry_after)


Limiter = RateLimiter | RedisRateLimiter


def limited_detail(retry_after: int) -> str:
    return _(
        "Rate limit exceeded for this API key or client; retry in {seconds} s", seconds=retry_after
    )


def limited_errors() -> list[ErrorItem]:
    """The error item of a 429 (in the current language)."""
    return [ErrorItem(loc=["header", "authorization"], msg=_("rate limit"), type="rate_limited")]


def too_many_requests(wait: float) -> TooManyRequests:
    """The 429 problem for a caller who must wait ``wait`` seconds."""
    retry_after = RateLimiter.retry_after(wait)
    return TooManyRequests(
        limited_detail(retry_after),
        errors=limited_errors(),
        headers={"Retry-After": str(retry_after)},
    )


def address_identity(scope: MutableMapping[str, Any]) -> str:
    """The bucket of a request counted by client address."""
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


def key_identity(key_id: int) -> str:
    return f"key:{key_id}"
