"""Pre-sale of a harvest (预售): a SKU sold before its lot is harvested, and its orders."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled(
    {
        "open": "预售中",
        "harvested": "已采收，待付尾款 / 待发货",
        "closed": "已结束",
        "failed": "采收失败，已退款",
    }
)
class PresaleStatus(Labelled):
    OPEN = "open"
    HARVESTED = "harvested"
    CLOSED = "closed"
    FAILED = "failed"


class Presale(SQLModel, table=True):
    """One SKU sold ahead of its harvest: its stock is the cap, so it is never oversold.

    ``deposit_fen`` is per unit; 0 means the buyer pays the full price at once. With a deposit,
    the balance (尾款) is paid from the order page after the harvest and before ``balance_due``.
    """

    __table_args__ = (
        CheckConstraint("cap > 0", name="cap_positive"),
        CheckConstraint("deposit_fen >= 0", name="deposit_not_negative"),
        CheckConstraint("ship_from >= harvest_from", name="ships_after_harvest"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cooperative_id: int = Field(foreign_key="cooperative.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    sku_id: int = Field(foreign_key="sku.id", index=True)
    status: PresaleStatus = Field(default=PresaleStatus.OPEN, sa_type=String(10), index=True)
    harvest_from: date
    ship_from: date
    ship_to: date
    cap: int
    deposit_fen: int = 0
    balance_due: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Set when the harvest is recorded: the lot packed, and how many units it could fill.
    batch_id: int | None = Field(default=None, foreign_key="batch.id")
    harvested_units: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class PresaleOrder(SQLModel, table=True):
    """An order's pre-sale part (one per order and pre-sale), recorded at checkout."""

    __tablename__ = "presale_order"
    __table_args__ = (UniqueConstraint("order_id", "presale_id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    presale_id: int = Field(foreign_key="presale.id", index=True)
    quantity: int
    # What is still owed after the deposit (0 for a full-payment pre-sale).
    balance_fen: int = 0
    deposit_paid_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    balance_paid_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    balance_trade_no: str | None = Field(default=None, max_length=32)
    # kept | refunded: what the harvest decided (first paid, first served).
    outcome: str = Field(default="", max_length=10)
