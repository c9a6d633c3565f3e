from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled({"created": "待支付", "paid": "已支付", "closed": "已关闭"})
class IntentStatus(Labelled):
    CREATED = "created"  # waiting for the payer
    PAID = "paid"
    CLOSED = "closed"


class PaymentIntent(SQLModel, table=True):
    """One attempt to collect an order's total through one provider and channel."""

    __tablename__ = "payment_intent"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    provider: str = Field(max_length=20)
    channel: str = Field(max_length=10)
    # The idempotency key at the provider.
    out_trade_no: str = Field(max_length=32, unique=True)
    amount_fen: int
    currency: str = Field(default="CNY", max_length=3)
    status: IntentStatus = Field(default=IntentStatus.CREATED, sa_type=String(10), index=True)
    provider_ref: str = Field(default="", max_length=64)
    client: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    transaction_id: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Created with settle_info.profit_sharing=true (WeChat Pay v3, FARMGATE_PROFIT_SHARING):
    # its money stays frozen at WeChat Pay until shared and unfrozen (farmgate/payments/sharing).
    profit_sharing: bool = Field(default=False)
    unfrozen_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class PaymentNotification(SQLModel, table=True):
    """A verified provider notification, stored before it is applied (once)."""

    __tablename__ = "payment_notification"
    __table_args__ = (UniqueConstraint("provider", "transaction_id"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    transaction_id: str = Field(max_length=64)
    out_trade_no: str = Field(max_length=32, index=True)
    amount_fen: int
    currency: str = Field(max_length=3)
    paid: bool
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    received_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    # pending, applied, duplicate, rejected or late (paid after the order was cancelled)
    outcome: str = Field(default="pending", max_length=20)
    note: str = Field(default="", max_length=200)


@labelled(
    {
        "requested": "退款中",
        "pending_cash": "待退现金",
        "succeeded": "已退款",
        "failed": "退款失败",
    }
)
class RefundStatus(Labelled):
    REQUESTED = "requested"  # asked of the provider; its amount stays reserved
    PENDING_CASH = "pending_cash"  # station staff must hand the cash back
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(SQLModel, table=True):
    __tablename__ = "refund"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    intent_id: int = Field(foreign_key="payment_intent.id")
    out_refund_no: str = Field(max_length=32, unique=True)
    amount_fen: int
    reason: str = Field(default="", max_length=80)
    status: RefundStatus = Field(default=RefundStatus.REQUESTED, sa_type=String(12))
    refund_id: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=AwareDateTime, index=True)


AFTER_SALES_REASONS = {
    "quality": "质量问题",
    "damaged": "商品破损",
    "spoiled": "运输途中变质",
    "wrong_item": "发错商品",
    "missing": "少发 / 漏发",
}


@labelled({"open": "待合作社答复", "accepted": "已同意退款", "refused": "已拒绝"})
class RefundRequestStatus(Labelled):
    OPEN = "open"  # waiting for the cooperative's answer
    ACCEPTED = "accepted"  # a refund was created for it
    REFUSED = "refused"


class RefundRequest(SQLModel, table=True):
    """A buyer asks one cooperative (its part of an order) for money back; it answers."""

    __tablename__ = "refund_request"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    fulfilment_id: int = Field(foreign_key="fulfilment.id", index=True)
    cooperative_id: int = Field(foreign_key="cooperative.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id")
    reason: str = Field(default="", max_length=200)  # the buyer's words
    status: RefundRequestStatus = Field(
        default=RefundRequestStatus.OPEN, sa_type=String(10), index=True
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    answered_by: int | None = Field(default=None, foreign_key="account.id")
    refund_id: int | None = Field(default=None, foreign_key="refund.id")
    answer: str = Field(default="", max_length=200)  # the refusal's reason, shown to the buyer
    # After-sales (售后) requests say more: why (AFTER_SALES_REASONS), the amount asked, the
    # buyer's photos (media keys, see farmgate/media/photos.py) and, when a lot of the part
    # had a cold-chain excursion on the way, that evidence copied in when the request was made.
    kind: str = Field(default="", max_length=12)  # "" for a plain refund request
    amount_asked_fen: int | None = None
    photos: list[str] = Field(default_factory=list, sa_type=JSON)
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
