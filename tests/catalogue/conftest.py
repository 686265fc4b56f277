"""A catalogue database of its own (the seed imported once per module), so that draft and
publish tests never change what other packages' tests read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@contextmanager
def seeded_app(folder: Path, **settings: Any) -> Iterator[FastAPI]:
    """An app on a database of its own (in ``folder`` on SQLite) with the seed catalogue
    (``settings``: overrides of the test settings)."""
    url, drop = _create_database(TEST_DATABASE_URL, folder)
    database.upgrade(url)
    app = create_app(make_settings(url, **settings))
    with database.session_scope(app.state.engine) as session:
        import_catalogue(session, load_catalogue(CATALOG_DIR))
    try:
        yield app
    finally:
        app.state.engine.dispose()
        if drop is not None:
            drop()


@pytest.fixture(scope="module")
def cat_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    with seeded_app(tmp_path_factory.mktemp("catalogue")) as app:
        yield app


@pytest.fixture(scope="module")
def cat_engine(cat_app: FastAPI) -> Engine:
    engine: Engine = cat_app.state.engine
    return engine


@pytest.fixture(scope="module")
def cat_api(cat_app: FastAPI) -> Iterator[ApiClient]:
    """A client sending an admin key (auth itself is tested in tests/auth)."""
    client = admin_client(cat_app)
    yield client
    client.close()


def write_yaml(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
