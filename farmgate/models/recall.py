"""Recalls started on the township console, the buyers contacted, and couriers' villages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class Recall(SQLModel, table=True):
    """One recall of a lot (and everything made from it): open until the township closes it."""

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    reason: str = Field(max_length=300)
    started_by: int | None = Field(default=None, foreign_key="account.id")
    started_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    closed_by: int | None = Field(default=None, foreign_key="account.id")


class RecallContact(SQLModel, table=True):
    """A buyer of an affected order was contacted about the recall (once per order)."""

    __tablename__ = "recall_contact"
    __table_args__ = (UniqueConstraint("recall_id", "order_id"),)

    id: int | None = Field(default=None, primary_key=True)
    recall_id: int = Field(foreign_key="recall.id", index=True)
    order_id: int = Field(foreign_key="orders.id")
    contacted_by: int | None = Field(default=None, foreign_key="account.id")
    contacted_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class CourierVillage(SQLModel, table=True):
    """A township courier serves this village."""

    __tablename__ = "courier_village"
    __table_args__ = (UniqueConstraint("account_id", "village_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    village_id: int = Field(foreign_key="village.id")
