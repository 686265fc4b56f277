"""``POST /v1/forms/score``: score an uploaded self-evaluation form (CSV, XLSX or XLS).

A form in the national layout (项目支出 / 部门整体支出绩效自评表, found by its labels: see
``indicator_service.forms`` and docs/forms.md) is read by that package: each sheet is a form,
scored as a batch in which a bad form does not stop the others (every problem names its sheet and
cell); the answer is the receipts, or the scored forms in the same layout as XLSX or PDF
(``Accept``). Any other table is the flat layout below.

The body is the file itself with its media type (``text/csv`` or the XLSX type). The form is
read as the ``indicator-service score`` CLI reads it (``tables.rows`` and
``scoring.csvform``) and scored by ``scoring.batch.score_batch``. It is all or nothing: every
submission of the form must score, otherwise the answer is a 422 problem naming each offending
line and column (``["body", "line", 3, "value"]``; the header is line 1). The answer is the
receipts as JSON, or the scored workbook (one line per indicator plus a ``TOTAL`` line per
submission, as the CLI writes it) when ``Accept`` asks for XLSX.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from indicator_service.auth.dependencies import AUTH_RESPONSES, ReaderDep, ScorerDep
from indicator_service.catalogue.router import FwPath, VersionQuery
from indicator_service.core.errors import (
    ErrorItem,
    NotAcceptable,
    PayloadTooLarge,
    Problem,
    ServiceUnavailable,
    Unprocessable,
    UnsupportedMediaType,
    excerpt,
)
from indicator_service.core.i18n import _
from indicator_service.core.jsonbody import best_media
from indicator_service.core.readers import ReadError
from indicator_service.core.upload import accepting, media_of, upload_content
from indicator_service.forms import pipeline as national
from indicator_service.forms.reader import FormFileError, national_sheets
from indicator_service.scoring.batch import score_batch
from indicator_service.scoring.csvform import (
    OUT_COLUMNS,
    TableError,
    records_to_submissions,
    table_lines,
    table_records,
    validate_submissions,
)
from indicator_service.scoring.labels import labelled
from indicator_service.scoring.lookup import CatalogueLookup
from indicator_service.scoring.router import CatalogueDep
from indicator_service.scoring.schemas import Receipt, ScoreRequest
from indicator_service.tables import rows as table_rows
from indicator_service.tables import writers
from indicator_service.tables.limits import MAX_LINES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"
CSV = "text/csv"
PDF = "application/pdf"

router = APIRouter(prefix="/v1", tags=["scoring"])


class FormProblemOut(BaseModel):
    cell: str | None = Field(description="where: sheet and cell (自评表!F15), or the sheet")
    msg: str = Field(
        description="what is wrong and what would be accepted, in the language of the request"
    )
    type: str


class FormSubmission(BaseModel):
    submission: str = Field(
        description="the submission key ('1' without that column); a national-layout form: "
        "its sheet name"
    )
    lines: list[int] = Field(description="the form lines (header = 1) of its indicator rows")
    total: float | None
    grade: str | None
    receipt: Receipt | None = Field(description="null for a form with problems")
    ok: bool = True
    sheet: str | None = Field(default=None, description="national layout: the form's sheet")
    problems: list[FormProblemOut] = Field(
        default_factory=list, description="national layout: what stops this form, by cell"
    )
    request: ScoreRequest | None = Field(
        default=None,
        description="the score request read from the form (a national-layout form's with its "
        "project and funds blocks); POST it to /v1/evaluations to store the evaluation",
    )


class FormScoreResponse(BaseModel):
    count: int = Field(description="submissions (forms) in the file")
    layout: str = Field(
        default="flat", description="`flat` (one line per row) or `national` (自评表 layout)"
    )
    ok: int | None = None
    failed: int | None = None
    items: list[FormSubmission]


def _file_error(exc: FormFileError) -> Exception:
    item = ErrorItem(loc=["body"], msg=exc.message, type=exc.type)
    if exc.status == 413:
        return PayloadTooLarge(exc.message, errors=[item])
    return Unprocessable(exc.message, errors=[item])


def score_national(
    raw: bytes, framework: str | None, catalogue: CatalogueLookup
) -> list[national.FormOutcome] | None:
    """The forms of a national-layout file, scored (``None``: not that layout). 413/422 for
    a file that cannot be read; 422 naming every cell when no form of the file scores."""
    try:
        sheets = national_sheets(raw)
        if sheets is None:
            return None
        outcomes = national.score_sheets(sheets, framework, catalogue)
    except FormFileError as exc:
        raise _file_error(exc) from exc
    if not any(o.ok for o in outcomes):
        errors = [
            ErrorItem(
                loc=["body", p.sheet, p.where],
                msg=_("{where}: {msg}", where=p.where, msg=p.msg),
                type=p.type,
            )
            for o in outcomes
            for p in o.problems
        ]
        raise Unprocessable(_("no form of the file can be scored"), errors=errors)
    return outcomes


def _national_response(outcomes: list[national.FormOutcome]) -> FormScoreResponse:
    items = [
        FormSubmission(
            submission=o.form.sheet,
            sheet=o.form.sheet,
            lines=[x.row + 1 for x in o.form.indicators],
            total=o.receipt.total if o.receipt else None,
            grade=o.receipt.grade.grade if o.receipt and o.receipt.grade else None,
            receipt=labelled(o.receipt) if o.receipt else None,
            ok=o.ok,
            problems=[FormProblemOut(cell=p.where, msg=p.msg, type=p.type) for p in o.problems],
            request=o.request,
        )
        for o in outcomes
    ]
    ok = sum(1 for o in outcomes if o.ok)
    return FormScoreResponse(
        count=len(items), layout="national", ok=ok, failed=len(items) - ok, items=items
    )


def _read(raw: bytes, media: str) -> tuple[list[str], list[dict[str, Any]]]:
    if not raw:
        raise Unprocessable(
            _("empty form"), errors=[ErrorItem(loc=["body"], msg=_("no content"), type="missing")]
        )
    if media == XLSX:
        return _table(table_rows.xlsx_rows(raw), "xlsx")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable(
            _("the CSV form is not UTF-8"),
            errors=[ErrorItem(loc=["body"], msg=str(exc), type="encoding")],
        ) from exc
    if "\x00" in text:
        raise Unprocessable(
            _("NUL characters are not allowed"),
            errors=[ErrorItem(loc=["body"], msg=_("NUL character"), type="nul")],
        )
    return _table(table_rows.csv_rows(text), "csv")


def _table(rows: Iterator[Sequence[Any]], kind: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and records of a form's rows, as the CLI's ``scoring.cli.read_table`` makes them,
    read within the limits of ``tables.limits`` (an unreadable file is a 422 naming the line)."""
    try:
        table = table_records(rows)
    except ReadError as exc:
        loc: list[str | int] = ["body", "line", exc.line] if exc.line is not None else ["body"]
        raise Unprocessable(
            _("the form is not readable"), errors=[ErrorItem(loc=loc, msg=exc.message, type=kind)]
        ) from exc
    if table is None:
        raise Unprocessable(
            _("empty form"),
            errors=[ErrorItem(loc=["body"], msg=_("no header line"), type="missing")],
        )
    return table


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
        msg = (
            _("line {line}, column {field}: {msg}", line=line, field=field[0], msg=e.msg)
            if field
            else _("line {line}: {msg}", line=line, msg=e.msg)
        )
        return ErrorItem(loc=["body", "line", line, *field], msg=msg, type=e.type)
    first = lines[0] if lines else 2
    return ErrorItem(
        loc=["body", "line", first, *rest],
        msg=_("line {first}: {msg}", first=first, msg=e.msg),
        type=e.type,
    )


def score_form(
    raw: bytes, media: str, framework: str | None, catalogue: CatalogueLookup
) -> tuple[list[str], list[ScoreRequest], list[Any], dict[str, list[int]]]:
    """Keys, requests, batch results and line numbers of a form that scores; 422 otherwise."""
    header, records = _read(raw, media)
    if len(records) > MAX_LINES:
        raise Unprocessable(
            _("the form has more than {max_lines} lines", max_lines=MAX_LINES),
            errors=[ErrorItem(loc=["body"], msg=_("too many lines"), type="too_long")],
        )
    lines = _line_numbers(records)
    try:
        keys, subs = records_to_submissions(header, records, default_framework=framework)
    except TableError as exc:
        raise Unprocessable(
            _("the form has unreadable cells"),
            errors=[ErrorItem(loc=["body", *e.loc], msg=e.msg, type=e.type) for e in exc.errors],
        ) from exc
    if not subs:
        raise Unprocessable(
            _("the form has no indicator rows"),
            errors=[ErrorItem(loc=["body"], msg=_("no data lines"), type="missing")],
        )
    valid, errs = validate_submissions(keys, subs)
    errors: list[ErrorItem] = []
    for key, err in zip(keys, errs, strict=True):
        errors.extend(_located(e, key, lines[key], list(e.loc[2:])) for e in err)
    if errors:
        raise Unprocessable(_("the form has invalid rows"), errors=errors)
    requests = [v for v in valid if v is not None]
    batch = score_batch(list(requests), catalogue, detail=True)
    for i, (key, res) in enumerate(zip(keys, batch.items, strict=True)):
        for e in res.errors:
            loc = list(e.loc)
            rest = loc[3:] if loc[:3] == ["body", "items", i] else loc
            errors.append(_located(e, key, lines[key], rest))
    if errors:
        raise Unprocessable(_("the form has rows that cannot be scored"), errors=errors)
    return keys, requests, batch.items, lines


def _workbook(keys: list[str], requests: list[ScoreRequest], results: list[Any]) -> bytes:
    lines = table_lines(keys, list(requests), results)
    # text as string cells: a row name such as "=HYPERLINK(…)" is never a formula
    return writers.xlsx_bytes(
        "scores", OUT_COLUMNS, ([ln.get(c) for c in OUT_COLUMNS] for ln in lines)
    )


FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the self-evaluation form: in the national layout (项目支出 / 部门整体支出"
        "绩效自评表; XLSX, XLS or CSV in UTF-8 or GB18030; one form per sheet) or the flat one "
        "(CSV in UTF-8, or an XLSX workbook's first sheet); see docs/forms.md",
        "content": upload_content(
            {
                CSV: {
                    "schema": {"type": "string"},
                    "example": "framework,一级指标,二级指标,三级指标,分值,计算符号,指标值,"
                    "计量单位,实际完成值,budget_adjusted,budget_executed\n"
                    "SELF-EVAL,产出指标,数量指标,完成数量,50,≥,100,台,96.8,100,98\n",
                },
                XLSX: {"schema": {"type": "string", "format": "binary"}},
                XLS: {"schema": {"type": "string", "format": "binary"}},
            },
            "the form file (CSV, XLSX or XLS; its part's content type or file name says which)",
        ),
    }
}


def _pdf(layouts: Any) -> bytes:
    from indicator_service.forms.pdf import NoCJKFont, render_pdf

    try:
        return render_pdf(layouts)
    except NoCJKFont as exc:
        raise ServiceUnavailable(str(exc)) from exc


def _not_acceptable(offered: list[str]) -> NotAcceptable:
    text = " / ".join(offered)
    return NotAcceptable(
        _("the answer can be: {text}", text=text),
        errors=[
            ErrorItem(
                loc=["header", "accept"],
                msg=_("accept one of: {text}", text=text),
                type="not_acceptable",
            )
        ],
    )


async def _national_answer(outcomes: list[national.FormOutcome], answer: str) -> Any:
    from indicator_service.forms import writer

    if answer == PDF:
        content = await run_in_threadpool(_pdf, writer.layouts_of(outcomes))
        return Response(
            content,
            media_type=PDF,
            headers={"Content-Disposition": 'attachment; filename="scored.pdf"'},
        )
    if answer == XLSX:
        content = await run_in_threadpool(writer.render_xlsx, writer.layouts_of(outcomes))
        return Response(
            content,
            media_type=XLSX,
            headers={"Content-Disposition": 'attachment; filename="scored.xlsx"'},
        )
    return _national_response(outcomes)


@router.post(
    "/forms/score",
    response_model=FormScoreResponse,
    summary="Score an uploaded self-evaluation form (CSV, XLSX or XLS; the national 自评表 "
    "layout or the flat one); receipts, scored XLSX or PDF",
    openapi_extra=FORM_BODY,
    responses={
        **AUTH_RESPONSES,
        200: {
            "description": "Every submission of the form scored: receipts as JSON, or the "
            "scored workbook when Accept asks for XLSX",
            "content": {
                XLSX: {"schema": {"type": "string", "format": "binary"}},
                PDF: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        406: {
            "model": Problem,
            "description": "Accept names none of application/json, the XLSX type and (for a "
            "form in the national layout) application/pdf",
            "content": {"application/problem+json": {}},
        },
        413: {
            "description": "The workbook is too large, expands too much or has too many "
            "sheets, rows or columns"
        },
        415: {"description": "Neither CSV, XLSX nor XLS"},
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
    answer = best_media(request.headers.get("accept"), ["application/json", XLSX, PDF])
    if answer is None:
        raise _not_acceptable(["application/json", XLSX, PDF])
    # the raw body, or the file part of a multipart body (422 for a part of another type)
    raw, content_type = await accepting((CSV, XLSX, XLS))(request)
    media = media_of(content_type)
    if media not in (CSV, XLSX, XLS):
        raise UnsupportedMediaType(
            _(
                "send the form as {csv}, {xlsx} or {xls}, not {media}",
                csv=CSV,
                xlsx=XLSX,
                xls=XLS,
                media=excerpt(media),
            )
        )
    outcomes = await run_in_threadpool(score_national, raw, framework, catalogue) if raw else None
    if outcomes is not None:
        return await _national_answer(outcomes, answer)
    if media == XLS:
        raise Unprocessable(
            _("no form in the national layout in this XLS file"),
            errors=[ErrorItem(loc=["body"], msg=_("no national-layout form"), type="no_form")],
        )
    if answer == PDF:  # the PDF is the national form's; a flat table has none
        raise _not_acceptable(["application/json", XLSX])
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
            receipt=labelled(res.result),
            request=req,
        )
        for key, req, res in zip(keys, requests, results, strict=True)
    ]
    return FormScoreResponse(count=len(items), items=items)


@router.get(
    "/frameworks/{code}/template",
    summary="A blank self-evaluation form for a framework (XLSX, or PDF with Accept)",
    tags=["catalogue"],
    response_class=Response,
    responses={
        200: {
            "description": "The national layout with the framework's classes filled in",
            "content": {
                XLSX: {"schema": {"type": "string", "format": "binary"}},
                PDF: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        404: {"description": "Unknown framework or version"},
        406: {"description": "Accept names neither the XLSX type nor application/pdf"},
    },
)
async def framework_template(
    code: FwPath,
    request: Request,
    catalogue: CatalogueDep,
    _reader: ReaderDep,  # a read of the framework: a draft's for those who may read it
    version: VersionQuery = None,
) -> Response:
    from indicator_service.forms.template import template_form
    from indicator_service.forms.writer import layout, render_xlsx

    fw = await run_in_threadpool(catalogue.framework, code, version)
    form = template_form(fw.doc)
    name = f"template-{fw.code}-{fw.version}"
    answer = best_media(request.headers.get("accept"), [XLSX, PDF])
    if answer is None:
        raise _not_acceptable([XLSX, PDF])
    if answer == PDF:
        content = await run_in_threadpool(_pdf, [(form.sheet, layout(form))])
        media, ext = PDF, "pdf"
    else:
        content = await run_in_threadpool(render_xlsx, [(form.sheet, layout(form))])
        media, ext = XLSX, "xlsx"
    return Response(
        content,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}.{ext}"',
            "Cache-Control": "no-store",
        },
    )
