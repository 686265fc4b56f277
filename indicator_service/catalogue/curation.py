"""Curation: fine-grained edits of a draft's document, and file imports into a draft.

An edit reads the draft under the artefact's write lock, checks it is an unsubmitted draft and
the caller's If-Match, applies a pure mutation (:mod:`.edits`, :mod:`.bulk`) to a copy of the
document, validates the result (every problem at once) and writes it with one compare-and-set
of the content hash (:func:`.artefacts.store_draft`). Functions take a ``Session`` and never
commit; auditing is the caller's (:mod:`.service`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from indicator_service.catalogue import artefacts, bulk
from indicator_service.catalogue.artefacts import Kind, VersionRow
from indicator_service.catalogue.edits import EditError
from indicator_service.catalogue.review import KINDS, version_row
from indicator_service.core.errors import (
    Conflict,
    ErrorItem,
    NotFound,
    ServiceError,
    Unprocessable,
    UnsupportedMediaType,
)
from indicator_service.core.i18n import _

Mutation = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Edited:
    """The outcome of an edit: the document before and after, and the new content hash."""

    kind: Kind
    code: str
    version: str
    status: str
    before: dict[str, Any]
    after: dict[str, Any]
    content_hash: str


def as_service_error(exc: EditError) -> ServiceError:
    errors = [ErrorItem(loc=list(e.loc), msg=e.msg, type=e.type) for e in exc.errors]
    if exc.status == 404:
        return NotFound(
            exc.message,
            errors=errors or [ErrorItem(loc=["path"], msg=exc.message, type="not_found")],
        )
    if exc.status == 409:
        return Conflict(exc.message, errors=errors)
    return Unprocessable(exc.message, errors=errors)


def document_of(row: VersionRow) -> dict[str, Any]:
    return copy.deepcopy({**row.document, "version": row.version})


def edit_draft(
    session: Session,
    kind: Kind,
    code: str,
    version: str,
    if_match: str | None,
    mutate: Mutation,
) -> Edited:
    """Apply ``mutate`` to a draft's document: 409 unless an unsubmitted draft, 428/412 on
    If-Match, 404/409/422 from the edit itself, 422 with every problem of the resulting
    document; then an atomic compare-and-set write."""
    row = version_row(session, kind, code, version, lock=True)
    artefacts.require_editable(row)
    expected = artefacts.check_if_match(row, if_match)
    before = document_of(row)
    try:
        after = mutate(copy.deepcopy(before))
    except EditError as exc:
        raise as_service_error(exc) from exc
    return store_document(session, kind, code, row, before, after, expected)


def store_document(
    session: Session,
    kind: Kind,
    code: str,
    row: VersionRow,
    before: dict[str, Any],
    after: dict[str, Any],
    expected: str,
) -> Edited:
    rel = artefacts.store_draft(session, KINDS[kind], code, row, after, expected)
    return Edited(kind, code, rel.version, rel.status, before, rel.document, rel.content_hash)


# --- file imports ---------------------------------------------------------------------------------


def file_error(exc: bulk.FileError) -> ServiceError:
    """Every problem of an unreadable file (each header problem at once), located by sheet, row
    and column."""
    items = []
    for message, row, column in exc.problems:
        loc: list[str | int] = ["body"]
        if exc.sheet is not None:
            loc += ["sheet", exc.sheet]
        if row is not None:
            loc += ["row", row]
        if column is not None:
            loc += ["column", column]
        items.append(ErrorItem(loc=loc, msg=message, type="file"))
    detail = (
        exc.message
        if len(items) == 1
        else _("{message} (and {more} more)", message=exc.message, more=len(items) - 1)
    )
    if exc.status == 415:
        return UnsupportedMediaType(detail, errors=items)
    return Unprocessable(detail, errors=items)


@dataclass(frozen=True)
class FileImport:
    """A file merged into a draft's document: the rows' results and every problem found."""

    row: VersionRow
    expected: str
    fmt: bulk.Format
    before: dict[str, Any]
    after: dict[str, Any]
    results: list[Any]
    row_errors: list[ErrorItem]
    problems: list[ErrorItem]


def merge_file(
    session: Session,
    kind: Kind,
    code: str,
    version: str,
    data: bytes,
    content_type: str | None,
    if_match: str | None,
    validate_only: bool,
) -> FileImport:
    """Parse ``data``, merge it into the draft's document and validate the result (all problems
    at once). Writes nothing; a real import (not ``validate_only``) holds the write lock and has
    passed the If-Match check."""
    row = version_row(session, kind, code, version, lock=not validate_only)
    artefacts.require_editable(row)
    expected = row.content_hash if validate_only else artefacts.check_if_match(row, if_match)
    before = document_of(row)
    try:
        fmt = bulk.format_of(content_type)
        if kind == "framework":
            if fmt not in ("yaml", "json"):
                raise bulk.FileError(
                    415,
                    _("a framework is imported as YAML or JSON (the sheet form is export-only)"),
                )
            after, results = bulk.merge_framework_document(before, bulk.read_document(data, fmt))
        elif fmt in ("csv", "xlsx"):
            after, results = bulk.merge_sheet(before, bulk.read_sheet(data, fmt))
        else:
            after, results = bulk.merge_document(before, bulk.read_document(data, fmt))
    except bulk.FileError as exc:
        raise file_error(exc) from exc
    problems: list[ErrorItem] = []
    row_errors = [
        ErrorItem(
            loc=["body", r.section, r.row, e.column or r.section],
            msg=_(
                "{sheet}row {row}{column}: {msg}",
                sheet=_("sheet {sheet}, ", sheet=r.sheet) if r.sheet else "",
                row=r.row,
                column=_(", column {column}", column=e.column) if e.column else "",
                msg=e.msg,
            ),
            type=e.type,
        )
        for r in results
        for e in r.errors
    ]
    # The document checks run in the same pass, on the document the rows without problems
    # make: a file's every problem is reported at once.
    try:
        KINDS[kind].validate_draft(session, code, row.version, after)
    except Unprocessable as exc:
        problems = exc.errors
    return FileImport(row, expected, fmt, before, after, list(results), row_errors, problems)
