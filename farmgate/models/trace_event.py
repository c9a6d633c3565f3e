"""Append-only, hash-chained trace events per batch, and scan counts per code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class TraceEvent(SQLModel, table=True):
    """One step in a batch's story. Never updated: a correction is a new event.

    ``hash`` is the SHA-256 of the canonical JSON of (batch, seq, kind, time, data, prev_hash);
    ``prev_hash`` is the previous event's hash (64 zeros for the first).
    """

    __tablename__ = "trace_event"
    __table_args__ = (UniqueConstraint("batch_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    seq: int
    kind: str = Field(max_length=20)  # CBV bizStep short name, or "correction"
    event_time: datetime = Field(sa_type=AwareDateTime)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    actor_account_id: int | None = Field(default=None, foreign_key="account.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class ScanCount(SQLModel, table=True):
    """How often one code (a lot, or one serial) was scanned, and from how many places."""

    __tablename__ = "scan_count"
    __table_args__ = (UniqueConstraint("batch_id", "serial"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    serial: str = Field(default="", max_length=20)  # "" for the lot-level code
    scans: int = 0
    places: list[str] = Field(default_factory=list, sa_type=JSON)  # coarse network prefixes
    # Distinct clients (salted hashes, never addresses) per time window: {"<window>": [...]}.
    clients: dict[str, list[str]] | None = Field(default=None, sa_type=JSON)
    first_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    last_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
