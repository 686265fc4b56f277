"""Console helpers of the command-line interface, shared by every sub-command.

A sub-command reports a failure by raising :class:`CommandError` (one line on stderr, exit code
``code``); :func:`report` turns the other exceptions a command may meet (invalid settings in the
environment, a service error with its items, an unreachable database) into the same kind of
message; :func:`progress` draws a
progress bar on stderr. Nothing here imports the top-level ``indicator_service.cli``, so every
package's ``cli`` module can use it.
"""

from __future__ import annotations

import sys
from typing import TextIO, TypeGuard

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from indicator_service.core.errors import ServiceError
from indicator_service.core.i18n import _


class CommandError(Exception):
    """A failure to report to the user as one line, with exit code ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def report(exc: BaseException, err: TextIO | None = None) -> int | None:
    """Print ``exc`` as a clear message on ``err`` (stderr) and return the exit code, or
    ``None`` when it is not a failure a command reports (a bug: the caller re-raises it)."""
    out = err if err is not None else sys.stderr
    if is_settings_error(exc):
        exc = settings_error(exc)
    if isinstance(exc, CommandError):
        print(f"error: {exc}", file=out)
        return exc.code
    if isinstance(exc, ServiceError):
        print(f"error: {exc.detail}", file=out)
        for item in exc.errors:
            print(f"  {'.'.join(str(p) for p in item.loc)}: {item.msg}", file=out)
        return 2
    from sqlalchemy.exc import OperationalError, ProgrammingError

    if isinstance(exc, OperationalError | ProgrammingError) and _no_such_table(exc):
        message = _(
            "the database has no tables yet, or older ones ({error}): "
            "run `indicator-service db upgrade` first",
            error=str(exc.orig).strip().splitlines()[0],
        )
        print(f"error: {message}", file=out)
        return 2
    if isinstance(exc, OperationalError):
        message = _("database unreachable: {error}", error=exc.orig)
        print(f"error: {message}", file=out)
        return 2
    return None


def _no_such_table(exc: Exception) -> bool:
    """A statement on a table the database does not have: a database not migrated (SQLite says
    "no such table", PostgreSQL answers SQLSTATE 42P01, undefined table)."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "42P01" or "no such table" in str(orig)


def settings_error(exc: ValidationError) -> CommandError:
    """Invalid ``INDICATOR_*`` variables (the validation error of a settings class) as one line
    naming each variable, exit code 2."""
    problems = "; ".join(
        f"INDICATOR_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
    )
    return CommandError(_("invalid settings: {problems}", problems=problems), 2)


def is_settings_error(exc: BaseException) -> TypeGuard[ValidationError]:
    """Whether ``exc`` is the validation error of a settings class (read from the environment:
    the user's to fix, not a bug), whichever command read the settings."""
    if not isinstance(exc, ValidationError):
        return False
    classes: list[type] = [BaseSettings]
    while classes:
        cls = classes.pop()
        if cls.__name__ == exc.title:
            return True
        classes.extend(cls.__subclasses__())
    return False


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
