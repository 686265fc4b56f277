"""`indicator-service score FILE`: JSON, CSV and XLSX in, the same family out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from indicator_service.cli import main
from indicator_service.tables.limits import MAX_CELL_CHARS
from tests.paths import CATALOG_DIR
from tests.scoring.frameworks import COMMON, WORKED_EXAMPLE, self_evaluation
from tests.web.forms import CLASS_TOTAL_CSV, CLASS_TOTAL_MSG

CSV_FORM = (
    "一级指标,二级指标,三级指标,id,indicator,分值,计算符号,指标值,计量单位,实际完成值,level,"
    "budget_adjusted,budget_executed\n"
    "产出,数量指标,完成数量,qty,,50,≥,100,台,96.8,,100,98\n"
    "效益,社会效益,,soc,COM-03-001,30,,,,,achieved,,\n"
    "满意度,,,sat,COM-02-001,10,≥,90,%,81,,,\n"
)


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


def test_score_csv_form(tmp_path: Path, catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "form.csv"
    src.write_text(CSV_FORM, encoding="utf-8")
    code = main(["score", str(src), "--framework", "SELF-EVAL", "--catalog", str(catalog)])
    assert code == 0, capsys.readouterr().err
    out = tmp_path / "form.scored.csv"
    lines = list(csv.DictReader(out.open(encoding="utf-8")))
    scores = {line["id"]: line["score"] for line in lines}
    # 9.8 + 48.4 + 30 + 9 = 97.2
    assert scores == {"EXEC": "9.8", "qty": "48.4", "soc": "30.0", "sat": "9.0", "TOTAL": "97.2"}
    total = next(line for line in lines if line["id"] == "TOTAL")
    assert (total["total"], total["grade"]) == ("97.2", "优")
    # 9.8 of 10, 48.4 of 50 and 9 of 10 lost points and give no 偏差原因分析
    needed = {line["id"]: line["explanation_needed"] for line in lines}
    assert needed == {
        "EXEC": "需填写偏差原因分析及改进措施 / explanation needed",
        "qty": "需填写偏差原因分析及改进措施 / explanation needed",
        "soc": "",
        "sat": "需填写偏差原因分析及改进措施 / explanation needed",
        "TOTAL": "",
    }
    assert all(
        "explanation_missing" in line["warnings"]
        for line in lines
        if line["id"] in needed and needed[line["id"]]
    )
    # the receipt's formula per leaf (= its score) and the total's on the TOTAL line
    formulas = {line["id"]: line["formula"] for line in lines}
    assert formulas["qty"] == "96.8 ÷ 100 × 50 = 48.40"
    assert formulas["EXEC"] == "10 × 98 ÷ 100 = 9.80"
    assert formulas["TOTAL"] == "总分 = 各项得分之和 97.2 = 97.20"


def test_score_json_and_xlsx(tmp_path: Path, catalog: Path) -> None:
    src = tmp_path / "one.json"
    src.write_text(json.dumps(WORKED_EXAMPLE, ensure_ascii=False), encoding="utf-8")
    assert main(["score", str(src), "--catalog", str(catalog)]) == 0
    result = json.loads((tmp_path / "one.scored.json").read_text(encoding="utf-8"))
    assert result[0]["result"]["total"] == 94.2

    from openpyxl import Workbook, load_workbook

    wb = Workbook()
    ws = wb.active
    for line in csv.reader(CSV_FORM.splitlines()):
        ws.append([float(c) if c.replace(".", "", 1).isdigit() else (c or None) for c in line])
    xlsx = tmp_path / "form.xlsx"
    wb.save(xlsx)
    out = tmp_path / "scored.xlsx"
    assert (
        main(
            [
                "score",
                str(xlsx),
                "-o",
                str(out),
                "--framework",
                "SELF-EVAL",
                "--catalog",
                str(catalog),
            ]
        )
        == 0
    )
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    total = next(r for r in rows if r[3] == "TOTAL")
    assert total[15] == 97.2


def test_bad_submission_reported(
    tmp_path: Path, catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(CSV_FORM.replace(",50,", ",40,"), encoding="utf-8")  # 产出 adds up to 40
    assert main(["score", str(src), "--framework", "SELF-EVAL", "--catalog", str(catalog)]) == 1
    lines = list(csv.DictReader((tmp_path / "bad.scored.csv").open(encoding="utf-8")))
    assert "add up to 40" in lines[0]["error"]
    assert main(["score", str(tmp_path / "missing.csv")]) == 1
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_class_totals_are_enforced_on_the_seed_framework(tmp_path: Path, suffix: str) -> None:
    """The form of tests/web/test_forms_api.py (产出 rows under 数量指标 and 质量指标 adding up
    to 52) against the seed catalogue as it ships: the same rows and message as the upload."""
    from tests.web.forms import as_xlsx

    src = tmp_path / f"form{suffix}"
    if suffix == ".csv":
        src.write_text(CLASS_TOTAL_CSV, encoding="utf-8")
    else:
        src.write_bytes(as_xlsx(CLASS_TOTAL_CSV))
    out = tmp_path / "out.csv"
    assert main(["score", str(src), "-o", str(out), "--catalog", str(CATALOG_DIR)]) == 1
    lines = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [line["error"] for line in lines] == [
        f"body.items.0.rows.{i}.points: {CLASS_TOTAL_MSG}" for i in (0, 1)
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            "三级指标,分值\n" + "x" * (MAX_CELL_CHARS + 1) + ",5\n",
            f"line 2: the cell in column 1 has {MAX_CELL_CHARS + 1} characters",
            id="cell-too-long",
        ),
        pytest.param(
            '三级指标,分值\n"unterminated,5\n', "line 2: not readable as CSV", id="open-quote"
        ),
        pytest.param("", "the file is empty", id="empty"),
        pytest.param(
            "三级指标,分值\n完成数量,50\n".encode("gb18030"), "the CSV file is not UTF-8", id="gbk"
        ),
    ],
)
def test_unreadable_flat_table_is_one_line(
    tmp_path: Path,
    catalog: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes,
    message: str,
) -> None:
    """The CLI reads flat tables through indicator_service.tables, within the upload limits:
    a file it cannot read is a one-line error naming the line, never a traceback."""
    src = tmp_path / "form.csv"
    if isinstance(content, bytes):
        src.write_bytes(content)
    else:
        src.write_text(content, encoding="utf-8")
    code = main(["score", str(src), "--framework", "SELF-EVAL", "--catalog", str(catalog)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"error: {src}: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "form.scored.csv").exists()
