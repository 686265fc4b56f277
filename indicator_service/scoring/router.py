"""Scoring API under ``/v1``: score one submission, batches (JSON or CSV), what-if."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from starlette.concurrency import run_in_threadpool

from indicator_service.core.database import SessionDep
from indicator_service.core.errors import ErrorItem, Unprocessable, UnsupportedMediaType
from indicator_service.core.idempotency import check_key, find_replay, remember, request_fingerprint
from indicator_service.scoring import service
from indicator_service.scoring.csvform import parse_batch_csv
from indicator_service.scoring.schemas import (
    BatchRequest,
    BatchResponse,
    EvaluationList,
    EvaluationOut,
    Receipt,
    RescoreRequest,
    RescoreResponse,
    ScoreRequest,
    WhatIfRequest,
    WhatIfResponse,
)

router = APIRouter(prefix="/v1", tags=["scoring"])


class BatchEnvelope(BaseModel):
    """The JSON batch before its items are validated one by one."""

    model_config = ConfigDict(extra="forbid")
    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=20000,
        description="submissions (ScoreRequest); each is validated on its own and an invalid "
        "one is reported in its item result",
    )
    validate_only: StrictBool = False


def _errors(exc: ValidationError, prefix: list[str | int]) -> list[ErrorItem]:
    return [ErrorItem(loc=[*prefix, *e["loc"]], msg=e["msg"], type=e["type"]) for e in exc.errors()]


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
)
def score(body: ScoreRequest, catalogue: CatalogueDep) -> Receipt:
    return service.score(body, catalogue)


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
    validate_only: Annotated[bool, Query(description="check only, score nothing")] = False,
    detail: Annotated[bool, Query(description="include full receipts")] = False,
) -> BatchResponse:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    raw = await request.body()
    items: list[ScoreRequest | list[ErrorItem]]
    if media == "text/csv":
        items = parse_batch_csv(raw)
    elif media in ("application/json", ""):
        try:  # the common case, every item valid: one pass of parsing and validation
            whole = BatchRequest.model_validate_json(raw)
            items = list(whole.items)
            validate_only = validate_only or whole.validate_only
        except ValidationError:
            try:
                envelope = BatchEnvelope.model_validate_json(raw)
            except ValidationError as exc:
                raise Unprocessable("invalid batch", errors=_errors(exc, ["body"])) from exc
            items = []
            for i, raw_item in enumerate(envelope.items):
                try:
                    items.append(ScoreRequest.model_validate(raw_item))
                except ValidationError as exc:
                    items.append(_errors(exc, ["body", "items", i]))
            validate_only = validate_only or envelope.validate_only
    else:
        raise UnsupportedMediaType(f"send application/json or text/csv, not {media!r}")
    return await run_in_threadpool(
        service.score_batch, items, catalogue, validate_only=validate_only, detail=detail
    )


@router.post(
    "/score/what-if",
    response_model=WhatIfResponse,
    summary="Re-score with overridden weights, targets or bands (nothing is stored)",
    responses={404: {"description": "Unknown framework or version"}},
)
def what_if(body: WhatIfRequest, catalogue: CatalogueDep) -> WhatIfResponse:
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
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$"),
    ] = None,
) -> Any:
    fingerprint = key = None
    if idempotency_key is not None:
        key = check_key(idempotency_key)
        fingerprint = request_fingerprint(body.model_dump(mode="json"))
        replay = find_replay(session, service.IDEMPOTENCY_SCOPE, key, fingerprint)
        if replay is not None:
            return JSONResponse(
                replay.response_body,
                status_code=replay.status_code,
                headers={"Location": f"/v1/evaluations/{replay.response_body['id']}"},
            )
    out = service.create_evaluation(session, body, catalogue)
    payload = out.model_dump(mode="json")
    if key is not None and fingerprint is not None:
        remember(session, service.IDEMPOTENCY_SCOPE, key, fingerprint, 201, payload)
    return JSONResponse(payload, status_code=201, headers={"Location": f"/v1/evaluations/{out.id}"})


@router.get(
    "/evaluations",
    response_model=EvaluationList,
    summary="List stored evaluations by project, unit, region, fiscal year or framework",
)
def list_evaluations(
    session: SessionDep,
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
    responses={404: {"description": "No such evaluation"}},
)
def get_evaluation(
    evaluation_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep
) -> EvaluationOut:
    return service.evaluation_out(service.get_evaluation(session, evaluation_id))


@router.post(
    "/evaluations/{evaluation_id}/rescore",
    response_model=RescoreResponse,
    summary="Re-score a stored evaluation under another framework version and compare",
    responses={404: {"description": "No such evaluation, framework or version"}},
)
def rescore(
    evaluation_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: RescoreRequest,
    session: SessionDep,
    catalogue: CatalogueDep,
) -> RescoreResponse:
    return service.rescore(session, evaluation_id, body.version, catalogue)
