"""File uploads: the raw body with its content type, or the same file as the ``file`` part of a
``multipart/form-data`` body (what generated clients and browsers send). One helper, so that
every upload operation accepts both and declares both (:func:`upload_content`).

The body-size limit (``core/middleware.py``) applies to the whole multipart body. The part's
content type says what the file is; a part sent as ``application/octet-stream`` (or without
one) is known by its file name's extension.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from indicator_service.core.errors import ErrorItem, Unprocessable

Upload = tuple[bytes, str | None]
MULTIPART = "multipart/form-data"
FILE_FIELD = "file"

#: File name extension → media type, for a part without a useful content type.
EXTENSIONS = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".json": "application/json",
}


def upload_content(raw: dict[str, Any], description: str = "the file") -> dict[str, Any]:
    """The request body ``content`` of an upload: the raw media types ``raw`` and
    ``multipart/form-data`` with the file as its ``file`` part."""
    part = {"type": "string", "format": "binary", "description": description}
    multipart = {
        "schema": {
            "type": "object",
            "required": [FILE_FIELD],
            "properties": {FILE_FIELD: part},
        }
    }
    return {**raw, MULTIPART: multipart}


def media_of(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def accepting(accepted: Collection[str]) -> Callable[[Request], Awaitable[Upload]]:
    """A dependency: :func:`uploaded_file` where a multipart ``file`` part of a type outside
    ``accepted`` is a 422 naming the part (the body's own media type is supported; a raw body
    of another type stays the operation's 415)."""

    async def dependency(request: Request) -> Upload:
        data, media = await uploaded_file(request)
        is_part = media_of(request.headers.get("content-type")) == MULTIPART
        if is_part and media_of(media) not in accepted:
            raise _no_file(
                f"the file part is {media or 'of no known type'}; send one of "
                + ", ".join(sorted(accepted))
                + " (the part's content type, or a file name ending in its extension)",
                type_="unsupported_file_type",
            )
        return data, media

    return dependency


async def uploaded_file(request: Request) -> Upload:
    """The uploaded bytes and their content type: the raw body and its ``Content-Type``, or
    the ``file`` part of a multipart body (422 when it has none)."""
    content_type = request.headers.get("content-type")
    if media_of(content_type) != MULTIPART:
        return await request.body(), content_type
    try:
        form = await request.form(max_files=1, max_fields=20)
    except Exception as exc:  # python-multipart's errors for a malformed body
        raise _no_file(f"not a readable multipart/form-data body ({type(exc).__name__})") from exc
    try:
        part = form.get(FILE_FIELD)
        if not isinstance(part, UploadFile):
            raise _no_file(f"the multipart body has no file part named {FILE_FIELD!r}")
        data = await part.read()
        media = media_of(part.content_type)
        if media in ("", "application/octet-stream"):
            name = (part.filename or "").lower()
            media = next((m for ext, m in EXTENSIONS.items() if name.endswith(ext)), media)
        return data, media or None
    finally:
        await form.close()


def _no_file(msg: str, type_: str = "missing_file") -> Unprocessable:
    return Unprocessable(msg, errors=[ErrorItem(loc=["body", FILE_FIELD], msg=msg, type=type_)])
