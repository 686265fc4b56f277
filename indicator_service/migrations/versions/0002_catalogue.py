"""Catalogue: namespaces, framework and their versions, indicator/standard/node rows.

Revision ID: 0002_catalogue
Revises: 0001_base
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002_catalogue"
down_revision: str | None = "0001_base"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _version_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("patch", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "catalogue_namespace",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=40), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sector", sa.String(length=40), nullable=True),
        sa.Column("code_prefix", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "catalogue_namespace_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "namespace_id",
            sa.Integer(),
            sa.ForeignKey("catalogue_namespace.id", ondelete="CASCADE"),
            nullable=False,
        ),
        *_version_columns(),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("namespace_id", "version", name="uq_catalogue_namespace_version"),
    )
    op.create_table(
        "catalogue_indicator",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "namespace_version_id",
            sa.Integer(),
            sa.ForeignKey("catalogue_namespace_version.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sector", sa.String(length=40), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent", sa.String(length=40), nullable=True),
        sa.Column("class_l1", sa.String(length=200), nullable=True),
        sa.Column("class_l2", sa.String(length=200), nullable=True),
        sa.Column("value_type", sa.String(length=30), nullable=False),
        sa.Column("operator", sa.String(length=10), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("project_types", sa.String(length=400), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.UniqueConstraint("namespace_version_id", "code", name="uq_catalogue_indicator_code"),
    )
    op.create_index("ix_catalogue_indicator_code", "catalogue_indicator", ["code"])
    op.create_table(
        "catalogue_standard",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "namespace_version_id",
            sa.Integer(),
            sa.ForeignKey("catalogue_namespace_version.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("indicator_code", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(length=40), nullable=True),
        sa.Column("project_type", sa.String(length=40), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index(
        "ix_catalogue_standard_lookup",
        "catalogue_standard",
        ["namespace_version_id", "indicator_code", "type"],
    )
    op.create_table(
        "catalogue_framework",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=40), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "catalogue_framework_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "framework_id",
            sa.Integer(),
            sa.ForeignKey("catalogue_framework.id", ondelete="CASCADE"),
            nullable=False,
        ),
        *_version_columns(),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("framework_id", "version", name="uq_catalogue_framework_version"),
    )
    op.create_table(
        "catalogue_framework_node",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "framework_version_id",
            sa.Integer(),
            sa.ForeignKey("catalogue_framework_version.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("parent", sa.String(length=64), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("indicator", sa.String(length=40), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.UniqueConstraint("framework_version_id", "code", name="uq_catalogue_framework_node"),
    )


def downgrade() -> None:
    op.drop_table("catalogue_framework_node")
    op.drop_table("catalogue_framework_version")
    op.drop_table("catalogue_framework")
    op.drop_index("ix_catalogue_standard_lookup", table_name="catalogue_standard")
    op.drop_table("catalogue_standard")
    op.drop_index("ix_catalogue_indicator_code", table_name="catalogue_indicator")
    op.drop_table("catalogue_indicator")
    op.drop_table("catalogue_namespace_version")
    op.drop_table("catalogue_namespace")
