"""Database engine, sessions and migrations.

One rule for transactions: a unit of work (an HTTP request or a CLI command) gets one session;
it commits when the work finishes and rolls back if anything raises. Services never commit.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, Row, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import Executable
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

from indicator_service.core import dbwatch
from indicator_service.core.errors import ServiceUnavailable
from indicator_service.core.i18n import _
from indicator_service.core.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def make_engine(settings: Settings) -> Engine:
    """Create the SQLAlchemy engine for the configured URL (SQLite file or PostgreSQL).

    PostgreSQL connections get a connect timeout, TCP keepalives (with TCP_USER_TIMEOUT) and a
    server-side statement timeout, and are watched for a database that goes silent
    (``core/dbwatch.py``, which also pings each connection on checkout); waiting for a pooled
    connection is bounded by ``db_pool_timeout``. SQLite waits ``db_busy_timeout`` for a lock.
    """
    url = settings.database_url
    kwargs: dict[str, Any] = {"echo": settings.db_echo}
    if url.startswith("sqlite"):
        kwargs["pool_pre_ping"] = True
        if make_url(url).database not in (None, "", ":memory:"):  # a file: a QueuePool
            kwargs["pool_timeout"] = settings.db_pool_timeout
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": settings.db_busy_timeout}
        _ensure_sqlite_parent(url)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(settings.db_busy_timeout))
        return engine
    connect_args = postgres_connect_args(settings)
    kwargs["pool_size"] = settings.db_pool_size
    kwargs["max_overflow"] = settings.db_pool_size
    kwargs["pool_timeout"] = settings.db_pool_timeout
    kwargs["connect_args"] = connect_args
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "postgresql":
        dbwatch.install(engine, stall_seconds=settings.db_stall_timeout, connect_args=connect_args)
    return engine


def postgres_connect_args(settings: Settings) -> dict[str, Any]:
    """libpq parameters: connect timeout, keepalives, TCP_USER_TIMEOUT, statement_timeout."""
    idle, interval, count = (
        settings.db_keepalives_idle,
        settings.db_keepalives_interval,
        settings.db_keepalives_count,
    )
    args: dict[str, Any] = {
        "connect_timeout": settings.db_connect_timeout,
        "keepalives": 1,
        "keepalives_idle": idle,
        "keepalives_interval": interval,
        "keepalives_count": count,
        "tcp_user_timeout": (idle + interval * count) * 1000,
    }
    if settings.db_statement_timeout > 0:
        args["options"] = f"-c statement_timeout={round(settings.db_statement_timeout * 1000)}"
    return args


def _ensure_sqlite_parent(url: str) -> None:
    path = url.split("///", 1)[-1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(busy_timeout: float) -> Any:
    busy_ms = round(busy_timeout * 1000)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    return on_connect


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (CLI and background work)."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# --- memory first: reads of published data without the thread pool ------------------------------
#
# Published catalogue data is immutable and held in memory after its first read
# (catalogue/heads.py, the per-version caches). A read that memory can answer needs neither a
# connection nor the thread pool; handing it to a worker thread anyway costs more than the read
# (three hand-offs with a yield-dependency session) and, under concurrent CPU-bound requests,
# makes the event loop wait for the GIL behind the workers (the p99 of issue #21).
# :func:`memory_first` therefore runs such work in the event loop with a session that refuses to
# reach the database, and only when the work needs a query runs it again from the start in the
# thread pool with an ordinary session. The work must be a read (no effect before its first
# query) and bounded (it runs on the loop).

T = TypeVar("T")

#: ``session.info`` key of a session that must not reach the database.
MEMORY_ONLY = "memory_only"


class NeedsDatabase(Exception):
    """Raised when a memory-only session is asked to execute a statement."""


@event.listens_for(OrmSession, "do_orm_execute")
def _refuse_in_memory(state: ORMExecuteState) -> None:
    # do_orm_execute runs before the session procures a connection: nothing is checked out.
    if state.session.info.get(MEMORY_ONLY):
        raise NeedsDatabase(str(state.statement)[:80])


@contextmanager
def memory_session(engine: Engine) -> Iterator[Session]:
    """A session over ``engine`` that raises :class:`NeedsDatabase` instead of querying (its
    ``get_bind()`` is still ``engine``, so per-engine caches find their data)."""
    with Session(engine, expire_on_commit=False, info={MEMORY_ONLY: True}) as session:
        yield session


async def memory_first(
    engine: Engine, work: Callable[..., T], *args: Any, in_loop: bool = True
) -> T:
    """``work(session, *args)``: in the event loop with a memory-only session; if that needs
    the database (or ``in_loop`` is false: too large for the loop), in the thread pool with a
    session that commits on success (as :func:`get_session`)."""
    if in_loop:
        try:
            with memory_session(engine) as session:
                return work(session, *args)
        except NeedsDatabase:
            pass
    return await run_in_threadpool(_with_session, engine, work, *args)


def _with_session(engine: Engine, work: Callable[..., T], *args: Any) -> T:
    with session_scope(engine) as session:
        return work(session, *args)


# --- small reads from the event loop ------------------------------------------------------------
#
# Two reads keep the in-memory path current: the map of catalogue versions (catalogue/heads.py)
# and the API-key revocation check (auth/dependencies.py), each one query of a few rows every 2 s.
# Handed to the thread pool while the event loop is busy scoring, such a read waits for the GIL
# at each of its driver calls (up to the 5 ms switch interval each), and so did the request that
# waited for it: 30-150 ms, the p99 of POST /v1/score under 8 clients (issue #21). On PostgreSQL
# they are therefore read by an asyncio connection (psycopg's, through SQLAlchemy's asyncio
# engine) in the event loop itself. Each await of the request that reads them waits for its turn
# behind the requests being scored, so a read is one statement on an autocommit connection taken
# from the pool without a ping: one round trip (a connection found broken is replaced and the
# read tried once more). SQLite (the embedded default) keeps the thread pool: its driver has no
# asyncio interface.


@dataclass
class _Read:
    """One small read in flight: its driver connection once it has one."""

    connection: Any = None
    abandoned: bool = False  # answered 503: not tried again, its connection cut


@dataclass
class SmallReads:
    """The asyncio engine of :func:`read_rows`, the bound on one of its reads and the reads in
    flight (each kept referenced until it ends)."""

    engine: AsyncEngine
    timeout: float  # seconds: db_stall_timeout + db_connect_timeout
    in_flight: dict[asyncio.Future[Any], _Read] = field(default_factory=dict)

    def abandon(self, read: asyncio.Future[Any]) -> None:
        """Give ``read`` up: shut its connection's socket down (``dbwatch.shut_down_socket``),
        so that it fails at once and the pool replaces the connection, instead of holding one
        of the two until the database or the TCP timeout ends it."""
        state = self.in_flight.get(read)
        if state is not None:
            state.abandoned = True
            if state.connection is not None:
                dbwatch.shut_down_socket(state.connection)

    async def dispose(self) -> None:
        for read in list(self.in_flight):
            self.abandon(read)
        if self.in_flight:  # cut: each ends at once with its error (retrieved)
            await asyncio.wait(list(self.in_flight), timeout=self.timeout)
        await self.engine.dispose()


def make_small_reads_engine(settings: Settings) -> SmallReads | None:
    """The asyncio engine of :func:`read_rows` on PostgreSQL (None on SQLite): a pool of two
    autocommit connections with the libpq parameters of the main engine. Made in the event loop
    that uses it (the app's lifespan) and disposed there: asyncio connections belong to their
    loop."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        return None
    engine = create_async_engine(
        url.set(drivername="postgresql+psycopg_async"),
        pool_size=2,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout,
        isolation_level="AUTOCOMMIT",
        echo=settings.db_echo,
        connect_args={**postgres_connect_args(settings), "application_name": SMALL_READS_NAME},
    )
    # the stall watchdog (core/dbwatch.py) watches the main engine's connections only; a small
    # read is bounded as a request in flight is there: stall timeout + connect timeout
    return SmallReads(engine, settings.db_stall_timeout + settings.db_connect_timeout)


#: ``application_name`` of the connections of :func:`make_small_reads_engine` (pg_stat_activity).
SMALL_READS_NAME = "indicator-service small reads"


async def read_rows(
    engine: Engine, small_reads: SmallReads | None, statement: Executable
) -> Sequence[Row[Any]]:
    """The rows of ``statement`` (a small SELECT): from the event loop through
    ``small_reads`` when there is one (PostgreSQL, under the app's lifespan), in the thread pool
    through ``engine`` otherwise.

    A small read with no answer within its bound (a database gone silent) is answered 503 and
    given up: its connection's socket is shut down (:meth:`SmallReads.abandon`), so the read
    fails at once and the pool replaces the connection. (Cancelling the read instead made
    psycopg wait up to 10 s more to cancel the query on the silent server; leaving it running
    held one of the two connections until the database or a TCP timeout ended it.)"""
    if small_reads is None:
        return await run_in_threadpool(_read_rows_sync, engine, statement)
    state = _Read()
    read = asyncio.ensure_future(_read_rows_retried(small_reads.engine, statement, state))
    small_reads.in_flight[read] = state
    read.add_done_callback(partial(_read_ended, small_reads.in_flight))
    done, _pending = await asyncio.wait({read}, timeout=small_reads.timeout)
    if read in done:
        return read.result()
    small_reads.abandon(read)
    log.warning("no answer from the database within %g s (small read)", small_reads.timeout)
    raise ServiceUnavailable(
        _("The database is not reachable; try again shortly"), headers={"Retry-After": "2"}
    )


#: How far into its interval a periodic small read (the map of catalogue versions, the check of
#: revoked keys) is started ahead of time, by the first request that finds it so, in the
#: background (:func:`renew_in_background`): it is done before the interval has passed, and no
#: request waits for it. (Under load a read in the event loop waits behind the requests being
#: served at each of its steps: 60-140 ms for the request that waited for it, measured with
#: ``bench_load.py --tail``.) One found past its whole interval is still read before the
#: request goes on, as the bound requires.
RENEW_AHEAD = 0.75

# The renewals under way, kept referenced until they end (the loop keeps weak references only).
_RENEWALS: set[asyncio.Future[None]] = set()


def renew_in_background(renewal: Coroutine[Any, Any, None], what: str) -> asyncio.Future[None]:
    """Run ``renewal`` (a periodic small read and what it updates) as a task of the running
    loop that no request waits for (a request past the interval may: ``asyncio.shield`` it),
    in a context of its own (not the request's that started it: its log lines are not that
    request's); its failure is logged and left to the next request, which tries it again
    (:data:`RENEW_AHEAD`). :func:`cancel_renewals` ends the loop's renewals at shutdown."""
    task = asyncio.get_running_loop().create_task(renewal, context=contextvars.Context())
    _RENEWALS.add(task)
    task.add_done_callback(partial(_renewal_ended, what))
    return task


def _renewal_ended(what: str, task: asyncio.Future[None]) -> None:
    _RENEWALS.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s failed (the next request tries again): %r", what, task.exception())


async def cancel_renewals() -> None:
    """Cancel the renewals under way in the running loop and wait for them to end (the app's
    lifespan, before it disposes of the small reads' connections)."""
    loop = asyncio.get_running_loop()
    mine = [t for t in _RENEWALS if t.get_loop() is loop and not t.done()]
    for task in mine:
        task.cancel()
    await asyncio.gather(*mine, return_exceptions=True)


async def _read_rows_retried(
    small_reads: AsyncEngine, statement: Executable, state: _Read
) -> Sequence[Row[Any]]:
    try:
        return await _read_rows_async(small_reads, statement, state)
    except DBAPIError as exc:
        # not a connection lost since its last use, or a read given up
        if not exc.connection_invalidated or state.abandoned:
            raise
        return await _read_rows_async(small_reads, statement, state)


async def _read_rows_async(
    small_reads: AsyncEngine, statement: Executable, state: _Read
) -> Sequence[Row[Any]]:
    async with small_reads.connect() as conn:
        state.connection = (await conn.get_raw_connection()).driver_connection
        if state.abandoned:  # given up while it waited for the connection
            dbwatch.shut_down_socket(state.connection)
        return (await conn.execute(statement)).all()


def _read_ended(in_flight: dict[asyncio.Future[Any], _Read], read: asyncio.Future[Any]) -> None:
    """Forget an ended read and mark its outcome as seen, also when no request waits for it any
    more (asyncio would report it as never retrieved)."""
    in_flight.pop(read, None)
    if not read.cancelled() and read.exception() is not None:
        log.debug("small read failed: %r", read.exception())


def _read_rows_sync(engine: Engine, statement: Executable) -> Sequence[Row[Any]]:
    with engine.connect() as conn:
        return conn.execute(statement).all()


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    """Request-scoped session: committed when the handler returns, rolled back on error."""
    with session_scope(request.app.state.engine) as session:
        yield session


# scope="function": the session commits when the handler returns, *before* the response is sent.
# (FastAPI's default scope for yield dependencies runs the teardown after the response has gone
# out: a client could see 201 for a write that was not yet committed — or never was, when the
# commit fails — and a read on another replica right after would not find it.)
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
EngineDep = Annotated[Engine, Depends(get_engine)]


def alembic_config(database_url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (the only way the schema is created or changed)."""
    from alembic import command

    if database_url.startswith("sqlite"):
        _ensure_sqlite_parent(database_url)
    command.upgrade(alembic_config(database_url), revision)


@lru_cache(maxsize=1)
def _heads() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(script.get_heads())


def head_revisions() -> set[str]:
    """The head revision(s) of the migration scripts shipped with this code."""
    return set(_heads())


def current_revisions(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


# SQLSTATEs of a transaction the database aborted because of a concurrent one: deadlock detected,
# serialization failure. The database is reachable; the request lost a race and changed nothing.
TRANSACTION_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})


def is_transaction_conflict(exc: BaseException) -> bool:
    """True when ``exc`` (a SQLAlchemy ``DBAPIError`` or a driver error) is a deadlock or a
    serialization failure: answered 409 (retry), not 503 "unreachable"."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) in TRANSACTION_CONFLICT_SQLSTATES


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
