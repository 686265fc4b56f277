"""``POST /v1/forms/score``: CSV and XLSX forms in, receipts or the scored workbook out."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi import FastAPI

from indicator_service.auth.models import Role
from tests.auth.fixtures import bearer, issue_key
from tests.helpers import ApiClient, assert_problem
from tests.web.forms import (
    BAD_CELL_CSV,
    BAD_ROW_CSV,
    CLASS_TOTAL_CSV,
    CLASS_TOTAL_MSG,
    CLASS_TOTAL_MSG_ZH,
    EXPLANATION,
    GOOD_CSV,
    GRADE,
    TOTAL,
    as_xlsx,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def scorer(web_app: FastAPI) -> dict[str, str]:
    return bearer(issue_key(web_app.state.engine, web_app.state.settings, Role.client))


def post(api: ApiClient, body: bytes | str, media: str, headers: dict[str, str], **kw: str):
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return api.post(
        "/v1/forms/score", content=raw, headers={"Content-Type": media, **headers}, params=kw
    )


def test_csv_form_scores_with_receipt(
    web_api: ApiClient, web_app: FastAPI, scorer: dict[str, str]
) -> None:
    r = post(web_api, GOOD_CSV, "text/csv", scorer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 1
    item = body["items"][0]
    assert (item["total"], item["grade"], item["lines"]) == (TOTAL, GRADE, [2, 3, 4])
    receipt = item["receipt"]
    assert receipt["project"] == "WEB-PRJ"
    assert receipt["fiscal_year"] == 2024
    scores = {leaf["id"]: leaf["score"] for leaf in receipt["leaves"]}
    assert scores == {"EXEC": 9.8, "qty": 48.4, "soc": 30.0, "sat": 9.0}
    assert receipt["grade"]["recommendation_zh"] == "根据情况予以支持"
    explained = {leaf["id"]: leaf["explanation"] for leaf in receipt["leaves"]}
    assert explained == {"EXEC": None, "qty": None, "soc": None, "sat": EXPLANATION}
    # every leaf that lost points without 偏差原因分析 says so (sat lost 1 but explains it)
    missing = {lf["id"] for lf in receipt["leaves"] if "explanation_missing" in lf["warnings"]}
    assert missing == {"EXEC", "qty"}
    # the request read from the form, ready to store: storing it gives the same total
    request = item["request"]
    assert (request["project"], request["framework"], len(request["rows"])) == (
        "WEB-PRJ",
        "SELF-EVAL",
        3,
    )
    evaluator = bearer(
        issue_key(web_app.state.engine, web_app.state.settings, Role.evaluator, name="store")
    )
    stored = web_api.post("/v1/evaluations", json=request, headers=evaluator)
    assert stored.status_code == 201, stored.text
    assert stored.json()["total"] == TOTAL


def test_xlsx_form_and_scored_workbook(web_api: ApiClient, scorer: dict[str, str]) -> None:
    from openpyxl import load_workbook

    r = post(web_api, as_xlsx(GOOD_CSV), XLSX, scorer)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["total"] == TOTAL
    r = post(web_api, as_xlsx(GOOD_CSV), XLSX, {**scorer, "Accept": XLSX})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert "attachment" in r.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    head = rows[0]
    lines = [dict(zip(head, row, strict=True)) for row in rows[1:]]
    assert [line["id"] for line in lines] == ["EXEC", "qty", "soc", "sat", "TOTAL"]
    total = lines[-1]
    assert (total["total"], total["grade"]) == (TOTAL, GRADE)
    assert lines[1]["score"] == 48.4
    assert lines[1]["lost"] == 1.6


def test_framework_from_query_when_the_form_has_none(
    web_api: ApiClient, scorer: dict[str, str]
) -> None:
    text = "\n".join(line.split(",", 1)[1] for line in GOOD_CSV.splitlines())
    r = post(web_api, text, "text/csv", scorer, framework="SELF-EVAL")
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["total"] == TOTAL
    r = post(web_api, text, "text/csv", scorer)
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"][:3] == ["body", "line", 2]
    assert "framework" in body["errors"][0]["loc"]


def test_unreadable_cell_names_line_and_column(web_api: ApiClient, scorer: dict[str, str]) -> None:
    body = assert_problem(post(web_api, BAD_CELL_CSV, "text/csv", scorer), 422)
    assert body["errors"] == [
        {"loc": ["body", "line", 2, "value"], "msg": "not a number: 'abc'", "type": "float_parsing"}
    ]


def test_row_the_scoring_refuses_names_line_and_column(
    web_api: ApiClient, scorer: dict[str, str]
) -> None:
    for raw, media in ((BAD_ROW_CSV, "text/csv"), (as_xlsx(BAD_ROW_CSV), XLSX)):
        body = assert_problem(post(web_api, raw, media, scorer), 422)
        locs = [e["loc"] for e in body["errors"]]
        assert ["body", "line", 4, "level"] in locs, body
        assert all(loc[:3] == ["body", "line", 4] for loc in locs)
        assert any("line 4, column level" in e["msg"] for e in body["errors"])


def test_bad_bodies_are_problems(web_api: ApiClient, scorer: dict[str, str]) -> None:
    assert_problem(post(web_api, GOOD_CSV, "application/json", scorer), 415)
    assert_problem(post(web_api, b"PK\x03\x04 not a zip", XLSX, scorer), 422)
    assert_problem(post(web_api, b"", "text/csv", scorer), 422)
    assert_problem(post(web_api, b"\xff\xfe\x00", "text/csv", scorer), 422)
    assert_problem(post(web_api, "class_l1,points\n", "text/csv", scorer), 422)
    body = assert_problem(post(web_api, "nonsense,points\nx,1\n", "text/csv", scorer), 422)
    assert body["errors"][0]["loc"] == ["body", "header", "nonsense"]


def test_broken_workbook_is_a_problem(web_api: ApiClient, scorer: dict[str, str]) -> None:
    """A zip whose worksheet XML is cut in half (openpyxl raises ParseError): 422, not 500."""
    src = zipfile.ZipFile(io.BytesIO(as_xlsx(GOOD_CSV)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as broken:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            broken.writestr(info.filename, data)
    body = assert_problem(post(web_api, out.getvalue(), XLSX, scorer), 422)
    assert body["errors"][0]["loc"] == ["body"]
    assert body["errors"][0]["type"] == "xlsx"


def test_needs_a_scorer_key(web_app: FastAPI, web_api: ApiClient) -> None:
    assert_problem(post(web_api, GOOD_CSV, "text/csv", {}), 401)
    curator = issue_key(web_app.state.engine, web_app.state.settings, Role.curator, ["*"])
    assert_problem(post(web_api, GOOD_CSV, "text/csv", bearer(curator)), 403)
    evaluator = issue_key(web_app.state.engine, web_app.state.settings, Role.evaluator)
    assert post(web_api, GOOD_CSV, "text/csv", bearer(evaluator)).status_code == 200


def test_documented_in_openapi(web_api: ApiClient) -> None:
    op = web_api.get("/openapi.json").json()["paths"]["/v1/forms/score"]["post"]
    assert set(op["requestBody"]["content"]) == {
        "text/csv",
        XLSX,
        "application/vnd.ms-excel",
        "multipart/form-data",  # the same file as the `file` part (generated clients, browsers)
    }
    assert {"200", "401", "403", "415", "422"} <= set(op["responses"])
    assert op["security"] == [{"BearerApiKey": []}]


def test_class_totals_are_enforced_on_the_uploaded_form(
    web_api: ApiClient, scorer: dict[str, str]
) -> None:
    """The rows name their 二级指标 (数量指标, 质量指标); 产出 still must add up to 50. The CLI
    gives the same answer (tests/scoring/test_cli.py)."""
    for raw, media in ((CLASS_TOTAL_CSV, "text/csv"), (as_xlsx(CLASS_TOTAL_CSV), XLSX)):
        body = assert_problem(post(web_api, raw, media, scorer), 422)
        assert body["errors"] == [
            {
                "loc": ["body", "line", line, "points"],
                "msg": f"line {line}, column points: {CLASS_TOTAL_MSG}",
                "type": "points_do_not_add_up",
            }
            for line in (2, 3)
        ]
        zh = assert_problem(post(web_api, raw, media, {**scorer, "Accept-Language": "zh-CN"}), 422)
        assert [e["msg"] for e in zh["errors"]] == [
            f"第 {line} 行第 points 列：{CLASS_TOTAL_MSG_ZH}" for line in (2, 3)
        ]


def test_form_receipts_carry_labels_in_the_language_asked(
    web_api: ApiClient, scorer: dict[str, str]
) -> None:
    # a receipt answered for an uploaded form is labelled like every other receipt
    # (docs/scoring.md, "Labels"), in the request's language
    labels = {}
    for lang in ("zh-CN", "en"):
        r = post(web_api, GOOD_CSV, "text/csv", {**scorer, "Accept-Language": lang})
        assert r.status_code == 200, r.text
        receipt = r.json()["items"][0]["receipt"]
        assert receipt["grade_label"]
        assert receipt["missing_policy_label"]
        assert all(leaf["rule_label"] for leaf in receipt["leaves"])
        labels[lang] = (receipt["grade_label"], receipt["leaves"][0]["rule_label"])
    assert labels["zh-CN"] != labels["en"]
