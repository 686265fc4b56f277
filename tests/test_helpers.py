"""The test helpers' own behaviour where a mistake would hang or mislead the suite."""

from __future__ import annotations

import asyncio
import threading

import anyio.to_thread
from anyio._backends._asyncio import _root_task  # the root task AnyIO ties its workers to

from tests.helpers import stop_orphaned_worker_threads


def _workers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "AnyIO worker thread" and t.is_alive()}


def _orphan_a_worker() -> set[threading.Thread]:
    """A loop in this (main, non-daemon) thread closed while the root task of its worker thread
    is still pending: the worker waits on its queue forever."""
    before = _workers()
    loop = asyncio.new_event_loop()

    async def hold() -> None:
        await asyncio.sleep(3600)

    holder = loop.create_task(hold())

    async def use() -> None:
        _root_task.set(holder)
        await anyio.to_thread.run_sync(lambda: None)

    loop.run_until_complete(use())
    loop.close()
    # closed on purpose under the pending task (a private Task attribute typeshed does not declare)
    holder._log_destroy_pending = False  # type: ignore[attr-defined]
    return _workers() - before


def test_orphaned_worker_threads_are_stopped() -> None:
    orphans = _orphan_a_worker()
    assert orphans
    assert not any(t.daemon for t in orphans)  # what would hang the exit
    assert stop_orphaned_worker_threads() >= len(orphans)
    for thread in orphans:
        thread.join(timeout=5)
        assert not thread.is_alive()
