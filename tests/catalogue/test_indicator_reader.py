"""Indicator lookups for scoring: namespace and version read once per unit of work, the
indicators of a published version from a process-wide cache keyed by version, content and
status (a deprecation or a new published version is seen at once)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from indicator_service.catalogue import artefacts, indicators, namespaces, service
from indicator_service.core import database
from indicator_service.core.errors import NotFound

CODES = ["EDU-02-001", "EDU-02-002", "EDU-02-003"]


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_many_codes_cost_a_few_queries(cat_engine: Engine) -> None:
    indicators._PUBLISHED_INDICATORS.clear()
    with database.session_scope(cat_engine) as session, statements(cat_engine) as seen:
        reader = service.IndicatorReader(session)
        found = [reader.get(code) for code in CODES * 3]
        first = len(seen)
    assert [f.code for f in found] == CODES * 3
    assert first <= 4  # namespace, its latest published version, its indicators (+ begin)
    with database.session_scope(cat_engine) as session, statements(cat_engine) as seen:
        reader = service.IndicatorReader(session)
        again = [reader.get(code) for code in CODES]
        second = len(seen)
    assert again == found[:3]
    assert second <= 3  # the indicators come from the cache
    with database.session_scope(cat_engine) as session, pytest.raises(NotFound):
        service.IndicatorReader(session).get("EDU-99-999")


def test_cached_definitions_equal_the_rows(cat_engine: Engine) -> None:
    with database.session_scope(cat_engine) as session:
        reader = service.IndicatorReader(session)
        for code in CODES:
            ns = indicators._namespace_of_code(session, code)
            nv = namespaces.namespace_version_row(session, ns.code, None)
            assert reader.get(code) == indicators._indicator_in(session, code, ns, nv)


def test_a_deprecation_is_seen_at_once(cat_engine: Engine) -> None:
    with database.session_scope(cat_engine) as session:
        before = service.IndicatorReader(session).get(CODES[0], "1.0.0")
    assert before.namespace_status == "published"
    with database.session_scope(cat_engine) as session:
        artefacts.deprecate(session, namespaces.NAMESPACE, "education", "1.0.0")
    with database.session_scope(cat_engine) as session:
        after = service.IndicatorReader(session).get(CODES[0], "1.0.0")
    assert after.namespace_status == "deprecated"
    assert after.definition == before.definition
