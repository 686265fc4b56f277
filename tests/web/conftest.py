"""Fixtures of the web interface tests.

``web_app``: an app with a database of its own and the seed catalogue imported, plus a second
version of the ``health`` namespace (1.0.1, one English name changed) so that version diffs and
indicator histories have something to show. The API tests use it in process (SQLite and
PostgreSQL); the browser tests serve it with uvicorn on a loopback port (see ``test_browser.py``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from indicator_service.app import create_app
from indicator_service.catalogue.service import import_catalogue
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import ApiClient, make_settings
from tests.paths import CATALOG_DIR

HEALTH_NEW_NAME = "Hypertension patients under regular management"


def seed_catalogue(folder: Path) -> Path:
    """The seed catalogue copied to ``folder`` with a health 1.0.1 beside health 1.0.0."""
    target = folder / "catalog"
    shutil.copytree(CATALOG_DIR, target)
    source = (target / "namespaces" / "health.yaml").read_text(encoding="utf-8")
    assert "\nversion: 1.0.0\n" in source
    assert "name_en: Hypertension patients under management\n" in source
    newer = source.replace("\nversion: 1.0.0\n", "\nversion: 1.0.1\n").replace(
        "name_en: Hypertension patients under management\n", f"name_en: {HEALTH_NEW_NAME}\n"
    )
    (target / "namespaces" / "health-1.0.1.yaml").write_text(newer, encoding="utf-8")
    return target


def build_web_app(tmp: Path, url: str) -> FastAPI:
    database.upgrade(url)
    app = create_app(make_settings(url))
    catalogue = load_catalogue(seed_catalogue(tmp))
    assert not catalogue.issues, catalogue.issues[:3]
    with database.session_scope(app.state.engine) as session:
        import_catalogue(session, catalogue)
    return app


@pytest.fixture(scope="module")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    tmp = tmp_path_factory.mktemp("web")
    url, drop = _create_database(TEST_DATABASE_URL, tmp)
    app = build_web_app(tmp, url)
    yield app
    app.state.engine.dispose()
    if drop is not None:
        drop()


@pytest.fixture(scope="module")
def web_api(web_app: FastAPI) -> Iterator[ApiClient]:
    client = ApiClient(web_app)
    yield client
    client.close()
