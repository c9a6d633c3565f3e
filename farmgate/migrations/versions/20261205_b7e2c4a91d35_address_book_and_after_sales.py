"""address book and after-sales requests

Revision ID: b7e2c4a91d35
Revises: b5e1d9c7a3f2
Create Date: 2026-12-05 04:00:00.000000

Issue 18 "after the purchase": buyers' saved addresses, and after-sales fields on the
cooperative's refund requests (reason, amount asked, photos, cold-chain evidence).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "b7e2c4a91d35"
down_revision: str | None = "b5e1d9c7a3f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
        sa.Column("province", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("county", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("township", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("village", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("address_detail", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_address_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address")),
    )
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_address_account_id"), ["account_id"], unique=False)
    with op.batch_alter_table("refund_request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=12),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(sa.Column("amount_asked_fen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("photos", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("refund_request", schema=None) as batch_op:
        batch_op.drop_column("evidence")
        batch_op.drop_column("photos")
        batch_op.drop_column("amount_asked_fen")
        batch_op.drop_column("kind")
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_address_account_id"))
    op.drop_table("address")
