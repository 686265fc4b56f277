"""An app whose scoring endpoints read test catalogue documents (no database needed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from indicator_service.app import create_app
from tests.helpers import ApiClient, make_settings
from tests.scoring.frameworks import catalogue


@pytest.fixture(scope="module")
def scoring_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    db = tmp_path_factory.mktemp("scoring") / "unused.db"
    app = create_app(make_settings(f"sqlite:///{db}"))
    app.state.scoring_catalogue = catalogue()
    return app


@pytest.fixture(scope="module")
def sapi(scoring_app: FastAPI) -> Iterator[ApiClient]:
    client = ApiClient(scoring_app)
    yield client
    client.close()
