"""Property-based API tests generated from the OpenAPI document (schemathesis).

Every operation, positive and negative generation, all default checks: no 500s, responses
conform to the documented schemas and status codes, and bad input is refused with a 4xx.
The example count is modest here (`INDICATOR_FUZZ_EXAMPLES` raises it).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from indicator_service.app import create_app
from tests.conftest import SESSION_DATABASE_URL
from tests.helpers import make_settings

MAX_EXAMPLES = int(os.environ.get("INDICATOR_FUZZ_EXAMPLES", "25"))

app = create_app(make_settings(SESSION_DATABASE_URL))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(autouse=True)
def _seeded(seeded_database_url: str) -> None:
    """The app's database is the session's, migrated and holding the seed catalogue (so that
    /readyz is green and lookups can succeed)."""


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate()
