"""console review: a rejected cooperative with its reason, a product's last approved version

Revision ID: a6d2f08c3b71
Revises: 7c3e9a1f5b20
Create Date: 2026-12-05 00:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "a6d2f08c3b71"
down_revision: str | None = "7c3e9a1f5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cooperative", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "review_note",
                sqlmodel.sql.sqltypes.AutoString(length=500),
                nullable=False,
                server_default="",
            )
        )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_snapshot", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("approved_snapshot")
    with op.batch_alter_table("cooperative", schema=None) as batch_op:
        batch_op.drop_column("review_note")
