"""Messages to buyers about their orders (WeChat template or SMS), and who turned them off."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled(
    {
        "paid": "付款成功",
        "shipped": "已发货",
        "delivered": "已送达",
        "refund_accepted": "同意退款",
        "refund_refused": "拒绝退款",
        "recall": "产品召回",
    }
)
class NotificationKind(Labelled):
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    REFUND_ACCEPTED = "refund_accepted"
    REFUND_REFUSED = "refund_refused"
    RECALL = "recall"  # a safety notice: sent even to buyers who turned notifications off


@labelled(
    {
        "pending": "等待发送",
        "retrying": "等待重试",
        "sent": "已发送",
        "skipped": "未发送",
        "dead": "发送失败",
    }
)
class NotificationStatus(Labelled):
    PENDING = "pending"
    RETRYING = "retrying"  # the last try failed transiently; the outbox tries again
    SENT = "sent"
    SKIPPED = "skipped"  # turned off by the buyer, or no channel reaches them
    DEAD = "dead"  # gave up; the outbox's dead letter says the same


class Notification(SQLModel, table=True):
    """One message about one event of one order: at most one per (order, kind, ref)."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("order_id", "kind", "ref"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    kind: NotificationKind = Field(sa_type=String(20))
    # What else tells two events of one kind apart: the refund request's or the recall's id.
    ref: str = Field(default="", max_length=40)
    channel: str = Field(default="", max_length=10)  # "wechat", "sms" or "" (not sent)
    status: NotificationStatus = Field(default=NotificationStatus.PENDING, sa_type=String(10))
    attempts: int = Field(default=0)
    error: str = Field(default="", sa_type=Text)
    provider_id: str = Field(default="", max_length=64)  # WeChat's msgid, the SMS serial no
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class NotificationOptOut(SQLModel, table=True):
    """A buyer turned order notifications off: for the account, or for one guest order."""

    __tablename__ = "notification_opt_out"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", unique=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id", unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
