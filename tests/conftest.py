"""Shared fixtures.

The database under test is ``INDICATOR_TEST_DATABASE_URL`` when set (CI points it at a fresh
PostgreSQL database), otherwise a SQLite file in a temporary folder. Migrations run once per
session, exactly as in production (`db upgrade`). Tests that need an empty database use
``fresh_database_url``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from indicator_service.app import create_app
from indicator_service.core import database
from indicator_service.core.settings import Settings
from tests.helpers import ApiClient, make_settings, stop_orphaned_worker_threads

TEST_DATABASE_URL = os.environ.get("INDICATOR_TEST_DATABASE_URL", "")
IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
# The session's database: the configured one, or a SQLite file in a fresh temporary folder.
SESSION_DATABASE_URL = TEST_DATABASE_URL or (
    f"sqlite:///{Path(tempfile.mkdtemp(prefix='indicator-test-')) / 'test.db'}"
)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop AnyIO worker threads a test left waiting (tests.helpers.stop_orphaned_worker_threads):
    the interpreter would wait for them at exit. A CI run on 2026-12-07 passed every test and
    then hung there, on four idle worker threads."""
    stopped = stop_orphaned_worker_threads()
    if stopped:
        print(f"\nstopped {stopped} idle AnyIO worker thread(s) left by a test", flush=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs INDICATOR_TEST_DATABASE_URL=postgresql+psycopg://…")
    for item in items:
        if "postgres" in item.keywords and not IS_POSTGRES:
            item.add_marker(skip_pg)


def _create_database(base_url: str, tmp: Path) -> tuple[str, Any]:
    """A new empty database: a SQLite file, or a new PostgreSQL database beside ``base_url``."""
    if not base_url.startswith("postgresql"):
        return f"sqlite:///{tmp / f'test-{uuid.uuid4().hex[:8]}.db'}", None
    url = make_url(base_url)
    name = f"{url.database}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url() -> str:
    """The session's database, migrated to head."""
    database.upgrade(SESSION_DATABASE_URL)
    return SESSION_DATABASE_URL


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database of the same kind as the session's, dropped afterwards."""
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path)
    yield url
    if drop is not None:
        drop()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="session")
def engine(app: FastAPI) -> Engine:
    engine: Engine = app.state.engine
    return engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with database.session_scope(engine) as s:
        yield s


@pytest.fixture(scope="session")
def api(app: FastAPI) -> Iterator[ApiClient]:
    """Synchronous client for the session's app (database migrated)."""
    client = ApiClient(app)
    yield client
    client.close()
