"""station opening hours per weekday (replacing one opens_at/closes_at pair)

Revision ID: 5e2b9d7c4a13
Revises: d7e2a4c9b51f
Create Date: 2026-12-06 09:00:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e2b9d7c4a13"
down_revision: str | None = "d7e2a4c9b51f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weekly_hours", sa.JSON(), nullable=True))
    station = sa.table(
        "station",
        sa.column("id", sa.Integer()),
        sa.column("opens_at", sa.String()),
        sa.column("closes_at", sa.String()),
        sa.column("weekly_hours", sa.JSON()),
    )
    bind = op.get_bind()
    # Each station keeps its hours, now every day of the week (edit the days off in the console).
    for row in bind.execute(sa.select(station.c.id, station.c.opens_at, station.c.closes_at)):
        hours = {str(day): [row.opens_at, row.closes_at] for day in range(1, 8)}
        bind.execute(station.update().where(station.c.id == row.id).values(weekly_hours=hours))
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.alter_column("weekly_hours", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("opens_at")
        batch_op.drop_column("closes_at")


def downgrade() -> None:
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opens_at", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("closes_at", sa.String(length=5), nullable=True))
    station = sa.table(
        "station",
        sa.column("id", sa.Integer()),
        sa.column("opens_at", sa.String()),
        sa.column("closes_at", sa.String()),
        sa.column("weekly_hours", sa.JSON()),
    )
    bind = op.get_bind()
    for row in bind.execute(sa.select(station.c.id, station.c.weekly_hours)):
        hours = (
            row.weekly_hours if isinstance(row.weekly_hours, dict) else json.loads(row.weekly_hours)
        )
        first = next((hours[d] for d in sorted(hours) if hours[d]), ["08:00", "18:00"])
        bind.execute(
            station.update()
            .where(station.c.id == row.id)
            .values(opens_at=first[0], closes_at=first[1])
        )
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.alter_column("opens_at", existing_type=sa.String(length=5), nullable=False)
        batch_op.alter_column("closes_at", existing_type=sa.String(length=5), nullable=False)
        batch_op.drop_column("weekly_hours")
