"""trace facts: the batch's chain length and head, late inputs waiting for approval

Revision ID: b7e1f4c2d9a8
Revises: b7e2c4a91d05
Create Date: 2026-12-05 04:00:00.000000

Issue 19 ("every shown fact covered"): ``batch.chain_length`` / ``batch.chain_head`` let the
chain check notice a deleted tail; ``batch_input.approval`` holds an input recorded after the
harvest it precedes until a township admin decides.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "b7e1f4c2d9a8"
down_revision: str | None = "b7e2c4a91d05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("chain_length", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "chain_head",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )
    # Chains recorded before: their length and head as they stand now (from here on a deleted
    # tail shows). Their events' hashes do not cover the record time; chain.matches knows.
    op.execute(
        "UPDATE batch SET chain_length = "
        "(SELECT count(*) FROM trace_event e WHERE e.batch_id = batch.id), "
        "chain_head = COALESCE((SELECT e.hash FROM trace_event e WHERE e.batch_id = batch.id "
        "ORDER BY e.seq DESC LIMIT 1), '')"
    )
    with op.batch_alter_table("batch_input", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "approval",
                sqlmodel.sql.sqltypes.AutoString(length=10),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("batch_input", schema=None) as batch_op:
        batch_op.drop_column("approval")
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_column("chain_head")
        batch_op.drop_column("chain_length")
