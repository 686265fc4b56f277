"""``POST /v1/forms/score`` with forms in the national layout, ``GET
/v1/frameworks/{code}/template``, and hostile workbooks."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlmodel import func, select

from indicator_service.auth.models import Role
from indicator_service.core import database
from indicator_service.scoring.models import Evaluation
from tests.auth.fixtures import bearer, issue_key
from tests.forms import bad_files, build
from tests.forms.build import FIXTURE_CSV, FIXTURE_GRADE, FIXTURE_TOTAL, FIXTURE_XLSX
from tests.helpers import ApiClient, assert_problem

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


@pytest.fixture(scope="module")
def scorer(web_app: FastAPI) -> dict[str, str]:
    return bearer(issue_key(web_app.state.engine, web_app.state.settings, Role.client))


@pytest.fixture(scope="module")
def evaluator(web_app: FastAPI) -> dict[str, str]:
    return bearer(issue_key(web_app.state.engine, web_app.state.settings, Role.evaluator))


CJK = re.compile("[\u4e00-\u9fff]")


def post(api: ApiClient, raw: bytes, media: str, headers: dict[str, str], **params: str):
    return api.post(
        "/v1/forms/score", content=raw, headers={"Content-Type": media, **headers}, params=params
    )


def evaluations(app: FastAPI) -> int:
    with database.session_scope(app.state.engine) as session:
        return session.exec(select(func.count()).select_from(Evaluation)).one()


@pytest.mark.parametrize(
    ("path", "media"), [(FIXTURE_XLSX, XLSX), (FIXTURE_CSV, "text/csv")], ids=["xlsx", "gbk-csv"]
)
def test_shared_fixture_through_the_api(web_api, scorer, path: Path, media: str) -> None:
    r = post(web_api, path.read_bytes(), media, scorer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["layout"], body["count"], body["ok"], body["failed"]) == ("national", 1, 1, 0)
    item = body["items"][0]
    assert (item["total"], item["grade"]) == (FIXTURE_TOTAL, FIXTURE_GRADE)
    receipt = item["receipt"]
    assert receipt["framework"]["code"] == "SELF-EVAL"
    assert receipt["project"] == "2022年高标准农田建设项目"
    assert receipt["fiscal_year"] == 2022
    form = receipt["form"]
    assert (form["department"], form["implementing_unit"]) == ("县农业农村局", "县农田建设服务中心")
    assert form["funds"][0] == {
        "label": "年度资金总额",
        "sub": False,
        "initial": 450.0,
        "adjusted": 500.0,
        "executed": 480.0,
    }
    assert [f["label"] for f in form["funds"] if f["sub"]] == [
        "当年财政拨款",
        "上年结转资金",
        "其他资金",
    ]
    budget = next(lf for lf in receipt["leaves"] if lf["rule"]["kind"] == "budget_execution")
    assert (budget["raw_value"], budget["target"], budget["score"]) == (480.0, 500.0, 9.6)
    assert item["lines"] == [13, 14, 15, 16, 17, 18, 19]


def test_the_request_stores_the_form_with_the_evaluation(web_api, scorer, evaluator) -> None:
    r = post(web_api, FIXTURE_XLSX.read_bytes(), XLSX, scorer)
    request = r.json()["items"][0]["request"]
    assert request["form"]["department"] == "县农业农村局"
    stored = web_api.post("/v1/evaluations", json=request, headers=evaluator)
    assert stored.status_code == 201, stored.text
    again = web_api.get(stored.headers["Location"], headers=evaluator).json()
    assert again["total"] == FIXTURE_TOTAL
    assert again["result"]["form"]["implementing_unit"] == "县农田建设服务中心"
    assert again["result"]["form"]["funds"][1]["initial"] == 450.0


def test_scored_workbook_in_the_same_layout(web_api, scorer) -> None:
    from openpyxl import load_workbook

    r = post(web_api, FIXTURE_CSV.read_bytes(), "text/csv", {**scorer, "Accept": XLSX})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    ws = load_workbook(io.BytesIO(r.content)).active
    cells = {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}
    assert cells["A1"] == "项目支出绩效自评表"
    assert (cells["G6"], cells["H6"]) == (0.96, 9.6)  # 执行率, 得分
    assert cells["H13"] == 18.33
    assert cells["H18"] == 13.13
    assert cells["I15"] == "材料价格上涨"  # 偏差原因 kept
    assert (cells["A20"], cells["H20"]) == ("总分", 92.56)
    assert cells["C21"] == "优"
    assert "根据情况予以支持" in cells["D21"]
    assert "A12:A19" in {str(m) for m in ws.merged_cells.ranges}
    assert ws.print_area == "'CSV'!$A$1:$J$22"
    assert int(ws.page_setup.paperSize) == 9
    assert int(ws.page_setup.fitToWidth) == 1
    assert ws["D13"].border.left.style == "thin"
    # the scored workbook reads back as the same form with the same total
    again = post(web_api, r.content, XLSX, scorer).json()
    assert again["items"][0]["total"] == FIXTURE_TOTAL


def test_warnings_in_words_in_the_remark_column(web_api, scorer) -> None:
    from openpyxl import load_workbook

    rows = list(build.FARMLAND_ROWS)
    rows[6] = ("满意度指标", "服务对象满意度指标", "受益农户满意度", "≥60%", "92%", 10, None)
    raw = build.form_xlsx(build.farmland(rows, executed=400))
    r = post(web_api, raw, XLSX, {**scorer, "Accept": XLSX})
    ws = load_workbook(io.BytesIO(r.content)).active
    assert "实际完成值远超年度指标值" in ws["J19"].value
    assert "预算执行率低于 90%" in ws["I6"].value


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdf_of_the_scored_form_renders(web_api, scorer, tmp_path: Path) -> None:
    r = post(web_api, FIXTURE_XLSX.read_bytes(), XLSX, {**scorer, "Accept": PDF})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == PDF
    assert r.content.startswith(b"%PDF")
    pdf = tmp_path / "scored.pdf"
    pdf.write_bytes(r.content)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / "p")], check=True)
    (png,) = tmp_path.glob("p*.png")
    assert png.stat().st_size > 10_000
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for word in ("项目支出绩效自评表", "县农业农村局", "92.56", "新建高标准农田面积", "优"):
        assert word in text


def test_one_bad_form_of_several(web_api, scorer) -> None:
    bad = list(build.FARMLAND_ROWS)
    bad[0] = ("产出指标", "数量指标", "新建高标准农田面积", "≥1.2万亩", "很多", 20, None)
    sheets = []
    for name, rows in (("甲", build.FARMLAND_ROWS), ("乙", bad)):
        cells, merges = build.grid(build.farmland(rows, sheet=name))
        sheets.append((name, cells, merges))
    r = post(web_api, build.xlsx(sheets), XLSX, scorer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["ok"], body["failed"]) == (1, 1)
    good, failed = body["items"]
    assert good["total"] == FIXTURE_TOTAL
    assert failed["receipt"] is None
    assert failed["problems"][0]["cell"] == "乙!F13"


def test_no_form_scores_is_422_naming_cells(web_app, web_api, scorer) -> None:
    bad = list(build.FARMLAND_ROWS)
    bad[1] = ("产出指标", "质量指标", "工程验收合格率", "", "100%", "很多", None)
    before = evaluations(web_app)
    zh = {**scorer, "Accept-Language": "zh-CN"}
    r = post(web_api, build.form_xlsx(build.farmland(bad)), XLSX, zh)
    body = assert_problem(r, 422)
    assert r.headers["content-language"] == "zh-CN"
    locs = [e["loc"] for e in body["errors"]]
    assert ["body", "自评表", "自评表!G14"] in locs
    assert ["body", "自评表", "自评表!E14"] in locs
    assert all(CJK.search(e["msg"]) for e in body["errors"])
    english = assert_problem(post(web_api, build.form_xlsx(build.farmland(bad)), XLSX, scorer), 422)
    assert english["title"] == "Unprocessable content"
    assert all(re.search("[a-z]{3}", e["msg"]) for e in english["errors"])
    assert evaluations(web_app) == before


def test_unknown_framework_query(web_api, scorer) -> None:
    r = post(web_api, FIXTURE_XLSX.read_bytes(), XLSX, scorer, framework="NOPE")
    assert_problem(r, 422)


def _padded_form() -> bytes:
    """The fixture with 21 MB of incompressible padding: oversized."""
    import os

    src = zipfile.ZipFile(FIXTURE_XLSX)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            zf.writestr(info.filename, src.read(info.filename))
        zf.writestr("xl/media/padding.bin", os.urandom(21 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "status", "kind"),
    [
        (bad_files.encrypted, 422, "encrypted"),
        (bad_files.truncated, 422, "xlsx"),
        (_padded_form, 413, "too_large"),
        (bad_files.zip_bomb, 413, "too_large"),
        (bad_files.many_sheets, 413, "too_many_sheets"),
        (bad_files.empty_rows, 413, "too_many_rows"),
        (bad_files.form_reaching_row, 413, "too_many_rows"),
    ],
    ids=["encrypted", "truncated", "oversized", "zip-bomb", "sheets", "empty-rows", "row-1e6"],
)
def test_hostile_workbooks(web_app, web_api, scorer, make, status: int, kind: str) -> None:
    raw = make()
    before = evaluations(web_app)
    media = "application/vnd.ms-excel" if raw[:4] != b"PK\x03\x04" else XLSX
    start = time.perf_counter()
    r = post(web_api, raw, media, {**scorer, "Accept-Language": "zh-CN"})
    elapsed = time.perf_counter() - start
    body = assert_problem(r, status)
    assert body["errors"][0]["type"] == kind
    assert CJK.search(body["detail"]), body["detail"]  # in the language asked
    assert elapsed < 3.0, elapsed
    assert evaluations(web_app) == before


def test_template_per_framework(web_api) -> None:
    from openpyxl import load_workbook

    r = web_api.get("/v1/frameworks/SELF-EVAL/template")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    ws = load_workbook(io.BytesIO(r.content)).active
    values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    for word in (
        "项目支出绩效自评表",
        "产出指标",
        "数量指标",
        "效益指标",
        "可持续影响指标",
        "满意度指标",
    ):
        assert word in values
    assert ws["F6"].value == 10  # the budget-execution points
    dept = load_workbook(io.BytesIO(web_api.get("/v1/frameworks/DEPT-OVERALL/template").content))
    dvalues = [c.value for row in dept.active.iter_rows() for c in row if c.value is not None]
    assert "部门整体支出绩效自评表" in dvalues
    assert "在职人员控制率" in dvalues
    assert "其中：基本支出" in dvalues
    pdf = web_api.get("/v1/frameworks/SELF-EVAL/template", headers={"Accept": PDF})
    assert pdf.headers["content-type"] == PDF
    assert pdf.content.startswith(b"%PDF")
    assert_problem(web_api.get("/v1/frameworks/NOPE/template"), 404)


def test_flat_forms_still_work(web_api, scorer) -> None:
    from tests.web.forms import GOOD_CSV, TOTAL

    r = post(web_api, GOOD_CSV.encode(), "text/csv", scorer)
    assert r.status_code == 200, r.text
    assert r.json()["layout"] == "flat"
    assert r.json()["items"][0]["total"] == TOTAL


def test_scored_workbook_text_is_never_a_formula_nor_breaks_the_file(web_api, scorer) -> None:
    """Text a unit typed goes back as string cells: a formula-looking 偏差原因 stays text, and a
    control character XML cannot carry is replaced instead of failing the whole workbook."""
    from openpyxl import load_workbook

    text = FIXTURE_CSV.read_bytes().decode("gb18030")
    hostile = text.replace("材料价格上涨", "=HYPERLINK(1)材料\x07价格上涨")
    r = post(web_api, hostile.encode("gb18030"), "text/csv", {**scorer, "Accept": XLSX})
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws["I15"].data_type == "s"
    assert ws["I15"].value == "=HYPERLINK(1)材料\ufffd价格上涨"
