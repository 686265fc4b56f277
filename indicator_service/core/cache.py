"""The one in-process cache of the service: a bounded, thread-safe LRU map.

Handlers run in the thread pool, so a cache shared between requests is used by several threads
at once; and a cache keyed by anything a caller sends must be bounded. Every module-level cache
(verified API keys, published frameworks and indicators, compiled scoring trees, prepared
submission structures, rate-limit buckets) is an :class:`LRU`: a ``cachetools.LRUCache`` behind a
lock. When full it drops the least recently used entry, never everything at once.

Values are computed outside the lock (``get_or_set``): two threads missing the same key may both
compute it, and the last one stored wins; cached values are immutable, so either is right.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

from indicator_service.core.i18n import _

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A bounded least-recently-used map, safe to share between threads."""

    def __init__(self, maxsize: int) -> None:
        if maxsize <= 0:
            raise ValueError(_("maxsize must be positive"))
        self._data: LRUCache[K, V] = LRUCache(maxsize)
        self._lock = threading.Lock()

    @property
    def maxsize(self) -> int:
        return int(self._data.maxsize)

    def get(self, key: K) -> V | None:
        """The value stored under ``key`` (marking it recently used), or None."""
        with self._lock:
            return self._data.get(key)

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value

    def put(self, key: K, value: V) -> None:
        self[key] = value

    def get_or_set(self, key: K, compute: Callable[[], V]) -> V:
        """The cached value, or ``compute()`` stored and returned (computed outside the lock)."""
        hit = self.get(key)
        if hit is not None:
            return hit
        value = compute()
        self[key] = value
        return value

    def pop(self, key: K) -> V | None:
        with self._lock:
            return self._data.pop(key, None)

    def pop_where(self, predicate: Callable[[K, V], bool]) -> int:
        """Remove every entry for which ``predicate(key, value)`` holds; how many were removed."""
        with self._lock:
            stale = [k for k, v in self._data.items() if predicate(k, v)]
            for k in stale:
                del self._data[k]
            return len(stale)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data
