"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indicator_service.core import database
from indicator_service.core.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["operations"])

ReadinessCheck = Callable[[Session], tuple[bool, str]]
"""A named readiness check returns (ok, detail); registered in ``app.state.readiness_checks``."""


class Liveness(BaseModel):
    status: Literal["ok"]


class CheckOutcome(BaseModel):
    name: str
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: list[CheckOutcome]


@router.get("/healthz", response_model=Liveness, summary="The process is up")
async def healthz() -> Liveness:
    return Liveness(status="ok")


def _run_checks(engine: Engine, checks: dict[str, ReadinessCheck]) -> list[CheckOutcome]:
    outcomes: list[CheckOutcome] = []
    try:
        database.ping(engine)
    except Exception as exc:
        return [
            CheckOutcome(name="database", ok=False, detail=f"unreachable: {exc.__class__.__name__}")
        ]
    outcomes.append(CheckOutcome(name="database", ok=True, detail="reachable"))
    try:
        current, heads = database.current_revisions(engine), database.head_revisions()
    except Exception as exc:
        current, heads = set(), {f"error: {exc.__class__.__name__}"}
    migrated = current == heads
    outcomes.append(
        CheckOutcome(
            name="migrations",
            ok=migrated,
            detail="at head"
            if migrated
            else f"at {sorted(current) or 'none'}, head is {sorted(heads)}",
        )
    )
    if not migrated:
        return outcomes
    with Session(engine) as session:
        for name, check in checks.items():
            try:
                ok, detail = check(session)
            except Exception as exc:
                ok, detail = False, f"check failed: {exc.__class__.__name__}"
            outcomes.append(CheckOutcome(name=name, ok=ok, detail=detail))
    return outcomes


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Ready to serve: database reachable, migrations current, catalogue loaded",
    responses={503: {"model": Readiness, "description": "Not ready"}},
)
def readyz(request: Request) -> JSONResponse:
    outcomes = _run_checks(request.app.state.engine, request.app.state.readiness_checks)
    ready = all(o.ok for o in outcomes)
    body = Readiness(status="ready" if ready else "not_ready", checks=outcomes)
    return JSONResponse(
        body.model_dump(), status_code=200 if ready else 503, headers={"Cache-Control": "no-store"}
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
