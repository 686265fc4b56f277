"""Owner-scoped stored records: one record by id, or a page of them, limited to what the caller
may read.

Stored evaluations, target reviews, monitoring records and rectifications are tables with an
``id``, an owner key and a region; who may read a record is a list of SQL conditions (the rule
of :func:`indicator_service.scoring.ownership.owned_or_in_scope`, with the caller's own
additions). Reading by id answers a record the caller may not read as if it did not exist (404
whether it exists or not: ids of other callers' records reveal nothing); a list applies the
same conditions after the caller's filters. One query for a record, two for a page (the count
and the rows)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from indicator_service.core.errors import ErrorItem, NotFound
from indicator_service.core.i18n import _


class Stored(Protocol):
    """A stored record with an integer id (a SQLModel table class)."""

    id: int | None


R = TypeVar("R", bound=Stored)


def find_owned(
    session: Session,
    model: type[R],
    record_id: int,
    readable: Sequence[ColumnElement[bool]],
    *,
    lock: bool = False,
) -> R | None:
    """The record ``record_id`` of ``model`` if the ``readable`` conditions keep it, else None
    (``lock``: ``SELECT … FOR UPDATE``)."""
    query = select(model).where(col(model.id) == record_id, *readable)
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def get_owned(
    session: Session,
    model: type[R],
    record_id: int,
    readable: Sequence[ColumnElement[bool]],
    detail: str,
    *,
    param: str,
    lock: bool = False,
) -> R:
    """:func:`find_owned`, or a 404 with ``detail`` and an error item on the path parameter
    ``param`` — whether the record exists or not."""
    row = find_owned(session, model, record_id, readable, lock=lock)
    if row is None:
        raise NotFound(
            detail, errors=[ErrorItem(loc=["path", param], msg=_("not found"), type="not_found")]
        )
    return row


def equal_to(*pairs: tuple[Any, Any]) -> list[ColumnElement[bool]]:
    """``column == value`` for each (column, value) whose value is given (None: no filter)."""
    return [column == value for column, value in pairs if value is not None]


def owned_page(
    session: Session,
    model: type[R],
    conditions: Sequence[Any],
    *,
    limit: int,
    offset: int,
) -> tuple[int, Sequence[R]]:
    """How many records meet ``conditions`` (the caller's filters and its read rule), and the
    ``limit`` of them from ``offset`` on, in id order."""
    total = session.exec(select(func.count()).select_from(model).where(*conditions)).one()
    rows = session.exec(
        select(model).where(*conditions).order_by(col(model.id)).limit(limit).offset(offset)
    ).all()
    return int(total), rows
