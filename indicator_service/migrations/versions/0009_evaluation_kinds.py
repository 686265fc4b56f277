"""Evaluation kinds, re-evaluations and rectification (整改) records.

Revision ID: 0009_evaluation_kinds
Revises: 0008_monitoring
Create Date: 2026-12-05

* ``scoring_evaluation.kind``: who evaluated — ``self`` (单位自评), ``department`` (部门评价),
  ``finance`` (财政评价), ``third_party`` (第三方评价). Existing rows are self-evaluations.
* ``scoring_evaluation.reevaluates_id``: the evaluation this one re-evaluates (再评价, 抽评).
* ``rectification``: 整改 records attached to a subject (``subject_kind`` + ``subject_id``:
  an evaluation today, a monitoring flag later), optionally one of its leaves, with deadlines
  and a status (docs/reevaluation.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_evaluation_kinds"
down_revision: str | None = "0008_monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scoring_evaluation") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="self")
        )
        batch.add_column(sa.Column("reevaluates_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_scoring_evaluation_reevaluates_id", "scoring_evaluation", ["reevaluates_id"], ["id"]
        )
        batch.create_index("ix_scoring_evaluation_reevaluates_id", ["reevaluates_id"])
    op.create_table(
        "rectification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("leaf_id", sa.String(length=80), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("project", sa.String(length=80), nullable=True),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("subject_owner_key_id", sa.Integer(), nullable=True),
        sa.Column("requirement", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("feedback_due", sa.Date(), nullable=False),
        sa.Column("report_due", sa.Date(), nullable=True),
        sa.Column("feedback_given_on", sa.Date(), nullable=True),
        sa.Column("reported_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("owner_key_id", sa.Integer(), sa.ForeignKey("api_key.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rectification_subject", "rectification", ["subject_kind", "subject_id"])
    op.create_index("ix_rectification_region", "rectification", ["region"])
    op.create_index("ix_rectification_owner_key_id", "rectification", ["owner_key_id"])
    op.create_index("ix_rectification_status", "rectification", ["status"])


def downgrade() -> None:
    op.drop_table("rectification")
    with op.batch_alter_table("scoring_evaluation") as batch:
        batch.drop_index("ix_scoring_evaluation_reevaluates_id")
        batch.drop_constraint("fk_scoring_evaluation_reevaluates_id", type_="foreignkey")
        batch.drop_column("reevaluates_id")
        batch.drop_column("kind")
