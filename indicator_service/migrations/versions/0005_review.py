"""Review state of draft versions: who submitted, when, and the reviewer's last comment.

Revision ID: 0005_review
Revises: 0004_auth_audit
Create Date: 2026-11-23

The ``status`` column of a version now also takes ``submitted`` (draft → submitted →
published, or back to draft when a reviewer returns it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_review"
down_revision: str | None = "0004_auth_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("catalogue_namespace_version", "catalogue_framework_version")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("submitted_by_key_id", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("submitted_by", sa.String(length=200), nullable=True))
            batch.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("review_comment", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("review_comment")
            batch.drop_column("submitted_at")
            batch.drop_column("submitted_by")
            batch.drop_column("submitted_by_key_id")
