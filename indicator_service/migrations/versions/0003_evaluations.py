"""Stored evaluations: inputs, versions and the full receipt of each scoring.

Revision ID: 0003_evaluations
Revises: 0002_catalogue
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_evaluations"
down_revision: str | None = "0002_catalogue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scoring_evaluation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("framework_code", sa.String(length=40), nullable=False),
        sa.Column("framework_version", sa.String(length=40), nullable=False),
        sa.Column("project", sa.String(length=80), nullable=True),
        sa.Column("unit", sa.String(length=80), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("grade", sa.String(length=40), nullable=True),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_scoring_evaluation_lookup",
        "scoring_evaluation",
        ["project", "unit", "region", "fiscal_year"],
    )


def downgrade() -> None:
    op.drop_index("ix_scoring_evaluation_lookup", table_name="scoring_evaluation")
    op.drop_table("scoring_evaluation")
