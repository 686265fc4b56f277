"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indicator_service.core import database
from indicator_service.core.i18n import _
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


def _run_checks(
    engine: Engine,
    checks: dict[str, ReadinessCheck],
    outcomes: list[CheckOutcome],
    running: list[str],
) -> None:
    """Run the checks in order, appending to ``outcomes``; ``running`` names the current one.

    The lists are shared with ``readyz``, which answers when its timeout runs out with what
    has been found so far (this thread then ends on its own: the database connection it may be
    blocked on is bounded by the connect, stall and pool timeouts).
    """
    try:
        _checks_in_order(engine, checks, outcomes, running)
    finally:
        running.clear()


def _checks_in_order(
    engine: Engine,
    checks: dict[str, ReadinessCheck],
    outcomes: list[CheckOutcome],
    running: list[str],
) -> None:
    running[:] = ["database"]
    try:
        database.ping(engine)
    except Exception as exc:
        outcomes.append(
            CheckOutcome(
                name="database",
                ok=False,
                detail=_("unreachable: {error}", error=exc.__class__.__name__),
            )
        )
        return
    outcomes.append(CheckOutcome(name="database", ok=True, detail=_("reachable")))
    running[:] = ["migrations"]
    try:
        current, heads = database.current_revisions(engine), database.head_revisions()
    except Exception as exc:
        current, heads = set(), {_("error: {error}", error=exc.__class__.__name__)}
    migrated = current == heads
    outcomes.append(
        CheckOutcome(
            name="migrations",
            ok=migrated,
            detail=_("at head")
            if migrated
            else _(
                "at {current}, head is {heads}",
                current=sorted(current) or _("none"),
                heads=sorted(heads),
            ),
        )
    )
    if not migrated:
        return
    with Session(engine) as session:
        for name, check in checks.items():
            running[:] = [name]
            try:
                ok, detail = check(session)
            except Exception as exc:
                ok, detail = False, _("check failed: {error}", error=exc.__class__.__name__)
            outcomes.append(CheckOutcome(name=name, ok=ok, detail=detail))


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Ready to serve: database reachable, migrations current, catalogue loaded",
    description="Answers within `INDICATOR_READINESS_TIMEOUT` seconds: a check that has not "
    "finished by then (a database that does not answer) is reported as failed.",
    responses={503: {"model": Readiness, "description": "Not ready"}},
)
async def readyz(request: Request) -> JSONResponse:
    timeout: float = request.app.state.settings.readiness_timeout
    outcomes: list[CheckOutcome] = []
    running: list[str] = []
    with anyio.move_on_after(timeout) as scope:
        await anyio.to_thread.run_sync(
            _run_checks,
            request.app.state.engine,
            request.app.state.readiness_checks,
            outcomes,
            running,
            abandon_on_cancel=True,
        )
    timed_out = scope.cancelled_caught
    if timed_out:  # the abandoned thread may still be appending: read ``running`` first
        pending = list(running)
        outcomes = list(outcomes)
        late = [name for name in pending if name not in {o.name for o in outcomes}]
        outcomes += [
            CheckOutcome(
                name=name, ok=False, detail=_("no answer within {seconds:g} s", seconds=timeout)
            )
            for name in late or ["readiness"]
        ]
    ready = not timed_out and all(o.ok for o in outcomes)
    body = Readiness(status="ready" if ready else "not_ready", checks=outcomes)
    headers = {"Cache-Control": "no-store"}
    if not ready:
        headers["Retry-After"] = "2"
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503, headers=headers)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
