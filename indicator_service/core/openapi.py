"""What the OpenAPI document says beyond what FastAPI derives from the routes, in one place.

- **Operation ids** are names a generated client can use (``score``, ``scoreBatch``,
  ``createEvaluation`` …): the handler's name in camelCase, or the name in
  ``OPERATION_ID_OVERRIDES``. They are part of the API: once published, an id does not change
  (tests/core/test_openapi_contract.py pins every one).
- **Error responses** (every 4xx and 5xx) are declared once as ``application/problem+json`` with
  the ``Problem`` schema, whatever a route wrote; 429 and 503 declare ``Retry-After``. One
  exception: ``/readyz`` answers 503 with the same ``Readiness`` body as its 200 (which check
  failed, for probes and operators), declared as such (``NOT_PROBLEMS``).
- **If-Match** is declared required and non-nullable wherever an operation takes it (the
  handlers accept its absence only to answer the conventional 428 problem, RFC 6585), except
  where the operation takes ``validate_only`` (a check needs no ETag): there it is optional.
- **Maps keyed by codes** (``dict[Code, X]``) are declared as ``additionalProperties: X`` with
  the key rules under ``propertyNames`` (pydantic writes the key pattern as
  ``patternProperties``, which generators turn into untyped dicts and which lets any key that
  does not match through, while the server rejects it).
- **Bodies validated item by item** (a batch whose every item is validated on its own, so one
  bad item does not refuse the others) are declared typed all the same: :func:`typed_body`
  publishes the model's schema (and the schemas it refers to) as components. So are the
  catalogue's curation documents (a draft, an indicator, a standard, a node), which the handlers
  validate themselves to answer every problem at once; a PATCH body is declared as the
  :func:`merge_patch_model` of its item.
- **Deprecations** are announced in ``DEPRECATIONS`` (and docs/api-changelog.md): the operation is
  marked ``deprecated`` in the document and its answers carry ``Deprecation`` (RFC 9745),
  ``Sunset`` (RFC 8594) and a ``Link`` to the changelog entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any, Optional

from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from indicator_service import __version__

API_VERSION = __version__
"""``info.version`` of the OpenAPI document (the package's version); docs/api-changelog.md has
an entry for every version that changed the API."""

CHANGELOG_URL = "docs/api-changelog.md"


@dataclass(frozen=True)
class Deprecation:
    since: datetime
    sunset: datetime
    changelog_anchor: str

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"deprecation", f"@{int(self.since.timestamp())}".encode()),
            (b"sunset", format_datetime(self.sunset.astimezone(UTC), usegmt=True).encode()),
            (b"link", f'<{CHANGELOG_URL}#{self.changelog_anchor}>; rel="deprecation"'.encode()),
        ]


# Operation id → its deprecation. Empty today: no operation is deprecated (docs/api-changelog.md).
DEPRECATIONS: dict[str, Deprecation] = {}

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Error answers whose body is not a problem: (operation id, status) → what the route declared.
NOT_PROBLEMS = frozenset({("checkReadiness", "503")})
PROBLEM_MEDIA_TYPE = "application/problem+json"

# Handler name → operation id, where the camelCase of the handler name is not the right name.
OPERATION_ID_OVERRIDES: dict[str, str] = {
    "healthz": "checkHealth",
    "readyz": "checkReadiness",
    "metrics": "getMetrics",
    "what_if": "scoreWhatIf",
    "rescore": "rescoreEvaluation",
    "lookup_standard": "getIndicatorStandard",
    "publish": "publishNamespaceVersion",
    "deprecate": "deprecateNamespaceVersion",
    "publish_framework": "publishFrameworkVersion",
    "deprecate_framework": "deprecateFrameworkVersion",
    "create_draft": "createNamespaceDraft",
    "put_draft": "putNamespaceDraft",
    "review_queue": "listReviews",
    "namespace_review": "getNamespaceReview",
    "framework_review": "getFrameworkReview",
    "submit_namespace": "submitNamespaceVersion",
    "return_namespace": "returnNamespaceVersion",
    "approve_namespace": "approveNamespaceVersion",
    "submit_framework": "submitFrameworkVersion",
    "return_framework": "returnFrameworkVersion",
    "approve_framework": "approveFrameworkVersion",
    "import_namespace": "importNamespaceDraft",
    "import_framework": "importFrameworkDraft",
    "export_namespace": "exportNamespaceVersion",
    "export_framework": "exportFrameworkVersion",
    "progress": "computeProgress",
    "composite": "scoreComposite",
    "composite_robustness": "compositeRobustness",
    "composite_from_evaluations": "compositeFromEvaluations",
    "revoke_api_key": "revokeApiKey",
    "list_audit_entries": "listAuditEntries",
    "get_audit_entry": "getAuditEntry",
    "score_uploaded_form": "scoreForm",
    "framework_template": "getFrameworkTemplate",
}

RETRY_AFTER_HEADER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    }
}


# Models declared by typed_body: published as components by finish_document.
_BODY_MODELS: dict[str, type[BaseModel]] = {}


def typed_body(
    model: type[BaseModel],
    *,
    media_type: str = "application/json",
    description: str | None = None,
    other_media: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON body of ``model`` (which the handler reads
    and validates itself, e.g. item by item) as ``media_type``, plus ``other_media`` (media type
    → media object); the model's schema is published as a component by :func:`finish_document`."""
    _BODY_MODELS[model.__name__] = model
    content = {media_type: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
    body: dict[str, Any] = {"required": True, "content": {**content, **(other_media or {})}}
    if description is not None:
        body["description"] = description
    return {"requestBody": body}


# The schemas that the parameters declared by typed_query refer to (an enum …), published as
# components by finish_document. The first schema of a name is kept: a model declared later
# (a test's) cannot replace the service's.
_QUERY_DEFS: dict[str, dict[str, Any]] = {}


def typed_query(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring the fields of ``model`` as query parameters, as FastAPI
    declares a query model (``Annotated[model, Query()]``) that the handler reads itself
    (``core.querymodel.query_model``): each parameter with its field's schema, its description
    and whether it is required; the schemas it refers to are published as components by
    :func:`finish_document`, which also puts the parameters in FastAPI's order (path, query,
    header, cookie)."""
    full = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for def_name, definition in full.get("$defs", {}).items():
        _QUERY_DEFS.setdefault(def_name, definition)
    parameters = []
    for name, field in model.model_fields.items():
        alias = field.alias or name
        schema = dict(full["properties"][alias])
        if schema.get("default", ...) is None:  # FastAPI leaves a None default out
            del schema["default"]
        param: dict[str, Any] = {
            "name": alias,
            "in": "query",
            "required": field.is_required(),
            "schema": schema,
        }
        if field.description:
            param["description"] = field.description
        parameters.append(param)
    return {"parameters": parameters}


def merge_patch_model(model: type[BaseModel], name: str) -> type[BaseModel]:
    """A model named ``name`` declaring a JSON merge patch (RFC 7396) of ``model``: every field
    of ``model`` with its own type, optional, and nullable (``null`` removes the field). Used to
    declare a PATCH body (:func:`typed_body`); the handler merges and validates ``model``."""

    def nullable(field: FieldInfo) -> Any:
        kind: Any = field.annotation
        if field.metadata:  # the field's own constraints (a pattern, bounds), kept
            kind = Annotated[(kind, *field.metadata)]
        return Optional[kind]  # noqa: UP045 (a type built at run time)

    fields: dict[str, Any] = {
        field_name: (nullable(field), Field(default=None, description=field.description))
        for field_name, field in model.model_fields.items()
    }
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"JSON merge patch of {model.__name__}: the fields to change; null removes one.",
        **fields,
    )


def _publish_body_models(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, model in _BODY_MODELS.items():
        full = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in {**full.pop("$defs", {}), name: full}.items():
            components.setdefault(def_name, definition)
    for def_name, definition in _QUERY_DEFS.items():
        components.setdefault(def_name, definition)
    schema["components"]["schemas"] = dict(sorted(components.items()))


#: FastAPI's order of an operation's parameters (``typed_query``'s are appended after them).
_PARAMETER_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}


def _order_parameters(op: dict[str, Any]) -> None:
    if "parameters" in op:
        op["parameters"].sort(key=lambda p: _PARAMETER_ORDER.get(p.get("in"), 4))


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(route: APIRoute) -> str:
    """The ``generate_unique_id_function`` of the app: a route's public operation id."""
    return route.operation_id or OPERATION_ID_OVERRIDES.get(route.name, camel_case(route.name))


def finish_document(
    schema: dict[str, Any], deprecations: dict[str, Deprecation] | None = None
) -> dict[str, Any]:
    """Apply the document-wide declarations above to FastAPI's generated document."""
    _publish_body_models(schema)
    _typed_maps(schema)
    for item in schema.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            _order_parameters(op)
            _require_if_match(op)
            _problem_responses(op)
            if op.get("operationId") in (deprecations or {}):
                op["deprecated"] = True
    return schema


def _require_if_match(op: dict[str, Any]) -> None:
    params = op.get("parameters", [])
    # An operation that can only check (``validate_only``) needs no ETag for that.
    checks_only = any(p.get("in") == "query" and p.get("name") == "validate_only" for p in params)
    for param in params:
        if param.get("in") == "header" and param.get("name", "").lower() == "if-match":
            param["required"] = not checks_only
            if checks_only:
                param["description"] = (
                    "the draft's ETag: required unless validate_only=true (428 if missing)"
                )
            options = param.get("schema", {}).get("anyOf")
            if options:
                kept = [o for o in options if o.get("type") != "null"]
                title = param["schema"].get("title")
                param["schema"] = dict(kept[0]) if len(kept) == 1 else {"anyOf": kept}
                if title:
                    param["schema"]["title"] = title


def _problem_responses(op: dict[str, Any]) -> None:
    for status, response in op.get("responses", {}).items():
        if not (status == "default" or str(status)[:1] in {"4", "5"}):
            continue
        if (op.get("operationId"), str(status)) not in NOT_PROBLEMS:
            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
        if str(status) in {"429", "503"}:
            response.setdefault("headers", {}).update(RETRY_AFTER_HEADER)


class DeprecationHeaders:
    """ASGI middleware: the answers of a deprecated operation carry its deprecation headers.

    FastAPI puts the matched route into the scope before the handler runs (the router's own
    route object, so its public id is computed here by ``operation_id``); the headers are added
    when the response starts, whatever the status."""

    def __init__(self, app: ASGIApp, deprecations: dict[str, Deprecation]) -> None:
        self.app = app
        self.deprecations = deprecations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.deprecations:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                found = (
                    self.deprecations.get(operation_id(route))
                    if isinstance(route, APIRoute)
                    else None
                )
                if found is not None:
                    message = {**message, "headers": [*message["headers"], *found.headers()]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _typed_maps(node: Any) -> None:
    """Rewrite every single-pattern ``patternProperties`` map as a typed map (see the module)."""
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
            ((pattern, value_schema),) = patterns.items()
            del node["patternProperties"]
            node["additionalProperties"] = value_schema
            node["propertyNames"] = {**node.get("propertyNames", {}), "pattern": pattern}
        for child in node.values():
            _typed_maps(child)
    elif isinstance(node, list):
        for child in node:
            _typed_maps(child)
