"""The ``audit_entry`` table: append-only (database triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC), index=True)
    actor_key_id: int | None = Field(default=None, index=True)
    actor_name: str = Field(max_length=200)
    actor_role: str = Field(max_length=20)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=64)
    object_id: str = Field(max_length=200)
    namespace: str | None = Field(default=None, max_length=100, index=True)
    version: str | None = Field(default=None, max_length=64)
    before: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    request_id: str | None = Field(default=None, max_length=128)
