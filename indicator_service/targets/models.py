"""Stored target reviews (migration ``0007_target_reviews``): the inputs, the framework version
used, the verdict and the full result, owned by the API key that asked for the review."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class TargetReview(SQLModel, table=True):
    __tablename__ = "target_review"
    __table_args__ = (
        Index("ix_target_review_owner_key_id", "owner_key_id"),
        Index("ix_target_review_region", "region"),
    )

    id: int | None = Field(default=None, primary_key=True)
    framework_code: str = Field(max_length=40)
    framework_version: str = Field(max_length=40)
    project: str = Field(max_length=80)
    unit: str | None = Field(default=None, max_length=80)
    region: str = Field(max_length=6)
    fiscal_year: int
    verdict: str = Field(max_length=20)
    input_hash: str = Field(max_length=64)
    request: Any = Field(sa_column=Column(JSON, nullable=False))
    result: Any = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now)
    owner_key_id: int | None = Field(default=None, foreign_key="api_key.id")
