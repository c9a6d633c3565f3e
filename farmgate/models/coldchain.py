"""Cold-chain shipments of a batch, custody handoffs, and logger temperature readings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled({"open": "运输中", "delivered": "已签收"})
class ShipmentStatus(Labelled):
    OPEN = "open"
    DELIVERED = "delivered"


class ColdShipment(SQLModel, table=True):
    """A batch (or part of it) on its way, carried by a courier, watched by a logger."""

    __tablename__ = "cold_shipment"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    cooperative_id: int = Field(foreign_key="cooperative.id", index=True)
    courier_account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    fulfilment_id: int | None = Field(default=None, foreign_key="fulfilment.id", index=True)
    device_id: str | None = Field(default=None, max_length=40, index=True)
    storage_class: str = Field(sa_type=String(10))
    status: ShipmentStatus = Field(default=ShipmentStatus.OPEN, sa_type=String(12))
    # The latest analysis of its readings (see farmgate/coldchain/temperature.py).
    analysis: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    breached: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    # Running aggregates of its readings (farmgate/coldchain/series.py); None = build again.
    series: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class Handoff(SQLModel, table=True):
    """Custody passed from one party to another, with where, when and how cold."""

    __tablename__ = "handoff"

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="cold_shipment.id", index=True)
    from_party: str = Field(max_length=60)
    to_party: str = Field(max_length=60)
    at: datetime = Field(sa_type=AwareDateTime)
    place: str = Field(default="", max_length=80)
    temperature_c: float | None = None
    photo: str | None = Field(default=None, max_length=200)
    recorded_by: int | None = Field(default=None, foreign_key="account.id")
    trace_event_id: int | None = Field(default=None, foreign_key="trace_event.id")


class TemperatureReading(SQLModel, table=True):
    """One logger reading; (device, seq) makes a re-upload idempotent."""

    __tablename__ = "temperature_reading"
    __table_args__ = (
        UniqueConstraint("device_id", "seq"),
        Index("ix_temperature_reading_device_id_at", "device_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=40)
    seq: int
    at: datetime = Field(sa_type=AwareDateTime)  # indexed with the device: every query has both
    celsius: float
