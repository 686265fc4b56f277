"""Target reviews (绩效目标审核): the stored reviews of projects' target tables.

Revision ID: 0007_target_reviews
Revises: 0006_ownership
Create Date: 2026-12-05

* ``target_review``: inputs, framework version, verdict and result of one review, owned by the
  API key that asked for it (``owner_key_id``; docs/security.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_target_reviews"
down_revision: str | None = "0006_ownership"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "target_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("framework_code", sa.String(length=40), nullable=False),
        sa.Column("framework_version", sa.String(length=40), nullable=False),
        sa.Column("project", sa.String(length=80), nullable=False),
        sa.Column("unit", sa.String(length=80), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "owner_key_id",
            sa.Integer(),
            sa.ForeignKey("api_key.id", name="fk_target_review_owner_key_id_api_key"),
            nullable=True,
        ),
    )
    op.create_index("ix_target_review_owner_key_id", "target_review", ["owner_key_id"])
    op.create_index("ix_target_review_region", "target_review", ["region"])


def downgrade() -> None:
    op.drop_index("ix_target_review_region", table_name="target_review")
    op.drop_index("ix_target_review_owner_key_id", table_name="target_review")
    op.drop_table("target_review")
