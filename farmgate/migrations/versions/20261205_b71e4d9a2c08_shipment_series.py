"""running aggregates on cold shipments; readings indexed by device and time, not time alone

Revision ID: b71e4d9a2c08
Revises: 5e2b9d7c4a13
Create Date: 2026-12-05 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b71e4d9a2c08"
down_revision: str | None = "5e2b9d7c4a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: built from the stored readings at the shipment's next analysis.
    with op.batch_alter_table("cold_shipment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series", sa.JSON(), nullable=True))
    with op.batch_alter_table("temperature_reading", schema=None) as batch_op:
        # every query of readings names the device: (device_id, at) serves them all, and an
        # upload keeps one index fewer up to date than with both
        batch_op.create_index("ix_temperature_reading_device_id_at", ["device_id", "at"])
        batch_op.drop_index("ix_temperature_reading_at")


def downgrade() -> None:
    with op.batch_alter_table("temperature_reading", schema=None) as batch_op:
        batch_op.create_index("ix_temperature_reading_at", ["at"])
        batch_op.drop_index("ix_temperature_reading_device_id_at")
    with op.batch_alter_table("cold_shipment", schema=None) as batch_op:
        batch_op.drop_column("series")
