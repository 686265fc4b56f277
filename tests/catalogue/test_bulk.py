"""The pure import/export core (no database)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from indicator_service.catalogue import bulk

DOC: dict[str, Any] = {
    "namespace": "education",
    "indicators": [
        {
            "code": "EDU-04-001",
            "name_zh": "生均公用经费",
            "name_en": "Per-pupil funding",
            "explanation": '=HYPERLINK("http://example.invalid")',
            "value_type": "quantitative",
            "operator": "=",
            "unit": "元/生·年",
            "rule": {"kind": "equal"},
        }
    ],
    "standards": [
        {"indicator": "EDU-04-001", "type": "budget_expenditure", "operator": "=", "value": 500,
         "unit": "元/生·年", "source": {"title": "standard", "issuer": "test", "year": 2024}},
    ],
}  # fmt: skip


def test_xlsx_export_writes_text_as_text_never_as_a_formula() -> None:
    data = bulk.export(DOC, "xlsx")
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    explanation = sheet.cell(2, bulk.SHEET_COLUMNS.index("explanation") + 1)
    assert explanation.data_type == "s"
    assert explanation.value == DOC["indicators"][0]["explanation"]
    [(row, cells)] = bulk.read_sheet(data, "xlsx")
    assert row == 2
    assert cells["operator"] == "="
    assert cells["target"] == "500"
    assert cells["rule"] == '{"kind": "equal"}'


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "yaml", "json"])
def test_every_format_merges_back_unchanged(fmt: bulk.Format) -> None:
    data = bulk.export(DOC, fmt)
    if fmt in ("csv", "xlsx"):
        merged, results = bulk.merge_sheet(DOC, bulk.read_sheet(data, fmt))
    else:
        merged, results = bulk.merge_document(DOC, bulk.read_document(data, fmt))
    assert {r.status for r in results} == {"unchanged"}
    assert merged["indicators"] == DOC["indicators"]


def test_sheet_rows_create_update_and_report_cells() -> None:
    text = (
        "指标编码,指标名称,英文名称,运算符,计量单位,指标值,标准类型,标准来源,评分规则\n"
        "EDU-04-001,,,,,520,budget_expenditure,,\n"
        "EDU-01-009,新增学位,New places,≥,个,,,,higher_better\n"
        "EDU-01-010,x,y,≥,个,10,plan,,\n"
        "EDU-01-011,x,y,≥,个,,,,{kind: nonsense}\n"
    ).encode()
    merged, results = bulk.merge_sheet(DOC, bulk.read_sheet(text, "csv"))
    assert [(r.row, r.status) for r in results] == [
        (2, "updated"),
        (3, "created"),
        (4, "error"),
        (5, "error"),
    ]
    assert results[2].errors[0].column == "source"
    assert results[3].errors[0].column == "rule"
    assert merged["standards"][0]["value"] == 520
    assert merged["standards"][0]["source"]["title"] == "standard"  # kept from the draft
    assert merged["indicators"][1]["rule"] == {"kind": "higher_better"}


def test_sheet_source_cell_is_a_citation() -> None:
    text = (
        "指标编码,指标名称,英文名称,运算符,计量单位,指标值,标准类型,标准来源\n"
        "EDU-01-010,x,y,≥,个,10,plan,2024年实施方案\n"
        'EDU-01-011,x,y,≥,个,10,plan,"{title: 实施方案, issuer: 某县教育局, year: 2024}"\n'
    ).encode()
    merged, results = bulk.merge_sheet(DOC, bulk.read_sheet(text, "csv"))
    assert [(r.row, r.status) for r in results] == [(2, "error"), (3, "created")]
    assert results[0].errors[0].column == "source"
    assert "citation mapping" in results[0].errors[0].msg
    new = next(s for s in merged["standards"] if s["indicator"] == "EDU-01-011")
    assert new["source"] == {"title": "实施方案", "issuer": "某县教育局", "year": 2024}


def test_unreadable_files_name_the_problem() -> None:
    with pytest.raises(bulk.FileError, match="unsupported content type 'text/plain'") as e:
        bulk.format_of("text/plain")
    assert e.value.status == 415
    assert bulk.format_of("text/csv; charset=utf-8") == "csv"
    with pytest.raises(bulk.FileError, match="appears twice"):
        bulk.read_sheet(b"code,Code\n", "csv")
    with pytest.raises(bulk.FileError, match="no 'code'"):
        bulk.read_sheet(b"name\nx\n", "csv")
    with pytest.raises(bulk.FileError, match="invalid JSON") as e:
        bulk.read_document(b'{"a": \n', "json")
    assert e.value.row == 2


def test_a_row_reports_every_problem_in_one_pass() -> None:
    """A cell that does not parse no longer hides the field checks, nor the standard's: the
    row's every problem, each with its column, from one upload."""
    text = (
        "指标编码,指标名称,英文名称,指标类型,分值,评分规则,指标值,标准类型,标准来源\n"
        "EDU-01-012,x,,numeric,ten,{kind: [,abc,plan,not a citation\n"
        "EDU-01-013,y,z,,,,10,,\n"
    ).encode()
    _merged, results = bulk.merge_sheet(DOC, bulk.read_sheet(text, "csv"))
    assert [(r.row, r.status) for r in results] == [(2, "error"), (3, "error")]
    assert [e.column for e in results[0].errors] == [
        "name_en",  # a new indicator needs its English name
        "rule",  # not a mapping
        "points",  # not a number
        "value_type",  # neither quantitative nor qualitative
        "target",  # not a number
        "source",  # not a citation mapping
    ]
    # the indicator's own check (a quantitative indicator needs a unit), a target without a
    # type and a new standard without a source
    assert [(e.column, e.msg) for e in results[1].errors] == [
        (None, "Value error, a quantitative indicator needs a unit"),
        ("standard_type", "required when target is given"),
        ("source", "required for a new standard"),
    ]


def test_xlsx_rows_carry_their_sheet() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "指标库"
    sheet.append(["code", "name_en", "颜色", "尺寸"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(bulk.FileError) as e:
        bulk.read_sheet(out.getvalue(), "xlsx")
    assert e.value.sheet == "指标库"
    assert [column for _msg, _row, column in e.value.problems] == ["颜色", "尺寸"]


def test_sheet_problems_in_chinese() -> None:
    """The header and cell problems of a sheet in the language of the request."""
    from indicator_service.core.i18n import CHINESE, language

    with language(CHINESE):
        with pytest.raises(bulk.FileError) as e:
            bulk.read_sheet("code,Code,颜色\n".encode(), "csv")
        assert [(m, row, col) for m, row, col in e.value.problems][:1] == [
            ("列 'code' 出现了两次", 1, "code")
        ]
        assert e.value.problems[1][0] == (
            "未知列 '颜色'（第 3 列）；可用的列：level1, level2, level3, code, name, name_en, "
            "explanation, operator, target, unit, standard_type, source, points, rule, value_type"
        )
        with pytest.raises(bulk.FileError, match=r"^表头缺少“code”（指标编码）列$"):
            bulk.read_sheet(b"name\nx\n", "csv")
        with pytest.raises(bulk.FileError, match=r"^文件为空：应有表头行$"):
            bulk.read_sheet(b"", "csv")
        text = "指标编码,指标名称,英文名称,指标类型,指标值\nEDU-01-013,y,z,,abc\n".encode()
        _merged, results = bulk.merge_sheet(DOC, bulk.read_sheet(text, "csv"))
    assert [(e.column, e.msg) for e in results[0].errors][-3:] == [
        ("standard_type", "填写 target 时必填"),
        ("target", "不是数值：'abc'"),
        ("source", "新增标准时必填"),
    ]
