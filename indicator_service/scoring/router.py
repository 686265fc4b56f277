"""Scoring API under ``/v1``: score one submission, batches (JSON or CSV), what-if."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from indicator_service.audit.service import record
from indicator_service.auth.dependencies import (
    AUTH_RESPONSES,
    EvaluatorDep,
    ScorerDep,
    ensure_region,
)
from indicator_service.core.database import SessionDep, session_scope
from indicator_service.core.errors import UnsupportedMediaType
from indicator_service.core.gcpause import gc_paused
from indicator_service.core.idempotency import check_key, find_replay, remember, request_fingerprint
from indicator_service.core.jsonbody import json_body, openapi_body
from indicator_service.scoring import service
from indicator_service.scoring.schemas import (
    BatchEnvelope,
    BatchResponse,
    ColumnarBatchRequest,
    ColumnarBatchResponse,
    EvaluationList,
    EvaluationOut,
    Receipt,
    RescoreRequest,
    RescoreResponse,
    ScoreRequest,
    WhatIfRequest,
    WhatIfResponse,
)

router = APIRouter(prefix="/v1", tags=["scoring"], responses=AUTH_RESPONSES)

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns (PostgreSQL INTEGER)
EvaluationId = Annotated[int, Path(ge=1, le=MAX_ID, description="evaluation id")]


def get_catalogue(request: Request, session: SessionDep) -> service.CatalogueLookup:
    """The catalogue the scoring endpoints read: ``app.state.scoring_catalogue`` when set
    (documents: tests, benchmarks), else the database catalogue (published versions)."""
    lookup: service.CatalogueLookup | None = getattr(request.app.state, "scoring_catalogue", None)
    return lookup if lookup is not None else service.DatabaseCatalogue(session)


CatalogueDep = Annotated[service.CatalogueLookup, Depends(get_catalogue)]


@router.post(
    "/score",
    response_model=Receipt,
    summary="Score one submission and return the full receipt",
    responses={404: {"description": "Unknown framework or version"}},
    openapi_extra=openapi_body(ScoreRequest),
)
async def score(request: Request, _scorer: ScorerDep) -> Response:
    # The hot path: an async handler (no thread hand-offs) that validates the body straight
    # from its bytes and returns the receipt already serialised (built as plain data, not
    # re-validated against the response model).
    body = await json_body(request, ScoreRequest)
    lookup: service.CatalogueLookup | None = getattr(request.app.state, "scoring_catalogue", None)
    if lookup is not None:  # documents in memory: score in the event loop (≈ 0.5 ms)
        content = service.score_json(body, lookup)
    else:  # the database catalogue: one trip to the thread pool with its own session
        content = await run_in_threadpool(_score_with_database, request.app.state.engine, body)
    return Response(content, media_type="application/json")


def _score_with_database(engine: Engine, body: ScoreRequest) -> bytes:
    with session_scope(engine) as session:
        return service.score_json(body, service.DatabaseCatalogue(session))


def _batch_schema() -> dict[str, Any]:
    """BatchRequest's schema referring to the components that /v1/score already publishes."""
    schema = BatchEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _batch_schema()},
            "text/csv": {
                "schema": {"type": "string"},
                "example": "submission,framework,class_l1,id,points,operator,target,unit,value\n"
                "p1,PRJ,产出,r1,50,≥,100,%,96\n",
            },
        },
    }
}


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
) -> Response:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ("text/csv", "application/json", ""):
        raise UnsupportedMediaType(f"send application/json or text/csv, not {media!r}")
    raw = await request.body()
    # Parsing and validating a large body is CPU work: off the event loop, with the scoring.
    content = await run_in_threadpool(
        service.score_batch_body, raw, media, catalogue, validate_only=validate_only, detail=detail
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
    lookup: service.CatalogueLookup | None = getattr(request.app.state, "scoring_catalogue", None)
    content = await run_in_threadpool(_score_columnar, request.app.state.engine, lookup, body)
    return Response(content, media_type="application/json")


def _score_columnar(
    engine: Engine, lookup: service.CatalogueLookup | None, body: ColumnarBatchRequest
) -> bytes:
    with gc_paused():  # see core.gcpause
        if lookup is not None:
            return service.score_columnar(body.template, body.values, body.budgets, lookup)
        with session_scope(engine) as session:
            catalogue = service.DatabaseCatalogue(session)
            return service.score_columnar(body.template, body.values, body.budgets, catalogue)


@router.post(
    "/score/what-if",
    response_model=WhatIfResponse,
    summary="Re-score with overridden weights, targets or bands (nothing is stored)",
    responses={404: {"description": "Unknown framework or version"}},
)
def what_if(body: WhatIfRequest, catalogue: CatalogueDep, _scorer: ScorerDep) -> WhatIfResponse:
    return service.what_if(body.submission, body.overrides, catalogue)


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
    body: ScoreRequest,
    session: SessionDep,
    catalogue: CatalogueDep,
    evaluator: EvaluatorDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$"),
    ] = None,
) -> Any:
    ensure_region(evaluator, body.region)
    fingerprint = key = None
    if idempotency_key is not None:
        key = check_key(idempotency_key)
        fingerprint = request_fingerprint(body.model_dump(mode="json"))
        replay = find_replay(
            session, service.IDEMPOTENCY_SCOPE, key, fingerprint, owner_key_id=evaluator.owner_id
        )
        if replay is not None:
            return JSONResponse(
                replay.response_body,
                status_code=replay.status_code,
                headers={"Location": f"/v1/evaluations/{replay.response_body['id']}"},
            )
    out = service.create_evaluation(session, body, catalogue, evaluator)
    record(
        session,
        evaluator,
        "evaluation.create",
        object_type="evaluation",
        object_id=str(out.id),
        version=out.version,
        after={
            "framework": out.framework,
            "version": out.version,
            "project": out.project,
            "unit": out.unit,
            "region": out.region,
            "fiscal_year": out.fiscal_year,
            "total": out.total,
            "grade": out.grade,
            "input_hash": out.input_hash,
        },
    )
    payload = out.model_dump(mode="json")
    if key is not None and fingerprint is not None:
        remember(
            session,
            service.IDEMPOTENCY_SCOPE,
            key,
            fingerprint,
            201,
            payload,
            owner_key_id=evaluator.owner_id,
        )
    return JSONResponse(payload, status_code=201, headers={"Location": f"/v1/evaluations/{out.id}"})


@router.get(
    "/evaluations",
    response_model=EvaluationList,
    summary="List the stored evaluations the key may read, by project, unit, region, fiscal "
    "year or framework",
)
def list_evaluations(
    session: SessionDep,
    evaluator: EvaluatorDep,
    project: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
    unit: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    fiscal_year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    framework: Annotated[str | None, Query(max_length=40, pattern=r"^[^\x00]*$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> EvaluationList:
    return service.list_evaluations(
        session,
        reader=evaluator,
        project=project,
        unit=unit,
        region=region,
        fiscal_year=fiscal_year,
        framework=framework,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/evaluations/{evaluation_id}",
    response_model=EvaluationOut,
    summary="A stored evaluation: inputs' versions and the full receipt",
    responses={404: {"description": "No such evaluation, or not one the key may read"}},
)
def get_evaluation(
    evaluation_id: EvaluationId, session: SessionDep, evaluator: EvaluatorDep
) -> EvaluationOut:
    return service.evaluation_out(service.get_evaluation(session, evaluation_id, evaluator))


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
    return service.rescore(session, evaluation_id, body.version, catalogue, evaluator)
