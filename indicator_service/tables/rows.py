"""The rows of a flat table upload: strict CSV text or the first sheet of an XLSX workbook,
checked against :mod:`indicator_service.tables.limits` (rows, columns, cell size). Every parser
failure is a :class:`~indicator_service.core.readers.ReadError` naming the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from indicator_service.core.i18n import _
from indicator_service.core.readers import ReadError
from indicator_service.tables.limits import MAX_CELL_CHARS, MAX_COLUMNS, MAX_ROWS

__all__ = ["ReadError", "csv_lines", "csv_rows", "records", "xlsx_rows"]


def _check_cell(value: Any, line: int, column: int) -> None:
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        raise ReadError(
            _(
                "the cell in column {column} has {n_value} characters; "
                "at most {max_cell_chars} are accepted",
                column=column,
                n_value=len(value),
                max_cell_chars=MAX_CELL_CHARS,
            ),
            line=line,
        )


def _check_row(row: list[Any] | tuple[Any, ...], line: int) -> None:
    if line > MAX_ROWS:
        raise ReadError(_("the table has more than {max_rows} rows", max_rows=MAX_ROWS), line=line)
    if len(row) > MAX_COLUMNS and any(v not in (None, "") for v in row[MAX_COLUMNS:]):
        raise ReadError(_("more than {max_columns} columns", max_columns=MAX_COLUMNS), line=line)
    for i, value in enumerate(row, start=1):
        _check_cell(value, line, i)


def csv_rows(text: str) -> Iterator[list[str]]:
    """The rows of a CSV text (RFC 4180 as Python's ``csv`` reads it, strictly: a bare ``\\r``
    ends a line, a quote must be closed, and a closing quote must end its field), checked
    against the limits. Yields each row; raises :class:`ReadError` naming the line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ReadError(
                _("not readable as CSV: {exc}", exc=exc), line=max(reader.line_num, 1)
            ) from None
        _check_row(row, reader.line_num)
        yield row


def xlsx_rows(data: bytes | io.BytesIO) -> Iterator[tuple[Any, ...]]:
    """The rows (cell values) of the first sheet of an XLSX workbook, checked against the
    limits. An unreadable workbook is a :class:`ReadError`."""
    from openpyxl import load_workbook

    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt file
        raise ReadError(
            _("not a readable XLSX workbook ({name__})", name__=type(exc).__name__)
        ) from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        line = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except ReadError:
                raise
            except Exception as exc:  # broken XML inside the sheet
                raise ReadError(
                    _(
                        "not a readable XLSX workbook ({name__} after row {line})",
                        name__=type(exc).__name__,
                        line=line,
                    )
                ) from exc
            line += 1
            _check_row(row, line)
            yield row
    finally:
        book.close()


def xlsx_first_sheet_name(data: bytes) -> str | None:
    """The name of an XLSX workbook's first sheet (the one :func:`xlsx_rows` reads), or None
    when the workbook cannot be opened (:func:`xlsx_rows` then reports why)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a corrupt file
        return None
    try:
        return str(book.sheetnames[0]) if book.sheetnames else None
    finally:
        book.close()


def records(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, str]]:
    """The data rows of a table as records ``{column: text}`` under ``header`` (``''`` for an
    empty cell; cells beyond the header are dropped, missing ones are absent)."""
    return [
        {h: ("" if v is None else str(v)) for h, v in zip(header, row, strict=False)}
        for row in rows
    ]


def csv_lines(text: str) -> Iterator[list[str]]:
    """The lines of a CSV text as lists of cells, as ``csv.reader`` (default dialect, newline
    "", strict) reads them. A text without quote characters is CSV at its simplest, lines (ended by
    \\r\\n, \\r or \\n) split on commas, and is read so (a fifth faster on a large batch)
    unless a line is longer than the csv module's field limit (whose error is kept). Tested to
    agree on random texts."""
    if '"' not in text:
        flat = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
        lines = flat.split("\n") if flat else []
        if flat.endswith("\n"):
            lines.pop()
        if max(map(len, lines), default=0) <= csv.field_size_limit():
            return iter([line.split(",") if line else [] for line in lines])
    # newline="": the csv module handles \r, \n and \r\n itself (a bare \r is a line break);
    # strict: an unterminated quote or text after a closing quote is an error, not accepted
    return csv.reader(io.StringIO(text, newline=""), strict=True)
