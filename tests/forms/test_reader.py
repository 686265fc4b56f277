"""The reader of the national layout: the shared fixture (both files) and generated variants,
scored through the pipeline against the YAML catalogue."""

from __future__ import annotations

import pytest

from indicator_service.core.i18n import CHINESE, language
from indicator_service.forms import pipeline
from indicator_service.forms.reader import (
    FormFileError,
    national_sheets,
    parse_sheets,
    read_sheets,
)
from tests.forms import build
from tests.forms.build import (
    FIXTURE_CSV,
    FIXTURE_GRADE,
    FIXTURE_TOTAL,
    FIXTURE_XLSX,
    csv_bytes,
    farmland,
    find_row,
    grid,
    insert_column,
    insert_rows,
    xlsx,
)


@pytest.fixture(scope="module")
def catalogue():
    return build.document_catalogue()


def scored(raw: bytes, catalogue, framework: str | None = None) -> list[pipeline.FormOutcome]:
    return pipeline.score_forms(raw, framework, catalogue)


def only_ok(outcomes: list[pipeline.FormOutcome]) -> pipeline.FormOutcome:
    assert len(outcomes) == 1
    o = outcomes[0]
    assert o.ok, [(p.where, p.msg) for p in o.problems]
    return o


EXPECTED_LEAVES = {
    "预算执行率": 9.6,
    "新建高标准农田面积": 18.33,
    "工程验收合格率": 10.0,
    "亩均建设成本": 9.5,
    "项目按期完工": 7.0,
    "粮食产能提升": 15.0,
    "灌溉水有效利用系数": 13.13,
    "受益农户满意度": 10.0,
}


@pytest.mark.parametrize("path", [FIXTURE_XLSX, FIXTURE_CSV], ids=["xlsx", "gbk-csv"])
def test_shared_fixture_scores_92_56(path, catalogue) -> None:
    raw = path.read_bytes()
    o = only_ok(scored(raw, catalogue))
    assert o.receipt is not None
    assert o.receipt.grade is not None
    assert (o.receipt.total, o.receipt.grade.grade) == (FIXTURE_TOTAL, FIXTURE_GRADE)
    assert {lf.name: lf.score for lf in o.receipt.leaves} == EXPECTED_LEAVES
    form = o.form
    assert (form.project, form.department, form.unit) == (
        "2022年高标准农田建设项目",
        "县农业农村局",
        "县农田建设服务中心",
    )
    assert form.fiscal_year == 2022
    assert [(x.label, x.initial, x.adjusted, x.executed, x.sub) for x in form.funds] == [
        ("年度资金总额", 450, 500, 480, False),
        ("当年财政拨款", 450, 500, 480, True),
        ("上年结转资金", 0, 0, 0, True),
        ("其他资金", 0, 0, 0, True),
    ]
    assert form.goal_expected is not None
    assert form.goal_expected.startswith("新建高标准农田1.2万亩")
    # the project and funds blocks are echoed in the receipt
    header = o.receipt.form
    assert header is not None
    assert (header.project_name, header.department, header.implementing_unit) == (
        "2022年高标准农田建设项目",
        "县农业农村局",
        "县农田建设服务中心",
    )
    assert [(x.label, x.initial) for x in header.funds][:2] == [
        ("年度资金总额", 450),
        ("当年财政拨款", 450),
    ]
    assert o.receipt.project == "2022年高标准农田建设项目"
    explained = {lf.name: lf.explanation for lf in o.receipt.leaves}
    assert explained["亩均建设成本"] == "材料价格上涨"


def test_fixture_files_are_not_changed() -> None:
    before = FIXTURE_XLSX.read_bytes(), FIXTURE_CSV.read_bytes()
    read_sheets(before[0])
    read_sheets(before[1])
    assert (FIXTURE_XLSX.read_bytes(), FIXTURE_CSV.read_bytes()) == before


def test_generated_form_equals_fixture(catalogue) -> None:
    o = only_ok(scored(build.form_xlsx(farmland()), catalogue))
    assert o.receipt is not None
    assert o.receipt.total == FIXTURE_TOTAL


def _variant_total(cells, merges, catalogue, **kw) -> float | None:
    o = only_ok(scored(xlsx([("自评表", cells, merges)], **kw), catalogue))
    assert o.receipt is not None
    return o.receipt.total


def test_extra_title_rows_and_blank_rows(catalogue) -> None:
    cells, merges = grid(farmland())
    insert_rows(cells, merges, 0, [["附件3"] + [""] * 9, ["XX县财政局制"] + [""] * 9])
    at = find_row(cells, "年度总体目标")
    insert_rows(cells, merges, at, [[""] * 10, [""] * 10])
    at = find_row(cells, "工程验收合格率")
    insert_rows(cells, merges, at, [[""] * 10])
    assert _variant_total(cells, merges, catalogue) == FIXTURE_TOTAL
    # and as CSV, with merged cells empty
    o = only_ok(scored(csv_bytes(cells, "gb18030"), catalogue))
    assert o.receipt is not None
    assert o.receipt.total == FIXTURE_TOTAL


def test_hidden_column_and_offset_start(catalogue) -> None:
    cells, merges = grid(farmland())
    insert_column(cells, merges, 4, lambda r: "内部编码" if r else "")  # hidden helper column
    insert_column(cells, merges, 0, lambda r: "")  # the form starts in column B
    insert_rows(cells, merges, 0, [[""] * 12, [""] * 12])  # … on row 3
    assert _variant_total(cells, merges, catalogue, hidden_columns=[5]) == FIXTURE_TOTAL


def test_remark_column_is_read_and_kept(catalogue) -> None:
    cells, merges = grid(farmland())
    r = find_row(cells, "受益农户满意度")
    cells[r][9] = "问卷 200 份"
    o = only_ok(scored(xlsx([("自评表", cells, merges)]), catalogue))
    assert [x.remark for x in o.form.indicators][-1] == "问卷 200 份"


def test_merged_target_actual_pair(catalogue) -> None:
    """指标值 over two columns, 年度指标值 / 实际完成值 in the row below."""
    cells, merges = grid(farmland())
    h = find_row(cells, "一级指标")
    sub = [""] * 10
    sub[4], sub[5] = "年度指标值", "实际完成值"
    cells[h][4], cells[h][5] = "指标值", ""
    insert_rows(cells, merges, h + 1, [sub])
    merges.append((h, 4, h, 5))
    assert _variant_total(cells, merges, catalogue) == FIXTURE_TOTAL


def test_department_layout(catalogue) -> None:
    raw = build.form_xlsx(farmland(department=True))
    o = only_ok(scored(raw, catalogue))
    assert o.form.layout == "department"
    assert [x.label for x in o.form.funds] == ["年度资金总额", "基本支出", "项目支出"]
    assert o.receipt is not None
    assert o.receipt.form is not None
    assert o.receipt.form.layout == "department"
    assert o.receipt.total == FIXTURE_TOTAL


def test_several_forms_one_bad_does_not_stop_the_others(catalogue) -> None:
    bad_rows = list(build.FARMLAND_ROWS)
    bad_rows[2] = ("产出指标", "成本指标", "亩均建设成本", "≤200元", "二百一十公斤", 10, None)
    sheets = []
    for name, form in (
        ("甲项目", farmland(sheet="甲项目")),
        ("乙项目", farmland(bad_rows, sheet="乙项目")),
        ("丙项目", farmland(sheet="丙项目", executed=500)),
    ):
        cells, merges = grid(form)
        sheets.append((name, cells, merges))
    sheets.append(("填表说明", [["请按要求填写"]], []))
    with language(CHINESE):
        outcomes = scored(xlsx(sheets, hidden_sheets=["填表说明"]), catalogue)
    assert [o.form.sheet for o in outcomes] == ["甲项目", "乙项目", "丙项目"]
    assert [o.ok for o in outcomes] == [True, False, True]
    first, third = outcomes[0].receipt, outcomes[2].receipt
    assert first is not None
    assert third is not None
    assert first.total == FIXTURE_TOTAL
    assert third.total == round(FIXTURE_TOTAL + 0.4, 2)
    (problem,) = outcomes[1].problems
    assert problem.where == "乙项目!F15"
    assert "单位" in problem.msg
    assert "元" in problem.msg
    (english,) = scored(xlsx(sheets, hidden_sheets=["填表说明"]), catalogue)[1].problems
    assert "differs from the target's unit" in english.msg


def test_problem_names_sheet_and_cell_in_the_language_asked(catalogue) -> None:
    rows = list(build.FARMLAND_ROWS)
    rows[3] = ("产出指标", "时效指标", "项目按期完工", "按期完成", "还行吧", 10, None)
    rows[4] = (
        "效益指标",
        "经济效益指标",
        "粮食产能提升",
        "≥100公斤/亩",
        "105公斤/亩",
        "十五分半",
        None,
    )
    with language(CHINESE):
        (o,) = scored(build.form_xlsx(farmland(rows)), catalogue)
    assert not o.ok
    where = {p.where: p.msg for p in o.problems}
    assert set(where) == {"自评表!F16", "自评表!G17"}
    assert "不是可识别的完成程度" in where["自评表!F16"]
    assert "部分达成" in where["自评表!F16"]
    assert where["自评表!G17"].startswith("分值")
    (o,) = scored(build.form_xlsx(farmland(rows)), catalogue)
    assert "is not a known level" in {p.where: p.msg for p in o.problems}["自评表!F16"]


def test_class_totals_mismatch_is_located(catalogue) -> None:
    """A problem the scoring service finds (a row's points) comes back at the row's cell."""
    rows = list(build.FARMLAND_ROWS)
    rows[0] = ("产出指标", "数量指标", "新建高标准农田面积", "≥1.2万亩", "1.1万亩", 200, None)
    (o,) = scored(build.form_xlsx(farmland(rows)), catalogue)
    assert not o.ok
    assert any(p.where == "自评表!G13" for p in o.problems), [(p.where, p.msg) for p in o.problems]


def test_formula_without_cached_value_is_a_clear_error(catalogue) -> None:
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(build.form_xlsx(farmland())))
    ws = wb.active
    ws["G13"] = "=SUM(G14:G15)"  # openpyxl stores no cached value
    out = io.BytesIO()
    wb.save(out)
    with language(CHINESE):
        (o,) = scored(out.getvalue(), catalogue)
    assert [(p.where, p.type) for p in o.problems] == [("自评表!G13", "formula")]
    assert "没有计算结果" in o.problems[0].msg
    (o,) = scored(out.getvalue(), catalogue)
    assert "has no cached value" in o.problems[0].msg


def test_flat_table_is_not_national() -> None:
    flat = "framework,一级指标,二级指标,三级指标,分值,计算符号,指标值,计量单位,实际完成值\n"
    flat += "SELF-EVAL,产出指标,数量指标,完成数量,50,≥,100,台,96.8\n"
    assert national_sheets(flat.encode()) is None


def test_utf8_with_and_without_bom(catalogue) -> None:
    cells, _ = grid(farmland())
    for raw in (csv_bytes(cells, "utf-8"), b"\xef\xbb\xbf" + csv_bytes(cells, "utf-8")):
        receipt = only_ok(scored(raw, catalogue)).receipt
        assert receipt is not None
        assert receipt.total == FIXTURE_TOTAL


def test_unreadable_csv_encoding() -> None:
    with pytest.raises(FormFileError) as exc:
        read_sheets("项目支出绩效自评表".encode("utf-16-le") + b"\xff\xfe\x00\xd8")
    assert exc.value.type in ("encoding", "nul")


def test_parse_sheets_skips_sheets_without_a_table() -> None:
    sheets = read_sheets(xlsx([("说明", [["填表说明"], ["按要求填写"]], [])]))
    assert parse_sheets(sheets) == ([], [])
