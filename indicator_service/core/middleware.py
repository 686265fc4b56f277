"""One pure-ASGI middleware for the per-request concerns: request id, per-caller rate limit,
body-size limit, metrics and the access log line. (Pure ASGI rather than
``BaseHTTPMiddleware``: it is on every request's path and must stay cheap.)"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from indicator_service.core.errors import PROBLEM_JSON, problem_body
from indicator_service.core.i18n import negotiate, reset_language, set_language
from indicator_service.core.logging import request_id_var
from indicator_service.core.metrics import Metrics
from indicator_service.core.ratelimit import (
    CHARGED,
    EXEMPT_PATHS,
    Limiter,
    RateLimiter,
    address_identity,
    limited_detail,
    limited_errors,
)

access_log = logging.getLogger("indicator_service.access")


class BodyTooLarge(Exception):
    """Raised while reading a request body that exceeds the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds {limit} bytes")
        self.limit = limit


class BodyReadTimeout(Exception):
    """Raised when a request body stops arriving for longer than the read timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no request body data for {seconds:g} s")
        self.seconds = seconds


# Sent on every response. The API serves JSON only, so the strictest policy applies; the
# interactive documentation pages (/docs, /redoc) load their own scripts and are exempt from CSP.
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
DOC_PATHS = ("/docs", "/redoc")
# The evaluator web interface (indicator_service/web) loads its own scripts, styles and images
# from /ui/static and calls the API on the same origin: 'self' only, still no inline code.
UI_CSP = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
)
UI_PATH = "/ui"
#: Files that are the same in every language (no Content-Language, no Vary on it).
STATIC_PATHS = (UI_PATH + "/static/",)


def _valid_request_id(value: str) -> bool:
    return 0 < len(value) <= 128 and value.isascii() and value.isprintable()


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: Metrics,
        limiter: Limiter | None = None,
        identify: Callable[[Scope], str] = address_identity,
        read_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.read_timeout = read_timeout
        self.metrics = metrics
        self.limiter = limiter
        self.identify = identify  # the rate-limit bucket of a request (see core.ratelimit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        content_length: int | None = None
        accept_language: str | None = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _valid_request_id(candidate):
                    request_id = candidate
            elif name == b"content-length":
                try:
                    content_length = int(value)
                except ValueError:
                    content_length = None
            elif name == b"accept-language":
                accept_language = value.decode("latin-1")
        if not request_id:
            request_id = uuid.uuid4().hex
        token = request_id_var.set(request_id)
        lang = negotiate(accept_language)
        lang_token = set_language(lang)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        limit = self.max_body_bytes
        status_holder = [500]
        extra_headers = [(b"x-request-id", request_id.encode("latin-1")), *SECURITY_HEADERS]
        path = scope["path"]
        if path == UI_PATH or path.startswith(UI_PATH + "/"):
            extra_headers.append(UI_CSP)
        elif not path.startswith(DOC_PATHS):
            extra_headers.append(API_CSP)
        if not path.startswith(STATIC_PATHS):
            # the words of an answer follow Accept-Language (core/i18n.py)
            extra_headers.append((b"content-language", lang.encode("ascii")))

        if content_length is not None and content_length > limit:
            receive = _refusing_receive(limit)
        else:
            receive = _counting_receive(receive, limit, self.read_timeout)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = [*message.get("headers", []), *extra_headers]
                if not path.startswith(STATIC_PATHS):
                    headers = _vary_accept_language(headers)
                message["headers"] = headers
            await send(message)

        try:
            wait = 0.0
            if self.limiter is not None and scope["path"] not in EXEMPT_PATHS:
                caller = self.identify(scope)
                state[CHARGED] = caller
                wait = await self.limiter.acquire(caller)
            if wait > 0.0:
                await _too_many_requests(scope["path"], request_id, wait, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status_holder[0], elapsed)
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status_holder[0],
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": template,
                    "status": status_holder[0],
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
            request_id_var.reset(token)
            reset_language(lang_token)


async def _too_many_requests(path: str, request_id: str, wait: float, send: Send) -> None:
    retry_after = RateLimiter.retry_after(wait)
    body = problem_body(
        429,
        limited_detail(retry_after),
        instance=path,
        request_id=request_id,
        errors=limited_errors(),
    )
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(payload)).encode()),
        (b"retry-after", str(retry_after).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _vary_accept_language(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``Vary: Accept-Language`` added to the response's own ``Vary`` (one header)."""
    values = [v for k, v in headers if k.lower() == b"vary"]
    if not values:
        return [*headers, (b"vary", b"Accept-Language")]
    merged = b", ".join(values)
    if b"accept-language" not in merged.lower():
        merged += b", Accept-Language"
    return [*(h for h in headers if h[0].lower() != b"vary"), (b"vary", merged)]


def _refusing_receive(limit: int) -> Receive:
    async def receive() -> Message:
        raise BodyTooLarge(limit)

    return receive


def _counting_receive(receive: Receive, limit: int, timeout: float | None = None) -> Receive:
    """Counts the body against ``limit``; while the body is incomplete, each read waits at most
    ``timeout`` seconds (a client that declares a Content-Length and never sends it would hold
    the request open for ever). Reads after the body (waiting for a disconnect) are not timed."""
    seen = 0
    body_done = False

    async def wrapped() -> Message:
        nonlocal seen, body_done
        if timeout is None or body_done:
            message: dict[str, Any] = dict(await receive())
        else:
            try:
                async with asyncio.timeout(timeout):  # no task per read, as wait_for makes
                    message = dict(await receive())
            except TimeoutError:
                raise BodyReadTimeout(timeout) from None
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
            if not message.get("more_body", False):
                body_done = True
        else:
            body_done = True
        return message

    return wrapped
