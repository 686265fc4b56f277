"""Writing tables whose cells spreadsheet programs open safely (every CSV and XLSX the service
writes).

A text cell that starts with ``=``, ``+``, ``-``, ``@`` (or their full-width forms), a tab or a
carriage return is read as a formula by spreadsheet programs when the CSV is opened (CSV
injection, OWASP). Such text is written with a leading single quote, as spreadsheet programs
expect (``'=1+2`` shows as ``=1+2`` and is not evaluated); numbers are written as numbers and
stay numbers (``-5`` is not touched). In XLSX every text cell is written as a string cell, which
is never a formula, so the text stays exactly as it is; characters XML cannot carry (C0
controls) become U+FFFD instead of failing the whole file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

#: First characters that make a spreadsheet program read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def csv_cell(value: Any) -> Any:
    """``value`` for a CSV cell: text that would start a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_uncell(text: str) -> str:
    """The text a neutralised CSV cell stands for (``'=1+2`` → ``=1+2``), as spreadsheet
    programs show it: an exported sheet imports back unchanged."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Iterable[Any]]) -> None:
    """A CSV file (lines ended by ``\\n``) of ``header`` and neutralised ``rows``. A row with a
    carriage return in a cell is written fully quoted: the csv module quotes only the characters
    of its line terminator, and a bare CR left unquoted ends the line for every reader."""
    plain = csv.writer(out, lineterminator="\n")
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    plain.writerow(header)
    for values in rows:
        row = csv_row("" if v is None else v for v in values)
        cr = any(isinstance(v, str) and "\r" in v for v in row)
        (quoted if cr else plain).writerow(row)


def xlsx_text(value: Any) -> Any:
    """``value`` for an XLSX cell: text without the characters XML cannot carry."""
    return _ILLEGAL_XML.sub("\ufffd", value) if isinstance(value, str) else value


def xlsx_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """Cells for ``sheet.append`` (a write-only sheet): text as string cells (never formulas)."""
    from openpyxl.cell import WriteOnlyCell

    out: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=xlsx_text(value))
            cell.data_type = "s"
            out.append(cell)
        else:
            out.append(value)
    return out


def csv_bytes(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """A whole CSV table (UTF-8, lines ended by ``\\n``) written by :func:`write_csv`."""
    buf = io.StringIO()
    write_csv(buf, header, rows)
    return buf.getvalue().encode("utf-8")


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """A workbook of one sheet ``title`` (cut to Excel's 31 characters): ``header`` then
    ``rows``, every text a string cell (a value such as ``=HYPERLINK(…)`` never becomes a
    formula in the reader's spreadsheet program). Written in openpyxl's write-only mode."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(header))
    for values in rows:
        sheet.append(xlsx_row(sheet, values))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
