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

from indicator_service.core.i18n import N_, _, gettext

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
        return _("{text}… ({n} characters)", text=repr(value[:limit]), n=len(value))
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() <= 200:  # at most 61 digits
            return repr(value)
        return _("an integer of about {n} digits", n=int(value.bit_length() * 0.30103) + 1)
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
    return _("{text}… ({n} characters, cut)", text=message[:limit], n=len(message))


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
    title: str = N_("Internal server error")

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
    status, slug, title = 400, "bad-request", N_("Bad request")


class Unauthorized(ServiceError):
    status, slug, title = 401, "unauthorized", N_("Unauthorized")


class Forbidden(ServiceError):
    status, slug, title = 403, "forbidden", N_("Forbidden")


class NotFound(ServiceError):
    status, slug, title = 404, "not-found", N_("Not found")


class Conflict(ServiceError):
    status, slug, title = 409, "conflict", N_("Conflict")


class NotAcceptable(ServiceError):
    status, slug, title = 406, "not-acceptable", N_("Not acceptable")


class PreconditionFailed(ServiceError):
    status, slug, title = 412, "precondition-failed", N_("Precondition failed")


class PayloadTooLarge(ServiceError):
    status, slug, title = 413, "payload-too-large", N_("Payload too large")


class UnsupportedMediaType(ServiceError):
    status, slug, title = 415, "unsupported-media-type", N_("Unsupported media type")


class Unprocessable(ServiceError):
    status, slug, title = 422, "validation-error", N_("Unprocessable content")


class PreconditionRequired(ServiceError):
    status, slug, title = 428, "precondition-required", N_("Precondition required")


class TooManyRequests(ServiceError):
    status, slug, title = 429, "too-many-requests", N_("Too many requests")


class ServiceUnavailable(ServiceError):
    status, slug, title = 503, "service-unavailable", N_("Service unavailable")


#: The titles of the statuses no ServiceError subclass names (HTTPStatus phrases), for the catalog.
_PHRASES = (
    N_("Method Not Allowed"),
    N_("Request Timeout"),
    N_("Not Found"),
    N_("Bad Request"),
    N_("Conflict"),
    N_("Payload Too Large"),
    N_("Content Too Large"),
    N_("Request Entity Too Large"),
    N_("Unprocessable Content"),
    N_("Unprocessable Entity"),
    N_("Too Many Requests"),
    N_("Internal Server Error"),
    N_("Service Unavailable"),
    N_("Unauthorized"),
    N_("Forbidden"),
    N_("Not Acceptable"),
    N_("Precondition Failed"),
    N_("Precondition Required"),
    N_("Unsupported Media Type"),
    N_("Error"),
)

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
    """The JSON body of a problem response (one place builds them all). The title is translated
    here (titles are class-level msgids); ``detail`` and the items' ``msg`` were translated where
    they were raised (core/i18n.py)."""
    try:
        default_title = HTTPStatus(status).phrase
    except ValueError:
        default_title = "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or _SLUGS.get(status, "error")),
        "title": gettext(title or default_title),
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
