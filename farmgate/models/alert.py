"""Alerts for a cooperative and the township (cold-chain excursions, suspicious scans...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class Alert(SQLModel, table=True):
    """One alert; ``key`` makes raising the same alert twice store it once."""

    __table_args__ = (UniqueConstraint("key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80)
    kind: str = Field(max_length=20)  # excursion, counterfeit, recall
    cooperative_id: int | None = Field(default=None, foreign_key="cooperative.id", index=True)
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)
    message: str = Field(max_length=300)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    read_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Resolved on the township console: by whom, when, and what was done about it.
    resolved_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    resolved_by: int | None = Field(default=None, foreign_key="account.id")
    resolution_note: str = Field(default="", max_length=300)
