"""Stored evaluations (migration ``0003_evaluations``): the inputs, the exact versions used and
the full receipt of one scoring, kept so that it can be shown again and re-scored later."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class Evaluation(SQLModel, table=True):
    __tablename__ = "scoring_evaluation"
    __table_args__ = (
        Index("ix_scoring_evaluation_lookup", "project", "unit", "region", "fiscal_year"),
        Index("ix_scoring_evaluation_owner_key_id", "owner_key_id"),
        Index("ix_scoring_evaluation_region", "region"),
        Index("ix_scoring_evaluation_reevaluates_id", "reevaluates_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    framework_code: str = Field(max_length=40)
    framework_version: str = Field(max_length=40)
    project: str | None = Field(default=None, max_length=80)
    unit: str | None = Field(default=None, max_length=80)
    region: str = Field(max_length=6)
    fiscal_year: int | None = None
    total: float | None = None
    grade: str | None = Field(default=None, max_length=40)
    input_hash: str = Field(max_length=64)
    request: Any = Field(sa_column=Column(JSON, nullable=False))
    result: Any = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now)
    # The API key that stored it (migration 0006_ownership); null for rows stored before
    # ownership was recorded, which only administrators may read (docs/security.md).
    owner_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    # Migration 0009_evaluation_kinds: who evaluated (self / department / finance / third_party,
    # scoring.schemas.EVALUATION_KINDS; rows stored before are self-evaluations) and the
    # evaluation this one re-evaluates (再评价, 抽评), if any.
    kind: str = Field(
        default="self",
        sa_column=Column(String(20), nullable=False, server_default="self"),
    )
    reevaluates_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("scoring_evaluation.id"), nullable=True),
    )
