from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class SmsCode(SQLModel, table=True):
    """A verification code sent (or, for a password reset of an unknown number, pretended to
    be sent) to a phone. Never the code itself: ``code_hash`` is an HMAC of it under the secret
    key, for checking answers; ``seed`` is random, and only the secret key turns it into the
    code again, for the (retried) send job."""

    __tablename__ = "sms_code"

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=11, index=True)
    purpose: str = Field(max_length=10)  # "login" (register or sign in) | "reset" (password)
    code_hash: str = Field(max_length=64)
    seed: str = Field(max_length=32)
    client: str = Field(max_length=24, index=True)  # a hash of the requesting address
    deliver: bool = Field(default=True)  # False: recorded alike, but no message goes out
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    attempts: int = Field(default=0)  # wrong answers so far
    used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)  # or superseded
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
