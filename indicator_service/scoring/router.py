"""Scoring API under ``/v1``: score one submission, batches (JSON or CSV), what-if."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.convertors import StringConvertor, register_url_convertor

from indicator_service.auth.dependencies import (
    AUTH_RESPONSES,
    EvaluatorDep,
    ScorerDep,
    ensure_draft_reader,
    ensure_region,
)
from indicator_service.catalogue.artefacts import FRAMEWORK_OWNER
from indicator_service.catalogue.reads import read_published
from indicator_service.catalogue.service import refuse_draft
from indicator_service.core.database import SessionDep, session_scope
from indicator_service.core.errors import UnsupportedMediaType
from indicator_service.core.gcpause import gc_paused
from indicator_service.core.i18n import _
from indicator_service.core.idempotency import IdempotencyKeyHeader
from indicator_service.core.jsonbody import json_body, openapi_body
from indicator_service.core.openapi import typed_body
from indicator_service.core.paging import Limit, Offset
from indicator_service.scoring import batch, evaluation_batch, evaluations, reevaluation, whatif
from indicator_service.scoring.lookup import (
    CatalogueLookup,
    DatabaseCatalogue,
    DraftCheck,
    allow_drafts,
)
from indicator_service.scoring.receipts import score_json
from indicator_service.scoring.schemas import (
    MAX_ID,
    BatchRequest,
    BatchResponse,
    ColumnarBatchRequest,
    ColumnarBatchResponse,
    EvaluationBatchEnvelope,
    EvaluationBatchRequest,
    EvaluationBatchResponse,
    EvaluationComparison,
    EvaluationCreate,
    EvaluationKind,
    EvaluationList,
    EvaluationOut,
    Receipt,
    ReceiptKind,
    ReceiptSummary,
    RescoreRequest,
    RescoreResponse,
    ScoreRequest,
    WhatIfRequest,
    WhatIfResponse,
)

router = APIRouter(prefix="/v1", tags=["scoring"], responses=AUTH_RESPONSES)


class _EvaluationIdConvertor(StringConvertor):
    """A path segment that is not ``batch``: ``/v1/evaluations/batch`` is its own resource
    (POST only), so ``GET /v1/evaluations/batch`` is a 405, not a 422 for a bad id. Any other
    segment goes on to the ``evaluation_id`` validation (422 for a non-integer)."""

    regex = "(?!batch/?$)[^/]+"


register_url_convertor("evaluation_id", _EvaluationIdConvertor())
EvaluationId = Annotated[int, Path(ge=1, le=MAX_ID, description="evaluation id")]


def get_catalogue_lookup() -> CatalogueLookup | None:
    """The catalogue the scoring endpoints read when it is not the database's: ``None`` (this
    default) means the published versions in the database. Tests and benchmarks give an
    application documents instead (a :class:`~indicator_service.scoring.lookup.DocumentCatalogue`)
    with ``app.dependency_overrides[get_catalogue_lookup] = lambda: documents``. Read through
    :func:`catalogue_documents`, not as a FastAPI dependency (as ``auth.cache.get_key_cache``):
    a dependency costs a request ~1.7 % of a 30-row score's instructions in FastAPI's
    dependency resolution, for what is ``None`` in production."""
    return None


def catalogue_documents(app: Any) -> CatalogueLookup | None:
    """The documents ``app``'s scoring endpoints read (:func:`get_catalogue_lookup`)."""
    provider = app.dependency_overrides.get(get_catalogue_lookup, get_catalogue_lookup)
    documents: CatalogueLookup | None = provider()
    if inspect.isawaitable(documents):  # an async override would be scored as a catalogue
        close = getattr(documents, "close", None)
        if close is not None:
            close()  # no "never awaited" warning on top of the error
        raise TypeError("an override of get_catalogue_lookup must be a sync callable")
    return documents


def draft_readers(request: Request) -> DraftCheck:
    """The draft check of a request that scores without storing: a draft framework version is
    the finance bureau's work in progress, and scoring against it shows its tree, so the caller
    must be one who may read it (a curator or reviewer of ``common``, or admin: 401/403 as the
    catalogue's draft reads answer). The caller's key is the one the route checked; it is read
    when a draft is met, after the route's dependencies."""

    def check(code: str, version: str) -> None:
        ensure_draft_reader(getattr(request.state, "principal", None), FRAMEWORK_OWNER)

    return check


def _catalogue_dependency(
    drafts: Callable[[Request], DraftCheck],
) -> Callable[..., CatalogueLookup]:
    """A dependency giving the catalogue of a request: the overriding documents, else the
    database catalogue read with the request's session, meeting drafts with ``drafts``."""

    def catalogue(session: SessionDep, request: Request) -> CatalogueLookup:
        documents = catalogue_documents(request.app)
        if documents is not None:
            return documents
        return DatabaseCatalogue(session, drafts=drafts(request))

    return catalogue


#: Scoring without storing: drafts for those who may read them (:func:`draft_readers`).
get_catalogue = _catalogue_dependency(draft_readers)
#: Storing evaluations: published versions only (``catalogue.frameworks.refuse_draft``).
get_stored_catalogue = _catalogue_dependency(lambda _request: refuse_draft)
#: Reading back the version a stored evaluation was scored under, as it is (evaluations stored
#: against a draft before drafts were refused included).
get_recorded_catalogue = _catalogue_dependency(lambda _request: allow_drafts)


CatalogueDep = Annotated[CatalogueLookup, Depends(get_catalogue)]
StoredCatalogueDep = Annotated[CatalogueLookup, Depends(get_stored_catalogue)]
RecordedCatalogueDep = Annotated[CatalogueLookup, Depends(get_recorded_catalogue)]


ReceiptQuery = Annotated[
    ReceiptKind,
    Query(
        description="full: the whole receipt; summary: the versions, total, grade, each leaf's "
        "score and points lost, and the input hash (for high-volume callers)"
    ),
]


@router.post(
    "/score",
    response_model=Receipt | ReceiptSummary,
    summary="Score one submission and return the receipt (full, or the summary)",
    responses={404: {"description": "Unknown framework or version"}},
    openapi_extra=openapi_body(ScoreRequest),
)
async def score(request: Request, _scorer: ScorerDep, receipt: ReceiptQuery = "full") -> Response:
    # The hot path: an async handler (no thread hand-offs) that validates the body straight
    # from its bytes and returns the receipt already serialised (built as plain data, not
    # re-validated against the response model).
    body = await json_body(request, ScoreRequest)
    summary = receipt == "summary"
    # A submission of common size is scored in the event loop (30 rows ≈ 1 ms); a larger one
    # in the thread pool, so that it cannot hold up the requests behind it.
    in_loop = len(body.rows) + len(body.values) <= IN_LOOP_MAX_ROWS
    documents = catalogue_documents(request.app)
    if documents is not None:  # documents in memory
        if in_loop:
            content = score_json(body, documents, summary=summary)
        else:
            content = await run_in_threadpool(partial(score_json, summary=summary), body, documents)
    else:  # the database catalogue: from memory once the versions read are cached
        content = await read_published(
            request, _score_with_database, body, summary, draft_readers(request), in_loop=in_loop
        )
    return Response(content, media_type="application/json")


#: Rows (or fixed-tree values) up to which ``POST /v1/score`` scores in the event loop.
IN_LOOP_MAX_ROWS = 200


def _score_with_database(
    session: Session, body: ScoreRequest, summary: bool, drafts: DraftCheck
) -> bytes:
    return score_json(body, DatabaseCatalogue(session, drafts=drafts), summary=summary)


# Declared typed (BatchRequest); read and validated item by item (scoring/batch.py).
BATCH_BODY: dict[str, Any] = typed_body(
    BatchRequest,
    other_media={
        "text/csv": {
            "schema": {"type": "string"},
            "example": "submission,framework,class_l1,id,points,operator,target,unit,value\n"
            "p1,PRJ,产出,r1,50,≥,100,%,96\n",
        }
    },
)


@router.post(
    "/score/batch",
    response_model=BatchResponse,
    summary="Score many submissions; per-item results and per-item errors",
    openapi_extra=BATCH_BODY,
    responses={415: {"description": "Neither JSON nor CSV"}},
)
async def score_batch(
    request: Request,
    catalogue: CatalogueDep,
    _scorer: ScorerDep,
    validate_only: Annotated[bool, Query(description="check only, score nothing")] = False,
    detail: Annotated[bool, Query(description="include full receipts")] = False,
    receipt: Annotated[
        ReceiptKind,
        Query(description="summary: each item carries its summary receipt (`summary`)"),
    ] = "full",
) -> Response:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ("text/csv", "application/json", ""):
        raise UnsupportedMediaType(
            _("send application/json or text/csv, not {media!r}", media=media)
        )
    raw = await request.body()
    # Parsing and validating a large body is CPU work: off the event loop, with the scoring.
    content = await run_in_threadpool(
        partial(
            batch.score_batch_body,
            validate_only=validate_only,
            detail=detail,
            summary=receipt == "summary",
        ),
        raw,
        media,
        catalogue,
    )
    return Response(content, media_type="application/json")


@router.post(
    "/score/columnar",
    response_model=ColumnarBatchResponse,
    summary="Score many submissions of one structure: the rows once, the values as a matrix",
    responses={404: {"description": "Unknown framework or version"}},
)
async def score_columnar(
    body: ColumnarBatchRequest, request: Request, _scorer: ScorerDep
) -> Response:
    # A compact form for large batches: 10,000 × 30 values are ~3 MB of JSON (the row-per-leaf
    # JSON batch is ~51 MB, above the default 32 MiB body limit) and the structure is validated,
    # prepared and compiled once.
    content = await run_in_threadpool(
        _score_columnar,
        request.app.state.engine,
        catalogue_documents(request.app),
        body,
        draft_readers(request),
    )
    return Response(content, media_type="application/json")


def _score_columnar(
    engine: Engine,
    lookup: CatalogueLookup | None,
    body: ColumnarBatchRequest,
    drafts: DraftCheck,
) -> bytes:
    with gc_paused():  # see core.gcpause
        if lookup is not None:
            return batch.score_columnar(body.template, body.values, body.budgets, lookup)
        with session_scope(engine) as session:
            catalogue = DatabaseCatalogue(session, drafts=drafts)
            return batch.score_columnar(body.template, body.values, body.budgets, catalogue)


@router.post(
    "/score/what-if",
    response_model=WhatIfResponse,
    summary="Re-score with overridden weights, targets or bands (nothing is stored)",
    responses={404: {"description": "Unknown framework or version"}},
)
def what_if(body: WhatIfRequest, catalogue: CatalogueDep, _scorer: ScorerDep) -> WhatIfResponse:
    return whatif.what_if(body.submission, body.overrides, catalogue)


# --- stored evaluations ---------------------------------------------------------------


@router.post(
    "/evaluations",
    response_model=EvaluationOut,
    status_code=201,
    summary="Score and store an evaluation (Idempotency-Key replays the first response)",
    responses={
        404: {"description": "Unknown framework or version"},
        409: {"description": "Idempotency-Key reused with a different body"},
    },
)
def create_evaluation(
    body: EvaluationCreate,
    session: SessionDep,
    catalogue: StoredCatalogueDep,
    evaluator: EvaluatorDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    ensure_region(evaluator, body.region)
    created = evaluations.create_evaluation(session, body, catalogue, evaluator, idempotency_key)
    return JSONResponse(
        created.body, status_code=created.status_code, headers={"Location": created.location}
    )


@router.post(
    "/evaluations/batch",
    response_model=EvaluationBatchResponse,
    summary="Score and store many evaluations (per-item Idempotency-Key, results and errors)",
    description="Each item is what POST /v1/evaluations does for one submission, with its own "
    "idempotency key; each item is stored entirely or not at all (a failed item is answered with "
    "its problem and stores nothing; the others are stored). One request for the rate limit. "
    "每项独立校验、评分、保存：失败的项不保存，其余项照常保存。",
    openapi_extra=typed_body(EvaluationBatchRequest),
)
async def create_evaluations_batch(
    request: Request, session: SessionDep, catalogue: StoredCatalogueDep, evaluator: EvaluatorDep
) -> EvaluationBatchResponse:
    envelope = await json_body(request, EvaluationBatchEnvelope)
    return await run_in_threadpool(
        evaluation_batch.create_evaluations, session, envelope.items, catalogue, evaluator
    )


@router.get(
    "/evaluations",
    response_model=EvaluationList,
    summary="List the stored evaluations the key may read, by project, unit, region, fiscal "
    "year, framework, kind or the evaluation they re-evaluate, or by a part of the project's "
    "code or name (q)",
)
def list_evaluations(
    session: SessionDep,
    evaluator: EvaluatorDep,
    project: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
    unit: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    fiscal_year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    framework: Annotated[str | None, Query(max_length=40, pattern=r"^[^\x00]*$")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=80,
            pattern=r"^[^\x00]*$",
            description="a part of the project code or of the project's name (项目名称), "
            "case-insensitive",
        ),
    ] = None,
    kind: Annotated[
        EvaluationKind | None,
        Query(
            description="self 单位自评, department 部门评价, finance 财政评价, "
            "third_party 第三方评价"
        ),
    ] = None,
    reevaluates: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="re-evaluations of this evaluation")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> EvaluationList:
    return evaluations.list_evaluations(
        session,
        reader=evaluator,
        project=project,
        unit=unit,
        region=region,
        fiscal_year=fiscal_year,
        framework=framework,
        kind=kind,
        reevaluates=reevaluates,
        limit=limit,
        offset=offset,
        q=q,
    )


@router.get(
    "/evaluations/{evaluation_id:evaluation_id}",
    response_model=EvaluationOut,
    summary="A stored evaluation: inputs' versions and the full receipt",
    responses={404: {"description": "No such evaluation, or not one the key may read"}},
)
def get_evaluation(
    evaluation_id: EvaluationId, session: SessionDep, evaluator: EvaluatorDep
) -> EvaluationOut:
    return evaluations.evaluation_out(evaluations.get_evaluation(session, evaluation_id, evaluator))


@router.post(
    "/evaluations/{evaluation_id}/rescore",
    response_model=RescoreResponse,
    summary="Re-score a stored evaluation under another framework version and compare",
    responses={
        404: {
            "description": "No such evaluation (or not one the key may read), framework or version"
        }
    },
)
def rescore(
    evaluation_id: EvaluationId,
    body: RescoreRequest,
    session: SessionDep,
    catalogue: CatalogueDep,
    evaluator: EvaluatorDep,
) -> RescoreResponse:
    return evaluations.rescore(session, evaluation_id, body.version, catalogue, evaluator)


@router.get(
    "/evaluations/{evaluation_id}/comparison",
    response_model=EvaluationComparison,
    summary="自评与再评价对比: per-leaf and total differences between a self-evaluation and its "
    "re-evaluation, with 自评失真 flagged beyond the framework's threshold",
    responses={
        404: {
            "description": "No such evaluation (or not one the key may read), or no "
            "re-evaluation of it that the key may read"
        }
    },
)
def compare_evaluations(
    evaluation_id: EvaluationId,
    session: SessionDep,
    catalogue: RecordedCatalogueDep,
    evaluator: EvaluatorDep,
) -> EvaluationComparison:
    return reevaluation.comparison(session, evaluation_id, catalogue, evaluator)
