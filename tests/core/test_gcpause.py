from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from indicator_service.app import create_app
from indicator_service.core.gcpause import freeze_heap, gc_paused
from tests.helpers import ApiClient, make_settings


def test_pause_nests_and_restores() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer section is still running
    assert gc.isenabled()


def test_pause_restores_after_an_exception() -> None:
    try:
        with gc_paused():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_threads_share_one_pause() -> None:
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gc_paused():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    inside.wait(5)
    with gc_paused():
        pass
    assert not gc.isenabled()  # the other thread's section has not ended
    release.set()
    t.join(5)
    assert gc.isenabled()


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # back to ordinary generations: the rest of the run is collected as before


def test_the_lifespan_freezes_the_heap_it_starts_with(unfrozen: None, database_url: str) -> None:
    app = create_app(make_settings(database_url, gc_freeze_at_start=True))
    client = ApiClient(app)
    try:
        assert gc.get_freeze_count() == 0
        with client.lifespan():
            frozen = gc.get_freeze_count()
            assert frozen > 10_000  # modules, classes, the app: what starting built
            assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > frozen // 2  # left frozen (less what refcounting freed)
    finally:
        client.close()


def test_the_freeze_can_be_turned_off(unfrozen: None, database_url: str) -> None:
    app = create_app(make_settings(database_url, gc_freeze_at_start=False))
    client = ApiClient(app)
    try:
        with client.lifespan():
            assert gc.get_freeze_count() == 0
    finally:
        client.close()


def test_freeze_heap_collects_first_then_freezes(unfrozen: None) -> None:
    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    alive = weakref.ref(a)
    del a, b
    frozen = freeze_heap()
    assert alive() is None  # collected before the freeze, not kept by it
    assert frozen == gc.get_freeze_count() > 0
