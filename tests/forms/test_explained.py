"""The scored national form (XLSX and PDF) carries the receipt's explanation: per indicator row
the formula with its numbers and the points lost in 备注, the budget formula in the funds block,
the total's formula and the consequence's source (the real form of ../shared/fixtures/forms)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from indicator_service.forms import pdf, pipeline, writer
from tests.forms import build
from tests.forms.build import FIXTURE_TOTAL, FIXTURE_XLSX


def scored_layout() -> writer.Layout:
    (outcome,) = pipeline.score_forms(FIXTURE_XLSX.read_bytes(), None, build.document_catalogue())
    assert outcome.ok, outcome.problems
    assert outcome.receipt is not None
    assert outcome.receipt.total == FIXTURE_TOTAL
    ((_, layout),) = writer.layouts_of([outcome])
    return layout


def row_of(layout: writer.Layout, name: str) -> int:
    return next(r for (r, c), v in layout.cells.items() if c == 3 and v == name)


def test_scored_workbook_explains_each_row() -> None:
    from openpyxl import load_workbook

    layout = scored_layout()
    ws = load_workbook(io.BytesIO(writer.render_xlsx([("自评表", layout)]))).active
    # 亩均建设成本 ≤200元, 210元, 10 points, linear: 10 × (1 − 10/200) = 9.50, lost 0.50
    r = row_of(layout, "亩均建设成本") + 1
    assert ws[f"H{r}"].value == 9.5
    note = ws[f"J{r}"].value
    assert "算式：10 × (1 − (210 − 200) ÷ 200) = 9.50" in note
    assert "失分 0.50" in note
    # 项目按期完工 部分达成: 10 × 70% = 7.00
    r = row_of(layout, "项目按期完工") + 1
    assert "算式：部分达成年度指标并具有一定效果：10 × 70% = 7.00" in ws[f"J{r}"].value
    # 灌溉水有效利用系数 ≥0.8, 0.7, 15 points: 0.7 ÷ 0.8 × 15 = 13.125 → 13.13
    r = row_of(layout, "灌溉水有效利用系数") + 1
    assert "算式：0.7 ÷ 0.8 × 15 = 13.13；失分 1.87" in ws[f"J{r}"].value
    # the budget line: 480 of 500 → 9.60
    budget = next(v for (_r, c), v in layout.cells.items() if c == 8 and "480 ÷ 500" in str(v))
    assert budget == (
        "算式：10 × 480 ÷ 500 = 9.60；失分 0.40；"
        "未达到目标或有上述提示，但未填写偏差原因分析及改进措施"
    )
    values = [str(v) for v in layout.cells.values()]
    assert f"总分 = 各项得分之和 {FIXTURE_TOTAL} = {FIXTURE_TOTAL:.2f}" in values
    grade = next(v for v in values if v.startswith("结果应用："))
    assert "（依据：项目支出绩效评价管理办法（财政部 财预〔2020〕10号" in grade


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_scored_pdf_shows_the_formulas(tmp_path: Path) -> None:
    out = tmp_path / "scored.pdf"
    out.write_bytes(pdf.render_pdf([("自评表", scored_layout())]))
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    assert "算式：0.7÷0.8×15=13.13" in flat
    assert "失分1.87" in flat
