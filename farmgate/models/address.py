from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class Address(SQLModel, table=True):
    """A buyer's saved delivery address (the address book); one may be the default."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    recipient: str = Field(max_length=30)
    phone: str = Field(max_length=11)
    province: str = Field(max_length=20)
    city: str = Field(max_length=20)
    county: str = Field(max_length=20)
    township: str = Field(max_length=20)
    village: str = Field(default="", max_length=30)
    address_detail: str = Field(max_length=120)
    is_default: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
