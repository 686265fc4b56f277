"""Response models of the audit API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor_key_id: int | None = Field(description="The API key that acted (null: command line)")
    actor_name: str
    actor_role: str
    action: str = Field(examples=["version.publish"])
    object_type: str
    object_id: str
    namespace: str | None
    version: str | None
    before: Any = Field(description="The object before the change (null when created)")
    after: Any = Field(description="The object after the change (null when removed)")
    comment: str | None
    request_id: str | None

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int
    limit: int
    offset: int
    next: str | None = Field(description="The next page's URL, null on the last page")
