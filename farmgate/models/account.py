from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled(
    {"consumer": "消费者", "cooperative": "合作社", "courier": "配送员", "admin": "乡镇管理员"}
)
class Role(Labelled):
    CONSUMER = "consumer"
    COOPERATIVE = "cooperative"  # staff of exactly one cooperative
    COURIER = "courier"
    ADMIN = "admin"  # township administrator


class Account(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=11, unique=True, description="mainland mobile number")
    password_hash: str = Field(max_length=200)
    display_name: str = Field(default="", max_length=50)
    role: str = Field(default=Role.CONSUMER, sa_type=String(20))
    cooperative_id: int | None = Field(default=None, foreign_key="cooperative.id", index=True)
    is_active: bool = Field(default=True)
    # The cooperative's first staff account: only the owner invites and removes staff.
    is_owner: bool = Field(default=False)
    # When the holder last proved the number is theirs with an SMS code; "" password_hash
    # means the account signs in by code only (a password can be set later).
    phone_verified_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class AuthToken(SQLModel, table=True):
    """A browser session or an API bearer token. Only the SHA-256 of the secret is stored."""

    __tablename__ = "auth_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    kind: str = Field(max_length=10)  # "session" | "api"
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per phone number, kept in the database so every process agrees."""

    __tablename__ = "login_throttle"

    phone: str = Field(primary_key=True, max_length=20)
    failures: int = Field(default=0)
    first_failure_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
