"""Batches (lots) and what went into them: inputs applied on the plot, and source lots."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled({"active": "正常", "recalled": "已召回"})
class BatchStatus(Labelled):
    ACTIVE = "active"
    RECALLED = "recalled"


@labelled({"fertiliser": "施肥", "pesticide": "用药"})
class InputKind(Labelled):
    FERTILISER = "fertiliser"
    PESTICIDE = "pesticide"


class Batch(SQLModel, table=True):
    """A lot of one product from one cooperative: what the QR code on a package leads to."""

    __tablename__ = "batch"
    __table_args__ = (UniqueConstraint("cooperative_id", "lot_code"),)

    id: int | None = Field(default=None, primary_key=True)
    cooperative_id: int = Field(foreign_key="cooperative.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    lot_code: str = Field(max_length=20, description="GS1 AI 10: up to 20 characters")
    gtin: str = Field(max_length=14, index=True)
    quantity: Decimal = Field(sa_type=Numeric(14, 3))
    unit: str = Field(max_length=10)
    harvest_date: date | None = None
    village_code: str | None = Field(default=None, max_length=12)
    plot_name: str = Field(default="", max_length=60)
    latitude: float | None = None
    longitude: float | None = None
    area_mu: Decimal | None = Field(default=None, sa_type=Numeric(10, 2))
    producer: str = Field(default="", max_length=60)
    # Each stored photo: {key, width, height, widths} (see trace.service.add_photo).
    photos: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    status: BatchStatus = Field(default=BatchStatus.ACTIVE, sa_type=String(10), index=True)
    recall_reason: str = Field(default="", max_length=200)
    recalled_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    excursion: bool = False  # a cold-chain excursion was recorded for this lot
    serial_count: int = 0  # per-unit serials issued so far (一物一码)
    # The chain's length and head hash as of the last append (trace.chain.append): a chain
    # whose last events were deleted no longer matches them (trace.chain.verify).
    chain_length: int = 0
    chain_head: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class BatchInput(SQLModel, table=True):
    """A fertiliser or pesticide application on the batch's plot."""

    __tablename__ = "batch_input"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    kind: InputKind = Field(sa_type=String(12))
    product_name: str = Field(max_length=60)
    registration_no: str = Field(default="", max_length=30)  # 农药登记证号 / 肥料登记证号
    dose: str = Field(max_length=40)
    applied_on: date
    preharvest_interval_days: int = Field(default=0, ge=0, le=365)
    operator: str = Field(default="", max_length=30)
    # "" for an input recorded in time; "pending" for one dated on or before the harvest but
    # recorded after it (it waits for a township admin), then "approved" or "rejected".
    approval: str = Field(default="", max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class BatchLink(SQLModel, table=True):
    """A transformation: ``quantity`` of the input lot went into the output lot."""

    __tablename__ = "batch_link"
    __table_args__ = (UniqueConstraint("input_batch_id", "output_batch_id"),)

    id: int | None = Field(default=None, primary_key=True)
    input_batch_id: int = Field(foreign_key="batch.id", index=True)
    output_batch_id: int = Field(foreign_key="batch.id", index=True)
    quantity: Decimal = Field(sa_type=Numeric(14, 3))
    unit: str = Field(max_length=10)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
