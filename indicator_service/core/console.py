"""Console helpers of the command-line interface, shared by every sub-command.

A sub-command reports a failure by raising :class:`CommandError` (one line on stderr, exit code
``code``); :func:`report` turns the other exceptions a command may meet (a service error with
its items, an unreachable database) into the same kind of message; :func:`progress` draws a
progress bar on stderr. Nothing here imports the top-level ``indicator_service.cli``, so every
package's ``cli`` module can use it.
"""

from __future__ import annotations

import sys
from typing import TextIO

from indicator_service.core.errors import ServiceError


class CommandError(Exception):
    """A failure to report to the user as one line, with exit code ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def report(exc: BaseException, err: TextIO | None = None) -> int | None:
    """Print ``exc`` as a clear message on ``err`` (stderr) and return the exit code, or
    ``None`` when it is not a failure a command reports (a bug: the caller re-raises it)."""
    out = err if err is not None else sys.stderr
    if isinstance(exc, CommandError):
        print(f"error: {exc}", file=out)
        return exc.code
    if isinstance(exc, ServiceError):
        print(f"error: {exc.detail}", file=out)
        for item in exc.errors:
            print(f"  {'.'.join(str(p) for p in item.loc)}: {item.msg}", file=out)
        return 2
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError):
        print(f"error: database unreachable: {exc.orig}", file=out)
        return 2
    return None


def progress(done: int, total: int, what: str = "scoring", err: TextIO | None = None) -> None:
    """A progress bar on stderr (``what [####......] done/total``), ended by a newline when
    ``done`` reaches ``total``."""
    out = err if err is not None else sys.stderr
    width = 30
    filled = int(width * done / total) if total else width
    out.write(f"\r{what} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        out.write("\n")
    out.flush()
