"""Evaluation kinds, re-evaluations and rectification (整改) records.

Revision ID: 0009_evaluation_kinds
Revises: 0006_ownership
Create Date: 2026-12-05

* ``scoring_evaluation.kind``: who evaluated — ``self`` (单位自评), ``department`` (部门评价),
  ``finance`` (财政评价), ``third_party`` (第三方评价). Existing rows are self-evaluations.
* ``scoring_evaluation.reevaluates_id``: the evaluation this one re-evaluates (再评价, 抽评).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_evaluation_kinds"
down_revision: str | None = "0006_ownership"
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


def downgrade() -> None:
    with op.batch_alter_table("scoring_evaluation") as batch:
        batch.drop_index("ix_scoring_evaluation_reevaluates_id")
        batch.drop_constraint("fk_scoring_evaluation_reevaluates_id", type_="foreignkey")
        batch.drop_column("reevaluates_id")
        batch.drop_column("kind")
