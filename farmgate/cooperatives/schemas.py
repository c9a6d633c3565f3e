from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from farmgate.models import CooperativeBase
from farmgate.validators import normalize_mobile, normalize_uscc


class CooperativeApply(CooperativeBase):
    """What a cooperative submits to join the platform."""

    uscc: str = Field(description="统一社会信用代码（18位）")
    contact_phone: str
    pending_name: str = ""  # a new name waiting for the township
    bank_account_name: str = Field(default="", max_length=100)
    bank_name: str = Field(default="", max_length=100)
    bank_account_no: str = Field(default="", max_length=40, pattern=r"^[0-9 ]*$")

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, v: str) -> str:
        return normalize_uscc(v)

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalize_mobile(v)


class CooperativeUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=100)
    contact_name: str | None = Field(default=None, min_length=1, max_length=50)
    contact_phone: str | None = None
    story: str | None = Field(default=None, max_length=4000)
    service_phone: str | None = Field(default=None, max_length=20)
    pickup_address: str | None = Field(default=None, max_length=120)
    bank_account_name: str | None = Field(default=None, max_length=100)
    bank_name: str | None = Field(default=None, max_length=100)
    bank_account_no: str | None = Field(default=None, max_length=40, pattern=r"^[0-9 ]*$")

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return None if v is None else normalize_mobile(v)


class CooperativePublic(BaseModel):
    """What anyone may see: no settlement details, no private contact phone."""

    id: int
    name: str
    village_id: int
    village_name: str
    story: str
    status: str
    service_phone: str = ""  # the number buyers may call, chosen by the cooperative
    pickup_address: str = ""


class CooperativePrivate(CooperativePublic):
    """What the cooperative's own staff and the township admin see."""

    uscc: str
    contact_name: str
    contact_phone: str
    pending_name: str = ""  # a new name waiting for the township
    bank_account_name: str
    bank_name: str
    bank_account_no_masked: str
    created_at: datetime
    approved_at: datetime | None
