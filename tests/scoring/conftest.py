"""Apps and clients for the scoring tests.

``scoring_app`` reads the test catalogue documents (no catalogue in the database) but keeps the
session's migrated database for API keys. ``sapi`` sends a ``client`` key (may score, may not
store); ``eapi`` is a client of the session app (database catalogue) with an ``evaluator`` key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.core.settings import Settings
from tests.auth.fixtures import admin_key, authenticate, issue_key, make_key  # noqa: F401
from tests.helpers import ApiClient, make_settings, use_documents
from tests.scoring.frameworks import catalogue


@pytest.fixture(scope="module")
def scoring_app(database_url: str) -> FastAPI:
    app = create_app(make_settings(database_url))
    use_documents(app, catalogue())
    return app


@pytest.fixture(scope="module")
def client_key(scoring_app: FastAPI) -> str:
    return issue_key(
        scoring_app.state.engine, scoring_app.state.settings, Role.client, name="scoring client"
    )


@pytest.fixture(scope="module")
def evaluator_key(engine: Engine, settings: Settings) -> str:
    return issue_key(engine, settings, Role.evaluator, name="scoring evaluator")


@pytest.fixture(scope="module")
def sapi(scoring_app: FastAPI, client_key: str) -> Iterator[ApiClient]:
    client = authenticate(ApiClient(scoring_app), client_key)
    yield client
    client.close()


@pytest.fixture(scope="module")
def eapi(app: FastAPI, evaluator_key: str) -> Iterator[ApiClient]:
    client = authenticate(ApiClient(app), evaluator_key)
    yield client
    client.close()
