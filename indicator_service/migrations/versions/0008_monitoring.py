"""In-year monitoring records (运行监控): inputs, result, flags, owner.

Revision ID: 0008_monitoring
Revises: 0007_target_reviews
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_monitoring"
down_revision: str | None = "0007_target_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitoring_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("framework_code", sa.String(length=40), nullable=False),
        sa.Column("framework_version", sa.String(length=40), nullable=False),
        sa.Column("project", sa.String(length=80), nullable=False),
        sa.Column("unit", sa.String(length=80), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_key_id", sa.Integer(), sa.ForeignKey("api_key.id"), nullable=True),
    )
    op.create_index(
        "ix_monitoring_record_lookup", "monitoring_record", ["project", "region", "fiscal_year"]
    )
    op.create_index("ix_monitoring_record_owner_key_id", "monitoring_record", ["owner_key_id"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_record_owner_key_id", table_name="monitoring_record")
    op.drop_index("ix_monitoring_record_lookup", table_name="monitoring_record")
    op.drop_table("monitoring_record")
