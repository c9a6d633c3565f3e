"""WeChat Pay profit-sharing (分账) payouts: a share of one paid transaction sent to a
cooperative's WeChat receiver, and the returns (回退) taken back after a refund."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled(
    {
        "pending": "待发起",
        "processing": "分账处理中",
        "finished": "已分账",
        "closed": "已关闭，金额退回余额",
        "failed": "未分账，金额退回余额",
    }
)
class ShareStatus(Labelled):
    PENDING = "pending"  # reserved in the ledger, not yet sent to WeChat Pay
    PROCESSING = "processing"  # WeChat Pay accepted it and is still moving it
    FINISHED = "finished"  # the receiver got the money
    CLOSED = "closed"  # the receiver's result was CLOSED (account frozen, ...): money back
    FAILED = "failed"  # WeChat Pay refused the order (ratio exceeded, ...): money back


@labelled({"processing": "回退处理中", "success": "已回退", "failed": "回退失败"})
class ShareReturnStatus(Labelled):
    PROCESSING = "processing"
    SUCCESS = "success"
    FAILED = "failed"


class ProfitShare(SQLModel, table=True):
    """One cooperative's share of one paid WeChat Pay v3 transaction (one per pair, ever)."""

    __tablename__ = "profit_share"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        UniqueConstraint("intent_id", "cooperative_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    intent_id: int = Field(foreign_key="payment_intent.id", index=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    cooperative_id: int = Field(foreign_key="cooperative.id", index=True)
    amount_fen: int
    out_order_no: str = Field(max_length=64, unique=True)  # 商户分账单号
    wechat_order_id: str = Field(default="", max_length=64)  # 微信分账单号
    receiver_type: str = Field(max_length=20)  # MERCHANT_ID or PERSONAL_OPENID
    receiver_account: str = Field(max_length=64)
    status: ShareStatus = Field(default=ShareStatus.PENDING, sa_type=String(12), index=True)
    fail_reason: str = Field(default="", max_length=200)
    returned_fen: int = Field(default=0)  # taken back by returns (回退) after refunds
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class ProfitShareReturn(SQLModel, table=True):
    """Money a cooperative's receiver gives back (分账回退) after the buyer was refunded."""

    __tablename__ = "profit_share_return"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        UniqueConstraint("share_id", "refund_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    share_id: int = Field(foreign_key="profit_share.id", index=True)
    refund_id: int = Field(foreign_key="refund.id", index=True)
    amount_fen: int
    out_return_no: str = Field(max_length=64, unique=True)  # 商户回退单号
    status: ShareReturnStatus = Field(default=ShareReturnStatus.PROCESSING, sa_type=String(12))
    fail_reason: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
