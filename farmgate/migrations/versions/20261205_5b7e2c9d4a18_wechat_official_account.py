"""wechat official account: openids bound to accounts and orders, cached credentials

Revision ID: 5b7e2c9d4a18
Revises: b7e2c4a91d35
Create Date: 2026-12-05 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "5b7e2c9d4a18"
down_revision: str | None = "b7e2c4a91d35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wechat_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appid", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("openid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("bound_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_wechat_identity_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_identity")),
        sa.UniqueConstraint("appid", "openid", name=op.f("uq_wechat_identity_appid_openid")),
        sa.UniqueConstraint(
            "appid", "account_id", name=op.f("uq_wechat_identity_appid_account_id")
        ),
    )
    op.create_index(op.f("ix_wechat_identity_account_id"), "wechat_identity", ["account_id"])
    op.create_table(
        "wechat_order_payer",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("appid", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("openid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("bound_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_wechat_order_payer_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_wechat_order_payer")),
    )
    op.create_index(op.f("ix_wechat_order_payer_openid"), "wechat_order_payer", ["openid"])
    op.create_table(
        "wechat_credential",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("expires_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_wechat_credential")),
    )


def downgrade() -> None:
    op.drop_table("wechat_credential")
    op.drop_table("wechat_order_payer")
    op.drop_table("wechat_identity")
