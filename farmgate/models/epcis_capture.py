"""EPCIS events captured from partners (a processor, the post office) and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class EpcisPartner(SQLModel, table=True):
    """A partner system allowed to send EPCIS events; its key is stored only as a hash."""

    __tablename__ = "epcis_partner"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    kind: str = Field(default="processor", max_length=20)  # processor / post_office / other
    key_prefix: str = Field(max_length=12, index=True)  # shown to tell keys apart
    key_hash: str = Field(max_length=64, unique=True)  # SHA-256 of the whole key
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class CapturedEvent(SQLModel, table=True):
    """One event of a partner's EPCIS document, stored as it was sent (after validation)."""

    __tablename__ = "captured_event"
    __table_args__ = (UniqueConstraint("partner_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="epcis_partner.id", index=True)
    event_id: str = Field(max_length=300)
    event_type: str = Field(max_length=30, index=True)
    event_time: datetime = Field(sa_type=AwareDateTime, index=True)
    biz_step: str = Field(default="", max_length=200)
    body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    captured_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class CapturedEventKey(SQLModel, table=True):
    """An identifier a captured event names (canonical Digital Link), for lookups by EPC/lot."""

    __tablename__ = "captured_event_key"

    id: int | None = Field(default=None, primary_key=True)
    captured_event_id: int = Field(foreign_key="captured_event.id", index=True)
    epc: str = Field(max_length=300, index=True)
    gtin: str = Field(default="", max_length=14, index=True)
    lot: str = Field(default="", max_length=20)
