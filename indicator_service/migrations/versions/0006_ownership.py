"""Ownership: who stored an evaluation, region scopes of keys, idempotency records per caller.

Revision ID: 0006_ownership
Revises: 0005_review
Create Date: 2026-12-05

* ``scoring_evaluation.owner_key_id``: the API key that stored the evaluation. Rows stored
  before this revision keep it null: only administrators may read them (docs/security.md).
* ``api_key.regions``: the region scopes (GB/T 2260 codes) of an evaluator key; ``[]`` (none)
  for existing keys.
* ``idempotency_record.owner_key_id``: the key that made the request; the unique key becomes
  (scope, owner_key_id, key). Existing records have no owner and are never replayed again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_ownership"
down_revision: str | None = "0005_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(
            sa.Column("regions", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("scoring_evaluation") as batch:
        batch.add_column(sa.Column("owner_key_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_scoring_evaluation_owner_key_id_api_key", "api_key", ["owner_key_id"], ["id"]
        )
        batch.create_index("ix_scoring_evaluation_owner_key_id", ["owner_key_id"])
        batch.create_index("ix_scoring_evaluation_region", ["region"])
    with op.batch_alter_table("idempotency_record") as batch:
        batch.add_column(sa.Column("owner_key_id", sa.Integer(), nullable=True))
        batch.drop_constraint("uq_idempotency_scope_key", type_="unique")
        batch.create_unique_constraint(
            "uq_idempotency_scope_owner_key", ["scope", "owner_key_id", "key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_record") as batch:
        batch.drop_constraint("uq_idempotency_scope_owner_key", type_="unique")
        batch.drop_column("owner_key_id")
    # Records of different callers may share (scope, key) now: keep the first of each.
    op.execute(
        "DELETE FROM idempotency_record WHERE id NOT IN "
        "(SELECT MIN(id) FROM idempotency_record GROUP BY scope, key)"
    )
    with op.batch_alter_table("idempotency_record") as batch:
        batch.create_unique_constraint("uq_idempotency_scope_key", ["scope", "key"])
    with op.batch_alter_table("scoring_evaluation") as batch:
        batch.drop_index("ix_scoring_evaluation_region")
        batch.drop_index("ix_scoring_evaluation_owner_key_id")
        batch.drop_constraint("fk_scoring_evaluation_owner_key_id_api_key", type_="foreignkey")
        batch.drop_column("owner_key_id")
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("regions")
