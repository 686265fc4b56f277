"""Stateful schemathesis: workflows across linked operations, with an admin key.

* curation: create a draft → PUT it with the ETag as If-Match (body: the draft's own document)
  → submit it → approve it with a second key (or publish it directly, as an admin may);
* evaluations: store an evaluation → read it → re-score it.

The links are added to this test's copy of the OpenAPI document (``LINKS``); the published
document carries none yet.

The generated path parameters and evaluation bodies are narrowed to values the seed catalogue
knows (``_narrow``), or nearly every chain would stop at its first 404/422.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from bench.bench_load import submission
from indicator_service.app import create_app
from indicator_service.auth.models import Role
from tests.auth.fixtures import bearer, issue_key
from tests.conftest import SESSION_DATABASE_URL
from tests.helpers import ApiClient, make_settings

# At least 25 scenarios whatever INDICATOR_FUZZ_EXAMPLES says: the oracle asks that some PUT
# carried a draft's current ETag and document, which five scenarios did not always reach
# (`make fuzz FUZZ_EXAMPLES=5`, 2026-12-07).
MAX_EXAMPLES = max(25, int(os.environ.get("INDICATOR_FUZZ_EXAMPLES", "25")))

CREATE_DRAFT = "createNamespaceDraft"
PUT_DRAFT = "putNamespaceDraft"
PUBLISH = "publishNamespaceVersion"
CREATE_EVAL = "createEvaluation"
GET_EVAL = "getEvaluation"
RESCORE = "rescoreEvaluation"
SUBMIT = "submitNamespaceVersion"
APPROVE = "approveNamespaceVersion"

DRAFT_TARGET = {"path.ns": "$request.path.ns", "path.version": "$response.body#/version"}
# (source operation, status) → {link name: link object}. A link's body replaces the generated
# one (``merge_body: False``): merged field by field, a draft document would lose a required
# field most of the time.
LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    (CREATE_DRAFT, "201"): {
        "EditDraft": {
            "operationId": PUT_DRAFT,
            "parameters": {**DRAFT_TARGET, "header.If-Match": "$response.header.ETag"},
            "requestBody": "$response.body#/document",
        },
        "SubmitCreated": {"operationId": SUBMIT, "parameters": DRAFT_TARGET, "requestBody": {}},
    },
    # (no create → publish link: a chain edits or submits the draft before it is published, as
    # the curation workflow does, and the edit step is not starved by chains that publish first)
    (PUT_DRAFT, "200"): {
        "EditAgain": {
            "operationId": PUT_DRAFT,
            "parameters": {**DRAFT_TARGET, "header.If-Match": "$response.header.ETag"},
            "requestBody": "$response.body#/document",
        },
        "PublishEdited": {"operationId": PUBLISH, "parameters": DRAFT_TARGET, "requestBody": {}},
        "SubmitEdited": {"operationId": SUBMIT, "parameters": DRAFT_TARGET, "requestBody": {}},
    },
    # review: a second key approves (the submitter's own key may not), publishing the version
    (SUBMIT, "200"): {
        "ApproveSubmitted": {
            "operationId": APPROVE,
            "parameters": {"path.ns": "$request.path.ns", "path.version": "$request.path.version"},
            "requestBody": {},
        }
    },
    (CREATE_EVAL, "201"): {
        "ReadEvaluation": {
            "operationId": GET_EVAL,
            "parameters": {"path.evaluation_id": "$response.body#/id"},
        },
        "RescoreEvaluation": {
            "operationId": RESCORE,
            "parameters": {"path.evaluation_id": "$response.body#/id"},
        },
    },
    (GET_EVAL, "200"): {
        "RescoreRead": {
            "operationId": RESCORE,
            "parameters": {"path.evaluation_id": "$response.body#/id"},
        }
    },
}
WORKFLOW_OPERATIONS = {
    CREATE_DRAFT,
    PUT_DRAFT,
    SUBMIT,
    APPROVE,
    PUBLISH,
    CREATE_EVAL,
    GET_EVAL,
    RESCORE,
}
NAMESPACES = ["education", "health", "transport"]

app = create_app(make_settings(SESSION_DATABASE_URL))
_full_openapi = app.openapi


def _narrow(doc: dict[str, Any]) -> dict[str, Any]:
    """Only the workflow operations, with their links, and inputs narrowed to known values."""
    doc = copy.deepcopy(doc)
    paths: dict[str, Any] = {}
    for path, item in doc["paths"].items():
        ops = {m: op for m, op in item.items() if op.get("operationId") in WORKFLOW_OPERATIONS}
        if not ops:
            continue
        for op in ops.values():
            for param in op.get("parameters", []):
                if param["in"] == "path" and param["name"] == "ns":
                    param["schema"] = {"type": "string", "enum": NAMESPACES}
            for (source, status), links in LINKS.items():
                if op["operationId"] == source:
                    op["responses"][status]["links"] = {
                        name: {**link, "x-schemathesis": {"merge_body": False}}
                        for name, link in links.items()
                    }
            if op["operationId"] == CREATE_EVAL:
                body = op["requestBody"]["content"]["application/json"]
                body["schema"] = {
                    "type": "object",
                    "enum": [submission(k) for k in range(3)],
                }
        paths[path] = ops
    doc["paths"] = paths
    return doc


app.openapi = lambda: _narrow(_full_openapi())  # type: ignore[method-assign]
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
schema.config.generation.update(with_security_parameters=False)
# Only the links above: schemathesis also infers links from the document (e.g. create draft →
# PUT with the path filled in and a generated If-Match, always stale), which would crowd out the
# workflow's own links and make its progress depend on the run.
schema.config.phases.stateful.inference.algorithms = []


@pytest.fixture(scope="module")
def workflow_key(seeded_url: str) -> Iterator[str]:
    """Point the app at the hardening tests' seeded database; an admin key of it."""
    settings_ = make_settings(seeded_url)
    from indicator_service.core.database import make_engine

    engine = make_engine(settings_)
    previous = app.state.engine
    app.state.engine = engine
    try:
        yield issue_key(engine, settings_, Role.admin, name="stateful admin")

    finally:
        app.state.engine = previous
        engine.dispose()


@pytest.fixture(scope="module")
def reviewer_key(workflow_key: str, seeded_url: str) -> str:
    """A second admin key of the same database: approves what the first one submitted."""
    from indicator_service.core.database import make_engine

    settings_ = make_settings(seeded_url)
    engine = make_engine(settings_)
    try:
        return issue_key(engine, settings_, Role.admin, name="stateful reviewer")
    finally:
        engine.dispose()


def test_links_are_well_formed() -> None:
    """Every link names an operation of the document (a typo would silently test nothing)."""
    doc = _narrow(_full_openapi())
    ids = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert ids == WORKFLOW_OPERATIONS
    for (source, _status), links in LINKS.items():
        assert source in ids
        assert {link["operationId"] for link in links.values()} <= ids


def _tag(value: str | None) -> str | None:
    """An entity tag as the server compares it (without W/ and quotes)."""
    if value is None:
        return None
    value = value.strip()
    return value.removeprefix("W/").strip('"')


def _without_nulls(x: Any) -> Any:
    """JSON data without null members (a link-resolved body drops them; absent = null)."""
    if isinstance(x, dict):
        return {k: _without_nulls(v) for k, v in x.items() if v is not None}
    if isinstance(x, list):
        return [_without_nulls(v) for v in x]
    return x


class DraftLedger:
    """What the server told the test about each draft it created: current ETag, document and
    status. The oracle of the draft workflow: a PUT that carries a draft's current ETag and
    document must succeed, a PUT with a stale ETag must never succeed, an approval by the second
    key of a submitted draft must succeed."""

    def __init__(self) -> None:
        self.drafts: dict[tuple[str, str], dict[str, Any]] = {}
        self.faithful_puts: list[int] = []  # statuses of PUTs with the current ETag and document
        self.violations: list[str] = []
        self.log: list[str] = []  # the draft steps, for the failure message

    def observe(self, op: str, case: schemathesis.Case, status: int, body: Any) -> None:
        path = case.path_parameters or {}
        key = (str(path.get("ns")), str(path.get("version")))
        known = self.drafts.get(key)
        if op in (CREATE_DRAFT, PUT_DRAFT, SUBMIT, APPROVE, PUBLISH):
            sent = case.headers.get("If-Match")
            same = known is not None and _without_nulls(case.body) == known["document"]
            body_kind = "document" if same else type(case.body).__name__
            self.log.append(
                f"{op.split('_')[0]} {key} {known and known['status']} If-Match={sent!r:.20}"
                f" body={body_kind} → {status}"
            )
        if op == CREATE_DRAFT and status == 201:
            self.drafts[(key[0], body["version"])] = {
                "etag": body["content_hash"],
                "document": _without_nulls(body["document"]),
                "status": "draft",
            }
        elif op == PUT_DRAFT and known is not None and known["status"] == "draft":
            sent = _tag(case.headers.get("If-Match"))
            if sent == known["etag"] and _without_nulls(case.body) == known["document"]:
                self.faithful_puts.append(status)
                if status != 200:
                    self.violations.append(f"PUT {key} with the current ETag: {status}")
            elif sent not in (None, "*", known["etag"]) and status < 300:
                self.violations.append(f"PUT {key} with a stale ETag {sent!r} succeeded")
            if status == 200:
                known.update(etag=body["content_hash"], document=_without_nulls(body["document"]))
        elif op == SUBMIT and known is not None and status == 200:
            known["status"] = "submitted"
        elif op == APPROVE and known is not None and known["status"] == "submitted":
            if case.body == {} and status != 200:
                self.violations.append(f"approving submitted {key} by the second key: {status}")
            if status == 200:
                known["status"] = "published"
        elif op == PUBLISH and known is not None and status == 200:
            known["status"] = "published"

    def forget(self) -> None:
        """A new scenario starts: its setup published every open draft."""
        self.drafts.clear()


def test_stateful_workflows(workflow_key: str, reviewer_key: str) -> None:
    calls: list[tuple[str, int]] = []
    ledger = DraftLedger()

    admin = ApiClient(app)
    admin._client.headers.update(bearer(workflow_key))

    class Workflows(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            _reset_namespaces(admin)
            ledger.forget()

        def before_call(self, case: schemathesis.Case) -> None:
            # a fresh Idempotency-Key per call: a key generated again in a later scenario would
            # replay or conflict with an earlier one, and scenarios must not depend on each other
            if case.headers and "Idempotency-Key" in case.headers:
                case.headers["Idempotency-Key"] = uuid.uuid4().hex

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            approving = case.operation.definition.raw["operationId"] == APPROVE
            return {"headers": bearer(reviewer_key if approving else workflow_key)}

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            op = case.operation.definition.raw["operationId"]
            calls.append((op, response.status_code))
            try:
                body = json.loads(response.content) if response.status_code < 300 else None
            except ValueError:
                body = None
            ledger.observe(op, case, response.status_code, body)

    try:
        _run(Workflows)
    finally:
        admin.close()
    # Schemathesis follows a link with each of its values only most of the time (by design it
    # explores with generated values too, drawing from true randomness), so which steps succeed
    # varies from run to run; the ledger checks every step whose outcome is determined.
    print("\n".join(ledger.log))  # shown when the test fails
    assert not ledger.violations, ledger.violations
    assert ledger.faithful_puts, (
        "no PUT carried a draft's current ETag and document",
        ledger.log,
    )
    reached = {op for op, status in calls if status < 300}
    called = {op for op, _status in calls}
    missing = ({CREATE_DRAFT, PUT_DRAFT, CREATE_EVAL, GET_EVAL, RESCORE} - reached) | (
        WORKFLOW_OPERATIONS - called
    )
    assert not missing, (sorted(missing), [c for c in Counter(calls).items() if c[0][0] in missing])


def _run(machine: Any) -> None:
    machine.run(
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )


def _publish(admin: ApiClient, ns: str, version: str) -> None:
    url = f"/v1/namespaces/{ns}/versions/{version}/publish"
    if admin.post(url, json={}).status_code == 200:
        return
    # the changes may need a larger bump than a patch
    versions = admin.get(f"/v1/namespaces/{ns}").json()["versions"]
    major = max(int(v["version"].split(".")[0]) for v in versions)
    done = admin.post(url, json={"version": f"{major + 1}.0.0"})
    assert done.status_code == 200, done.text


def _reset_namespaces(admin: ApiClient) -> None:
    """Each scenario starts with no drafts, so that its create-draft step can succeed."""
    for ns in NAMESPACES:
        for v in admin.get(f"/v1/namespaces/{ns}").json()["versions"]:
            if v["status"] in ("draft", "submitted"):
                _publish(admin, ns, v["version"])
