"""shipping rules per cooperative and the township's default

Revision ID: c3a9f1e5d7b2
Revises: c3a9e5f1b207
Create Date: 2026-12-05 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import farmgate.db

revision: str = "c3a9f1e5d7b2"
down_revision: str | None = "c3a9e5f1b207"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shipping_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=True),
        sa.Column("cooperative_id", sa.Integer(), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("updated_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_shipping_rule_cooperative_id_cooperative"),
        ),
        sa.ForeignKeyConstraint(
            ["township_id"], ["township.id"], name=op.f("fk_shipping_rule_township_id_township")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_account_id"],
            ["account.id"],
            name=op.f("fk_shipping_rule_updated_by_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_rule")),
        sa.UniqueConstraint("cooperative_id", name=op.f("uq_shipping_rule_cooperative_id")),
        sa.UniqueConstraint("township_id", name=op.f("uq_shipping_rule_township_id")),
    )


def downgrade() -> None:
    op.drop_table("shipping_rule")
