"""Old Excel 97–2003 workbooks (.xls), still common in county offices: the shared fixture
written as an XLS file (cells, merged 一级/二级 cells and the sheet name kept) scores as the XLSX
does, through the reader and through POST /v1/forms/score."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
import xlwt  # type: ignore[import-untyped]
from fastapi import FastAPI

from indicator_service.auth.models import Role
from indicator_service.forms import pipeline
from tests.auth.fixtures import bearer, issue_key
from tests.forms import build
from tests.forms.build import FIXTURE_GRADE, FIXTURE_TOTAL, FIXTURE_XLSX
from tests.forms.test_api import post
from tests.helpers import ApiClient

XLS = "application/vnd.ms-excel"


def fixture_as_xls() -> bytes:
    """The shared XLSX fixture rewritten cell by cell as an XLS workbook (a formula without a
    cached value, such as ``=100%``, is written as the text the unit typed)."""
    source = openpyxl.load_workbook(FIXTURE_XLSX, data_only=False)
    book = xlwt.Workbook(encoding="utf-8")
    for ws in source.worksheets:
        out = book.add_sheet(ws.title)
        merged: dict[tuple[int, int], Any] = {}
        for rng in ws.merged_cells.ranges:
            merged[(rng.min_row, rng.min_col)] = rng
        covered = {
            (r, c)
            for rng in ws.merged_cells.ranges
            for r in range(rng.min_row, rng.max_row + 1)
            for c in range(rng.min_col, rng.max_col + 1)
            if (r, c) != (rng.min_row, rng.min_col)
        }
        for row in ws.iter_rows():
            for cell in row:
                key = (cell.row, cell.column)
                if key in covered or cell.value is None:
                    continue
                value = cell.value
                if key in merged:
                    rng = merged[key]
                    out.write_merge(
                        rng.min_row - 1, rng.max_row - 1, rng.min_col - 1, rng.max_col - 1, value
                    )
                else:
                    out.write(cell.row - 1, cell.column - 1, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def xls_bytes() -> bytes:
    data = fixture_as_xls()
    assert data[:8] == bytes.fromhex("D0CF11E0A1B11AE1")  # an OLE2 (Excel 97–2003) file
    return data


def test_xls_fixture_scores_as_the_xlsx(xls_bytes: bytes) -> None:
    outcomes = pipeline.score_forms(xls_bytes, None, build.document_catalogue())
    assert len(outcomes) == 1
    o = outcomes[0]
    assert o.ok, [(p.where, p.msg) for p in o.problems]
    assert o.receipt is not None
    assert o.receipt.grade is not None
    assert (o.receipt.total, o.receipt.grade.grade) == (FIXTURE_TOTAL, FIXTURE_GRADE)
    assert o.form.project == "2022年高标准农田建设项目"


def test_xls_fixture_through_the_api(
    web_app: FastAPI, web_api: ApiClient, xls_bytes: bytes
) -> None:
    key = bearer(issue_key(web_app.state.engine, web_app.state.settings, Role.client))
    r = post(web_api, xls_bytes, XLS, key)
    assert r.status_code == 200, r.text
    item = r.json()["items"][0]
    assert (item["total"], item["grade"]) == (FIXTURE_TOTAL, FIXTURE_GRADE)
