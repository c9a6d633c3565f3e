"""Shipping rules: one row per cooperative, or a township's default (cooperative_id NULL).

``rules`` holds the zones, weight bands and surcharges as JSON (read and checked by
farmgate/orders/shipping.py); a cooperative without a row uses its township's default, and a
township without one uses the built-in sample (the post office's EMS/邮政 tiers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class ShippingRule(SQLModel, table=True):
    __tablename__ = "shipping_rule"

    id: int | None = Field(default=None, primary_key=True)
    township_id: int | None = Field(default=None, foreign_key="township.id", unique=True)
    cooperative_id: int | None = Field(default=None, foreign_key="cooperative.id", unique=True)
    rules: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_by_account_id: int | None = Field(default=None, foreign_key="account.id")
