"""Schemathesis over the scoring and evaluation operations, authenticated as an evaluator.

The general schema test (tests/test_api_schema.py) sends an admin key, who reads every stored
evaluation; this one sends an evaluator's, who reads and replays only their own (the ownership
rules, docs/security.md), so that generated requests meet the owner-scoped answers too. The
checks of the ``Allow`` header on 405 answers are the general test's concern, and so is
schemathesis's coverage phase (boundary values of every parameter and field, the same values
whoever sends them): here it runs only in long runs (``INDICATOR_FUZZ_FULL_COVERAGE=1``,
set by ``make fuzz``, which also runs this file).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import allow_header_conformance, unsupported_method
from sqlalchemy.engine import Engine

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.core.settings import Settings
from tests.auth.fixtures import bearer, issue_key
from tests.conftest import SESSION_DATABASE_URL
from tests.helpers import make_settings

MAX_EXAMPLES = int(os.environ.get("INDICATOR_FUZZ_EXAMPLES", "25"))

app = create_app(make_settings(SESSION_DATABASE_URL))
_full_openapi = app.openapi


def _scoring_openapi() -> dict[str, Any]:
    """This app's OpenAPI document restricted to the scoring and evaluation operations."""
    doc = dict(_full_openapi())
    doc["paths"] = {
        path: item
        for path, item in doc["paths"].items()
        if path.startswith(("/v1/score", "/v1/evaluations"))
    }
    return doc


app.openapi = _scoring_openapi  # type: ignore[method-assign]
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# The key is sent by the test, not generated (nor mutated by negative generation).
schema.config.generation.update(with_security_parameters=False)
schema.config.phases.coverage.enabled = os.environ.get("INDICATOR_FUZZ_FULL_COVERAGE") == "1"


@pytest.fixture(scope="module")
def fuzz_evaluator_key(database_url: str, engine: Engine, settings: Settings) -> str:
    return issue_key(engine, settings, Role.evaluator, name="fuzz evaluator")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_scoring_operations_conform(case: schemathesis.Case, fuzz_evaluator_key: str) -> None:
    case.call_and_validate(
        headers=bearer(fuzz_evaluator_key),
        excluded_checks=[unsupported_method, allow_header_conformance],
    )
