"""The paging query parameters of the lists of stored records (evaluations, target reviews,
monitoring records, rectifications): ``limit`` (1 to 500) and ``offset`` (from 0). A list
endpoint declares ``limit: Limit = 50, offset: Offset = 0``; the service answers ``total``,
``limit``, ``offset`` and the page (``scoring.owned.owned_page``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=500)]
"""How many records a page holds at the most."""
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
"""How many records (in id order) come before the page."""
