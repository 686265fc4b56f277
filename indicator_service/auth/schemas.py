"""Request and response models of the key-management API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_validator,
)

from indicator_service.auth.models import ALL_NAMESPACES, Role
from indicator_service.core.i18n import _
from indicator_service.core.types import WHITESPACE_CLASS
from indicator_service.rules.labels import named

NAMESPACE_PATTERN = r"^(\*|[a-z][a-z0-9_]{0,63})$"
NamespaceScope = Annotated[
    str, StringConstraints(strict=True, pattern=NAMESPACE_PATTERN, max_length=64)
]
# Text with at least one visible character and no control characters (C0, DEL, C1).
NAME_PATTERN = (
    r"^[^\x00-\x1f\x7f-\x9f]*"
    rf"[^{WHITESPACE_CLASS}\x00-\x1f\x7f-\x9f]"
    r"[^\x00-\x1f\x7f-\x9f]*$"
)
SCOPED_ROLES = frozenset({Role.curator, Role.reviewer})
REGION_SCOPED_ROLES = frozenset({Role.evaluator})


_TWO = "(0[1-9]|[1-9][0-9])"  # two digits, not 00
REGION_SCOPE_PATTERN = rf"^(000000|{_TWO}(0000|{_TWO}(00|{_TWO})))$"
"""A GB/T 2260 administrative division code usable as a key's region scope: a province
``PP0000``, a city ``PPCC00``, a county ``PPCCDD`` (PP, CC, DD not 00) or ``000000`` (national:
every region). A county part under no city (``PP00DD``) is refused."""
RegionScope = Annotated[
    str, StringConstraints(strict=True, pattern=REGION_SCOPE_PATTERN, min_length=6, max_length=6)
]


def normalise_regions(role: Role, regions: list[str] | None) -> list[str]:
    """Sorted, de-duplicated region scopes; only evaluator keys may have them."""
    if not regions:
        return []
    if role not in REGION_SCOPED_ROLES:
        raise ValueError(
            _(
                "region scopes apply to evaluator keys only, not to a {value} key",
                value=named("role", role.value),
            )
        )
    return sorted(set(regions))


def normalise_namespaces(role: Role, namespaces: list[str] | None) -> list[str]:
    """Sorted, de-duplicated scopes; ``*`` alone when it is present; admin always ``*``.

    Curator and reviewer keys must name their namespaces (or ``*`` explicitly); the other
    roles default to ``*``.
    """
    if role is Role.admin:
        return [ALL_NAMESPACES]
    if not namespaces:
        if role in SCOPED_ROLES:
            raise ValueError(
                _(
                    "a {value} key needs at least one namespace (or '*' for all namespaces)",
                    value=named("role", role.value),
                )
            )
        return [ALL_NAMESPACES]
    if ALL_NAMESPACES in namespaces:
        return [ALL_NAMESPACES]
    return sorted(set(namespaces))


class _KeyCreateBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        strict=True,
        min_length=1,
        max_length=200,
        pattern=NAME_PATTERN,
        description="Who holds the key (a person, bureau or system), shown in the audit trail.",
        examples=["教育局 curator (Li Wei)"],
    )

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class ScopedKeyCreate(_KeyCreateBase):
    """A curator or reviewer key: its namespaces must be named ('*' for all)."""

    role: Literal[Role.curator, Role.reviewer]
    namespaces: list[NamespaceScope] = Field(
        min_length=1,
        max_length=50,
        description="Namespaces the key may act on; '*' for all.",
        examples=[["education"]],
    )

    @model_validator(mode="after")
    def _scopes(self) -> Self:
        self.namespaces = normalise_namespaces(self.role, self.namespaces)
        return self


class UnscopedKeyCreate(_KeyCreateBase):
    """An admin or client key (admin keys always have every namespace)."""

    role: Literal[Role.admin, Role.client]
    namespaces: list[NamespaceScope] | None = Field(
        default=None,
        max_length=50,
        description="Namespaces the key may act on; default '*' (all). Ignored for admin keys.",
    )

    @model_validator(mode="after")
    def _scopes(self) -> Self:
        self.namespaces = normalise_namespaces(self.role, self.namespaces)
        return self


class EvaluatorKeyCreate(_KeyCreateBase):
    """An evaluator key, optionally scoped to regions (the stored evaluations it may read)."""

    role: Literal[Role.evaluator]
    namespaces: list[NamespaceScope] | None = Field(
        default=None,
        max_length=50,
        description="Namespaces the key may act on; default '*' (all).",
    )
    regions: list[RegionScope] | None = Field(
        default=None,
        max_length=50,
        description="GB/T 2260 codes of the regions whose stored evaluations the key may read "
        "besides its own: a province PP0000 covers its cities and counties, a city PPCC00 its "
        "counties, a county PPCCDD itself, 000000 every region. A key with regions stores "
        "evaluations of these regions only. Default: none (the key reads its own evaluations "
        "only).",
        examples=[["330102"]],
    )

    @model_validator(mode="after")
    def _scopes(self) -> Self:
        self.namespaces = normalise_namespaces(self.role, self.namespaces)
        self.regions = normalise_regions(self.role, self.regions)
        return self


KeyCreateBody = ScopedKeyCreate | UnscopedKeyCreate | EvaluatorKeyCreate
ApiKeyCreate = Annotated[KeyCreateBody, Field(discriminator="role")]
"""The body of ``POST /v1/api-keys`` (one schema per kind of role)."""
API_KEY_CREATE: TypeAdapter[KeyCreateBody] = TypeAdapter(ApiKeyCreate)


def regions_of(body: KeyCreateBody) -> list[str] | None:
    """The region scopes of a key-creation body (only evaluator keys have any)."""
    return body.regions if isinstance(body, EvaluatorKeyCreate) else None


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class ApiKeyOut(BaseModel):
    id: int
    prefix: str = Field(description="The clear part of the key (isk_<prefix>_…), for lookup.")
    name: str
    role: Role
    namespaces: list[str]
    regions: list[str] = Field(
        description="Region scopes (GB/T 2260) of an evaluator key; empty: none."
    )
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(
        description="Last successful use, accurate to the key cache's time to live."
    )

    @field_validator("created_at", "revoked_at", "last_used_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(
        description="The API key. Shown only in this response: it is stored hashed and cannot "
        "be recovered."
    )


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
    total: int
    limit: int
    offset: int
