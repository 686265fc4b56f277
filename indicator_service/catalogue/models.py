"""Catalogue tables (migration ``0002_catalogue``).

A namespace or framework *version* row keeps the whole canonical document (``document``, JSON)
and its content hash; indicator, standard and node rows are its searchable projection, written
once when the version is stored and replaced only while the version is a draft. Published
versions are immutable (the service refuses any write with 409).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class CatalogueNamespace(SQLModel, table=True):
    __tablename__ = "catalogue_namespace"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=20)
    sector: str | None = Field(default=None, max_length=40)
    code_prefix: str = Field(max_length=3)
    created_at: datetime = Field(default_factory=_now)


class CatalogueNamespaceVersion(SQLModel, table=True):
    __tablename__ = "catalogue_namespace_version"
    __table_args__ = (
        UniqueConstraint("namespace_id", "version", name="uq_catalogue_namespace_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    namespace_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("catalogue_namespace.id", ondelete="CASCADE"), nullable=False
        )
    )
    version: str = Field(max_length=40)
    major: int
    minor: int
    patch: int
    status: str = Field(max_length=20)  # draft | submitted | published | deprecated
    content_hash: str = Field(max_length=64)
    name_zh: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    owner: str = Field(max_length=200)
    document: Any = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now)
    published_at: datetime | None = Field(default=None)
    # review state (migration 0005_review)
    submitted_by_key_id: int | None = Field(default=None)
    submitted_by: str | None = Field(default=None, max_length=200)
    submitted_at: datetime | None = Field(default=None)
    review_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CatalogueIndicator(SQLModel, table=True):
    __tablename__ = "catalogue_indicator"
    __table_args__ = (
        UniqueConstraint("namespace_version_id", "code", name="uq_catalogue_indicator_code"),
        Index("ix_catalogue_indicator_code", "code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    namespace_version_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("catalogue_namespace_version.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    position: int
    code: str = Field(max_length=40)
    name_zh: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    sector: str | None = Field(default=None, max_length=40)
    level: int
    parent: str | None = Field(default=None, max_length=40)
    class_l1: str | None = Field(default=None, max_length=200)
    class_l2: str | None = Field(default=None, max_length=200)
    value_type: str = Field(max_length=30)
    operator: str | None = Field(default=None, max_length=10)
    unit: str | None = Field(default=None, max_length=20)
    project_types: str = Field(max_length=400)  # "|purchase|training|" for LIKE filters
    data: Any = Field(sa_column=Column(JSON, nullable=False))


class CatalogueStandard(SQLModel, table=True):
    __tablename__ = "catalogue_standard"
    __table_args__ = (
        Index("ix_catalogue_standard_lookup", "namespace_version_id", "indicator_code", "type"),
    )

    id: int | None = Field(default=None, primary_key=True)
    namespace_version_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("catalogue_namespace_version.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    position: int
    indicator_code: str = Field(max_length=40)
    type: str = Field(max_length=30)
    region: str = Field(max_length=6)
    fiscal_year: int | None = Field(default=None)
    sector: str | None = Field(default=None, max_length=40)
    project_type: str | None = Field(default=None, max_length=40)
    valid_from: date | None = Field(default=None)
    valid_to: date | None = Field(default=None)
    data: Any = Field(sa_column=Column(JSON, nullable=False))


class CatalogueFramework(SQLModel, table=True):
    __tablename__ = "catalogue_framework"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=40)
    created_at: datetime = Field(default_factory=_now)


class CatalogueFrameworkVersion(SQLModel, table=True):
    __tablename__ = "catalogue_framework_version"
    __table_args__ = (
        UniqueConstraint("framework_id", "version", name="uq_catalogue_framework_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    framework_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("catalogue_framework.id", ondelete="CASCADE"), nullable=False
        )
    )
    version: str = Field(max_length=40)
    major: int
    minor: int
    patch: int
    status: str = Field(max_length=20)
    content_hash: str = Field(max_length=64)
    name_zh: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    document: Any = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now)
    published_at: datetime | None = Field(default=None)
    # review state (migration 0005_review)
    submitted_by_key_id: int | None = Field(default=None)
    submitted_by: str | None = Field(default=None, max_length=200)
    submitted_at: datetime | None = Field(default=None)
    review_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CatalogueFrameworkNode(SQLModel, table=True):
    __tablename__ = "catalogue_framework_node"
    __table_args__ = (
        UniqueConstraint("framework_version_id", "code", name="uq_catalogue_framework_node"),
    )

    id: int | None = Field(default=None, primary_key=True)
    framework_version_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("catalogue_framework_version.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    position: int
    code: str = Field(max_length=64)
    parent: str | None = Field(default=None, max_length=64)
    level: int
    points: float
    open: bool
    indicator: str | None = Field(default=None, max_length=40)
    data: Any = Field(sa_column=Column(JSON, nullable=False))
