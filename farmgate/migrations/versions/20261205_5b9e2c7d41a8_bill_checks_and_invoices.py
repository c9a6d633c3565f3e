"""trade-bill reconciliation runs; buyers' invoice requests with the cooperative's PDF

Revision ID: 5b9e2c7d41a8
Revises: b19e5c0a7d42
Create Date: 2026-12-05 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "5b9e2c7d41a8"
down_revision: str | None = "b19e5c0a7d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bill_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bill_date", sa.Date(), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("checked_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_check")),
        sa.UniqueConstraint("bill_date", name=op.f("uq_bill_check_bill_date")),
    )
    op.create_table(
        "invoice_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("title_type", sa.String(length=10), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("tax_number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("issued_at", farmgate.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("invoice_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("pdf_size", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_invoice_request_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_invoice_request_cooperative_id_cooperative"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["account.id"], name=op.f("fk_invoice_request_issued_by_account")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_invoice_request_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_request")),
        sa.UniqueConstraint(
            "order_id", "cooperative_id", name=op.f("uq_invoice_request_order_id_cooperative_id")
        ),
    )
    with op.batch_alter_table("invoice_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_request_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invoice_request_cooperative_id"), ["cooperative_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invoice_request_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_request_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invoice_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_request_status"))
        batch_op.drop_index(batch_op.f("ix_invoice_request_order_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_request_cooperative_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_request_account_id"))
    op.drop_table("invoice_request")
    op.drop_table("bill_check")
