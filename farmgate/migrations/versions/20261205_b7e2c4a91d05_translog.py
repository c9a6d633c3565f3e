"""transparency log: leaves, complete-subtree hashes, the sequencing row, published heads

Revision ID: b7e2c4a91d05
Revises: 5b9e2c7d41a8
Create Date: 2026-12-05 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "b7e2c4a91d05"
down_revision: str | None = "5b9e2c7d41a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "translog_leaf",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["trace_event.id"], name=op.f("fk_translog_leaf_event_id_trace_event")
        ),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_translog_leaf")),
        sa.UniqueConstraint("event_id", name=op.f("uq_translog_leaf_event_id")),
    )
    op.create_index(op.f("ix_translog_leaf_batch_id"), "translog_leaf", ["batch_id"])
    op.create_table(
        "translog_node",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_translog_node")),
    )
    op.create_table(
        "translog_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translog_state")),
    )
    op.execute("INSERT INTO translog_state (id, size) VALUES (1, 0)")
    op.create_table(
        "translog_head",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("published_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_translog_head")),
    )


def downgrade() -> None:
    op.drop_table("translog_head")
    op.drop_table("translog_state")
    op.drop_table("translog_node")
    op.drop_table("translog_leaf")
