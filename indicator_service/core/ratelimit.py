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

State lives in the process: with N replicas (or uvicorn workers) a caller gets up to N times the
configured rate. The table of buckets is a bounded LRU (least recently used buckets are dropped).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from indicator_service.core.cache import LRU
from indicator_service.core.errors import ErrorItem, TooManyRequests

# Probes and metrics are never limited: an orchestrator must always see the process.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# scope["state"] key: the bucket the middleware charged for this request.
CHARGED = "rate_limit_caller"


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
            raise ValueError("per_minute must be positive (0 means: no limiter at all)")
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

    @staticmethod
    def retry_after(wait: float) -> int:
        """The ``Retry-After`` value (whole seconds, at least 1) for a wait in seconds."""
        return max(1, math.ceil(wait))


def limited_detail(retry_after: int) -> str:
    return f"Rate limit exceeded for this API key or client; retry in {retry_after} s"


LIMITED_ERRORS = [ErrorItem(loc=["header", "authorization"], msg="rate limit", type="rate_limited")]


def too_many_requests(wait: float) -> TooManyRequests:
    """The 429 problem for a caller who must wait ``wait`` seconds."""
    retry_after = RateLimiter.retry_after(wait)
    return TooManyRequests(
        limited_detail(retry_after),
        errors=LIMITED_ERRORS,
        headers={"Retry-After": str(retry_after)},
    )


def address_identity(scope: MutableMapping[str, Any]) -> str:
    """The bucket of a request counted by client address."""
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


def key_identity(key_id: int) -> str:
    return f"key:{key_id}"
