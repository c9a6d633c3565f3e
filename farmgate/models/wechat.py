"""A WeChat official account's buyers: openids bound to accounts and orders, cached tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class WeChatIdentity(SQLModel, table=True):
    """An account's openid under one appid: one each way (an openid has one account)."""

    __tablename__ = "wechat_identity"
    __table_args__ = (UniqueConstraint("appid", "openid"), UniqueConstraint("appid", "account_id"))

    id: int | None = Field(default=None, primary_key=True)
    appid: str = Field(max_length=40)
    openid: str = Field(max_length=64)
    account_id: int = Field(foreign_key="account.id", index=True)
    bound_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class WeChatOrderPayer(SQLModel, table=True):
    """The WeChat user an order is paid by (a guest's only identity; notifications go there)."""

    __tablename__ = "wechat_order_payer"

    order_id: int = Field(foreign_key="orders.id", primary_key=True)
    appid: str = Field(max_length=40)
    openid: str = Field(max_length=64, index=True)
    bound_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class WeChatCredential(SQLModel, table=True):
    """A cached access_token or jsapi_ticket, shared by every process (without Redis)."""

    __tablename__ = "wechat_credential"

    name: str = Field(max_length=100, primary_key=True)
    value: str = Field(max_length=512)
    expires_at: datetime = Field(sa_type=AwareDateTime)
