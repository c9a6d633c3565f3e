"""Parcels: one per fulfilment sent by a carrier, with its waybill and tracking; and the
carrier's tracking pushes, stored once before they are applied."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class Parcel(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    fulfilment_id: int = Field(foreign_key="fulfilment.id", unique=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    carrier: str = Field(max_length=30)  # the aggregator's company code, or "township"
    order_ref: str = Field(max_length=40, unique=True)  # our idempotency key at the carrier
    waybill_no: str | None = Field(default=None, max_length=40, index=True)
    label_url: str | None = Field(default=None, max_length=300)
    status: str = Field(default="pending", max_length=20)  # pending until a waybill exists
    raw_state: str = Field(default="", max_length=10)
    events: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    last_event_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    is_final: bool = False
    subscribed: bool = False
    salt: str = Field(max_length=32)  # signs this parcel's pushes
    # Creating the waybill: "" (not tried or safe to try), "sent" (asked, no answer stored
    # yet: it may exist at the carrier), "check" (a person must look at the carrier's portal).
    create_state: str = Field(default="", max_length=10)
    create_sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # The township's own couriers: who carries it (their forms' tokens: FormSubmission).
    courier_account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)


class CourierPush(SQLModel, table=True):
    """A verified tracking push; ``digest`` (SHA-256 of the body) stores a repeat once."""

    __tablename__ = "courier_push"

    id: int | None = Field(default=None, primary_key=True)
    parcel_id: int = Field(foreign_key="parcel.id", index=True)
    digest: str = Field(max_length=64, unique=True)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    received_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    outcome: str = Field(default="pending", max_length=20)  # pending, applied, stale
