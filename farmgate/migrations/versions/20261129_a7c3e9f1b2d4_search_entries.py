"""search entries: the embedded search backend's documents and their version

Revision ID: a7c3e9f1b2d4
Revises: 8591f5089877
Create Date: 2026-11-29 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import farmgate.db

revision: str = "a7c3e9f1b2d4"
down_revision: str | None = "8591f5089877"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_entry",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("updated_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_search_entry")),
    )
    with op.batch_alter_table("search_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_entry_version"), ["version"], unique=False)
    op.create_table(
        "search_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_version")),
    )


def downgrade() -> None:
    op.drop_table("search_version")
    with op.batch_alter_table("search_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_entry_version"))
    op.drop_table("search_entry")
