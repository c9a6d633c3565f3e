"""village service stations: stations, their staff, orders that name a station

Revision ID: c8d4f1a2e7b6
Revises: 5b7e2d9c1a64
Create Date: 2026-12-05 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "c8d4f1a2e7b6"
down_revision: str | None = "5b7e2d9c1a64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
T = farmgate.db.AwareDateTime


def upgrade() -> None:
    op.create_table(
        "station",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("name", S(length=40), nullable=False),
        sa.Column("address", S(length=120), nullable=False),
        sa.Column("phone", S(length=20), nullable=False),
        sa.Column("opens_at", S(length=5), nullable=False),
        sa.Column("closes_at", S(length=5), nullable=False),
        sa.Column("is_closed", sa.Boolean(), nullable=False),
        sa.Column("takes_cash", sa.Boolean(), nullable=False),
        sa.Column("holds_parcels", sa.Boolean(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=True),
        sa.Column("created_at", T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_station_cooperative_id_cooperative"),
        ),
        sa.ForeignKeyConstraint(
            ["township_id"], ["township.id"], name=op.f("fk_station_township_id_township")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["village.id"], name=op.f("fk_station_village_id_village")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station")),
    )
    op.create_index(op.f("ix_station_township_id"), "station", ["township_id"])
    op.create_index(op.f("ix_station_village_id"), "station", ["village_id"])
    op.create_table(
        "station_staff",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_station_staff_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_station_staff_station_id_station")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_station_staff")),
    )
    op.create_index(op.f("ix_station_staff_station_id"), "station_staff", ["station_id"])
    op.create_table(
        "station_order",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("pickup_code", S(length=6), nullable=False),
        sa.Column("placed_by_account_id", sa.Integer(), nullable=True),
        sa.Column("villager_name", S(length=30), nullable=False),
        sa.Column("villager_phone", S(length=11), nullable=False),
        sa.Column("arrived_at", T(timezone=True), nullable=True),
        sa.Column("picked_up_at", T(timezone=True), nullable=True),
        sa.Column("handed_over_by_account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_station_order_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_station_order_station_id_station")
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_account_id"],
            ["account.id"],
            name=op.f("fk_station_order_placed_by_account_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["handed_over_by_account_id"],
            ["account.id"],
            name=op.f("fk_station_order_handed_over_by_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_station_order")),
    )
    op.create_index(op.f("ix_station_order_station_id"), "station_order", ["station_id"])
    op.create_index(
        op.f("ix_station_order_placed_by_account_id"), "station_order", ["placed_by_account_id"]
    )


def downgrade() -> None:
    op.drop_table("station_order")
    op.drop_table("station_staff")
    op.drop_table("station")
