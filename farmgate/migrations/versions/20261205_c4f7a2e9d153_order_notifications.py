"""order notifications to buyers (WeChat template or SMS) and their opt-outs

Revision ID: c4f7a2e9d153
Revises: c3a8d5f17e62
Create Date: 2026-12-05 04:45:00.000000

Follows main's head (5b7e2c9d4a18, the WeChat official account) and, in h/notify, merges in
the SMS branch's head (5b7e2d9c1a64); the integrator chains it after whatever comes last.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "c4f7a2e9d153"
down_revision: str | None = "c3a8d5f17e62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", farmgate.db.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_notification_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint(
            "order_id", "kind", "ref", name=op.f("uq_notification_order_id_kind_ref")
        ),
    )
    op.create_index(op.f("ix_notification_order_id"), "notification", ["order_id"])
    op.create_table(
        "notification_opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_notification_opt_out_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_notification_opt_out_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_opt_out")),
        sa.UniqueConstraint("account_id", name=op.f("uq_notification_opt_out_account_id")),
        sa.UniqueConstraint("order_id", name=op.f("uq_notification_opt_out_order_id")),
    )


def downgrade() -> None:
    op.drop_table("notification_opt_out")
    op.drop_index(op.f("ix_notification_order_id"), table_name="notification")
    op.drop_table("notification")
