"""Composite API: ``POST /v1/composite`` and ``POST /v1/composite/robustness``.

Thin handlers; the CPU-bound work runs in the thread pool so the event loop stays free.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from indicator_service.auth.dependencies import AUTH_RESPONSES, EvaluatorDep, ScorerDep
from indicator_service.composite import evaluations, service
from indicator_service.composite.schemas import (
    CompositeOut,
    CompositeRequest,
    EvaluationsCompositeRequest,
    RobustnessOut,
    RobustnessRequest,
)
from indicator_service.core.database import SessionDep
from indicator_service.core.errors import Problem

router = APIRouter(prefix="/v1/composite", tags=["composite"], responses=AUTH_RESPONSES)


@router.post(
    "",
    response_model=CompositeOut,
    summary="Composite scores, ranks and grades of units compared with each other",
    description=(
        "OECD/JRC composite indicator: each indicator normalised across the units, direction "
        "-1 reversed, aggregated up the tree with weights relative within each parent; a "
        "missing value drops out and the remaining weights of its group are rescaled."
    ),
)
async def composite(body: CompositeRequest, _scorer: ScorerDep) -> CompositeOut:
    return await run_in_threadpool(service.composite, body)


@router.post(
    "/robustness",
    response_model=RobustnessOut,
    summary="Monte Carlo robustness of composite scores, ranks and grades; Sobol sensitivity",
    description=(
        "Replications perturb the weights and draw normalisation, aggregation and excluded "
        "node from the given alternatives; per unit the 5th/50th/95th percentiles of score "
        "and rank and the probability of each grade. Reproducible from `seed`."
    ),
)
async def composite_robustness(body: RobustnessRequest, _scorer: ScorerDep) -> RobustnessOut:
    return await run_in_threadpool(service.robust, body)


@router.post(
    "/evaluations",
    response_model=CompositeOut,
    summary="Composite comparison of the units of stored evaluations (framework, region, year)",
    description=(
        "Each unit's latest stored evaluation of the framework (version), optionally filtered "
        "by region and fiscal year, gives one row: its leaves' achievement fractions. The tree "
        "and weights are the framework's (points); then as `POST /v1/composite`."
    ),
    responses={
        404: {
            "model": Problem,
            "description": "No stored evaluation matches",
            "content": {"application/problem+json": {}},
        }
    },
)
def composite_from_evaluations(
    body: EvaluationsCompositeRequest, session: SessionDep, evaluator: EvaluatorDep
) -> CompositeOut:
    return evaluations.compare(session, body, evaluator)
