"""GS1 conformance: EPCIS partners and captured events, distinct scan clients per window

Revision ID: b19e5c0a7d42
Revises: 607599f1aaad
Create Date: 2026-12-05 04:00:00.000000

Issue 19 (GS1 conformance): partners' API keys (hashed), the EPCIS events they capture and
the identifiers those events name; scan counts remember distinct clients per time window.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "b19e5c0a7d42"
down_revision: str | None = "607599f1aaad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "epcis_partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("key_prefix", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", farmgate.db.AwareDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_partner")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_epcis_partner_key_hash")),
    )
    with op.batch_alter_table("epcis_partner", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_epcis_partner_key_prefix"), ["key_prefix"], unique=False
        )

    op.create_table(
        "captured_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("event_time", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("biz_step", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("captured_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["epcis_partner.id"],
            name=op.f("fk_captured_event_partner_id_epcis_partner"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captured_event")),
        sa.UniqueConstraint(
            "partner_id", "event_id", name=op.f("uq_captured_event_partner_id_event_id")
        ),
    )
    with op.batch_alter_table("captured_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_captured_event_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_captured_event_event_type"), ["event_type"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_captured_event_event_time"), ["event_time"], unique=False
        )

    op.create_table(
        "captured_event_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("captured_event_id", sa.Integer(), nullable=False),
        sa.Column("epc", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("gtin", sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.Column("lot", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["captured_event_id"],
            ["captured_event.id"],
            name=op.f("fk_captured_event_key_captured_event_id_captured_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captured_event_key")),
    )
    with op.batch_alter_table("captured_event_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_captured_event_key_captured_event_id"),
            ["captured_event_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_captured_event_key_epc"), ["epc"], unique=False)
        batch_op.create_index(batch_op.f("ix_captured_event_key_gtin"), ["gtin"], unique=False)

    with op.batch_alter_table("scan_count", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clients", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan_count", schema=None) as batch_op:
        batch_op.drop_column("clients")
    with op.batch_alter_table("captured_event_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_captured_event_key_gtin"))
        batch_op.drop_index(batch_op.f("ix_captured_event_key_epc"))
        batch_op.drop_index(batch_op.f("ix_captured_event_key_captured_event_id"))
    op.drop_table("captured_event_key")
    with op.batch_alter_table("captured_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_captured_event_event_time"))
        batch_op.drop_index(batch_op.f("ix_captured_event_event_type"))
        batch_op.drop_index(batch_op.f("ix_captured_event_partner_id"))
    op.drop_table("captured_event")
    with op.batch_alter_table("epcis_partner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_epcis_partner_key_prefix"))
    op.drop_table("epcis_partner")
