"""The ``api_key`` table. The key itself is never stored: only its prefix and its HMAC."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class Role(StrEnum):
    """What a key may do (see docs/security.md for the full matrix)."""

    admin = "admin"
    curator = "curator"
    reviewer = "reviewer"
    evaluator = "evaluator"
    client = "client"


ALL_NAMESPACES = "*"


def utcnow() -> datetime:
    return datetime.now(UTC)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=12, unique=True, index=True)
    key_hash: str = Field(max_length=64)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    namespaces: Any = Field(sa_column=Column(JSON, nullable=False))
    # Region scopes (GB/T 2260 codes) of an evaluator key: the stored evaluations it may read
    # besides its own. Empty: no region scope. Migration 0006_ownership.
    regions: Any = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = Field(default=None)
    last_used_at: datetime | None = Field(default=None)
