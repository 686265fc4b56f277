"""A watchdog for PostgreSQL connections that wait on a database gone silent.

A database that stops answering without closing its connections (a network black hole, a
frozen server, a stalled proxy) leaves a client blocked in a socket read: the server-side
``statement_timeout`` never fires (the statement never arrived, or its answer never comes
back), and TCP keepalives only help when the peer's kernel stops acknowledging. So the service
watches its own connections:

* a pooled connection is *busy* from the moment it is checked out (its ping included) until it
  is checked in;
* when a connection has been busy for longer than ``INDICATOR_DB_STALL_TIMEOUT``, the watchdog
  opens a fresh connection to the database (bounded by ``INDICATOR_DB_CONNECT_TIMEOUT``). If the
  database answers (a completed handshake, or an error such as too many clients), it is alive
  and merely slow: nothing is touched (the server's ``statement_timeout`` bounds slow
  statements). If the attempt times out, the database is silent:
  the socket of every busy connection of that engine is shut down, so each blocked call fails at
  once with a disconnect error, which the request turns into a 503 problem;
* while the database is known to be silent (the last probe failed), any busy connection
  triggers a new probe at the next tick, without waiting for the stall timeout, and is shut
  down if that probe fails too; the first probe that succeeds ends the silence.

Recovery needs nothing: shut-down connections are invalidated by the pool, and the next
checkout connects again. One daemon thread serves every engine of the process; the cost on the
request path is two pool events (a dictionary insert and delete under a lock) per checkout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

TICK_SECONDS = 0.2
"""How often the watchdog looks at busy connections."""


@dataclass(eq=False)
class EngineWatch:
    """What the watchdog knows about one engine: how to probe it and whether it is silent."""

    probe: Callable[[], None]
    """Open and close a fresh connection; raises when the connect timeout runs out (any other
    failure, such as too many clients, is an answer: no exception)."""
    stall_seconds: float
    silent: bool = False
    last_probe: float = float("-inf")
    busy: dict[int, tuple[Any, float]] = field(default_factory=dict)
    """id(connection record) → (DBAPI connection, busy since)."""


class Watchdog:
    """The process-wide watchdog thread (started with the first watched engine)."""

    def __init__(self, *, thread: bool = True) -> None:
        self._lock = threading.Lock()
        # weak: the engine's event listeners keep its watch alive, and nothing else does
        self._engines: weakref.WeakSet[EngineWatch] = weakref.WeakSet()
        self._thread: threading.Thread | None = None
        self._start_thread = thread  # False: ``tick()`` is called by hand (tests)

    def watch(self, watch: EngineWatch) -> None:
        with self._lock:
            self._engines.add(watch)
            if self._thread is None and self._start_thread:
                self._thread = threading.Thread(
                    target=self._run, name="db-stall-watchdog", daemon=True
                )
                self._thread.start()

    def busy(self, watch: EngineWatch, key: int, connection: Any) -> None:
        with self._lock:
            watch.busy[key] = (connection, time.monotonic())

    def idle(self, watch: EngineWatch, key: int) -> None:
        with self._lock:
            watch.busy.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            try:
                self.tick()
            except Exception:  # the watchdog must outlive any surprise
                log.exception("database watchdog tick failed")

    def tick(self) -> None:
        """One look at every engine's busy connections (the thread calls this every tick)."""
        with self._lock:
            engines = list(self._engines)
        for watch in engines:
            now = time.monotonic()
            # a known-silent database is probed for every busy connection (each failed probe
            # takes the connect timeout); a live one at most once per stall timeout
            wait = 0.0 if watch.silent else watch.stall_seconds
            with self._lock:
                overdue = any(now - t > wait for _, t in watch.busy.values())
            if not overdue or now - watch.last_probe < wait:
                continue
            started = watch.last_probe = time.monotonic()
            try:
                watch.probe()
            except Exception as err:
                if not watch.silent:
                    log.warning(
                        "the database does not answer a new connection (%s): closing the "
                        "connections waiting on it",
                        err.__class__.__name__,
                    )
                watch.silent = True
                with self._lock:
                    self._shut_down(watch, busy_before=started)
            else:
                if watch.silent:
                    log.warning("the database answers again")
                watch.silent = False

    @staticmethod
    def _shut_down(watch: EngineWatch, busy_before: float) -> None:
        """Shut down the socket of every connection busy since before ``busy_before``.

        The caller holds the lock, so the pool cannot check in, invalidate or close a connection
        meanwhile (its events wait for the lock); one the driver closed itself is skipped.
        """
        for key, (connection, busy_since) in list(watch.busy.items()):
            if busy_since > busy_before:
                continue
            del watch.busy[key]
            shut_down_socket(connection)


def shut_down_socket(connection: Any) -> None:
    """Shut down the socket of a driver connection (psycopg's, sync or asyncio), so that a call
    blocked on it fails at once; a connection already closed is left alone."""
    with contextlib.suppress(Exception):
        if connection.closed:
            return
        sock = socket.socket(fileno=os.dup(connection.fileno()))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


WATCHDOG = Watchdog()


def install(engine: Engine, *, stall_seconds: float, connect_args: dict[str, Any]) -> EngineWatch:
    """Watch ``engine``'s pooled connections; ping each on checkout (instead of pre-ping).

    The ping is SQLAlchemy's own (``dialect.do_ping``), run inside the busy window so that a
    silent database cannot hold it forever. A failed ping invalidates the pool and retries on a
    new connection, as pre-ping does, unless the watchdog has just found the database silent:
    then the checkout fails at once (a 503), instead of waiting for the connect timeout too.
    """
    dialect = engine.dialect
    cargs, cparams = dialect.create_connect_args(engine.url)
    cparams = {**cparams, **connect_args}

    errors = getattr(dialect.loaded_dbapi, "errors", None)
    no_answer: type[BaseException] = getattr(errors, "ConnectionTimeout", TimeoutError)

    def probe() -> None:
        try:
            dialect.connect(*cargs, **cparams).close()
        except no_answer:
            raise
        except dialect.loaded_dbapi.Error:
            # an answer, if not the one hoped for (too many clients, starting up, connection
            # refused): the connections waiting are not waiting on silence
            pass

    watch = EngineWatch(probe=probe, stall_seconds=stall_seconds)
    WATCHDOG.watch(watch)

    def on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info["dbwatch_fresh"] = True

    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        WATCHDOG.busy(watch, id(record), dbapi_connection)
        if record.info.pop("dbwatch_fresh", False):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            WATCHDOG.idle(watch, id(record))
            if watch.silent:  # the watchdog cut this ping short: a new connection would hang too
                raise exc.OperationalError("ping", None, err, connection_invalidated=True) from err
            raise exc.InvalidatePoolError() from err  # as pre-ping: retry on a new connection

    def on_release(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        WATCHDOG.idle(watch, id(record))

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "checkout", on_checkout)
    for name in ("checkin", "invalidate", "soft_invalidate", "close"):
        event.listen(engine, name, on_release)
    return watch
