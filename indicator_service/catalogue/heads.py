"""Which catalogue versions exist, in memory: the map every cached catalogue read starts from.

Published (and deprecated) versions never change their content, so what is read from them is
cached in-process (the framework releases, namespace documents, indicators and standards of a
version, each in a :class:`~indicator_service.core.cache.LRU` keyed by the version's id and
content hash). What *can* change is which versions exist and their status: a draft is
published (the "latest" of a namespace or framework moves), a published version is deprecated.
That is this module's :class:`Heads`: every version row's id, number, status and content hash,
read with one small query and kept per database engine.

**How fresh it is.** A snapshot is reloaded when it is older than
``INDICATOR_CATALOGUE_REFRESH_SECONDS`` (2 s by default; 0 reloads it on every read). A commit
in this process that writes a namespace or framework version row (publish, approve, deprecate,
draft writes, ``catalog import``) drops the snapshot of its engine at once (an ORM flush marks
the session, the commit clears it). Another replica learns of the change at the next reload:
**within the refresh interval** (while requests are being answered from memory, the first to
find the snapshot three quarters through its interval starts its reload in the background,
``core.database.RENEW_AHEAD``, and the requests keep the snapshot until that reload is done:
tens of milliseconds under load; one that finds it past the whole interval waits for the reload,
starting it after a quiet spell). Until then it serves the previous latest version (a
consistent, published one) and shows a version deprecated elsewhere as still published; pinned
reads of a version it does not know yet, and every read of a draft, go to the database.

One unit of work (a session) keeps the snapshot it first read, so its reads agree with each
other, until it writes version rows itself (it then reads them, uncached, until it commits).

A read that finds its version here as published or deprecated costs no database query once its
content is cached (:func:`heads`, then the content caches of ``frameworks.py``,
``namespaces.py`` and ``indicators.py``); a read this map cannot answer (unknown code, unknown
version, a draft) takes the database path as before, with its 404s.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import CompoundSelect, event, literal, null, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from indicator_service.catalogue.artefacts import PUBLISHED, READABLE
from indicator_service.catalogue.models import (
    CatalogueFramework,
    CatalogueFrameworkVersion,
    CatalogueNamespace,
    CatalogueNamespaceVersion,
)
from indicator_service.core.database import (
    MEMORY_ONLY,
    RENEW_AHEAD,
    SmallReads,
    read_rows,
    renew_in_background,
)

DEFAULT_REFRESH_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class VersionHead:
    """One version row: enough to find its cached content and to tag a response."""

    id: int
    code: str
    version: str
    status: str
    content_hash: str
    number: tuple[int, int, int]

    @property
    def readable(self) -> bool:
        """Published or deprecated: immutable content, served from memory."""
        return self.status in READABLE

    @property
    def tag(self) -> str:
        """What identifies this version's content and status in an ETag."""
        return f"{self.code}@{self.version}:{self.status}:{self.content_hash}"


def _latest(rows: Iterable[VersionHead]) -> dict[str, VersionHead]:
    best: dict[str, VersionHead] = {}
    for h in rows:
        if h.status == PUBLISHED and (h.code not in best or h.number > best[h.code].number):
            best[h.code] = h
    return best


@dataclass(frozen=True)
class Heads:
    """A snapshot of every namespace and framework version (see the module's docstring)."""

    namespaces: dict[str, dict[str, VersionHead]]  # code → version → head
    frameworks: dict[str, dict[str, VersionHead]]
    prefixes: dict[str, str]  # indicator code prefix → namespace code
    latest_namespaces: dict[str, VersionHead]  # code → latest published (sorted by code)
    latest_frameworks: dict[str, VersionHead]
    loaded_at: float

    @staticmethod
    def _readable(
        versions: dict[str, VersionHead] | None,
        latest: VersionHead | None,
        version: str | None,
    ) -> VersionHead | None:
        if versions is None:
            return None
        head = latest if version is None else versions.get(version)
        return head if head is not None and head.readable else None

    def namespace(self, code: str, version: str | None) -> VersionHead | None:
        """The published or deprecated version (latest published when None); None when this
        snapshot cannot answer from memory (unknown, or a draft): read the database."""
        return self._readable(self.namespaces.get(code), self.latest_namespaces.get(code), version)

    def framework(self, code: str, version: str | None) -> VersionHead | None:
        return self._readable(self.frameworks.get(code), self.latest_frameworks.get(code), version)

    def namespace_of(self, indicator_code: str) -> str | None:
        return self.prefixes.get(indicator_code.split("-", 1)[0])

    @cached_property
    def namespaces_tag(self) -> str:
        """A digest of every readable namespace version: what any indicator or standard
        look-up can read (drafts excluded: no read of published data sees them)."""
        return etag(*(h.tag for vs in self.namespaces.values() for h in vs.values() if h.readable))

    def namespaces_with(self, version: str) -> list[VersionHead] | None:
        """Every namespace's version ``version``, when all of them are readable (else None)."""
        found = [vs[version] for vs in self.namespaces.values() if version in vs]
        return found if all(h.readable for h in found) else None


#: The read of a snapshot: every version row's small columns with its code, namespaces (kind
#: "n", with their indicator code prefix) and frameworks ("f"), in one statement (one round
#: trip, one consistent view of the database).
HEADS: CompoundSelect[Any] = union_all(
    sa_select(
        literal("n").label("kind"),
        col(CatalogueNamespace.code).label("code"),
        col(CatalogueNamespace.code_prefix).label("prefix"),
        col(CatalogueNamespaceVersion.id).label("id"),
        col(CatalogueNamespaceVersion.version).label("version"),
        col(CatalogueNamespaceVersion.status).label("status"),
        col(CatalogueNamespaceVersion.content_hash).label("content_hash"),
        col(CatalogueNamespaceVersion.major).label("major"),
        col(CatalogueNamespaceVersion.minor).label("minor"),
        col(CatalogueNamespaceVersion.patch).label("patch"),
    ).join(
        CatalogueNamespaceVersion,
        col(CatalogueNamespaceVersion.namespace_id) == col(CatalogueNamespace.id),
    ),
    sa_select(
        literal("f"),
        col(CatalogueFramework.code),
        null(),
        col(CatalogueFrameworkVersion.id),
        col(CatalogueFrameworkVersion.version),
        col(CatalogueFrameworkVersion.status),
        col(CatalogueFrameworkVersion.content_hash),
        col(CatalogueFrameworkVersion.major),
        col(CatalogueFrameworkVersion.minor),
        col(CatalogueFrameworkVersion.patch),
    ).join(
        CatalogueFrameworkVersion,
        col(CatalogueFrameworkVersion.framework_id) == col(CatalogueFramework.id),
    ),
)


def load_heads(session: Session, clock: Callable[[], float] = time.monotonic) -> Heads:
    """Read the snapshot: one query over the version rows' small columns."""
    loaded_at = clock()
    return heads_from_rows(session.execute(HEADS).all(), loaded_at)


def heads_from_rows(rows: Iterable[Any], loaded_at: float) -> Heads:
    """The snapshot of the rows of :data:`HEADS`."""
    namespaces: dict[str, dict[str, VersionHead]] = {}
    prefixes: dict[str, str] = {}
    ns_heads = []
    frameworks: dict[str, dict[str, VersionHead]] = {}
    fw_heads = []
    for kind, code, prefix, id_, version, status, chash, ma, mi, pa in sorted(rows, key=_by_code):
        h = VersionHead(id_, code, version, status, chash, (ma, mi, pa))
        if kind == "n":
            namespaces.setdefault(code, {})[version] = h
            prefixes[prefix] = code
            ns_heads.append(h)
        else:
            frameworks.setdefault(code, {})[version] = h
            fw_heads.append(h)
    return Heads(
        namespaces=namespaces,
        frameworks=frameworks,
        prefixes=prefixes,
        latest_namespaces=_latest(ns_heads),
        latest_frameworks=_latest(fw_heads),
        loaded_at=loaded_at,
    )


def _by_code(row: Any) -> str:
    return str(row[1])


class HeadsCache:
    """The snapshot of one database engine, reloaded when older than ``refresh_seconds``."""

    def __init__(
        self,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.refresh_seconds = refresh_seconds
        self.clock = clock  # seconds, monotonic (tests drive it)
        self.loads = 0  # how many times the snapshot was read (tests, metrics)
        self._heads: Heads | None = None
        self._lock = threading.Lock()
        self._claimed_at: float | None = None  # when a request in the loop went to reload
        self._generation = 0  # incremented by invalidate(): a read begun before is not kept
        # the read of a missing snapshot under way in an event loop: its loop and when it ends
        self._first: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        # the reload of a stale snapshot under way in an event loop (renew), and its loop
        self._running: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def get(self, session: Session) -> Heads:
        current, generation = self._heads, self._generation
        now = self.clock()
        if current is not None and now - current.loaded_at < self.refresh_seconds:
            return current
        # One reload at a time for the requests in the event loop: the first to find the
        # snapshot stale goes to the database (load_heads raises NeedsDatabase in a memory
        # session) and reloads it there; the ones behind it keep the snapshot while that reload
        # runs — at most one more refresh interval — instead of all going to the thread pool at
        # once (which made the tail latency under load).
        if current is not None and session.info.get(MEMORY_ONLY) and not self._claim(now):
            return current
        # (in a memory session this raises NeedsDatabase with the claim kept: the request goes
        # on to the thread pool and reloads it there, in a database session)
        fresh = load_heads(session, self.clock)
        self._store(current, generation, fresh)
        return fresh

    async def renew(self, engine: Engine, small_reads: SmallReads | None) -> None:
        """Reload the snapshot when it is due, before a read from memory (:func:`renew`): its
        query is read from the event loop on PostgreSQL (``core.database.read_rows``), so the
        read itself then runs in the loop and nothing waits in the thread pool. From
        ``RENEW_AHEAD`` of the interval the first request to find it so starts the reload in the
        background and goes on with the snapshot, as the others do until the reload is done; a
        request that finds it past its whole interval waits for the reload (starting it if
        none is under way; a reload it did not start that fails leaves it the old snapshot). A
        missing one, one request reads and the others wait for it (:meth:`_read_missing`)."""
        if self.refresh_seconds <= 0:  # read with every read, in the read's own session
            return
        current, generation = self._heads, self._generation
        now = self.clock()
        if current is None:
            await self._read_missing(engine, small_reads, generation, now)
            return
        age = now - current.loaded_at
        if age < self.refresh_seconds * RENEW_AHEAD:
            return
        loop = asyncio.get_running_loop()
        overdue = age >= self.refresh_seconds
        if not self._claim(now):  # being reloaded: past the interval, wait for the reload
            running = self._running
            if overdue and running is not None and running[0] is loop:
                with contextlib.suppress(Exception):  # its failure is its claimer's to answer
                    await asyncio.shield(running[1])
            return
        task = renew_in_background(
            self._reload(engine, small_reads, current, generation, now),
            "the renewal of the map of catalogue versions",
        )
        self._running = (loop, task)
        task.add_done_callback(self._reload_ended)
        if overdue:  # no request came since RENEW_AHEAD of the interval: wait for it
            await asyncio.shield(task)

    def _reload_ended(self, task: asyncio.Future[None]) -> None:
        if self._running is not None and self._running[1] is task:
            self._running = None

    async def _reload(
        self,
        engine: Engine,
        small_reads: SmallReads | None,
        current: Heads,
        generation: int,
        claimed_at: float,
    ) -> None:
        try:
            rows = await read_rows(engine, small_reads, HEADS)
        except BaseException:
            with self._lock:  # release this claim, not another's
                if self._claimed_at == claimed_at:
                    self._claimed_at = None
            raise
        self._store(current, generation, heads_from_rows(rows, claimed_at))

    async def _read_missing(
        self, engine: Engine, small_reads: SmallReads | None, generation: int, now: float
    ) -> None:
        """With no snapshot at all (at start, after a local commit of a version row), one
        request of the event loop reads it and the others wait for that read instead of each
        reading it (a burst of identical reads on the small reads' two connections). A waiter
        whose reader failed or was cancelled goes on without a snapshot: its read then takes the
        database path, as a read that memory cannot answer does."""
        loop = asyncio.get_running_loop()
        first = self._first
        if first is not None and first[0] is loop and not first[1].done():
            await asyncio.shield(first[1])  # a waiter cancelled leaves the read alone
            return
        done: asyncio.Future[None] = loop.create_future()
        self._first = (loop, done)
        try:
            rows = await read_rows(engine, small_reads, HEADS)
            self._store(None, generation, heads_from_rows(rows, now))
        finally:
            if self._first is not None and self._first[1] is done:
                self._first = None
            done.set_result(None)

    def _claim(self, now: float) -> bool:
        """Claim the reload of a stale snapshot; False while another request's claim (made less
        than an interval ago) stands."""
        with self._lock:
            claimed = self._claimed_at
            if claimed is not None and now - claimed < self.refresh_seconds:
                return False
            self._claimed_at = now
            return True

    def _store(self, current: Heads | None, generation: int, fresh: Heads) -> None:
        with self._lock:
            self.loads += 1
            self._claimed_at = None
            # a snapshot dropped by a commit while this one was read is not restored, nor one
            # replaced meanwhile by another reload
            if self._generation == generation and self._heads is current:
                self._heads = fresh

    def invalidate(self) -> None:
        with self._lock:
            self._heads = None
            self._generation += 1


_CACHES: weakref.WeakKeyDictionary[Engine, HeadsCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def heads_cache(engine: Engine) -> HeadsCache:
    """The snapshot cache of ``engine`` (one per engine: one per application and database)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = HeadsCache()
        return cache


def configure(engine: Engine, refresh_seconds: float) -> HeadsCache:
    """Set the refresh interval of ``engine``'s snapshot (``create_app`` does, from settings)."""
    cache = heads_cache(engine)
    cache.refresh_seconds = refresh_seconds
    return cache


def _engine_of(session: OrmSession) -> Engine | None:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else getattr(bind, "engine", None)


async def renew(engine: Engine, small_reads: SmallReads | None) -> None:
    """Reload ``engine``'s snapshot if it is due (:meth:`HeadsCache.renew`): called before a
    read or score is tried from memory (``core.database.memory_first``), so that the snapshot's
    renewal does not send the whole read to the thread pool."""
    await heads_cache(engine).renew(engine, small_reads)


def heads(session: Session) -> Heads:
    """The current snapshot for the session's database; one unit of work (a session) sees
    one snapshot until it writes version rows itself."""
    known: Heads | None = session.info.get(_SNAPSHOT)
    if known is not None:
        return known
    engine = _engine_of(session)
    if engine is None or session.info.get(_CHANGED):
        # this transaction wrote version rows it has not committed: read them, cache nothing
        return load_heads(session)
    snapshot = heads_cache(engine).get(session)
    session.info[_SNAPSHOT] = snapshot
    return snapshot


def etag(*parts: object) -> str:
    """A strong entity tag for a response built from ``parts`` (the request's own words and
    the :attr:`VersionHead.tag` of every version it reads)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()
    return digest[:32]


# --- invalidation on commit -----------------------------------------------------------------------

_CHANGED = "catalogue_versions_changed"
_SNAPSHOT = "catalogue_heads"
_VERSION_MODELS = (CatalogueNamespaceVersion, CatalogueFrameworkVersion)


@event.listens_for(OrmSession, "after_flush")
def _mark_version_writes(session: OrmSession, _flush_context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _VERSION_MODELS):
            session.info[_CHANGED] = True
            session.info.pop(_SNAPSHOT, None)
            return


@event.listens_for(OrmSession, "after_commit")
def _drop_snapshot(session: OrmSession) -> None:
    session.info.pop(_SNAPSHOT, None)
    if session.info.pop(_CHANGED, False):
        engine = _engine_of(session)
        if engine is not None:
            heads_cache(engine).invalidate()


@event.listens_for(OrmSession, "after_rollback")
def _forget_mark(session: OrmSession) -> None:
    session.info.pop(_CHANGED, None)
    session.info.pop(_SNAPSHOT, None)
