"""Answers of reads of published catalogue data: cache headers, ETags and 304s, the bodies kept
per (request, tag), and the memory-first run of a read (``core.database.memory_first``). Used by
the catalogue's and the standards' read handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from pydantic import BaseModel

from indicator_service.catalogue import etags, heads, service
from indicator_service.core.cache import LRU
from indicator_service.core.database import memory_first
from indicator_service.core.i18n import current_language


def no_store(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"


def _max_age(request: Request) -> int:
    return int(request.app.state.settings.public_cache_seconds)


def cache_control(request: Request, *, pinned: bool, status_: str) -> str:
    if pinned and status_ in service.READABLE:
        return f"public, max-age={_max_age(request)}, immutable"
    return "no-store"


def set_cache(
    request: Request, response: Response, *, pinned: bool, status_: str, content_hash: str
) -> None:
    response.headers["ETag"] = f'"{etags.version_tag(content_hash, status_)}"'
    response.headers["Cache-Control"] = cache_control(request, pinned=pinned, status_=status_)


def not_modified(
    request: Request, if_none_match: str | None, tag: str | None, *, pinned: bool
) -> Response | None:
    """A 304 when ``If-None-Match`` names the current tag of published data (computed from
    memory: no database query); else the body this process already sent for this request and
    tag; else None (the handler reads and answers, then :func:`answer` keeps the body)."""
    if tag is None:
        return None
    headers = {
        "ETag": f'"{tag}"',
        "Cache-Control": cache_control(request, pinned=pinned, status_=service.PUBLISHED),
    }
    if etags.matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    body = _BODIES.get((request_text(request), tag))
    if body is None:
        return None
    return Response(body, media_type="application/json", headers=headers)


M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")

# (path and query, ETag) → the JSON body of a read of published data: the tag names every
# version the body was built from, so the body cannot change while the tag stays current.
# Bounded (the query is the caller's): least recently used bodies are dropped first.
_BODIES: LRU[tuple[str, str], bytes] = LRU(512)


def answer(request: Request, tag: str | None, out: M, *, pinned: bool) -> M | Response:
    """Answer ``out``; for published data (``tag`` set) serialise it once and keep the body for
    the next identical request (:func:`not_modified`)."""
    if tag is None:
        return out
    body = out.model_dump_json().encode("utf-8")
    _BODIES[(request_text(request), tag)] = body
    headers = {
        "ETag": f'"{tag}"',
        "Cache-Control": cache_control(request, pinned=pinned, status_=service.PUBLISHED),
    }
    return Response(body, media_type="application/json", headers=headers)


def request_text(request: Request) -> str:
    """Path, query and the answer's language (labels): a kept body's key, part of an ETag."""
    return f"{request.url.path}?{request.url.query}#{current_language()}"


async def read_published(
    request: Request, work: Callable[..., R], *args: Any, in_loop: bool = True
) -> R:
    """A read of published data (or a score over it): answered from memory in the event loop
    when it can be, else in the thread pool with a database session
    (``core.database.memory_first``). The map of catalogue versions is renewed first when it is
    due (``heads.renew``: its one query alone, from the loop on PostgreSQL)."""
    engine = request.app.state.engine
    await heads.renew(engine, request.app.state.small_reads)
    return await memory_first(engine, work, *args, in_loop=in_loop)


def tag_response(response: Response, tag: str | None) -> None:
    if tag is not None:
        response.headers["ETag"] = f'"{tag}"'
    elif "etag" in response.headers:  # set by a memory-first attempt that then needed the database
        del response.headers["etag"]
