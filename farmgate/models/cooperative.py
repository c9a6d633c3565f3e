from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled({"pending": "待审核", "approved": "已通过", "suspended": "已暂停", "rejected": "未通过"})
class CooperativeStatus(Labelled):
    PENDING = "pending"  # applied, waiting for the township
    APPROVED = "approved"
    SUSPENDED = "suspended"
    REJECTED = "rejected"  # the application was turned down; review_note says why


class CooperativeBase(SQLModel):
    village_id: int = Field(foreign_key="village.id", index=True)
    name: str = Field(min_length=2, max_length=100)
    contact_name: str = Field(min_length=1, max_length=50)
    story: str = Field(default="", max_length=4000)


class Cooperative(CooperativeBase, table=True):
    """A farmers' cooperative (农民专业合作社) selling through the platform."""

    id: int | None = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="township.id", index=True)
    uscc: str = Field(max_length=18, unique=True, description="统一社会信用代码")
    contact_phone: str = Field(max_length=11)
    status: str = Field(default=CooperativeStatus.PENDING, sa_type=String(20), index=True)
    # Settlement details: never part of any public schema.
    bank_account_name: str = Field(default="", max_length=100)
    bank_name: str = Field(default="", max_length=100)
    bank_account_no: str = Field(default="", max_length=40)
    # WeChat Pay profit-sharing (分账) receiver, set by the township: MERCHANT_ID (a merchant
    # number) or PERSONAL_OPENID; the name is sent encrypted. Added at WeChat Pay once
    # (wechat_receiver_added_at), again after it changes.
    wechat_receiver_type: str = Field(default="", max_length=20)
    wechat_receiver_account: str = Field(default="", max_length=64)
    wechat_receiver_name: str = Field(default="", max_length=100)
    wechat_receiver_added_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Shown to buyers (the cooperative page, an order's page); contact_phone stays private.
    service_phone: str = Field(default="", max_length=20)
    pickup_address: str = Field(default="", max_length=120)
    # A new name waits for the township; ``name`` (the public one) changes when approved.
    pending_name: str = Field(default="", max_length=100)
    name_requested_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    approved_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Why the township rejected the application or suspended the cooperative (shown to it).
    review_note: str = Field(default="", max_length=500)
