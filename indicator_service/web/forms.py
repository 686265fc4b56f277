"""``POST /v1/forms/score``: score an uploaded self-evaluation form (CSV or XLSX).

The body is the file itself with its media type (``text/csv`` or the XLSX type). The form is
read as the ``indicator-service score`` CLI reads it (``scoring.cli.parse_table`` and
``scoring.csvform``) and scored by ``scoring.service.score_batch``. It is all or nothing: every
submission of the form must score, otherwise the answer is a 422 problem naming each offending
line and column (``["body", "line", 3, "value"]``; the header is line 1). The answer is the
receipts as JSON, or the scored workbook (one line per indicator plus a ``TOTAL`` line per
submission, as the CLI writes it) when ``Accept`` asks for XLSX.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from indicator_service.auth.dependencies import AUTH_RESPONSES, ScorerDep
from indicator_service.core import readers, spreadsheet
from indicator_service.core.errors import (
    ErrorItem,
    NotAcceptable,
    Problem,
    Unprocessable,
    UnsupportedMediaType,
    excerpt,
)
from indicator_service.core.jsonbody import best_media
from indicator_service.scoring import service
from indicator_service.scoring.cli import OUT_COLUMNS, table_lines
from indicator_service.scoring.csvform import (
    TableError,
    normalise_header,
    records_to_submissions,
    validate_submissions,
)
from indicator_service.scoring.router import CatalogueDep
from indicator_service.scoring.schemas import Receipt, ScoreRequest

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
MAX_LINES = 20_000

router = APIRouter(prefix="/v1", tags=["scoring"])


class FormSubmission(BaseModel):
    submission: str = Field(description="the form's submission key ('1' without that column)")
    lines: list[int] = Field(description="the form lines (header = 1) of its indicator rows")
    total: float | None
    grade: str | None
    receipt: Receipt


class FormScoreResponse(BaseModel):
    count: int = Field(description="submissions in the form")
    items: list[FormSubmission]


def _read(raw: bytes, media: str) -> tuple[list[str], list[dict[str, Any]]]:
    if not raw:
        raise Unprocessable(
            "empty form", errors=[ErrorItem(loc=["body"], msg="no content", type="missing")]
        )
    if media == XLSX:
        return _table(readers.xlsx_rows(raw), "xlsx")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable(
            "the CSV form is not UTF-8",
            errors=[ErrorItem(loc=["body"], msg=str(exc), type="encoding")],
        ) from exc
    if "\x00" in text:
        raise Unprocessable(
            "NUL characters are not allowed",
            errors=[ErrorItem(loc=["body"], msg="NUL character", type="nul")],
        )
    return _table(readers.csv_rows(text), "csv")


def _table(rows: Iterator[Sequence[Any]], kind: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and records of a form's rows, as ``scoring.cli.parse_table`` makes them, read
    within the limits of ``core.readers`` (an unreadable file is a 422 naming the line)."""
    try:
        first = next(rows, None)
        if first is None:
            raise Unprocessable(
                "empty form",
                errors=[ErrorItem(loc=["body"], msg="no header line", type="missing")],
            )
        header = normalise_header("" if h is None else str(h) for h in first)
        records = [
            {h: ("" if v is None else str(v)) for h, v in zip(header, row, strict=False)}
            for row in rows
        ]
    except readers.ReadError as exc:
        loc: list[str | int] = ["body", "line", exc.line] if exc.line is not None else ["body"]
        raise Unprocessable(
            "the form is not readable", errors=[ErrorItem(loc=loc, msg=exc.message, type=kind)]
        ) from exc
    return header, records


def _line_numbers(records: Iterable[Mapping[str, Any]]) -> dict[str, list[int]]:
    """Form lines of each submission's rows, grouped as ``records_to_submissions`` groups them."""
    lines: dict[str, list[int]] = {}
    for n, rec in enumerate(records, start=2):
        cell = {k: ("" if v is None else str(v)) for k, v in rec.items() if k}
        if not any(v.strip() for v in cell.values()):
            continue
        lines.setdefault(cell.get("submission", "").strip() or "1", []).append(n)
    return lines


def _located(e: ErrorItem, key: str, lines: list[int], rest: list[str | int]) -> ErrorItem:
    """An error about one submission, located at its form line when it concerns a row."""
    if len(rest) >= 2 and rest[0] == "rows" and isinstance(rest[1], int) and rest[1] < len(lines):
        line = lines[rest[1]]
        field = [str(x) for x in rest[2:]]
        msg = f"line {line}, column {field[0]}: {e.msg}" if field else f"line {line}: {e.msg}"
        return ErrorItem(loc=["body", "line", line, *field], msg=msg, type=e.type)
    first = lines[0] if lines else 2
    return ErrorItem(loc=["body", "line", first, *rest], msg=f"line {first}: {e.msg}", type=e.type)


def score_form(
    raw: bytes, media: str, framework: str | None, catalogue: service.CatalogueLookup
) -> tuple[list[str], list[ScoreRequest], list[Any], dict[str, list[int]]]:
    """Keys, requests, batch results and line numbers of a form that scores; 422 otherwise."""
    header, records = _read(raw, media)
    if len(records) > MAX_LINES:
        raise Unprocessable(
            f"the form has more than {MAX_LINES} lines",
            errors=[ErrorItem(loc=["body"], msg="too many lines", type="too_long")],
        )
    lines = _line_numbers(records)
    try:
        keys, subs = records_to_submissions(header, records, default_framework=framework)
    except TableError as exc:
        raise Unprocessable(
            "the form has unreadable cells",
            errors=[ErrorItem(loc=["body", *e.loc], msg=e.msg, type=e.type) for e in exc.errors],
        ) from exc
    if not subs:
        raise Unprocessable(
            "the form has no indicator rows",
            errors=[ErrorItem(loc=["body"], msg="no data lines", type="missing")],
        )
    valid, errs = validate_submissions(keys, subs)
    errors: list[ErrorItem] = []
    for key, err in zip(keys, errs, strict=True):
        errors.extend(_located(e, key, lines[key], list(e.loc[2:])) for e in err)
    if errors:
        raise Unprocessable("the form has invalid rows", errors=errors)
    requests = [v for v in valid if v is not None]
    batch = service.score_batch(list(requests), catalogue, detail=True)
    for i, (key, res) in enumerate(zip(keys, batch.items, strict=True)):
        for e in res.errors:
            loc = list(e.loc)
            rest = loc[3:] if loc[:3] == ["body", "items", i] else loc
            errors.append(_located(e, key, lines[key], rest))
    if errors:
        raise Unprocessable("the form has rows that cannot be scored", errors=errors)
    return keys, requests, batch.items, lines


def _workbook(keys: list[str], requests: list[ScoreRequest], results: list[Any]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("scores")
    ws.append(list(OUT_COLUMNS))
    for line in table_lines(keys, list(requests), results):
        # text as string cells: a row name such as "=HYPERLINK(…)" is never a formula
        ws.append(spreadsheet.xlsx_row(ws, (line.get(c) for c in OUT_COLUMNS)))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the self-evaluation form: CSV (UTF-8) or an XLSX workbook (first sheet)",
        "content": {
            CSV: {
                "schema": {"type": "string"},
                "example": "framework,一级指标,二级指标,三级指标,分值,计算符号,指标值,计量单位,"
                "实际完成值,budget_adjusted,budget_executed\n"
                "SELF-EVAL,产出指标,数量指标,完成数量,50,≥,100,台,96.8,100,98\n",
            },
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/forms/score",
    response_model=FormScoreResponse,
    summary="Score an uploaded self-evaluation form (CSV or XLSX); receipts or scored XLSX",
    openapi_extra=FORM_BODY,
    responses={
        **AUTH_RESPONSES,
        200: {
            "description": "Every submission of the form scored: receipts as JSON, or the "
            "scored workbook when Accept asks for XLSX",
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
        },
        406: {
            "model": Problem,
            "description": "Accept names neither application/json nor the XLSX type",
            "content": {"application/problem+json": {}},
        },
        415: {"description": "Neither CSV nor XLSX"},
    },
)
async def score_uploaded_form(
    request: Request,
    _principal: ScorerDep,
    catalogue: CatalogueDep,
    framework: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=40,
            pattern=r"^[^\x00]*$",
            description="framework code for a form without a framework column",
        ),
    ] = None,
) -> Any:
    answer = best_media(request.headers.get("accept"), ["application/json", XLSX])
    if answer is None:
        raise NotAcceptable(
            f"the answer is application/json or {XLSX}",
            errors=[
                ErrorItem(
                    loc=["header", "accept"],
                    msg=f"neither application/json nor {XLSX} is acceptable",
                    type="not_acceptable",
                )
            ],
        )
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in (CSV, XLSX):
        raise UnsupportedMediaType(f"send the form as {CSV} or {XLSX}, not {excerpt(media)}")
    raw = await request.body()
    keys, requests, results, lines = await run_in_threadpool(
        score_form, raw, media, framework, catalogue
    )
    if answer == XLSX:
        content = await run_in_threadpool(_workbook, keys, requests, results)
        return Response(
            content,
            media_type=XLSX,
            headers={"Content-Disposition": 'attachment; filename="scored.xlsx"'},
        )
    items = [
        FormSubmission(
            submission=key,
            lines=lines[key],
            total=res.result.total,
            grade=res.result.grade.grade if res.result.grade else None,
            receipt=res.result,
        )
        for key, res in zip(keys, results, strict=True)
    ]
    return FormScoreResponse(count=len(items), items=items)
