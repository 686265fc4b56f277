"""The one cache type (a bounded, locked LRU) and the caches built on it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import pytest

from indicator_service import rules
from indicator_service.auth.cache import KeyCache
from indicator_service.auth.models import Role
from indicator_service.auth.principal import Principal
from indicator_service.catalogue import frameworks as catalogue_frameworks
from indicator_service.catalogue import indicators as catalogue_indicators
from indicator_service.core.cache import LRU
from indicator_service.core.ratelimit import RateLimiter
from indicator_service.scoring import lookup, prepare


def _principal(i: int) -> Principal:
    return Principal(key_id=i, name=f"k{i}", role=Role.client, namespaces=("*",))


def test_lru_drops_the_least_recently_used_entry_only() -> None:
    lru: LRU[str, int] = LRU(3)
    for i, k in enumerate("abc"):
        lru[k] = i
    assert lru.get("a") == 0  # "a" is now the most recently used
    lru["d"] = 3
    assert lru.get("b") is None
    assert [lru.get(k) for k in "acd"] == [0, 2, 3]
    assert len(lru) == 3
    assert lru.pop_where(lambda k, _v: k in "ac") == 2
    assert len(lru) == 1
    assert lru.get_or_set("e", lambda: 9) == 9
    assert lru.get_or_set("e", lambda: 10) == 9
    with pytest.raises(ValueError, match="positive"):
        LRU(0)


def test_lru_is_safe_under_threads() -> None:
    lru: LRU[int, int] = LRU(8)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def doubled(k: int) -> Callable[[], int]:
        return lambda: k * 2

    def work(seed: int) -> None:
        try:
            start.wait()
            for i in range(4000):
                k = (seed * 7 + i) % 32
                lru.get_or_set(k, doubled(k))
                assert lru.get(k) in (None, k * 2)
                if i % 5 == 0:
                    lru.pop((k + 1) % 32)
                if i % 97 == 0:
                    lru.pop_where(lambda key, _v: key % 3 == 0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(lru) <= 8


def test_the_key_cache_drops_one_entry_when_full_not_all() -> None:
    """Before: a full key cache emptied itself, so 10,001 keys meant every key was looked up
    again."""
    cache = KeyCache(max_entries=3)
    for i in range(3):
        cache.put(f"h{i}", _principal(i), 30)
    assert cache.get("h0") is not None
    cache.put("h3", _principal(3), 30)
    assert len(cache) == 3
    assert cache.get("h1") is None  # the least recently used one
    assert [cache.get(h) is not None for h in ("h0", "h2", "h3")] == [True, True, True]


def test_the_key_cache_expires_entries_on_its_clock() -> None:
    now = [100.0]
    cache = KeyCache(clock=lambda: now[0])
    cache.put("h", _principal(1), 30)
    now[0] += 29.9
    assert cache.get("h") is not None
    now[0] += 0.2
    assert cache.get("h") is None
    cache.refuse("bad", "The API key is not recognised", "unknown_key")
    assert cache.refused("bad") == ("The API key is not recognised", "unknown_key")
    now[0] += 3600
    assert cache.refused("bad") is None


@pytest.mark.parametrize(
    "cache",
    [
        catalogue_frameworks._FRAMEWORK_CACHE,
        catalogue_indicators._PUBLISHED_INDICATORS,
        lookup._RELEASE_DOCS,
    ],
    ids=["frameworks", "published indicators", "release documents"],
)
def test_module_level_caches_are_bounded(cache: Any) -> None:
    """Keys come from callers (pinned versions): the caches must not grow without bound."""
    assert isinstance(cache, LRU)
    saved = [(k, cache.get(k)) for k in list(cache._data)]
    try:
        for i in range(cache.maxsize + 50):
            cache[("X", f"{i}.0.0", "h")] = object()
        assert len(cache) == cache.maxsize
    finally:
        cache.clear()
        for k, v in saved:
            cache[k] = v


def test_compiled_trees_and_structures_are_lru() -> None:
    """The compiled-tree cache kept the entry used again and dropped the least recently used."""
    fw = lookup.ResolvedFramework("X", "1.0.0", cast(Any, None))
    trees = {name: _tiny_tree(target) for name, target in (("a", 95.0), ("b", 90.0), ("c", 80.0))}
    compiled = prepare.TreeCache(size=2)
    first = compiled.compiled(fw, trees["a"])
    second = compiled.compiled(fw, trees["b"])
    assert compiled.compiled(fw, trees["a"]) is first  # "a" used again
    compiled.compiled(fw, trees["c"])
    assert compiled.compiled(fw, trees["a"]) is first
    assert compiled.compiled(fw, trees["b"]) is not second  # dropped, so compiled anew
    assert len(compiled) == 2
    structures = lookup.StructureCache(size=2)
    assert isinstance(structures, LRU)
    assert isinstance(prepare.TREE_CACHE._d, LRU)


def test_rate_limit_buckets_are_an_lru() -> None:
    limiter = RateLimiter(per_minute=60, burst=1, max_callers=2, clock=lambda: 0.0)
    assert isinstance(limiter._buckets, LRU)
    limiter.take("a")
    limiter.take("b")
    limiter.take("a")  # "a" is the most recently used: "b" goes next
    limiter.take("c")
    assert limiter.take("a") > 0.0  # still empty: its bucket was kept
    assert limiter.take("b") == 0.0  # dropped, so a fresh bucket


def _tiny_tree(target: float = 95.0) -> rules.Tree:
    return rules.Tree((rules.Leaf("x", 10, {"kind": "higher_better"}, target=target),))
