"""Per-caller rate limiting: an in-process token bucket per API key (or per client address).

Each caller has a bucket holding up to ``burst`` tokens, refilled at ``per_minute / 60`` tokens a
second; a request takes one token, and a request finding the bucket empty is refused with a 429
problem carrying ``Retry-After`` (whole seconds until a token is back).

The caller is the credential sent (``Authorization: Bearer …`` or ``X-API-Key``), identified by a
SHA-256 digest of it so the key text is never kept; requests without a credential are counted by
client address. The limiter runs before authentication, so a forged key is limited like any
other credential (and is then refused with 401).

State lives in the process: with N replicas (or uvicorn workers) a caller gets up to N times the
configured rate. The table of buckets is bounded (least recently used buckets are dropped).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

# Probes and metrics are never limited: an orchestrator must always see the process.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


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
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, caller: str) -> float:
        now = self.clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[caller] = bucket
            if len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
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


def caller_identity(headers: list[tuple[bytes, bytes]], client: tuple[str, int] | None) -> str:
    """The bucket name for a request: a digest of the credential sent, else the client address."""
    credential = b""
    for name, value in headers:
        if name == b"authorization" or name == b"x-api-key":
            credential = value.strip()
            if credential:
                break
    if credential:
        return "key:" + hashlib.sha256(credential).hexdigest()[:32]
    host = client[0] if client else "unknown"
    return "addr:" + host
