"""Counting what a request asks of the database: statements sent and connections checked out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass
class DatabaseUse:
    statements: list[str] = field(default_factory=list)
    checkouts: int = 0

    @property
    def none(self) -> bool:
        return not self.statements and self.checkouts == 0


@contextmanager
def database_use(engine: Engine) -> Iterator[DatabaseUse]:
    """Record every statement ``engine`` executes and every pooled connection it hands out
    while the block runs."""
    use = DatabaseUse()

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        use.statements.append(statement)

    def on_checkout(*_args: Any) -> None:
        use.checkouts += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "checkout", on_checkout)
    try:
        yield use
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "checkout", on_checkout)
