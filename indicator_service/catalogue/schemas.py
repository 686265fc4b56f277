"""Response and request models of the catalogue API."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, computed_field

from indicator_service.catalogue.source import Citation, IndicatorDef, NodeDef, StandardDef
from indicator_service.catalogue.versioning import change_reason
from indicator_service.core.openapi import merge_patch_model
from indicator_service.core.types import NOT_BLANK_PATTERN
from indicator_service.rules.labels import definition, label


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TypeLabelled(BaseModel):
    """The ``type_label`` and ``type_definition`` of a standard, in the language asked (computed
    when the answer is serialised; the ``type`` code stays). Mixed into models with a ``type``
    field."""

    if TYPE_CHECKING:
        type: str

    @computed_field(  # type: ignore[prop-decorator]
        description="the standard type in words, in the language asked (计划标准, plan standard …)"
    )
    @property
    def type_label(self) -> str | None:
        return label("standard_type", self.type)

    @computed_field(  # type: ignore[prop-decorator]
        description="what the standard type means, in the language asked (rules/labels.py "
        "DEFINITIONS: from the public documents domain.md summarises)"
    )
    @property
    def type_definition(self) -> str | None:
        return definition("standard_type", self.type)


class VersionOut(Out):
    version: str
    status: Literal["draft", "submitted", "published", "deprecated"]
    content_hash: str
    created_at: datetime
    published_at: datetime | None


class NamespaceOut(Out):
    code: str
    kind: str
    sector: str | None
    code_prefix: str
    name_zh: str
    name_en: str
    owner: str
    latest_published: str | None
    versions: list[VersionOut]


class NamespaceList(BaseModel):
    items: list[NamespaceOut]
    total: int


class NamespaceVersionOut(Out):
    code: str
    version: str
    status: str
    content_hash: str
    document: dict[str, Any] = Field(description="the namespace document (source format)")


class IndicatorOut(Out):
    code: str
    namespace: str
    namespace_version: str
    namespace_status: str
    kind: str
    sector: str | None
    name_zh: str
    name_en: str
    level: int
    parent: str | None
    class_l1: str | None
    class_l2: str | None
    value_type: str
    operator: str | None
    unit: str | None
    rule: dict[str, Any] | None
    definition: dict[str, Any]

    @computed_field(  # type: ignore[prop-decorator]
        description="the rule's kind in words, in the language asked (null without a rule)"
    )
    @property
    def rule_label(self) -> str | None:
        kind = self.rule.get("kind") if self.rule else None
        return label("rule_kind", kind) if isinstance(kind, str) else None

    @computed_field(  # type: ignore[prop-decorator]
        description="the value type in words, in the language asked (定量指标, quantitative …)"
    )
    @property
    def value_type_label(self) -> str | None:
        return label("value_type", self.value_type)

    @computed_field(  # type: ignore[prop-decorator]
        description="the definition's collection method in words, in the language asked "
        "(直接证明法 …; null without one)"
    )
    @property
    def collection_method_label(self) -> str | None:
        method = self.definition.get("collection_method")
        return label("collection_method", method) if isinstance(method, str) else None


class IndicatorPage(BaseModel):
    items: list[IndicatorOut]
    total: int
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, or null on the last page")


class StandardOut(TypeLabelled, Out):
    indicator: str
    type: str
    namespace: str
    namespace_version: str
    region: str
    fiscal_year: int | None
    sector: str | None
    project_type: str | None
    valid_from: date | None
    valid_to: date | None
    operator: str | None
    value: float | None
    min: float | None
    max: float | None
    levels: list[float] | None
    unit: str | None
    derivation: str | None
    source: Citation | None = Field(description="the public document the value comes from")
    illustrative: bool = Field(
        description="no public document gives this value: it is never chosen by resolution "
        "unless the caller asks (include_illustrative=true)"
    )


class IndicatorDetail(BaseModel):
    indicator: IndicatorOut
    standards: list[StandardOut]


class StandardMatchOut(BaseModel):
    match: StandardOut
    why: list[str]
    candidates: list[StandardOut]


class NodeOut(Out):
    code: str
    parent: str | None
    level: int
    points: float
    name_zh: str
    name_en: str
    open: bool
    indicator: str | None
    rule: dict[str, Any] | None
    target: float | None
    standard_type: str | None
    children: list[str]
    target_is_minimum: bool = Field(
        default=False, description="the target is a floor: a higher declared target is used"
    )


class FrameworkOut(Out):
    code: str
    version: str
    status: str
    content_hash: str
    kind: str
    name_zh: str
    name_en: str
    bands: list[dict[str, Any]]
    missing_policy: str
    not_applicable_policy: str
    rule_variants: dict[str, Any]
    requires: dict[str, str]
    constraints: list[dict[str, Any]]
    nodes: list[NodeOut] = Field(description="the tree in depth-first order")
    level_synonyms: dict[str, list[str]] | None = Field(
        default=None, description="words a form may write for each qualitative level code"
    )
    standard_precedence: list[str] | None = Field(
        default=None,
        description="the order `auto` standard resolution tries types in (null: the default "
        "plan → industry → professional → historical)",
    )


class FrameworkSummary(Out):
    code: str
    kind: str
    name_zh: str
    name_en: str
    latest_published: str | None
    versions: list[VersionOut]


class FrameworkList(BaseModel):
    items: list[FrameworkSummary]
    total: int


class FieldChangeOut(BaseModel):
    field: str
    old: Any
    new: Any


class ChangeOut(BaseModel):
    entity: str
    key: str
    op: Literal["added", "removed", "changed"]
    bump: Literal["none", "patch", "minor", "major"]
    reason: str = Field(description="why the change needs its bump (English)")
    fields: list[FieldChangeOut]

    @computed_field(  # type: ignore[prop-decorator]
        description="the reason in the language asked (新增指标, 调整分值 …)"
    )
    @property
    def reason_label(self) -> str:
        return change_reason(self.entity, self.op, [f.field for f in self.fields])

    @computed_field(  # type: ignore[prop-decorator]
        description="what changed (indicator, standard …) in words, in the language asked"
    )
    @property
    def entity_label(self) -> str | None:
        return label("catalogue_entity", self.entity)


class DiffOut(BaseModel):
    kind: Literal["namespace", "framework"]
    code: str
    from_version: str
    to_version: str
    required_bump: Literal["none", "patch", "minor", "major"]
    changes: list[ChangeOut]


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: StrictStr | None = Field(
        default=None,
        max_length=40,
        # at most 9 digits a part: major, minor and patch are stored as 32-bit integers
        pattern=r"^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$",
        description="release number to publish as (default: the draft's number without -draft)",
    )


class PublishOut(BaseModel):
    release: NamespaceVersionOut
    diff: DiffOut


class FrameworkVersionOut(Out):
    code: str
    version: str
    status: str
    content_hash: str
    document: dict[str, Any] = Field(description="the framework document (source format)")


class FrameworkPublishOut(BaseModel):
    release: FrameworkVersionOut
    diff: DiffOut


# --- curation ------------------------------------------------------------------------------------


class DraftEditOut(BaseModel):
    """The outcome of a draft edit; ``content_hash`` is the draft's new ETag."""

    kind: Literal["namespace", "framework"]
    code: str
    version: str
    status: str
    content_hash: str
    id: str | None = Field(description="the item's code, or a standard's id")
    item: dict[str, Any] | None = Field(description="the item after the edit (null if retired)")


class StandardItemOut(BaseModel):
    id: str
    standard: dict[str, Any]


class StandardItemsOut(BaseModel):
    code: str
    version: str
    status: str
    content_hash: str
    items: list[StandardItemOut]


class SubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: StrictStr | None = Field(default=None, max_length=2000)


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: StrictStr = Field(
        min_length=1,
        max_length=2000,
        pattern=NOT_BLANK_PATTERN,
        description="what the curators must fix",
    )


class ApproveIn(PublishIn):
    comment: StrictStr | None = Field(default=None, max_length=2000)


class ReviewOut(BaseModel):
    kind: Literal["namespace", "framework"]
    code: str
    version: str
    status: Literal["draft", "submitted", "published", "deprecated"]
    content_hash: str
    submitted_by: str | None
    submitted_at: datetime | None
    review_comment: str | None


class ReviewList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ReviewOut]


class ImportCellError(BaseModel):
    column: str | None
    msg: str
    type: str


class ImportRowOut(BaseModel):
    sheet: str | None = Field(
        default=None, description="the XLSX sheet of the row (null for CSV, YAML and JSON)"
    )
    row: int = Field(description="spreadsheet row (header = 1) or 1-based position in the list")
    section: Literal["indicators", "standards", "nodes", "header"]
    key: str | None
    status: Literal["created", "updated", "unchanged", "error"]
    errors: list[ImportCellError]


class ImportReportOut(BaseModel):
    format: Literal["yaml", "json", "csv", "xlsx"]
    validate_only: bool
    applied: bool = Field(description="true when the draft was changed")
    valid: bool
    counts: dict[str, int]
    rows: list[ImportRowOut]
    problems: list[dict[str, Any]] = Field(
        description="problems of the resulting document as a whole (cross-document checks)"
    )
    content_hash: str = Field(description="the draft's ETag after the import")

    @classmethod
    def build(
        cls,
        fmt: str,
        validate_only: bool,
        results: Any,
        problems: Any,
        *,
        applied: bool,
        content_hash: str,
    ) -> ImportReportOut:
        counts = {"created": 0, "updated": 0, "unchanged": 0, "error": 0}
        rows = []
        for r in results:
            counts[r.status] += 1
            rows.append(
                ImportRowOut(
                    sheet=getattr(r, "sheet", None),
                    row=r.row,
                    section=r.section,
                    key=r.key,
                    status=r.status,
                    errors=[
                        ImportCellError(column=e.column, msg=e.msg, type=e.type) for e in r.errors
                    ],
                )
            )
        return cls.model_validate(
            {
                "format": fmt,
                "validate_only": validate_only,
                "applied": applied,
                "valid": counts["error"] == 0 and not problems,
                "counts": counts,
                "rows": rows,
                "problems": [p.model_dump() for p in problems],
                "content_hash": content_hash,
            }
        )


# The PATCH bodies of the curation API (JSON merge patch of an item; declared, not validated:
# the handler merges the patch into the item and validates the result as the item's model).
IndicatorPatch = merge_patch_model(IndicatorDef, "IndicatorPatch")
StandardPatch = merge_patch_model(StandardDef, "StandardPatch")
NodePatch = merge_patch_model(NodeDef, "NodePatch")
