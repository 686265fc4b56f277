"""Property-based API tests generated from the OpenAPI document (schemathesis).

Every operation, positive and negative generation, all default checks: no 500s, responses
conform to the documented schemas and status codes, and bad input is refused with a 4xx.

* ``test_api_conforms_to_its_schema`` sends an admin key with every request (admin passes every
  role and namespace check), so generated data reaches the handlers of every operation. It runs
  on a database of its own with the seed catalogue imported: the writes it generates (drafts,
  publishes, stored evaluations, new keys) touch no other test's data. Revoking keys by random
  id is left out (it would revoke the key the test sends); tests/auth covers it.
* ``test_api_without_a_key`` sends no key (fewer examples), on the same seeded database: public
  reads as anonymous callers see them, and the 401 answers of every operation that needs a key.
  Schemathesis's coverage phase (boundary and out-of-range values of every parameter and body
  field, several hundred requests an operation) runs in the keyed pass, where the handlers read
  the values; in this pass it runs only in long runs (``INDICATOR_FUZZ_FULL_COVERAGE=1``,
  set by ``make fuzz``): without a key most operations answer 401 before reading a value, and
  the public reads meet the same values in the keyed pass. It took 90 of the suite's 480 s.

Stateful workflows across linked operations are in tests/hardening/test_stateful.py. The example
count is modest here (``INDICATOR_FUZZ_EXAMPLES`` raises it; ``make fuzz`` runs a longer pass).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.catalogue.service import import_catalogue
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from tests.auth.fixtures import bearer, issue_key
from tests.conftest import SESSION_DATABASE_URL, TEST_DATABASE_URL, _create_database
from tests.helpers import make_settings
from tests.paths import CATALOG_DIR

MAX_EXAMPLES = int(os.environ.get("INDICATOR_FUZZ_EXAMPLES", "25"))

app = create_app(make_settings(SESSION_DATABASE_URL))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# The key is sent by the test, not generated (nor mutated by negative generation).
schema.config.generation.update(with_security_parameters=False)
keyed_schema = schema.exclude(method="DELETE", path="/v1/api-keys/{key_id}")
anonymous_schema = schemathesis.openapi.from_asgi("/openapi.json", app)
anonymous_schema.config.phases.coverage.enabled = (
    os.environ.get("INDICATOR_FUZZ_FULL_COVERAGE") == "1"
)


@pytest.fixture(scope="module")
def fuzz_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Point the app at a new seeded database; an admin key of it."""
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("fuzz"))
    database.upgrade(url)
    fuzz_settings = make_settings(url)
    engine = database.make_engine(fuzz_settings)
    with database.session_scope(engine) as session:
        import_catalogue(session, load_catalogue(Path(CATALOG_DIR)))
    previous = app.state.engine
    app.state.engine = engine
    try:
        yield issue_key(engine, fuzz_settings, Role.admin, name="schema fuzz admin")
    finally:
        app.state.engine = previous
        engine.dispose()
        if drop is not None:
            drop()


@keyed_schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: schemathesis.Case, fuzz_key: str) -> None:
    case.call_and_validate(headers=bearer(fuzz_key))


@pytest.mark.usefixtures("fuzz_key")  # the seeded database behind the app (ready: /readyz 200)
@anonymous_schema.parametrize()
@settings(
    max_examples=max(5, MAX_EXAMPLES // 5),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_without_a_key(case: schemathesis.Case) -> None:
    case.call_and_validate()
