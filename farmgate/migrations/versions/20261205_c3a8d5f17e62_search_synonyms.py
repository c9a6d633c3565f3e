"""search vocabulary: the admin's overrides of the trade's synonyms and occasion words

Revision ID: c3a8d5f17e62
Revises: c8d4f1a2e7b6
Create Date: 2026-12-05 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "c3a8d5f17e62"
down_revision: str | None = "c8d4f1a2e7b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_synonym",
        sa.Column("word", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("expansions", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("updated_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["account.id"],
            name=op.f("fk_search_synonym_updated_by_id_account"),
        ),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_synonym")),
    )


def downgrade() -> None:
    op.drop_table("search_synonym")
