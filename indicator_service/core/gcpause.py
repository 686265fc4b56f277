"""Pausing Python's cyclic garbage collector around allocation-heavy work, and freezing the
heap a process starts with.

A 10,000-submission batch allocates millions of small objects (parsed JSON, validated models)
that stay alive until the response is written. Each young collection then re-examines them and
the periodic full collections walk the whole heap: measured, that tripled the time to validate
a 51 MB batch. Reference counting still frees everything that is not in a cycle; the collector
is re-enabled (and its thresholds untouched) when the last paused section ends, so concurrent
batches in the thread pool share one pause.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off (nesting and threads share one pause)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


def freeze_heap() -> int:
    """Collect once, then move every object alive now out of the collector's reach
    (``gc.freeze``); how many objects are frozen.

    A served process starts with about 200,000 tracked objects (modules, classes, the app, its
    routes and schemas) that live as long as it does. Every full collection walked all of them:
    under 8 clients scoring, one every 10-20 s stopped the event loop for 110-140 ms (measured
    with a ``gc.callbacks`` probe), the slowest requests of ``bench_load.py --tail``. Frozen, they
    are no longer walked; reference counting still frees any of them that is dropped (only a
    frozen object that ends up in a reference cycle stays until exit). Called once, by the app's
    lifespan when it starts (``INDICATOR_GC_FREEZE_AT_START``), before any request is in flight.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
