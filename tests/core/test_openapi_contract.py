"""The OpenAPI document as generated clients see it (issue #17): stable operation ids, problem
responses with the Problem schema, headers declared as they are."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from indicator_service.app import create_app
from indicator_service.core import openapi as api_document
from indicator_service.core.openapi import Deprecation, camel_case
from indicator_service.core.settings import Settings
from tests.helpers import ApiClient

# Every operation id, pinned: generated clients name their functions after them, so an id never
# changes once published. A new operation is added here on purpose, with its name chosen.
OPERATION_IDS: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "checkHealth",
    ("GET", "/readyz"): "checkReadiness",
    ("GET", "/metrics"): "getMetrics",
    ("POST", "/v1/score"): "score",
    ("POST", "/v1/score/batch"): "scoreBatch",
    ("POST", "/v1/score/columnar"): "scoreColumnar",
    ("POST", "/v1/score/what-if"): "scoreWhatIf",
    ("POST", "/v1/evaluations"): "createEvaluation",
    ("POST", "/v1/evaluations/batch"): "createEvaluationsBatch",
    ("GET", "/v1/evaluations"): "listEvaluations",
    ("GET", "/v1/evaluations/{evaluation_id}"): "getEvaluation",
    ("POST", "/v1/evaluations/{evaluation_id}/rescore"): "rescoreEvaluation",
    ("GET", "/v1/evaluations/{evaluation_id}/comparison"): "compareEvaluations",
    ("POST", "/v1/rectifications"): "createRectification",
    ("GET", "/v1/rectifications"): "listRectifications",
    ("GET", "/v1/rectifications/overdue"): "listOverdueRectifications",
    ("GET", "/v1/rectifications/{rectification_id}"): "getRectification",
    ("PATCH", "/v1/rectifications/{rectification_id}"): "updateRectification",
    ("GET", "/v1/namespaces"): "listNamespaces",
    ("GET", "/v1/namespaces/{ns}"): "getNamespace",
    ("GET", "/v1/namespaces/{ns}/versions/{version}"): "getNamespaceVersion",
    ("GET", "/v1/namespaces/{ns}/diff"): "diffNamespace",
    ("POST", "/v1/namespaces/{ns}/drafts"): "createNamespaceDraft",
    ("PUT", "/v1/namespaces/{ns}/drafts/{version}"): "putNamespaceDraft",
    ("POST", "/v1/namespaces/{ns}/versions/{version}/publish"): "publishNamespaceVersion",
    ("POST", "/v1/namespaces/{ns}/versions/{version}/deprecate"): "deprecateNamespaceVersion",
    ("GET", "/v1/indicators"): "listIndicators",
    ("GET", "/v1/indicators/{code}"): "getIndicator",
    ("GET", "/v1/indicators/{code}/standard"): "getIndicatorStandard",
    ("GET", "/v1/frameworks"): "listFrameworks",
    ("GET", "/v1/frameworks/{code}"): "getFramework",
    ("GET", "/v1/frameworks/{code}/versions/{version}"): "getFrameworkVersion",
    ("GET", "/v1/frameworks/{code}/diff"): "diffFramework",
    ("GET", "/v1/frameworks/{code}/versions/{version}/document"): "getFrameworkDocument",
    ("POST", "/v1/frameworks/{code}/drafts"): "createFrameworkDraft",
    ("PUT", "/v1/frameworks/{code}/drafts/{version}"): "putFrameworkDraft",
    ("POST", "/v1/frameworks/{code}/versions/{version}/publish"): "publishFrameworkVersion",
    ("POST", "/v1/frameworks/{code}/versions/{version}/deprecate"): "deprecateFrameworkVersion",
    ("POST", "/v1/namespaces/{ns}/drafts/{version}/indicators"): "addIndicator",
    ("PATCH", "/v1/namespaces/{ns}/drafts/{version}/indicators/{code}"): "patchIndicator",
    ("DELETE", "/v1/namespaces/{ns}/drafts/{version}/indicators/{code}"): "retireIndicator",
    ("GET", "/v1/namespaces/{ns}/versions/{version}/standards"): "listStandards",
    ("POST", "/v1/namespaces/{ns}/drafts/{version}/standards"): "addStandard",
    ("PATCH", "/v1/namespaces/{ns}/drafts/{version}/standards/{sid}"): "patchStandard",
    ("DELETE", "/v1/namespaces/{ns}/drafts/{version}/standards/{sid}"): "retireStandard",
    ("POST", "/v1/frameworks/{code}/drafts/{version}/nodes"): "addNode",
    ("PATCH", "/v1/frameworks/{code}/drafts/{version}/nodes/{node}"): "patchNode",
    ("DELETE", "/v1/frameworks/{code}/drafts/{version}/nodes/{node}"): "retireNode",
    ("GET", "/v1/reviews"): "listReviews",
    ("GET", "/v1/namespaces/{ns}/versions/{version}/review"): "getNamespaceReview",
    ("GET", "/v1/frameworks/{code}/versions/{version}/review"): "getFrameworkReview",
    ("POST", "/v1/namespaces/{ns}/versions/{version}/submit"): "submitNamespaceVersion",
    ("POST", "/v1/namespaces/{ns}/versions/{version}/return"): "returnNamespaceVersion",
    ("POST", "/v1/namespaces/{ns}/versions/{version}/approve"): "approveNamespaceVersion",
    ("POST", "/v1/frameworks/{code}/versions/{version}/submit"): "submitFrameworkVersion",
    ("POST", "/v1/frameworks/{code}/versions/{version}/return"): "returnFrameworkVersion",
    ("POST", "/v1/frameworks/{code}/versions/{version}/approve"): "approveFrameworkVersion",
    ("POST", "/v1/namespaces/{ns}/drafts/{version}/import"): "importNamespaceDraft",
    ("POST", "/v1/frameworks/{code}/drafts/{version}/import"): "importFrameworkDraft",
    ("GET", "/v1/namespaces/{ns}/versions/{version}/export"): "exportNamespaceVersion",
    ("GET", "/v1/frameworks/{code}/versions/{version}/export"): "exportFrameworkVersion",
    ("POST", "/v1/standards/historical"): "deriveHistorical",
    ("POST", "/v1/standards/industry"): "deriveIndustry",
    ("POST", "/v1/standards/progress"): "computeProgress",
    ("GET", "/v1/standards/resolve"): "resolveStandard",
    ("GET", "/v1/regions"): "listRegions",
    ("GET", "/v1/regions/{code}"): "getRegion",
    ("POST", "/v1/standards/drafts/{ns}/{version}/standards"): "saveDerivedStandard",
    ("POST", "/v1/standards/historical/from-evaluations"): "historicalFromEvaluations",
    ("POST", "/v1/standards/industry/from-evaluations"): "industryFromEvaluations",
    ("POST", "/v1/composite"): "scoreComposite",
    ("POST", "/v1/composite/robustness"): "compositeRobustness",
    ("POST", "/v1/composite/evaluations"): "compositeFromEvaluations",
    ("POST", "/v1/api-keys"): "createApiKey",
    ("GET", "/v1/api-keys"): "listApiKeys",
    ("GET", "/v1/api-keys/{key_id}"): "getApiKey",
    ("DELETE", "/v1/api-keys/{key_id}"): "revokeApiKey",
    ("GET", "/v1/audit"): "listAuditEntries",
    ("GET", "/v1/audit/{entry_id}"): "getAuditEntry",
    ("POST", "/v1/forms/score"): "scoreForm",
    ("POST", "/v1/targets/review"): "reviewTargets",
    ("POST", "/v1/targets/review/form"): "reviewTargetForm",
    ("GET", "/v1/targets/reviews"): "listTargetReviews",
    ("GET", "/v1/targets/reviews/{review_id}"): "getTargetReview",
    ("GET", "/v1/frameworks/{code}/template"): "getFrameworkTemplate",
    # in-year monitoring (运行监控)
    ("POST", "/v1/monitoring"): "createMonitoring",
    ("GET", "/v1/monitoring"): "listMonitoring",
    ("GET", "/v1/monitoring/{monitoring_id}"): "getMonitoring",
    ("GET", "/v1/monitoring/{monitoring_id}/workbook"): "exportMonitoring",
}


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]


def test_operation_ids_are_pinned(document: dict[str, Any]) -> None:
    found = {(method, path): op["operationId"] for method, path, op in _operations(document)}
    assert found == OPERATION_IDS


def test_operation_ids_are_unique_names(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(document)]
    assert len(ids) == len(set(ids))
    for op_id in ids:
        assert re.fullmatch(r"[a-z][A-Za-z0-9]+", op_id), op_id


def test_no_generated_names_in_components(document: dict[str, Any]) -> None:
    for name in document["components"]["schemas"]:
        assert "_v1_" not in name, name
        assert "__" not in name, name


def test_every_error_response_is_a_typed_problem(document: dict[str, Any]) -> None:
    assert "Problem" in document["components"]["schemas"]
    checked = 0
    for method, path, op in _operations(document):
        for status, response in op["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            checked += 1
            if (op["operationId"], status) == ("checkReadiness", "503"):
                # not ready: the readiness report itself, as the 200 (core.openapi.NOT_PROBLEMS)
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}
                }
            else:
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)
            if status in {"429", "503"}:
                assert response["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert checked > 100


def test_if_match_is_required_and_not_nullable(document: dict[str, Any]) -> None:
    """Required where it is, optional where ``validate_only`` can skip it; never nullable."""
    seen = optional = 0
    for _, _, op in _operations(document):
        params = op.get("parameters", [])
        checks_only = any(p["in"] == "query" and p["name"] == "validate_only" for p in params)
        for param in params:
            if param["in"] == "header" and param["name"].lower() == "if-match":
                seen += 1
                optional += checks_only
                assert param["required"] is not checks_only
                assert param["schema"].get("type") == "string"
                assert "anyOf" not in param["schema"]
    assert seen >= 10
    assert optional == 2  # the two imports


# The curation bodies (issue #17): declared with the catalogue's own models (and a merge patch
# of them), never as an untyped object again.
CURATION_BODIES: dict[str, tuple[str, str]] = {
    "putNamespaceDraft": ("application/json", "NamespaceDoc"),
    "putFrameworkDraft": ("application/json", "FrameworkDoc"),
    "addIndicator": ("application/json", "IndicatorDef"),
    "patchIndicator": ("application/merge-patch+json", "IndicatorPatch"),
    "addStandard": ("application/json", "StandardDef"),
    "patchStandard": ("application/merge-patch+json", "StandardPatch"),
    "addNode": ("application/json", "NodeDef"),
    "patchNode": ("application/merge-patch+json", "NodePatch"),
}


def test_curation_bodies_reference_the_catalogue_models(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    found = {}
    for _, _, op in _operations(document):
        if op["operationId"] in CURATION_BODIES:
            body = op["requestBody"]
            assert body["required"] is True
            # the parameter's own title may stand beside the reference; nothing else may
            found[op["operationId"]] = {
                media: {k: v for k, v in content["schema"].items() if k != "title"}
                for media, content in body["content"].items()
            }
    assert set(found) == set(CURATION_BODIES)
    for op_id, (media, model) in CURATION_BODIES.items():
        assert found[op_id] == {media: {"$ref": f"#/components/schemas/{model}"}}, op_id
        assert schemas[model]["type"] == "object", model
        assert schemas[model]["additionalProperties"] is False, model
    # the documents nest the item models, as the source format does
    namespace = schemas["NamespaceDoc"]["properties"]
    assert namespace["indicators"]["items"] == {"$ref": "#/components/schemas/IndicatorDef"}
    assert namespace["standards"]["items"] == {"$ref": "#/components/schemas/StandardDef"}
    nodes = schemas["FrameworkDoc"]["properties"]["nodes"]
    assert nodes["items"] == {"$ref": "#/components/schemas/NodeDef"}
    # a rule is the discriminated union of rule kinds, in documents and items alike
    assert "oneOf" in str(schemas["NodeDef"]["properties"]["rule"])


def test_a_merge_patch_has_every_field_optional_and_nullable(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for patch, item in [
        ("IndicatorPatch", "IndicatorDef"),
        ("StandardPatch", "StandardDef"),
        ("NodePatch", "NodeDef"),
    ]:
        assert "required" not in schemas[patch], patch
        assert set(schemas[patch]["properties"]) == set(schemas[item]["properties"]), patch
        for name, field in schemas[patch]["properties"].items():
            assert {"type": "null"} in field.get("anyOf", []), (patch, name)
    # the item's own constraints are kept (a pattern on the code, bounds on the points)
    code = schemas["IndicatorPatch"]["properties"]["code"]["anyOf"][0]
    assert code["pattern"] == schemas["IndicatorDef"]["properties"]["code"]["pattern"]
    points = schemas["NodePatch"]["properties"]["points"]["anyOf"][0]
    assert (points["minimum"], points["maximum"]) == (0, 100)


def test_camel_case() -> None:
    assert camel_case("score_batch") == "scoreBatch"
    assert camel_case("score") == "score"
    assert camel_case("get_api_key") == "getApiKey"


def test_info_version_has_a_changelog_entry(document: dict[str, Any]) -> None:
    changelog = (Path(__file__).parents[2] / "docs" / "api-changelog.md").read_text("utf-8")
    assert f"## {document['info']['version']}" in changelog


def test_deprecated_operation_is_announced(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sunset = datetime(2027, 6, 30, tzinfo=UTC)
    since = datetime(2026, 12, 1, tzinfo=UTC)
    monkeypatch.setitem(api_document.DEPRECATIONS, "checkHealth", Deprecation(since, sunset, "020"))
    app = create_app(settings)
    client = ApiClient(app)
    try:
        answer = client.get("/healthz")
        plain = client.get("/metrics")
    finally:
        client.close()
    assert answer.headers["deprecation"] == f"@{int(since.timestamp())}"
    assert answer.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert answer.headers["link"] == '<docs/api-changelog.md#020>; rel="deprecation"'
    assert "deprecation" not in plain.headers
    assert app.openapi()["paths"]["/healthz"]["get"]["deprecated"] is True
    assert "deprecated" not in app.openapi()["paths"]["/metrics"]["get"]


def test_no_deprecation_middleware_without_deprecations(app: FastAPI) -> None:
    assert not any(m.cls is api_document.DeprecationHeaders for m in app.user_middleware)
