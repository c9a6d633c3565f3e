"""form submissions: one idempotency table for couriers' handoff and parcel-step forms

Revision ID: 508f5fde8b70
Revises: 26691ac4c0ff
Create Date: 2026-12-04 23:40:00.000000

The tokens kept until now (handoff.client_token, parcel.step_tokens) move into the table, so a
form sent before the upgrade and again after it still records once.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import farmgate.db

revision: str = "508f5fde8b70"
down_revision: str | None = "26691ac4c0ff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

submission = sa.table(
    "form_submission",
    sa.column("kind", sa.String),
    sa.column("token", sa.String),
    sa.column("record_id", sa.Integer),
    sa.column("created_at", farmgate.db.AwareDateTime(timezone=True)),
)
handoff = sa.table(
    "handoff",
    sa.column("id", sa.Integer),
    sa.column("at", farmgate.db.AwareDateTime(timezone=True)),
    sa.column("client_token", sa.String),
)
parcel = sa.table(
    "parcel",
    sa.column("id", sa.Integer),
    sa.column("updated_at", farmgate.db.AwareDateTime(timezone=True)),
    sa.column("step_tokens", sa.JSON),
)


def upgrade() -> None:
    op.create_table(
        "form_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("created_at", farmgate.db.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_submission")),
        sa.UniqueConstraint("kind", "token", name=op.f("uq_form_submission_kind_token")),
    )
    conn = op.get_bind()
    now = datetime.now(UTC)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for id_, at, token in conn.execute(
        sa.select(handoff.c.id, handoff.c.at, handoff.c.client_token).where(
            handoff.c.client_token.is_not(None)
        )
    ):
        rows[("handoff", token)] = {"record_id": id_, "created_at": at or now}
    for id_, updated, tokens in conn.execute(
        sa.select(parcel.c.id, parcel.c.updated_at, parcel.c.step_tokens)
    ):
        for token in tokens or []:
            rows.setdefault(
                ("parcel_step", token), {"record_id": id_, "created_at": updated or now}
            )
    if rows:
        op.bulk_insert(submission, [{"kind": k, "token": t, **v} for (k, t), v in rows.items()])
    with op.batch_alter_table("handoff", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_handoff_client_token"), type_="unique")
        batch_op.drop_column("client_token")
    with op.batch_alter_table("parcel", schema=None) as batch_op:
        batch_op.drop_column("step_tokens")


def downgrade() -> None:
    with op.batch_alter_table("parcel", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("step_tokens", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("handoff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("client_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_handoff_client_token"), ["client_token"])
    conn = op.get_bind()
    tokens: dict[int, list[str]] = {}
    for kind, token, record_id in conn.execute(
        sa.select(submission.c.kind, submission.c.token, submission.c.record_id)
    ):
        if kind == "handoff":
            conn.execute(
                handoff.update().where(handoff.c.id == record_id).values(client_token=token)
            )
        elif kind == "parcel_step":
            tokens.setdefault(record_id, []).append(token)
    for parcel_id, kept in tokens.items():
        conn.execute(parcel.update().where(parcel.c.id == parcel_id).values(step_tokens=kept[-50:]))
    op.drop_table("form_submission")
