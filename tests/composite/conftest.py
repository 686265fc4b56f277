"""Composite endpoints need a scorer's key, stored-evaluation comparisons an evaluator's:
the package's tests use an admin key (auth is tested in tests/auth/test_compute_wiring.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from tests.auth.fixtures import admin_client
from tests.helpers import ApiClient


@pytest.fixture(scope="session")
def api(app: FastAPI) -> Iterator[ApiClient]:
    client = admin_client(app)
    yield client
    client.close()
