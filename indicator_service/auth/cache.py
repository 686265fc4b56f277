"""In-process cache of verified keys, keyed by the key's HMAC, with a short time to live.

A hit skips the database. Revoking a key evicts it from this process's cache at once; other
worker processes keep accepting it until their entry expires (``api_key_cache_seconds``, 30 s
by default; 0 disables the cache).
"""

from __future__ import annotations

import threading
import time

from indicator_service.auth.principal import Principal


class KeyCache:
    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires, principal = entry
        if time.monotonic() >= expires:
            with self._lock:
                self._entries.pop(key_hash, None)
            return None
        return principal

    def put(self, key_hash: str, principal: Principal, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + ttl_seconds, principal)

    def evict_key(self, key_id: int) -> None:
        with self._lock:
            stale = [h for h, (_, p) in self._entries.items() if p.key_id == key_id]
            for h in stale:
                del self._entries[h]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


KEY_CACHE = KeyCache()
