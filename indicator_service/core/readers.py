"""Reading untrusted files (uploads and request bodies): one place for the limits, and every
parser failure turned into a :class:`ReadError` that names the line.

Readers of tables (CSV, the first sheet of an XLSX workbook) stop at :data:`MAX_ROWS` rows and
refuse cells longer than :data:`MAX_CELL_CHARS`; readers of documents (JSON, YAML) refuse
nesting deeper than :data:`MAX_DEPTH`, integers longer than Python converts (4,300 digits) and
YAML aliases (an alias bomb of a few hundred bytes expands to gigabytes). Nothing here knows
about HTTP: callers turn :class:`ReadError` into their own 4xx answer.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import yaml

from indicator_service.core.errors import bounded

#: Rows of a table (the header included; blank rows count: they cost as much to read).
MAX_ROWS = 20_001
#: Characters of one table cell (Excel's own limit of a cell).
MAX_CELL_CHARS = 32_767
#: Columns of a table.
MAX_COLUMNS = 500
#: Nesting of a JSON or YAML document (objects and arrays, mappings and sequences).
MAX_DEPTH = 64
#: Digits of an integer in a JSON or YAML document (Python's conversion limit).
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300


class ReadError(ValueError):
    """A file that cannot be read: ``message`` starts with the line when it is known."""

    def __init__(self, message: str, line: int | None = None, column: str | None = None) -> None:
        text = f"line {line}: {message}" if line is not None else message
        super().__init__(text)
        self.message = text
        self.line = line
        self.column = column


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _long_integer_line(text: str) -> int | None:
    match = re.search(rf"\d{{{MAX_INT_DIGITS + 1},}}", text)
    return _line_of(text, match.start()) if match else None


def _check_cell(value: Any, line: int, column: int) -> None:
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        raise ReadError(
            f"the cell in column {column} has {len(value)} characters; at most "
            f"{MAX_CELL_CHARS} are accepted",
            line=line,
        )


def _check_row(row: list[Any] | tuple[Any, ...], line: int) -> None:
    if line > MAX_ROWS:
        raise ReadError(f"the table has more than {MAX_ROWS} rows", line=line)
    if len(row) > MAX_COLUMNS and any(v not in (None, "") for v in row[MAX_COLUMNS:]):
        raise ReadError(f"more than {MAX_COLUMNS} columns", line=line)
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
            raise ReadError(f"not readable as CSV: {exc}", line=max(reader.line_num, 1)) from None
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
        raise ReadError(f"not a readable XLSX workbook ({type(exc).__name__})") from exc
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
                    f"not a readable XLSX workbook ({type(exc).__name__} after row {line})"
                ) from exc
            line += 1
            _check_row(row, line)
            yield row
    finally:
        book.close()


# --- documents ------------------------------------------------------------------------------------


def _depth_line(text: str) -> int | None:
    """The line where a JSON text first nests deeper than :data:`MAX_DEPTH` (strings skipped)."""
    depth = 0
    in_string = escaped = False
    for pos, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return _line_of(text, pos)
        elif ch in "]}":
            depth -= 1
    return None


def _too_deep(value: Any) -> bool:
    """True when ``value`` nests deeper than :data:`MAX_DEPTH` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def load_json(text: str) -> Any:
    """A JSON document, or :class:`ReadError` naming the line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        line = _depth_line(text)
        raise ReadError(f"nested deeper than {MAX_DEPTH} levels", line=line) from None
    except ValueError:  # an integer beyond Python's conversion limit
        line = _long_integer_line(text)
        raise ReadError(f"an integer longer than {MAX_INT_DIGITS} digits", line=line) from None
    if _too_deep(value):
        raise ReadError(f"nested deeper than {MAX_DEPTH} levels", line=_depth_line(text))
    return value


class _UntrustedYamlLoader(yaml.SafeLoader):
    """``SafeLoader`` without aliases and with bounded nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ReadError(
                "YAML aliases (*name) are not accepted: write the value out",
                line=event.start_mark.line + 1,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()
                raise ReadError(
                    f"nested deeper than {MAX_DEPTH} levels", line=event.start_mark.line + 1
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str) -> Any:
    """One YAML document (safe tags only, no aliases), or :class:`ReadError` naming the line."""
    loader = _UntrustedYamlLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ReadError(
            f"invalid YAML: {problem}", line=mark.line + 1 if mark is not None else None
        ) from None
    except RecursionError:
        raise ReadError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        if isinstance(exc, ReadError):
            raise
        line = _long_integer_line(text)
        if line is not None:
            raise ReadError(f"an integer longer than {MAX_INT_DIGITS} digits", line=line) from None
        raise ReadError(f"invalid YAML value: {bounded(str(exc), 200)}") from None
    finally:
        loader.dispose()
