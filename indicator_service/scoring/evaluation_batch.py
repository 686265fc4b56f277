"""Storing many evaluations in one request (``POST /v1/evaluations/batch``).

Each item is what ``POST /v1/evaluations`` does for one submission, with the item's own
idempotency key: the region check, scoring, the stored evaluation, its audit entry and its
idempotency record. Each item is its own unit (a savepoint): an item that fails stores nothing
and is answered with its problem, the others are stored; the request's transaction commits them
all before the answer is sent. The idempotency records are those of ``POST /v1/evaluations``
(one scope), so a retry of a failed or lost batch with the same keys stores each evaluation once,
whether it is retried in a batch or alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from indicator_service.auth.dependencies import ensure_region
from indicator_service.auth.principal import Principal
from indicator_service.core.errors import ErrorItem, ServiceError
from indicator_service.scoring.batch import valid_project
from indicator_service.scoring.evaluations import create_evaluation
from indicator_service.scoring.lookup import CatalogueLookup
from indicator_service.scoring.schemas import (
    EvaluationBatchItemIn,
    EvaluationBatchItemOut,
    EvaluationBatchResponse,
    EvaluationSummary,
)

Loc = list[str | int]


def create_evaluations(
    session: Session,
    raw_items: Sequence[dict[str, Any]],
    catalogue: CatalogueLookup,
    owner: Principal,
) -> EvaluationBatchResponse:
    """Validate, score and store each item on its own, owned by ``owner``; per-item answers
    (the caller's transaction commits the stored ones)."""
    out: list[EvaluationBatchItemOut] = []
    for i, raw in enumerate(raw_items):
        prefix: Loc = ["body", "items", i]
        key = raw.get("idempotency_key")
        echo_key = key if isinstance(key, str) and len(key) <= 200 else None
        try:
            item = EvaluationBatchItemIn.model_validate(raw)
        except ValidationError as exc:
            errors = [
                ErrorItem(loc=[*prefix, *e["loc"]], msg=e["msg"], type=e["type"])
                for e in exc.errors(include_url=False)
            ]
            out.append(
                EvaluationBatchItemOut(
                    index=i,
                    ok=False,
                    status=422,
                    idempotency_key=echo_key,
                    project=valid_project(raw.get("submission")),
                    errors=errors,
                )
            )
            continue
        req = item.submission
        try:
            with session.begin_nested():  # the item's own unit: all of it or nothing
                ensure_region(owner, req.region)  # located in the item by _relocated
                created = create_evaluation(session, req, catalogue, owner, item.idempotency_key)
        except ServiceError as exc:
            errors = [_relocated(e, prefix) for e in exc.errors] or [
                ErrorItem(loc=[*prefix, "submission"], msg=exc.detail, type=exc.slug)
            ]
            out.append(
                EvaluationBatchItemOut(
                    index=i,
                    ok=False,
                    status=exc.status,
                    idempotency_key=item.idempotency_key,
                    project=req.project,
                    errors=errors,
                )
            )
            continue
        body = created.body
        out.append(
            EvaluationBatchItemOut(
                index=i,
                ok=True,
                status=created.status_code,
                replayed=created.replayed,
                idempotency_key=item.idempotency_key,
                project=body.get("project"),
                input_hash=body.get("input_hash"),
                location=created.location,
                evaluation=EvaluationSummary.model_validate(
                    {k: v for k, v in body.items() if k != "result"}
                ),
            )
        )
    replayed = sum(1 for o in out if o.replayed)
    failed = sum(1 for o in out if not o.ok)
    return EvaluationBatchResponse(
        count=len(out),
        stored=len(out) - replayed - failed,
        replayed=replayed,
        failed=failed,
        items=out,
    )


def _relocated(error: ErrorItem, prefix: Loc) -> ErrorItem:
    """A problem of ``POST /v1/evaluations`` located in the batch item ``prefix``: the body's
    fields under ``submission``, the Idempotency-Key header as the item's ``idempotency_key``."""
    loc = list(error.loc)
    if loc[:1] == ["body"]:
        new: Loc = [*prefix, "submission", *loc[1:]]
    elif loc[:1] == ["header"]:
        new = [*prefix, "idempotency_key"]
    else:
        new = [*prefix, *loc]
    return ErrorItem(loc=new, msg=error.msg, type=error.type)
