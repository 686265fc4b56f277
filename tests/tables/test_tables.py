"""indicator_service.tables: the one home of the CSV/XLSX readers and writers, on the real
forms (fixtures/forms) and on the hostile cases each reader used to check on its own."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from indicator_service.core.readers import ReadError
from indicator_service.forms import reader as form_reader
from indicator_service.scoring.csvform import table_records
from indicator_service.tables import limits, rows, workbook, writers
from tests.forms.build import FIXTURE_CSV, FIXTURE_XLSX


def test_form_reader_has_no_limits_of_its_own() -> None:
    # the national-layout reader used to define MAX_ROWS etc. beside core.readers' ones
    own = [name for name in vars(form_reader) if name.startswith("MAX_")]
    assert own == []
    assert form_reader.FormFileError is workbook.WorkbookError


def test_grid_row_limit_is_the_one_in_limits() -> None:
    text = "a,b\n" * (limits.MAX_SHEET_GRID_ROWS + 1)
    with pytest.raises(workbook.WorkbookError) as exc:
        workbook.read_sheets(text.encode("utf-8"))
    assert exc.value.status == 413
    assert exc.value.type == "too_many_rows"
    assert str(limits.MAX_SHEET_GRID_ROWS) in exc.value.message
    # one row fewer is read
    ok = "a,b\n" * limits.MAX_SHEET_GRID_ROWS
    assert len(workbook.read_sheets(ok.encode("utf-8"))[0].rows) == limits.MAX_SHEET_GRID_ROWS


def test_flat_rows_limit_names_the_line() -> None:
    text = "h\n" * limits.MAX_ROWS + "x\n"
    with pytest.raises(ReadError) as exc:
        list(rows.csv_rows(text))
    assert exc.value.line == limits.MAX_ROWS + 1
    assert limits.MAX_LINES == limits.MAX_ROWS - 1


def test_gbk_fixture_head_and_whole() -> None:
    raw = FIXTURE_CSV.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    head = workbook.head_sheets(raw, 5)
    assert head is not None
    assert len(head[0].rows) == 5
    whole = workbook.read_sheets(raw)
    assert whole[0].name == "CSV"
    assert head[0].rows == whole[0].rows[:5]
    assert any("自评表" in str(v) for row in whole[0].rows[:3] for v in row)


def test_xlsx_fixture_head_is_the_first_rows() -> None:
    raw = FIXTURE_XLSX.read_bytes()
    head = workbook.head_sheets(raw, 4)
    whole = workbook.read_sheets(raw)
    assert head is not None
    assert [len(sh.rows) for sh in head][:1] == [4]
    first = next(sh for sh in whole if sh.name == head[0].name)
    assert head[0].rows == first.rows[:4]


def test_head_of_a_truncated_or_exploding_workbook_is_refused() -> None:
    with pytest.raises(workbook.WorkbookError) as exc:
        workbook.head_sheets(b"PK\x03\x04" + b"\x00" * 100, 5)
    assert (exc.value.status, exc.value.type) == (422, "xlsx")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<row/>" * (limits.MAX_SHEET_ROWS + 1))
    with pytest.raises(workbook.WorkbookError) as exc:
        workbook.head_sheets(buf.getvalue(), 5)
    assert (exc.value.status, exc.value.type) == (413, "too_many_rows")
    # a zip that is not a workbook: the head is unreadable, the full reader says why
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert workbook.head_sheets(buf.getvalue(), 5) is None


def test_sheet_mapped_grid_is_computed_once() -> None:
    calls: list[object] = []

    def upper(v: object) -> str:
        calls.append(v)
        return str(v).upper()

    sheet = workbook.Sheet("s", [["a", "b"], ["c"]])
    assert sheet.mapped(upper) == [["A", "B"], ["C"]]
    assert sheet.mapped(upper) is sheet.mapped(upper)
    assert len(calls) == 3


def test_records_and_table_records() -> None:
    header = ["a", "b"]
    assert rows.records(header, [["1", None, "extra"], ["2"]]) == [{"a": "1", "b": ""}, {"a": "2"}]
    assert table_records([]) is None
    got = table_records([["一级指标", " 实际完成值 ", None], [1, 2.5, 3]])
    assert got == (["class_l1", "value", ""], [{"class_l1": "1", "value": "2.5", "": "3"}])


def test_xlsx_rows_and_records_from_a_workbook() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["三级指标", "分值"])
    sheet.append(["完成数量", 50])
    out = io.BytesIO()
    book.save(out)
    got = table_records(rows.xlsx_rows(out.getvalue()))
    assert got == (["name", "points"], [{"name": "完成数量", "points": "50"}])
    with pytest.raises(ReadError, match="not a readable XLSX workbook"):
        list(rows.xlsx_rows(b"PK\x03\x04 not a workbook"))


def test_xlsx_bytes_keeps_text_as_text() -> None:
    body: list[list[str | int | None]] = [["=HYPERLINK(1)", 5], ["\x01ok", None]]
    data = writers.xlsx_bytes("x" * 40, ["name", "points"], body)
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    assert sheet.title == "x" * 31
    assert [c.value for c in sheet[1]] == ["name", "points"]
    cell = sheet["A2"]
    assert (cell.value, cell.data_type) == ("=HYPERLINK(1)", "s")
    assert sheet["B2"].value == 5
    assert sheet["A3"].value == "\ufffdok"


def test_csv_bytes_neutralises_and_reads_back(tmp_path: Path) -> None:
    data = writers.csv_bytes(["name", "n"], [["=1+2", -5], ["a\rb", None]])
    text = data.decode("utf-8")
    assert text.splitlines()[1] == "'=1+2,-5"
    back = list(rows.csv_rows(text))
    assert [writers.csv_uncell(c) for c in back[1]] == ["=1+2", "-5"]
    assert back[2] == ["a\rb", ""]
