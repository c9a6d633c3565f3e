"""accounts by SMS: verification codes, and when an account's number was proved

Revision ID: 5b7e2d9c1a64
Revises: 3d8f2b6a9c41
Create Date: 2026-12-05 04:00:00.000000

The SMS helper's migration (consumers issue 18: register and sign in by SMS code).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "5b7e2d9c1a64"
down_revision: str | None = "3d8f2b6a9c41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seed", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("client", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("deliver", sa.Boolean(), nullable=False),
        sa.Column("created_at", farmgate.db.AwareDateTime(), nullable=False),
        sa.Column("expires_at", farmgate.db.AwareDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", farmgate.db.AwareDateTime(), nullable=True),
        sa.Column("sent_at", farmgate.db.AwareDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_code")),
    )
    with op.batch_alter_table("sms_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_code_client"), ["client"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_code_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_code_phone"), ["phone"], unique=False)

    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phone_verified_at", farmgate.db.AwareDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("phone_verified_at")
    with op.batch_alter_table("sms_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_code_phone"))
        batch_op.drop_index(batch_op.f("ix_sms_code_created_at"))
        batch_op.drop_index(batch_op.f("ix_sms_code_client"))
    op.drop_table("sms_code")
