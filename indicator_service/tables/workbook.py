"""Whole table files as grids of cells: XLSX and old XLS (python-calamine; cached formula values
are read, never evaluated, and the formula text of XLSX cells is kept), CSV in UTF-8 (with or
without BOM) or GB18030/GBK (detected; comma or tab separated). Each visible worksheet is one
:class:`Sheet`; hidden sheets and chart sheets are skipped.

A file is checked before it is parsed in full (:mod:`indicator_service.tables.limits`): its
size, an XLSX's parts and expansion (zip bombs, a sheet of a million empty rows), the sheets,
rows, columns and cells of the workbook. Every failure is a :class:`WorkbookError` saying what
is wrong in 中文 and English, with the HTTP status it calls for (413 too large, else 422).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from indicator_service.core.i18n import _
from indicator_service.tables.limits import (
    MAX_CELLS,
    MAX_FILE_BYTES,
    MAX_PART_BYTES,
    MAX_RATIO,
    MAX_SHEET_GRID_COLUMNS,
    MAX_SHEET_GRID_ROWS,
    MAX_SHEET_ROWS,
    MAX_SHEETS,
    MAX_UNCOMPRESSED_BYTES,
    MAX_ZIP_ENTRIES,
)


class WorkbookError(Exception):
    """The file as a whole cannot be read; ``message`` in the language of the request
    (core/i18n.py); ``status`` 413 (too large) or 422; ``type`` a short machine-readable kind
    (``too_large``, ``encoding``, ``xlsx``, …)."""

    def __init__(self, message: str, type_: str, status: int = 422) -> None:
        super().__init__(message)
        self.message, self.type, self.status = message, type_, status


@dataclass
class Sheet:
    """A sheet's cells as a grid of absolute rows (0-based); values are str, float, int, bool
    or other scalars; '' for an empty cell."""

    name: str
    rows: list[list[Any]]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # XLSX: (r, c) → text
    _mapped: dict[Any, list[list[Any]]] = field(default_factory=dict, repr=False, compare=False)

    def cell(self, r: int, c: int) -> Any:
        if 0 <= r < len(self.rows):
            row = self.rows[r]
            if 0 <= c < len(row):
                return row[c]
        return ""

    def mapped(self, fn: Callable[[Any], Any]) -> list[list[Any]]:
        """The grid with ``fn`` applied to every cell, computed once per sheet and function
        (a reader's normalised labels, looked up many times)."""
        grid = self._mapped.get(fn)
        if grid is None:
            grid = self._mapped[fn] = [[fn(v) for v in row] for row in self.rows]
        return grid


XLSX = "xlsx"
XLS = "xls"
CSV = "csv"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARKS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))


def sniff(raw: bytes) -> str:
    """The file's kind from its first bytes: xlsx (a zip), xls (OLE2) or csv."""
    if raw[:4] == b"PK\x03\x04":
        return XLSX
    if raw[:8] == _OLE_MAGIC:
        return XLS
    return CSV


def decode_csv(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")
    for enc in encodings:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise WorkbookError(_("the file contains NUL characters: not a CSV text"), "nul")
        return text
    raise WorkbookError(
        _("the CSV file is neither UTF-8 nor GB18030/GBK: save it as CSV UTF-8 or GBK"), "encoding"
    )


def _csv_rows(text: str) -> list[list[Any]]:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows: list[list[Any]] = []
    try:
        for line in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows.append(line)
            if len(rows) > MAX_SHEET_GRID_ROWS:
                raise _too_many_rows("CSV")
            if len(line) > MAX_SHEET_GRID_COLUMNS:
                raise _too_many_columns("CSV")
    except csv.Error as exc:
        raise WorkbookError(
            _("CSV line {value} is not readable: {exc}", value=len(rows) + 1, exc=exc), "csv"
        ) from exc
    return rows


def _too_many_rows(sheet: str) -> WorkbookError:
    return WorkbookError(
        _(
            "sheet {sheet!r} has more than {max_sheet_grid_rows} rows: "
            "a form has a few dozen; delete the rest",
            sheet=sheet,
            max_sheet_grid_rows=MAX_SHEET_GRID_ROWS,
        ),
        "too_many_rows",
        413,
    )


def _too_many_sheets(n: int) -> WorkbookError:
    return WorkbookError(
        _("the workbook has {n} sheets, more than {max_sheets}", n=n, max_sheets=MAX_SHEETS),
        "too_many_sheets",
        413,
    )


def _too_many_columns(sheet: str) -> WorkbookError:
    return WorkbookError(
        _(
            "sheet {sheet!r} has more than {max_sheet_grid_columns} columns",
            sheet=sheet,
            max_sheet_grid_columns=MAX_SHEET_GRID_COLUMNS,
        ),
        "too_many_columns",
        413,
    )


def _check_zip(raw: bytes) -> None:
    """Refuse a zip bomb, a truncated archive or one of too many parts before parsing it."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise WorkbookError(
            _("the workbook is damaged or truncated (not a complete XLSX file): {exc}", exc=exc),
            "xlsx",
        ) from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise WorkbookError(
            _("the workbook has too many parts ({n_infos})", n_infos=len(infos)),
            "too_many_parts",
            413,
        )
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if (
            info.file_size > MAX_PART_BYTES
            or total > MAX_UNCOMPRESSED_BYTES
            or (info.file_size > 1024 * 1024 and ratio > MAX_RATIO)
        ):
            raise WorkbookError(
                _(
                    "the workbook expands too much ({filename}: {file_size} bytes from "
                    "{compress_size}): a zip bomb or a sheet of empty rows",
                    filename=info.filename,
                    file_size=info.file_size,
                    compress_size=info.compress_size,
                ),
                "too_large",
                413,
            )
        if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
            _check_rows(zf, info)


_ROW_NUMBER = re.compile(rb'<row[^>]*?\sr="(\d{1,9})"')


def _check_rows(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Count a large sheet's row elements while it is decompressed (a sheet of a million
    empty rows is small on disk and in calamine's range, but not here)."""
    rows, tail, last = 0, b"", b""
    with zf.open(info) as fh:
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            rows += data.count(b"<row")
            tail = data[-3:]  # a "<row" split between chunks is counted with the next one
            last = data[-4096:]
            numbers = _ROW_NUMBER.findall(last)
            if numbers and int(numbers[-1]) > MAX_SHEET_ROWS:
                rows = MAX_SHEET_ROWS + 1  # a cell far down: the range reaches that row
            if rows > MAX_SHEET_ROWS:
                name = info.filename.rsplit("/", 1)[-1]
                raise WorkbookError(
                    _(
                        "a sheet ({name}) has more than {max_sheet_rows} rows "
                        "(empty ones included): delete the rest",
                        name=name,
                        max_sheet_rows=MAX_SHEET_ROWS,
                    ),
                    "too_many_rows",
                    413,
                )


def read_sheets(raw: bytes) -> list[Sheet]:
    """The visible sheets of an XLSX/XLS/CSV file (a CSV is one sheet named ``CSV``)."""
    if not raw:
        raise WorkbookError(_("the file is empty"), "missing")
    if len(raw) > MAX_FILE_BYTES:
        raise WorkbookError(
            _("the file is larger than {value} MB", value=MAX_FILE_BYTES // (1024 * 1024)),
            "too_large",
            413,
        )
    kind = sniff(raw)
    if kind == CSV:
        return [Sheet("CSV", _csv_rows(decode_csv(raw)))]
    if kind == XLS and any(mark in raw for mark in _ENCRYPTED_MARKS):
        raise WorkbookError(
            _("the workbook is encrypted (it has an open password): remove the password"),
            "encrypted",
        )
    if kind == XLSX:
        _check_zip(raw)
    sheets = _calamine_sheets(raw)
    if kind == XLSX:
        formulas = xlsx_formulas(raw)
        for sh in sheets:
            sh.formulas = formulas.get(sh.name, {})
    return sheets


_REF = re.compile(r"^([A-Z]{1,3})(\d{1,7})$")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _ref_index(ref: str) -> tuple[int, int] | None:
    m = _REF.match(ref)
    if m is None:
        return None
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def xlsx_formulas(raw: bytes) -> dict[str, dict[tuple[int, int], str]]:
    """The formula text of every formula cell, per sheet name (calamine gives the cached value
    only: ``=100%`` typed as a target is a formula, whose text is what the person wrote)."""
    import posixpath
    import xml.etree.ElementTree as ET

    out: dict[str, dict[tuple[int, int], str]] = {}
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        names = set(zf.namelist())
        try:
            wb = ET.fromstring(zf.read("xl/workbook.xml"))
            rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        except (KeyError, ET.ParseError):
            return out
        targets = {r.get("Id"): r.get("Target", "") for r in rels}
        for sh in wb.iter(f"{_MAIN}sheet"):
            target = targets.get(sh.get(f"{_REL}id"), "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            path = posixpath.normpath(path)
            if path not in names:
                continue
            data = zf.read(path)
            if b"<f" not in data:
                continue
            cells: dict[tuple[int, int], str] = {}
            try:
                for _event, el in ET.iterparse(io.BytesIO(data)):
                    if el.tag == f"{_MAIN}c":
                        f = el.find(f"{_MAIN}f")
                        if f is not None and f.text:
                            at = _ref_index(el.get("r", ""))
                            if at is not None:
                                cells[at] = f.text
                        el.clear()
            except ET.ParseError:
                continue
            out[sh.get("name", "")] = cells
    return out


_CONSTANT = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)%?$")


def cell_value(sheet: Sheet, r: int, c: int, *, target: bool = False) -> Any:
    """A cell as written: a constant formula (``=100%``) is read as the person typed it (a
    target keeps its ``=`` operator); any other formula gives its cached value."""
    f = sheet.formulas.get((r, c)) if sheet.formulas else None
    if f is not None and _CONSTANT.match(f.strip()):
        return ("=" if target else "") + f.strip()
    return sheet.cell(r, c)


def uncached_formula(sheet: Sheet, r: int, c: int) -> str | None:
    """The formula of a cell that has one but no cached value (``None`` otherwise)."""
    f = sheet.formulas.get((r, c)) if sheet.formulas else None
    if f is None or _CONSTANT.match(f.strip()) or sheet.cell(r, c) != "":
        return None
    return f


def _calamine_sheets(raw: bytes) -> list[Sheet]:
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(raw))
        meta = wb.sheets_metadata
    except Exception as exc:  # an untrusted file: any parser failure means unreadable
        text = str(exc).lower()
        if "password" in text or "encrypt" in text:
            raise WorkbookError(
                _("the workbook is encrypted (it has an open password): remove the password"),
                "encrypted",
            ) from exc
        raise WorkbookError(
            _(
                "the workbook cannot be read (damaged, truncated or not an Excel file): {exc}",
                exc=str(exc)[:200],
            ),
            "xlsx",
        ) from exc
    if len(meta) > MAX_SHEETS:
        raise _too_many_sheets(len(meta))
    sheets: list[Sheet] = []
    cells = 0
    for m in meta:
        if _enum_name(m.visible) != "visible" or _enum_name(m.typ) != "worksheet":
            continue  # hidden sheets (lookup lists) and chart sheets
        try:
            sh = wb.get_sheet_by_name(m.name)
            height, width = sh.height, sh.width
            r0, c0 = sh.start or (0, 0)
            if r0 + height > MAX_SHEET_GRID_ROWS:
                raise _too_many_rows(m.name)
            if c0 + width > MAX_SHEET_GRID_COLUMNS:
                raise _too_many_columns(m.name)
            cells += height * width
            if cells > MAX_CELLS:
                raise WorkbookError(
                    _("the workbook has more than {max_cells} cells", max_cells=MAX_CELLS),
                    "too_large",
                    413,
                )
            data = sh.to_python(skip_empty_area=False)
            merged = list(sh.merged_cell_ranges or [])
        except WorkbookError:
            raise
        except Exception as exc:
            raise WorkbookError(
                _("sheet {name!r} cannot be read: {exc}", name=m.name, exc=str(exc)[:200]), "xlsx"
            ) from exc
        # skip_empty_area=False: the grid starts at A1 whatever the used range
        sheets.append(Sheet(m.name, [list(row) for row in data], merged))
    return sheets


def _enum_name(value: Any) -> str:
    """``SheetVisibleEnum.Visible`` → ``visible``."""
    return str(value).rsplit(".", 1)[-1].lower()


def head_sheets(raw: bytes, nrows: int) -> list[Sheet] | None:
    """The first ``nrows`` rows of a CSV or XLSX file's first sheets (up to five), read cheaply
    to judge a file's layout before reading it whole: a CSV's first 64 kB (UTF-8, else
    GB18030), an XLSX after the zip checks. ``None`` when the head is not readable (the full
    reader then says why). An XLS workbook is read whole (:func:`read_sheets`)."""
    kind = sniff(raw)
    if kind == XLS:
        return read_sheets(raw)
    if kind == CSV:
        head = raw[: 64 * 1024]
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = head.decode("gb18030", errors="ignore")
        lines = text.splitlines()[:nrows]
        try:
            return [Sheet("CSV", [list(x) for x in csv.reader(lines)])]
        except csv.Error:
            return None
    _check_zip(raw)
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(raw))
        names = wb.sheet_names
        if len(names) > MAX_SHEETS:
            raise _too_many_sheets(len(names))
        heads = []
        for name in names[:5]:
            sh = wb.get_sheet_by_name(name)
            if sh.height > MAX_SHEET_ROWS:
                raise _too_many_rows(name)
            heads.append(Sheet(name, [list(r) for r in sh.to_python(nrows=nrows)]))
    except WorkbookError:
        raise
    except Exception:
        return None  # the full reader reports an unreadable workbook
    return heads
