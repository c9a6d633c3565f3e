"""pre-sale of a harvest: presale, presale_order

Revision ID: c3a9e5f1b207
Revises: c4f7a2e9d153
Create Date: 2026-12-05 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "c3a9e5f1b207"
down_revision: str | None = "c4f7a2e9d153"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "presale",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("harvest_from", sa.Date(), nullable=False),
        sa.Column("ship_from", sa.Date(), nullable=False),
        sa.Column("ship_to", sa.Date(), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.Column("deposit_fen", sa.Integer(), nullable=False),
        sa.Column("balance_due", farmgate.db.AwareDateTime(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("harvested_units", sa.Integer(), nullable=True),
        sa.Column("created_at", farmgate.db.AwareDateTime(), nullable=False),
        sa.CheckConstraint("cap > 0", name=op.f("ck_presale_cap_positive")),
        sa.CheckConstraint("deposit_fen >= 0", name=op.f("ck_presale_deposit_not_negative")),
        sa.CheckConstraint(
            "ship_from >= harvest_from", name=op.f("ck_presale_ships_after_harvest")
        ),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_presale_batch_id_batch")),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_presale_cooperative_id_cooperative"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_presale_product_id_product")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_presale_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presale")),
    )
    op.create_index(op.f("ix_presale_cooperative_id"), "presale", ["cooperative_id"])
    op.create_index(op.f("ix_presale_product_id"), "presale", ["product_id"])
    op.create_index(op.f("ix_presale_sku_id"), "presale", ["sku_id"])
    op.create_index(op.f("ix_presale_status"), "presale", ["status"])
    op.create_table(
        "presale_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("presale_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("balance_fen", sa.Integer(), nullable=False),
        sa.Column("deposit_paid_at", farmgate.db.AwareDateTime(), nullable=True),
        sa.Column("balance_paid_at", farmgate.db.AwareDateTime(), nullable=True),
        sa.Column("balance_trade_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_presale_order_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["presale_id"], ["presale.id"], name=op.f("fk_presale_order_presale_id_presale")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presale_order")),
        sa.UniqueConstraint(
            "order_id", "presale_id", name=op.f("uq_presale_order_order_id_presale_id")
        ),
    )
    op.create_index(op.f("ix_presale_order_order_id"), "presale_order", ["order_id"])
    op.create_index(op.f("ix_presale_order_presale_id"), "presale_order", ["presale_id"])


def downgrade() -> None:
    op.drop_table("presale_order")
    op.drop_table("presale")
