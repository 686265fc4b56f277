"""Domain errors and their rendering as RFC 9457 problem details.

Services raise a :class:`ServiceError` subclass; one handler in ``app.py`` renders it as
``application/problem+json``. FastAPI's validation errors and Starlette's HTTP errors are rendered
by the same function so that every 4xx/5xx the service sends has one shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"
#: The longest excerpt of a client's value a message may quote (characters).
EXCERPT_CHARS = 80
#: The most error items one problem document lists.
MAX_ERROR_ITEMS = 200
#: The longest ``detail`` or error ``msg`` a problem document carries (characters): a message
#: built from a client's value never echoes it whole (a 20 MB cell, an expanded YAML alias).
MESSAGE_CHARS = 1000


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short ``repr`` of a client's value for a message: at most ``limit`` characters of it,
    then ``…`` and its full length. Every message that quotes a value it was sent uses this."""
    if isinstance(value, str | bytes):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() <= 200:  # at most 61 digits
            return repr(value)
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    if isinstance(value, list | tuple | dict | set):
        text = _bounded_repr(value, limit)
        return text
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _bounded_repr(value: object, limit: int) -> str:
    """``repr`` of a container cut at ``limit`` characters without building all of it (a
    container can be nested deeply or hold megabytes)."""
    out: list[str] = []
    size = 0

    def add(text: str) -> bool:
        nonlocal size
        out.append(text)
        size += len(text)
        return size <= limit

    def walk(v: object, depth: int) -> bool:
        if depth > 20:
            return add("…")
        if isinstance(v, dict):
            if not add("{"):
                return False
            for i, (k, x) in enumerate(v.items()):
                if (i and not add(", ")) or not walk(k, depth + 1) or not add(": "):
                    return False
                if not walk(x, depth + 1):
                    return False
            return add("}")
        if isinstance(v, list | tuple | set):
            if not add("["):
                return False
            for i, x in enumerate(v):
                if (i and not add(", ")) or not walk(x, depth + 1):
                    return False
            return add("]")
        return add(excerpt(v, limit))

    if walk(value, 0):
        return "".join(out)
    return "".join(out)[:limit] + "…"


def bounded(message: str, limit: int = MESSAGE_CHARS) -> str:
    """A message cut at ``limit`` characters (the last guard of :func:`problem_body`)."""
    if len(message) <= limit:
        return message
    return f"{message[:limit]}… ({len(message)} characters, cut)"


PROBLEM_TYPE_BASE = "https://indicator-service.dev/problems/"


class ErrorItem(BaseModel):
    """One problem location: ``loc`` is the path to the offending field (body, query, row …)."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, as sent by every error response."""

    type: str = Field(description="URI identifying the problem type")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[ErrorItem] = Field(default_factory=list)


class ServiceError(Exception):
    """Base class of every error the service reports to a client."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[ErrorItem] | None = None,
        headers: Mapping[str, str] | None = None,
        slug: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.headers = dict(headers or {})
        if slug is not None:
            self.slug = slug


class BadRequest(ServiceError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(ServiceError):
    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(ServiceError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(ServiceError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ServiceError):
    status, slug, title = 409, "conflict", "Conflict"


class NotAcceptable(ServiceError):
    status, slug, title = 406, "not-acceptable", "Not acceptable"


class PreconditionFailed(ServiceError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(ServiceError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(ServiceError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(ServiceError):
    status, slug, title = 422, "validation-error", "Unprocessable content"


class PreconditionRequired(ServiceError):
    status, slug, title = 428, "precondition-required", "Precondition required"


class TooManyRequests(ServiceError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(ServiceError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


_SLUGS: dict[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    408: "request-timeout",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal-error",
    503: "service-unavailable",
}


def problem_body(
    status: int,
    detail: str | None,
    *,
    title: str | None = None,
    slug: str | None = None,
    instance: str | None = None,
    request_id: str | None = None,
    errors: Sequence[ErrorItem] = (),
) -> dict[str, Any]:
    """The JSON body of a problem response (one place builds them all)."""
    try:
        default_title = HTTPStatus(status).phrase
    except ValueError:
        default_title = "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or _SLUGS.get(status, "error")),
        "title": title or default_title,
        "status": status,
        "detail": None if detail is None else bounded(detail),
        "instance": instance,
        "request_id": request_id,
        "errors": [
            {
                "loc": [p if isinstance(p, int) else bounded(p, EXCERPT_CHARS) for p in e.loc],
                "msg": bounded(e.msg),
                "type": bounded(e.type, EXCERPT_CHARS),
            }
            for e in errors[:MAX_ERROR_ITEMS]
        ],
    }
    return body
