"""Hostile-input corpus, exports: text that a spreadsheet program reads as a formula (CSV
injection) is neutralised in every CSV the service writes, and is a string cell (never a
formula) in every XLSX, while numbers stay numbers.

Cases: the catalogue exports (namespace and framework, CSV and XLSX, through the API and
``bulk``), the scored form (``POST /v1/forms/score`` as XLSX), the ``score`` command (CSV and
XLSX) and the ``composite`` command (CSV).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from indicator_service.catalogue import bulk
from indicator_service.cli import main
from indicator_service.tables.writers import FORMULA_START, csv_cell
from tests.helpers import ApiClient
from tests.scoring.frameworks import COMMON, self_evaluation
from tests.web.forms import GOOD_CSV

HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+2",
    "\r=1+2",
    "＝1+2",
]


def _xlsx_cells(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    rows = [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]
    book.close()
    return rows


def _assert_xlsx_text(data: bytes, expected: list[str]) -> None:
    cells = [cell for row in _xlsx_cells(data) for cell in row]
    for text in expected:
        # XML normalises a carriage return to a line feed; the text is a string cell either way
        assert (text.replace("\r", "\n"), "s") in cells, (text, cells)
    assert all(kind != "f" for _, kind in cells)


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_cell_neutralises_formula_text(value: str) -> None:
    assert csv_cell(value) == "'" + value
    assert csv_cell(-5) == -5
    assert csv_cell(-0.5) == -0.5
    assert csv_cell("5") == "5"
    assert csv_cell("产出") == "产出"
    assert all(csv_cell(c + "x").startswith("'") for c in FORMULA_START)


def _namespace_doc() -> dict[str, Any]:
    return {
        "namespace": "demo",
        "indicators": [
            {
                "code": f"DEM-01-00{i}",
                "name_zh": text,
                "name_en": "x",
                "class_l1": text,
                "value_type": "quantitative",
                "operator": "≥",
                "unit": "%",
            }
            for i, text in enumerate(HOSTILE, start=1)
        ],
        "standards": [
            {"indicator": "DEM-01-001", "type": "plan", "value": -5, "source": {"title": "-src"}},
        ],
    }


def test_namespace_csv_export_neutralises_text_keeps_numbers() -> None:
    rows = list(
        csv.DictReader(io.StringIO(bulk.export(_namespace_doc(), "csv").decode(), newline=""))
    )
    assert [r["name"] for r in rows] == ["'" + t for t in HOSTILE]
    assert [r["level1"] for r in rows] == ["'" + t for t in HOSTILE]
    assert rows[0]["target"] == "-5"  # a number stays a number


def test_namespace_xlsx_export_writes_text_as_text() -> None:
    data = bulk.export(_namespace_doc(), "xlsx")
    _assert_xlsx_text(data, HOSTILE)
    cells = _xlsx_cells(data)
    target = list(bulk.SHEET_COLUMNS).index("target")
    assert cells[1][target] == (-5, "n")


def test_framework_csv_and_xlsx_exports() -> None:
    doc = {
        "framework": "DEMO",
        "nodes": [
            {"code": f"N{i}", "level": 1, "name_zh": t, "name_en": t, "points": 10}
            for i, t in enumerate(HOSTILE)
        ],
    }
    rows = list(csv.DictReader(io.StringIO(bulk.export_framework(doc, "csv").decode(), newline="")))
    assert [r["name"] for r in rows] == ["'" + t for t in HOSTILE]
    assert [r["points"] for r in rows] == ["10"] * len(HOSTILE)
    _assert_xlsx_text(bulk.export_framework(doc, "xlsx"), HOSTILE)


def test_namespace_export_through_the_api(hapi: ApiClient) -> None:
    created = hapi.post("/v1/namespaces/health/drafts")
    assert created.status_code == 201, created.text
    version = created.json()["version"]
    doc = hapi.get(f"/v1/namespaces/health/versions/{version}").json()["document"]
    code = doc["indicators"][0]["code"]
    patched = hapi.patch(
        f"/v1/namespaces/health/drafts/{version}/indicators/{code}",
        json={"name_zh": "=1+2", "explanation": "@SUM(A1)"},
        headers={"If-Match": "*"},
    )
    assert patched.status_code == 200, patched.text
    url = f"/v1/namespaces/health/versions/{version}/export"
    text = hapi.get(url, params={"format": "csv"}).text
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["code"] == code)
    assert (row["name"], row["explanation"]) == ("'=1+2", "'@SUM(A1)")
    _assert_xlsx_text(hapi.get(url, params={"format": "xlsx"}).content, ["=1+2", "@SUM(A1)"])


def test_scored_form_workbook_has_no_formulas(hapi: ApiClient) -> None:
    form = GOOD_CSV.replace("完成数量", "=1+2").replace("WEB-PRJ", "@PRJ")
    r = hapi.post(
        "/v1/forms/score",
        content=form.encode(),
        headers={
            "content-type": "text/csv",
            "accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        },
    )
    assert r.status_code == 200, r.text
    _assert_xlsx_text(r.content, ["=1+2"])


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    (folder / "namespaces").mkdir(parents=True)
    (folder / "frameworks").mkdir()
    (folder / "namespaces" / "common.yaml").write_text(
        yaml.safe_dump(COMMON.model_dump(mode="json", exclude_none=True), allow_unicode=True),
        encoding="utf-8",
    )
    (folder / "frameworks" / "self.yaml").write_text(
        yaml.safe_dump(
            self_evaluation().model_dump(mode="json", exclude_none=True), allow_unicode=True
        ),
        encoding="utf-8",
    )
    return folder


CLI_FORM = (
    "一级指标,二级指标,三级指标,id,indicator,分值,计算符号,指标值,计量单位,实际完成值,level,"
    "budget_adjusted,budget_executed\n"
    "产出,数量指标,=1+2,qty,,50,≥,100,台,96.8,,100,98\n"
    "效益,社会效益,,soc,COM-03-001,30,,,,,achieved,,\n"
    "满意度,,,sat,COM-02-001,10,≥,90,%,81,,,\n"
)


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_score_command_output(tmp_path: Path, catalog: Path, suffix: str) -> None:
    src = tmp_path / "form.csv"
    src.write_text(CLI_FORM, encoding="utf-8")
    out = tmp_path / f"out.{suffix}"
    args = ["score", str(src), "--framework", "SELF-EVAL", "--catalog", str(catalog)]
    assert main([*args, "--output", str(out)]) == 0
    if suffix == "csv":
        lines = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
        qty = next(line for line in lines if line["id"] == "qty")
        assert qty["name"] == "'=1+2"
        assert qty["score"] == "48.4"
    else:
        _assert_xlsx_text(out.read_bytes(), ["=1+2"])


def test_composite_command_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.csv"
    meta = tmp_path / "meta.csv"
    data.write_text("uCode,a,b\n=1+2,1,5\n-x,3,2\nu3,2,9\n", encoding="utf-8")
    meta.write_text(
        "Level,iCode,Direction,Weight,Parent,Type\n"
        "1,a,-1,1,@idx,Indicator\n1,b,1,1,@idx,Indicator\n2,@idx,1,1,,Aggregate\n",
        encoding="utf-8",
    )
    code = main(["composite", str(data), str(meta)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = list(csv.reader(io.StringIO(captured.out)))
    assert rows[0][:2] == ["uCode", "'@idx"]
    assert [r[0] for r in rows[1:]] == ["'=1+2", "'-x", "u3"]
    assert all(not r[1].startswith("'") for r in rows[1:])  # scores stay numbers


def test_neutralised_csv_imports_back_as_it_was() -> None:
    rows = bulk.read_sheet(bulk.export(_namespace_doc(), "csv"), "csv")
    assert [cells["name"] for _, cells in rows] == [t.strip() for t in HOSTILE]
