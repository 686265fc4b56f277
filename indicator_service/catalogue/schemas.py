"""Response and request models of the catalogue API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class VersionOut(Out):
    version: str
    status: Literal["draft", "published", "deprecated"]
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


class IndicatorPage(BaseModel):
    items: list[IndicatorOut]
    total: int
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, or null on the last page")


class StandardOut(Out):
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
    source: str


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
    reason: str
    fields: list[FieldChangeOut]


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
