"""Exception handlers: every error the service sends is an RFC 9457 problem document."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.utils import solve_dependencies
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from indicator_service.core.database import is_transaction_conflict
from indicator_service.core.errors import PROBLEM_JSON, ErrorItem, ServiceError, problem_body
from indicator_service.core.i18n import _, language, location_text, negotiate, validation_message
from indicator_service.core.jsonbody import is_json_media
from indicator_service.core.middleware import BodyReadTimeout, BodyTooLarge

log = logging.getLogger("indicator_service.errors")
#: The scope check of the refusal pre-flight: called with each value a route's dependencies
#: gave (the caller's principal among them), the route and the request; raises a 401/403
#: :class:`ServiceError` when the caller may not act on the request's path. Given by the app
#: (``auth.dependencies.path_scope_check``): core imports no domain package.
ScopeCheck = Callable[[Any, APIRoute, Request], None]


def problem_response(
    request: Request,
    status: int,
    detail: str | None,
    *,
    title: str | None = None,
    slug: str | None = None,
    errors: list[ErrorItem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(
        status,
        detail,
        title=title,
        slug=slug,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        errors=errors or [],
    )
    all_headers = {"Cache-Control": "no-store", **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=all_headers)


def _loc(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return problem_response(
        request,
        exc.status,
        exc.detail,
        title=exc.title,
        slug=exc.slug,
        errors=exc.errors,
        headers=exc.headers,
    )


_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _refused_first(request: Request, scope_check: ScopeCheck | None) -> JSONResponse | None:
    """The 401/403 problem a request would get once its body is readable, or None.

    FastAPI parses a JSON body before it solves the route's dependencies (a malformed body is a
    400 before the key is looked at), and namespace scope checks run inside the handlers (after
    the body is validated). Before a 400 or 422 for a write, the route's dependencies are solved
    without the body (authentication and role checks raise) and every principal they give is
    checked against the namespace of the path, as the handlers check it: a client without the
    right key learns nothing about the body it sent."""
    route = request.scope.get("route")
    if (
        scope_check is None
        or request.method not in _WRITE_METHODS
        or not isinstance(route, APIRoute)
    ):
        return None

    try:
        async with AsyncExitStack() as stack:
            solved = await solve_dependencies(
                request=request,
                dependant=route.dependant,
                body=None,
                dependency_overrides_provider=route.dependency_overrides_provider,
                async_exit_stack=stack,
                embed_body_fields=route._embed_body_fields,
            )
            for value in solved.values.values():
                scope_check(value, route, request)
    except ServiceError as refused:
        if refused.status in (401, 403):
            return await _service_error(request, refused)
    except Exception:  # anything else is the original problem's business
        log.debug("pre-flight of a refused request failed", exc_info=True)
    return None


async def _validation_error(
    request: Request, exc: Exception, scope_check: ScopeCheck | None = None
) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    refused = await _refused_first(request, scope_check)
    if refused is not None:
        return refused
    raw = list(exc.errors())
    content_type = request.headers.get("content-type", "")
    has_body_error = any(e.get("loc", ("",))[0] == "body" for e in raw)
    if (
        has_body_error
        and content_type
        and not is_json_media(content_type)
        and request.method in {"POST", "PUT", "PATCH"}
    ):
        return problem_response(
            request,
            415,
            _(
                "Content type {content_type!r} is not accepted here; send application/json",
                content_type=content_type,
            ),
            errors=[
                ErrorItem(
                    loc=["header", "content-type"],
                    msg=_("expected application/json"),
                    type="unsupported_media_type",
                )
            ],
        )
    if any(e.get("type") == "json_invalid" for e in raw):
        items = [
            ErrorItem(
                loc=_loc(e.get("loc", ["body"])),
                msg=_("Invalid JSON: {error}", error=e.get("ctx", {}).get("error", e.get("msg"))),
                type="json_invalid",
            )
            for e in raw
            if e.get("type") == "json_invalid"
        ]
        return problem_response(
            request,
            400,
            _("The request body is not valid JSON"),
            errors=items,
            slug="malformed-json",
        )
    items = [
        ErrorItem(
            loc=_loc(e.get("loc", [])),
            msg=validation_message(e),
            type=str(e.get("type", "value_error")),
        )
        for e in raw
    ]
    where = _(", ").join(location_text(i.loc) for i in items[:5])
    more = _(" and {n} more", n=len(items) - 5) if len(items) > 5 else ""
    return problem_response(
        request,
        422,
        _("{n} invalid field(s): {where}{more}", n=len(items), where=where, more=more),
        errors=items,
    )


async def _http_error(
    request: Request, exc: Exception, scope_check: ScopeCheck | None = None
) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, BodyTooLarge):  # FastAPI wraps body-read errors in a 400
        return await _body_too_large(request, exc.__cause__)
    if isinstance(exc.__cause__, BodyReadTimeout):
        return await _body_read_timeout(request, exc.__cause__)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's answer to a JSON body that is not UTF-8: the documented malformed-json
        # problem, with the error item every other unparsable body gets
        refused = await _refused_first(request, scope_check)
        if refused is not None:
            return refused
        return problem_response(
            request,
            400,
            _("The request body is not valid JSON"),
            errors=[
                ErrorItem(
                    loc=["body"],
                    msg=_(
                        "not UTF-8: byte {position} cannot be decoded",
                        position=exc.__cause__.start,
                    ),
                    type="json_invalid",
                )
            ],
            slug="malformed-json",
        )
    headers = dict(exc.headers or {})
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail in (None, "Not Found"):
        detail = _("No resource at {path}", path=request.url.path)
    elif exc.status_code == 405:
        detail = _(
            "Method {method} is not allowed on {path}", method=request.method, path=request.url.path
        )
        # Starlette fills Allow from the first partially matching route only; a path
        # served by several routes (GET and DELETE on one resource) needs all of them.
        headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
        headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
    return problem_response(request, exc.status_code, detail, headers=headers)


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route serves at this path (routes of included routers too)."""
    path = request.url.path
    methods: set[str] = set()
    for ctx in iter_route_contexts(request.app.routes):
        route_path, route_methods = ctx.path, ctx.methods
        if route_path and route_methods and compile_path(route_path)[0].match(path):
            methods |= set(route_methods)
    return methods


async def _body_too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return problem_response(
        request,
        413,
        _("The request body is larger than the limit of {limit} bytes", limit=exc.limit),
        errors=[
            ErrorItem(
                loc=["body"], msg=_("at most {limit} bytes", limit=exc.limit), type="too_large"
            )
        ],
    )


async def _body_read_timeout(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyReadTimeout)
    return problem_response(
        request,
        408,
        _(
            "The request body stopped arriving for {seconds:g} s; the connection is closed",
            seconds=exc.seconds,
        ),
        errors=[
            ErrorItem(
                loc=["body"],
                msg=_("no data for {seconds:g} s", seconds=exc.seconds),
                type="read_timeout",
            )
        ],
        headers={"Connection": "close"},
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    if is_transaction_conflict(exc):
        return await _transaction_conflict(request, exc)
    log.warning("database unavailable: %s", exc.__class__.__name__)
    return problem_response(
        request,
        503,
        _("The database is not reachable; try again shortly"),
        headers={"Retry-After": "2"},
    )


async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    log.warning("no database connection free within the pool timeout")
    return problem_response(
        request,
        503,
        _("Every database connection is in use; try again shortly"),
        headers={"Retry-After": "2"},
    )


async def _transaction_conflict(request: Request, exc: Exception) -> JSONResponse:
    """A deadlock or serialization failure: the transaction was rolled back, nothing changed."""
    log.warning("transaction conflict: %s", getattr(getattr(exc, "orig", None), "sqlstate", ""))
    detail = _(
        "The request conflicted with a concurrent transaction (deadlock or serialization "
        "failure); nothing was changed; retry"
    )
    return problem_response(
        request,
        409,
        detail,
        errors=[ErrorItem(loc=["body"], msg=detail, type="transaction_conflict")],
        headers={"Retry-After": "1"},
        slug="transaction-conflict",
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Sent by Starlette's outermost error middleware, outside RequestContextMiddleware: the
    # request id header is added here.
    request_id = getattr(request.state, "request_id", None) or ""
    log.error("unhandled error", exc_info=exc, extra={"request_id_": request_id})
    lang = negotiate(request.headers.get("accept-language"))
    with language(lang):
        return problem_response(
            request,
            500,
            _("An internal error occurred; it has been logged"),
            headers={
                "x-request-id": request_id,
                "Content-Language": lang,
                "Vary": "Accept-Language",
            },
        )


def install_problem_handlers(app: FastAPI, scope_check: ScopeCheck | None = None) -> None:
    """Every exception answered as a problem. ``scope_check``: the refusal pre-flight of a
    malformed write (a 401/403 before its 400/422); without it, none."""

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        return await _validation_error(request, exc, scope_check)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        return await _http_error(request, exc, scope_check)

    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(BodyTooLarge, _body_too_large)
    app.add_exception_handler(BodyReadTimeout, _body_read_timeout)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(DBAPIError, _db_error)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(Exception, _unhandled)


async def _db_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if is_transaction_conflict(exc):
        return await _transaction_conflict(request, exc)
    if exc.connection_invalidated:
        return await _database_unavailable(request, exc)
    return await _unhandled(request, exc)
