from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled(
    {
        "pending": "等待",
        "dispatched": "已派发",
        "running": "运行中",
        "retrying": "等待重试",
        "done": "已完成",
        "dead": "已放弃",
    }
)
class OutboxStatus(Labelled):
    PENDING = "pending"  # committed, not yet handed to an executor
    DISPATCHED = "dispatched"  # handed to arq, not started
    RUNNING = "running"  # claimed by an executor until lease_until
    RETRYING = "retrying"  # failed transiently; runs again at available_at
    DONE = "done"
    DEAD = "dead"  # gave up; a DeadJob row says why


class OutboxJob(SQLModel, table=True):
    """Work that must happen because a transaction committed ("transactional outbox").

    Written in the same transaction as the change that causes it; executed later by arq or by
    the embedded runner. The row, not Redis, is the source of truth for whether it ran.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available_at", "status", "available_at"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=100)
    args: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    key: str | None = Field(default=None, max_length=200, index=True, description="business id")
    queue: str = Field(default="quick", max_length=10)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=String(12))
    attempts: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    available_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    started_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_error: str = Field(default="", sa_type=Text)


class DeadJob(SQLModel, table=True):
    """A job that exhausted its tries or failed permanently, kept until someone re-drives it."""

    __tablename__ = "dead_job"

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    job: str = Field(max_length=100)
    args: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    attempts: int
    error: str = Field(sa_type=Text)
    failed_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    redriven_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
