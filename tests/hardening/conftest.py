"""A seeded database of the hardening tests' own (the catalogue imported once per module), and
clients that send an admin key (admin passes every role and namespace check)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from indicator_service.app import create_app
from indicator_service.catalogue.service import import_catalogue
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from tests.auth.fixtures import admin_client
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import ApiClient, make_settings
from tests.paths import CATALOG_DIR


@pytest.fixture(scope="module")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new database of the session's kind, migrated, with the seed catalogue imported."""
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("hardening"))
    database.upgrade(url)
    engine = database.make_engine(make_settings(url))
    with database.session_scope(engine) as session:
        import_catalogue(session, load_catalogue(CATALOG_DIR))
    engine.dispose()
    yield url
    if drop is not None:
        drop()


@pytest.fixture(scope="module")
def hard_app(seeded_url: str) -> Iterator[FastAPI]:
    app = create_app(make_settings(seeded_url))
    yield app
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def hard_engine(hard_app: FastAPI) -> Engine:
    engine: Engine = hard_app.state.engine
    return engine


@pytest.fixture(scope="module")
def hapi(hard_app: FastAPI) -> Iterator[ApiClient]:
    """An admin client of ``hard_app``."""
    client = admin_client(hard_app)
    yield client
    client.close()
