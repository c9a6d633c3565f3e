"""Parcels: one per fulfilment sent by a carrier, with its waybill and tracking; and the
carrier's tracking pushes, stored once before they are applied."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled(
    {
        "pending": "待揽收",
        "created": "已下单",
        "picked_up": "已揽收",
        "in_transit": "运输中",
        "out_for_delivery": "派送中",
        "delivered": "已签收",
        "problem": "异常",
        "rejected": "拒收",
        "returning": "退回中",
        "returned": "已退回",
    }
)
class ParcelStatus(Labelled):
    """Where a parcel is: ``pending`` until a waybill exists, then the carrier's word."""

    PENDING = "pending"
    CREATED = "created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    PROBLEM = "problem"
    REJECTED = "rejected"
    RETURNING = "returning"
    RETURNED = "returned"


class WaybillCreate(StrEnum):
    """Parcel.create_state: "" (not tried or safe to try), "sent" (asked, no answer stored yet:
    it may exist at the carrier), "check" (a person must look at the carrier's portal)."""

    NONE = ""
    SENT = "sent"
    CHECK = "check"


TOWNSHIP_CARRIER = "township"  # the township's own couriers: no carrier API, no waybill
CARRIER_NAMES = {
    "youzhengguonei": "中国邮政",
    "ems": "EMS",
    "zhongtong": "中通快递",
    TOWNSHIP_CARRIER: "乡镇配送员",
}


def carrier_label(code: str) -> str:
    """The carrier's name for people; an aggregator code we do not know is shown as it is."""
    return CARRIER_NAMES.get(code, code)


class Parcel(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    fulfilment_id: int = Field(foreign_key="fulfilment.id", unique=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    carrier: str = Field(max_length=30)  # the aggregator's company code, or "township"
    order_ref: str = Field(max_length=40, unique=True)  # our idempotency key at the carrier
    waybill_no: str | None = Field(default=None, max_length=40, index=True)
    label_url: str | None = Field(default=None, max_length=300)
    status: ParcelStatus = Field(default=ParcelStatus.PENDING, sa_type=String(20))
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
