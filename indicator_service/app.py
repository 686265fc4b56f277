"""Application factory: ``create_app(settings)`` wires settings, database, middleware, error
handlers and routers. Nothing here runs migrations or touches the database at start-up."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from pydantic import ValidationError

from indicator_service.audit.router import router as audit_router
from indicator_service.auth.dependencies import path_scope_check, rate_limit_caller
from indicator_service.auth.router import router as auth_router
from indicator_service.auth.settings import auth_settings_from_env
from indicator_service.catalogue import heads as catalogue_heads
from indicator_service.catalogue import service as catalogue_service
from indicator_service.catalogue.bulk_router import router as curation_files_router
from indicator_service.catalogue.curation_router import router as curation_router
from indicator_service.catalogue.router import router as catalogue_router
from indicator_service.composite.router import router as composite_router
from indicator_service.core import health
from indicator_service.core import openapi as api_document
from indicator_service.core.console import settings_error
from indicator_service.core.database import (
    cancel_renewals,
    make_engine,
    make_small_reads_engine,
)
from indicator_service.core.errors import Problem
from indicator_service.core.gcpause import freeze_heap
from indicator_service.core.logging import configure_logging
from indicator_service.core.metrics import Metrics
from indicator_service.core.middleware import RequestContextMiddleware
from indicator_service.core.problems import install_problem_handlers
from indicator_service.core.ratelimit import Limiter, RateLimiter, RedisRateLimiter
from indicator_service.core.settings import Settings, get_settings
from indicator_service.monitoring.router import router as monitoring_router
from indicator_service.rectification.router import router as rectification_router
from indicator_service.regions.router import router as regions_router
from indicator_service.scoring.router import router as scoring_router
from indicator_service.standards.router import router as standards_router
from indicator_service.targets.router import router as targets_router
from indicator_service.web.forms import router as forms_router
from indicator_service.web.router import router as web_router

PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": Problem, "description": text, "content": {"application/problem+json": {}}}
    for status, text in {
        400: "Malformed request (e.g. unparsable JSON)",
        413: "Request body too large",
        415: "Unsupported content type",
        422: "Validation error",
        429: "Rate limit exceeded (see Retry-After)",
        500: "Internal error: a bug, reported with its request id",
    }.items()
}

T = TypeVar("T")

log = logging.getLogger(__name__)


def _routers() -> list[APIRouter]:
    """Every router of the service, in one place. Requests are matched against the routes in
    this order, one by one: the probes and the scoring API (the hot paths) come first."""
    return [
        health.router,
        scoring_router,
        catalogue_router,
        curation_router,
        curation_files_router,
        standards_router,
        composite_router,
        monitoring_router,
        rectification_router,
        auth_router,
        audit_router,
        regions_router,
        targets_router,
        forms_router,
        web_router,
    ]


def _readiness_checks() -> dict[str, health.ReadinessCheck]:
    """Named readiness checks beyond database and migrations."""
    return {"catalogue": catalogue_service.catalogue_readiness}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = make_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # made here, in the loop that serves the requests (core.database.read_rows)
        small_reads = make_small_reads_engine(settings)
        app.state.small_reads = small_reads
        if settings.gc_freeze_at_start:  # last: what starting built stays for good
            log.info("froze %d objects out of the garbage collector's walks", freeze_heap())
        try:
            yield
        finally:
            await cancel_renewals()  # a periodic read under way: ended, not failed
            app.state.small_reads = None
            if small_reads is not None:
                await small_reads.dispose()
            if app.state.rate_limiter is not None:
                await app.state.rate_limiter.aclose()
            engine.dispose()

    app = FastAPI(
        title="indicator-service",
        version=api_document.API_VERSION,
        summary=(
            "Budget performance indicators (预算绩效指标): versioned catalogue, standards "
            "and scoring."
        ),
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
        generate_unique_id_function=api_document.operation_id,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.small_reads = None  # PostgreSQL, under the lifespan: core.database.read_rows
    catalogue_heads.configure(engine, settings.catalogue_refresh_seconds)
    app.state.metrics = Metrics()
    app.state.readiness_checks = _readiness_checks()
    install_problem_handlers(app, scope_check=path_scope_check)
    for router in _routers():
        app.include_router(router)
    deprecations = api_document.DEPRECATIONS
    limiter = _limiter(settings, app.state.metrics)
    app.state.rate_limiter = limiter
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        read_timeout=settings.request_read_timeout_seconds,
        metrics=app.state.metrics,
        limiter=limiter,
        identify=rate_limit_caller,
    )
    if deprecations:
        app.add_middleware(api_document.DeprecationHeaders, deprecations=deprecations)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = api_document.finish_document(generate(), deprecations)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _limiter(settings: Settings, metrics: Metrics) -> Limiter | None:
    """The rate limiter: off at 0 a minute; in Redis (shared by the replicas) when
    ``INDICATOR_REDIS_URL`` is set; in the process otherwise."""
    if settings.rate_limit_per_minute <= 0:
        return None
    if settings.redis_url:
        return RedisRateLimiter(
            settings.redis_url,
            settings.rate_limit_per_minute,
            settings.rate_limit_burst,
            on_error=metrics.ratelimit_backend_errors.inc,
        )
    return RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)


def app_from_env() -> FastAPI:
    """ASGI factory used by ``indicator-service serve`` (``uvicorn --factory``): the settings
    from the environment, checked at start (:func:`startup_settings`)."""
    return create_app(startup_settings(get_settings))


def startup_settings(load: Callable[[], T]) -> T:
    """``load()`` (the core settings) with the authentication settings read too, so that an
    invalid ``INDICATOR_*`` variable stops ``serve`` at once with the variable named, instead of
    failing every authenticated request (the authentication settings are otherwise read on the
    first request that needs them)."""
    try:
        settings = load()
        auth_settings_from_env()
    except ValidationError as exc:
        raise settings_error(exc) from None
    return settings
