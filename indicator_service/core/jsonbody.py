"""JSON request bodies parsed and validated in one pass, for hot routes.

FastAPI reads a body parameter with ``json.loads`` and then validates the Python objects; for a
30-row scoring request that is two passes (≈ 280 µs) plus its body-parameter machinery, where
pydantic's own JSON parser validates the bytes in one (≈ 145 µs). A handler that wants the one
pass takes the :class:`~starlette.requests.Request`, declares the body in OpenAPI with
:func:`openapi_body` and calls :func:`json_body`.

The answers to bad input are those of a FastAPI body parameter (the same
``RequestValidationError``, hence the same problem documents: 415 for a content type that is not
JSON, 422 naming each field, 400 for unparsable JSON), with two differences in wording: an
unparsable body's error names the line and column (pydantic's message) instead of a character
offset, and JSON that is not an object is a ``model_type`` error ("Input should be an object").
Tested side by side with a body parameter in ``tests/core/test_jsonbody.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
UTF8_BOM = b"\xef\xbb\xbf"

JSON_CONTENT_TYPES = (
    "application/json",
    "application/problem+json",
    "application/merge-patch+json",
)


def is_json_media(content_type: str) -> bool:
    """True for ``application/json`` and ``application/*+json`` (parameters ignored)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_CONTENT_TYPES or (
        media.startswith("application/") and media.endswith("+json")
    )


def best_media(accept: str | None, offered: Sequence[str]) -> str | None:
    """The media type of ``offered`` (in the server's order of preference) that ``accept``
    (an HTTP Accept header) prefers, or None when it accepts none of them (a 406). No header,
    or an empty one, accepts anything: the first offered."""
    if not accept or not accept.strip():
        return offered[0] if offered else None
    ranges: list[tuple[str, float]] = []
    for part in accept.split(",")[:50]:
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q if 0 <= q <= 1 else 0.0))
    best: tuple[float, int] | None = None
    choice: str | None = None
    for index, media in enumerate(offered):
        kind = media.split("/", 1)[0]
        # the most specific range that matches decides the quality (RFC 9110 § 12.5.1)
        found: tuple[int, float] | None = None
        for pattern, q in ranges:
            rank = (
                3
                if pattern == media
                else 2
                if pattern == f"{kind}/*"
                else 1
                if pattern == "*/*"
                else 0
            )
            if rank and (found is None or rank > found[0]):
                found = (rank, q)
        if found is None or found[1] <= 0:
            continue
        key = (found[1], -index)
        if best is None or key > best:
            best, choice = key, media
    return choice


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON body of ``model`` (as a body parameter would;
    the model's schema must be published by some route, as every request model here is)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"content": {"application/json": {"schema": ref}}, "required": True}}


async def json_body(request: Request, model: type[M]) -> M:
    """The request's body as ``model``, validated straight from the bytes."""
    raw = await request.body()
    if raw.startswith(UTF8_BOM):  # tolerated, as json.loads tolerates it (RFC 8259 § 8.1)
        raw = raw[len(UTF8_BOM) :]
    if not raw:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    content_type = request.headers.get("content-type")
    try:
        if content_type and is_json_media(content_type):
            return model.model_validate_json(raw)
        # No or another content type: the bytes are not parsed, as FastAPI (strict content
        # types) does not parse them; validating them reports what it reports.
        return model.model_validate(raw, from_attributes=True)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=raw) from None
