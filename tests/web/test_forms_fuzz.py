"""Schemathesis over ``POST /v1/forms/score`` with a scorer key, so that generated CSV and XLSX
bodies reach the handler (the general schema test sends no key and only meets the 401)."""

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

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@schemathesis.serializer(XLSX)
def _xlsx_bytes(_context: Any, value: Any) -> bytes:
    """Generated XLSX bodies (binary strings) sent as they are."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


app = create_app(make_settings(SESSION_DATABASE_URL))
_full_openapi = app.openapi


def _forms_openapi() -> dict[str, Any]:
    doc = dict(_full_openapi())
    doc["paths"] = {p: item for p, item in doc["paths"].items() if p == "/v1/forms/score"}
    return doc


app.openapi = _forms_openapi  # type: ignore[method-assign]
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
schema.config.generation.update(with_security_parameters=False)


@pytest.fixture(scope="module")
def scorer_key(database_url: str, engine: Engine, settings: Settings) -> str:
    return issue_key(engine, settings, Role.client, name="fuzz forms")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_form_upload_conforms(case: schemathesis.Case, scorer_key: str) -> None:
    case.call_and_validate(
        headers=bearer(scorer_key),
        excluded_checks=[unsupported_method, allow_header_conformance],
    )
