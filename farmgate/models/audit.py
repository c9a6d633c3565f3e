"""The township console's audit log: who did what, when, with the record before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    """One console action. Rows are only ever added (farmgate/audit.py has no update)."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    action: str = Field(max_length=40, index=True)  # e.g. cooperative.approve, recall.start
    target: str = Field(max_length=30)  # cooperative, product, order, refund, batch, job ...
    target_id: int | None = Field(default=None, index=True)
    summary: str = Field(max_length=300)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
