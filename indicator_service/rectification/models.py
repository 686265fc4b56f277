"""The ``rectification`` table (migration ``0009_evaluation_kinds``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class Rectification(SQLModel, table=True):
    __tablename__ = "rectification"
    __table_args__ = (
        Index("ix_rectification_subject", "subject_kind", "subject_id"),
        Index("ix_rectification_region", "region"),
        Index("ix_rectification_owner_key_id", "owner_key_id"),
        Index("ix_rectification_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # What it is attached to: (kind, id) — "evaluation" today; another kind (a monitoring
    # flag) adds a resolver in rectification/subjects.py, not a column.
    subject_kind: str = Field(max_length=20)
    subject_id: int
    leaf_id: str | None = Field(default=None, max_length=80)
    # copied from the subject when created: who may read it, where it is listed
    region: str = Field(max_length=6)
    project: str | None = Field(default=None, max_length=80)
    fiscal_year: int | None = None
    subject_owner_key_id: int | None = Field(default=None)
    requirement: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(max_length=200)
    status: str = Field(max_length=20)
    feedback_due: date
    report_due: date | None = None
    feedback_given_on: date | None = None
    reported_on: date | None = None
    closed_on: date | None = None
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    revision: int = 1
    owner_key_id: int = Field(foreign_key="api_key.id")
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
