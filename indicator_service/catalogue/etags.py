"""Entity tags of the reads of published catalogue data, computed from memory.

Every tag here comes from the in-memory map of versions (:mod:`.heads`), so a request carrying
``If-None-Match`` with the current tag is answered 304 without a database query. A function
returns None when that map cannot answer (a draft, an unknown code or version): the read then
goes to the database and answers in full.

* A namespace or framework version: its content hash (the ETag its drafts carry for
  ``If-Match`` too), with ``-deprecated`` appended once it is deprecated (the body's status
  changed). The latest version of a framework (an unpinned read): a digest of its number,
  status and content hash.
* Reads combining several versions (indicator search, one indicator with its standards,
  standard look-ups): a digest of the request's path and query and of every version read.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from indicator_service.catalogue.artefacts import DEPRECATED
from indicator_service.catalogue.heads import VersionHead, etag, heads
from indicator_service.catalogue.indicators import (
    IndicatorFilters,
    listed_versions,
    standard_versions,
)


def version_tag(content_hash: str, status: str) -> str:
    """The ETag of one version's representation."""
    return f"{content_hash}-deprecated" if status == DEPRECATED else content_hash


def _one(head: VersionHead | None) -> str | None:
    return None if head is None else version_tag(head.content_hash, head.status)


def _combined(request: str, versions: Iterable[VersionHead] | None) -> str | None:
    return None if versions is None else etag(request, *(h.tag for h in versions))


def framework_tag(session: Session, code: str, version: str | None) -> str | None:
    """A pinned version's tag; the latest version's (``version`` None) also names the version
    number, since two versions may have the same content (a patch that changes nothing)."""
    head = heads(session).framework(code, version)
    if version is None:
        return _combined("latest framework", None if head is None else [head])
    return _one(head)


def namespace_tag(session: Session, code: str, version: str | None) -> str | None:
    return _one(heads(session).namespace(code, version))


def search_tag(session: Session, filters: IndicatorFilters, request: str) -> str | None:
    """An indicator search (``request``: its path and query, which the page's links echo)."""
    return _combined(request, listed_versions(heads(session), filters))


def indicator_tag(
    session: Session, indicator: str, namespace_version: str | None, request: str
) -> str | None:
    """A read about one indicator and its standards (in the latest version of every namespace,
    the indicator's own following ``namespace_version``)."""
    return _combined(request, standard_versions(heads(session), indicator, namespace_version))


def matches(if_none_match: str | None, tag: str | None) -> bool:
    """Whether an ``If-None-Match`` header matches ``tag`` (weak comparison, RFC 9110 §13.1.2:
    a ``W/`` prefix is ignored; ``*`` matches any current representation)."""
    if not if_none_match or tag is None:
        return False
    wanted = f'"{tag}"'
    for part in if_none_match.split(","):
        candidate = part.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == wanted:
            return True
    return False
