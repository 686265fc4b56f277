"""In-process caches of key verification, per process (one per application).

* Verified keys, keyed by the key's HMAC, for ``api_key_cache_seconds`` (30 s by default; 0
  disables it). A hit skips the database.
* Refused keys (unknown or revoked), keyed the same way, for :data:`REFUSED_TTL_SECONDS`: the same
  bad key sent again is refused without a database lookup. (A key created later cannot have the
  HMAC of a key refused earlier: keys carry 256 random bits.)

**Revocation.** Revoking a key evicts it from the revoking process's cache at once (and again
when the revoking transaction commits). Every other process notices within
``api_key_revocation_check_seconds`` (2 s by default): on a cache hit, when three quarters of
that have passed since its last check (``core.database.RENEW_AHEAD``), a process asks the
database in the background which keys were revoked since then (one query over ``api_key``; at
most one at a time per process) and evicts them; a request that finds the whole interval passed
(after a quiet spell) waits for the check. Revocation times
are compared with a margin of :data:`CLOCK_SKEW_SECONDS`, so replicas' clocks must agree to
within that.

Both caches are :class:`indicator_service.core.cache.LRU` maps: bounded, locked, least recently
used dropped first.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from indicator_service.auth.principal import Principal
from indicator_service.core.cache import LRU
from indicator_service.core.database import RENEW_AHEAD

REFUSED_TTL_SECONDS = 60.0
CLOCK_SKEW_SECONDS = 60.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, eq=False)
class RevocationCheck:
    """A check of revoked keys to run (:meth:`KeyCache.claim_revocation_check`)."""

    since: datetime  # look up the keys revoked from then on
    overdue: bool  # the whole interval has passed since the last check: wait for one
    claimed: bool  # this caller's to run (False: another's is under way)
    started: float  # the cache's clock when claimed
    started_wall: datetime


class KeyCache:
    def __init__(
        self,
        max_entries: int = 10_000,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._entries: LRU[str, tuple[float, Principal]] = LRU(max_entries)
        self._refused: LRU[str, tuple[float, str, str]] = LRU(max_entries)
        self.clock = clock  # seconds, monotonic (tests drive it)
        self.wall_clock = wall_clock
        self._check_lock = threading.Lock()
        self._checked_at = clock()
        self._checked_wall = wall_clock()
        self._checking: RevocationCheck | None = None  # the claim of the check under way
        # the check being run in an event loop, and that loop (for the requests that wait)
        self.running: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    # --- verified keys -----------------------------------------------------------------------

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires, principal = entry
        if self.clock() >= expires:
            self._entries.pop(key_hash)
            return None
        return principal

    def put(self, key_hash: str, principal: Principal, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            return
        self._entries.put(key_hash, (self.clock() + ttl_seconds, principal))

    def evict_key(self, key_id: int) -> None:
        self._entries.pop_where(lambda _h, entry: entry[1].key_id == key_id)

    def evict_keys(self, key_ids: Iterable[int]) -> int:
        ids = set(key_ids)
        if not ids:
            return 0
        return self._entries.pop_where(lambda _h, entry: entry[1].key_id in ids)

    # --- refused keys ------------------------------------------------------------------------

    def refused(self, key_hash: str) -> tuple[str, str] | None:
        """``(detail, error type)`` of a key refused recently, or None."""
        entry = self._refused.get(key_hash)
        if entry is None:
            return None
        expires, detail, type_ = entry
        if self.clock() >= expires:
            self._refused.pop(key_hash)
            return None
        return detail, type_

    def refuse(self, key_hash: str, detail: str, type_: str) -> None:
        self._refused.put(key_hash, (self.clock() + REFUSED_TTL_SECONDS, detail, type_))

    # --- revocation checks -------------------------------------------------------------------

    def claim_revocation_check(self, interval: float) -> RevocationCheck | None:
        """The check due, if one is: from ``RENEW_AHEAD`` of ``interval`` since the last
        completed check. Claimed for the caller (``claimed``) unless another caller's claim,
        made less than two intervals ago, stands (a claim older than that is taken as lost: its
        outcome no longer counts). ``overdue`` when the whole interval has passed: the caller
        must not trust a cached key before a check has completed. None when not due."""
        now = self.clock()
        with self._check_lock:
            age = now - self._checked_at
            if age < interval * RENEW_AHEAD:
                return None
            since = self._checked_wall - timedelta(seconds=CLOCK_SKEW_SECONDS)
            current = self._checking
            if current is not None and now - current.started < 2 * interval:
                return RevocationCheck(since, age >= interval, False, now, self.wall_clock())
            check = RevocationCheck(since, age >= interval, True, now, self.wall_clock())
            self._checking = check
            return check

    def revocation_check_done(
        self, check: RevocationCheck, revoked_key_ids: Iterable[int] | None
    ) -> None:
        """Record the outcome of ``check``: the ids it found revoked (evicted here), or None
        when it failed. A claimed check that succeeded becomes the last completed one; a claimed
        check's claim is released either way (the next cache hit tries again after a failure).
        Idempotent: a claim released already, or replaced, is left alone."""
        with self._check_lock:
            if self._checking is check:
                self._checking = None
                if revoked_key_ids is not None:
                    self._checked_at, self._checked_wall = check.started, check.started_wall
        if revoked_key_ids is not None:
            self.evict_keys(revoked_key_ids)

    def clear(self) -> None:
        self._entries.clear()
        self._refused.clear()

    def __len__(self) -> int:
        return len(self._entries)


KEY_CACHE = KeyCache()
"""The process's cache, used by applications that do not override ``get_key_cache``."""


def get_key_cache() -> KeyCache:
    """The dependency: the process's key cache. Tests give an application instance its own (as
    separate processes have) with ``app.dependency_overrides[get_key_cache] = lambda: cache``."""
    return KEY_CACHE


def key_cache(app: Any) -> KeyCache:
    """The key cache of an application: its override of ``get_key_cache``, else the process's.
    Read this way because the rate-limit middleware needs it outside of FastAPI's dependencies."""
    provider = app.dependency_overrides.get(get_key_cache, get_key_cache)
    cache = provider()
    if not isinstance(cache, KeyCache):
        raise TypeError("an override of get_key_cache must return a KeyCache")
    return cache
