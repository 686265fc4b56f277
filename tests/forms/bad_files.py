"""Hostile workbooks, made in memory: encrypted, truncated, zip bomb, thousands of sheets, a
sheet reaching row 1,000,000."""

from __future__ import annotations

import io
import re
import zipfile

from tests.forms.build import FIXTURE_XLSX

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
    'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="'
    'application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
    'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
    'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_SHEET = (
    '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
)


def _workbook(n_sheets: int) -> tuple[str, str]:
    sheets = "".join(
        f'<sheet name="表{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, n_sheets + 1)
    )
    wb = (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships"><sheets>{sheets}</sheets></workbook>'
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        for i in range(1, n_sheets + 1)
    )
    return wb, (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships">{rels}</Relationships>'
    )


def package(n_sheets: int = 1, rows: str = "") -> bytes:
    wb, rels = _workbook(n_sheets)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.xml", wb)
        zf.writestr("xl/_rels/workbook.xml.rels", rels)
        zf.writestr("xl/worksheets/sheet1.xml", _SHEET.format(rows=rows))
    return out.getvalue()


def many_sheets(n: int = 3000) -> bytes:
    return package(n, '<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>')


def empty_rows(n: int = 1_000_000) -> bytes:
    """A sheet of ``n`` empty rows (each row element written out)."""
    return package(1, "".join(f'<row r="{i}"/>' for i in range(1, n + 1)))


def form_reaching_row(n: int = 1_000_000) -> bytes:
    """The shared fixture with one stray cell on row ``n`` (a small file, a huge range)."""
    src = zipfile.ZipFile(FIXTURE_XLSX)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("sheet1.xml"):
                stray = f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>x</t></is></c></row>'
                data = data.replace(b"</sheetData>", stray.encode() + b"</sheetData>")
                data = re.sub(rb'<dimension ref="[^"]*"\s*/>', b"", data)
            zf.writestr(info.filename, data)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A workbook whose sheet expands from ~100 kB to 100 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("xl/worksheets/sheet1.xml", b" " * (100 * 1024 * 1024))
    return out.getvalue()


def encrypted() -> bytes:
    """What Office writes for a workbook with an open password: an OLE2 compound file whose
    directory names the EncryptionInfo and EncryptedPackage streams (header and directory
    entries only; the encrypted bytes are random)."""
    import os

    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    entries = b"".join(
        name.encode("utf-16-le").ljust(64, b"\x00") + bytes(64)
        for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage")
    )
    return header + entries + os.urandom(4096)


def truncated() -> bytes:
    raw = FIXTURE_XLSX.read_bytes()
    return raw[: len(raw) // 2]
