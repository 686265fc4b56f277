"""``indicator-service score FILE`` and ``indicator-service template FRAMEWORK`` with forms in
the national layout (against the YAML catalogue)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from indicator_service.cli import main
from tests.forms import build
from tests.forms.build import FIXTURE_CSV, FIXTURE_GRADE, FIXTURE_TOTAL, FIXTURE_XLSX
from tests.paths import CATALOG_DIR


@pytest.mark.parametrize("path", [FIXTURE_XLSX, FIXTURE_CSV], ids=["xlsx", "gbk-csv"])
def test_score_fixture(path: Path, tmp_path: Path, capsys) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "scored.xlsx"
    assert main(["score", str(path), "-o", str(out), "--catalog", str(CATALOG_DIR)]) == 0
    printed = capsys.readouterr().out
    assert f"2022年高标准农田建设项目 {FIXTURE_TOTAL} {FIXTURE_GRADE}" in printed
    ws = load_workbook(out).active
    assert ws["H20"].value == FIXTURE_TOTAL
    assert ws["C21"].value == FIXTURE_GRADE
    receipts = tmp_path / "scored.json"
    assert main(["score", str(path), "-o", str(receipts), "--catalog", str(CATALOG_DIR)]) == 0
    (item,) = json.loads(receipts.read_text("utf-8"))
    assert item["result"]["total"] == FIXTURE_TOTAL
    assert item["result"]["form"]["department"] == "县农业农村局"


def test_score_pdf_and_a_bad_form(tmp_path: Path, capsys) -> None:
    bad = list(build.FARMLAND_ROWS)
    bad[2] = ("产出指标", "成本指标", "亩均建设成本", "≤200元", "210公斤", 10, None)
    sheets = []
    for name, rows in (("甲", build.FARMLAND_ROWS), ("乙", bad)):
        cells, merges = build.grid(build.farmland(rows, sheet=name))
        sheets.append((name, cells, merges))
    src = tmp_path / "two.xlsx"
    src.write_bytes(build.xlsx(sheets))
    out = tmp_path / "two.pdf"
    assert main(["score", str(src), "-o", str(out), "--catalog", str(CATALOG_DIR)]) == 1
    captured = capsys.readouterr()
    assert "1 scored, 1 failed" in captured.out
    assert "乙!F15:" in captured.err
    assert out.read_bytes().startswith(b"%PDF")


def test_hostile_file_is_a_clear_error(tmp_path: Path, capsys, monkeypatch) -> None:
    from tests.forms import bad_files

    src = tmp_path / "bomb.xlsx"
    src.write_bytes(bad_files.many_sheets())
    monkeypatch.setenv("LC_ALL", "")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")  # the terminal's language
    assert main(["score", str(src), "--catalog", str(CATALOG_DIR)]) != 0
    assert "工作表" in capsys.readouterr().err
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert main(["score", str(src), "--catalog", str(CATALOG_DIR)]) != 0
    assert "sheets" in capsys.readouterr().err


def test_template(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "blank.xlsx"
    assert main(["template", "SELF-EVAL", "-o", str(out), "--catalog", str(CATALOG_DIR)]) == 0
    values = [c.value for row in load_workbook(out).active.iter_rows() for c in row]
    assert "产出指标" in values
    assert "服务对象满意度指标" in values
    pdf = tmp_path / "blank.pdf"
    assert main(["template", "PRJ-2020", "-o", str(pdf), "--catalog", str(CATALOG_DIR)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert main(["template", "NOPE", "--catalog", str(CATALOG_DIR)]) != 0


def test_filled_in_template_scores(tmp_path: Path) -> None:
    """A unit fills in the blank form (names, targets, actuals, points; the funds) and it scores."""
    from openpyxl import load_workbook

    from indicator_service.forms import pipeline

    blank = tmp_path / "blank.xlsx"
    assert main(["template", "SELF-EVAL", "-o", str(blank), "--catalog", str(CATALOG_DIR)]) == 0
    wb = load_workbook(blank)
    ws = wb.active
    ws["B3"] = "测试项目"
    ws["D6"], ws["E6"] = 100, 100
    points = iter([20, 10, 10, 10, 10, 10, 5, 5, 10])
    first = next(r for r in range(1, 40) if ws.cell(r, 2).value == "一级指标") + 1
    for k in range(9):
        r = first + k
        ws.cell(r, 4, f"指标{k}")
        ws.cell(r, 5, "≥10人")
        ws.cell(r, 6, "10人")
        ws.cell(r, 7, next(points))
    buf = io.BytesIO()
    wb.save(buf)
    (o,) = pipeline.score_forms(buf.getvalue(), None, build.document_catalogue())
    assert o.ok, [(p.where, p.msg) for p in o.problems]
    assert o.receipt is not None
    assert o.receipt.total == 100.0
