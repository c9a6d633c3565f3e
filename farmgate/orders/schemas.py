from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from farmgate.models import DeliveryMethod
from farmgate.validators import normalize_mobile


class CartItemIn(BaseModel):
    sku_id: int
    quantity: int = Field(ge=1, le=999)


class CartQuantityIn(BaseModel):
    """A line's new quantity; 0 removes the line."""

    sku_id: int | None = Field(default=None, description="可省略（以路径中的规格为准）")
    quantity: int = Field(ge=0, le=999)


class CartLine(BaseModel):
    sku_id: int
    product_id: int
    product_name: str
    sku_spec: str
    unit: str
    unit_price_fen: int
    quantity: int
    line_total_fen: int
    available: bool  # on sale and enough stock right now
    stock: int
    # Why the line cannot be bought now: delisted, sold_out or short (None when it can).
    problem: Literal["delisted", "sold_out", "short"] | None = None
    problem_message: str | None = None  # the same in words, for the buyer


class CartGroup(BaseModel):
    cooperative_id: int
    cooperative_name: str
    lines: list[CartLine]
    items_fen: int


class CartView(BaseModel):
    groups: list[CartGroup]
    items_fen: int
    count: int
    unavailable: int = 0  # lines that cannot be bought now (each says why)


class AddressIn(BaseModel):
    """A saved address (the address book): the delivery fields of checkout."""

    model_config = ConfigDict(str_strip_whitespace=True)

    recipient: str = Field(min_length=1, max_length=30, description="收货人")
    phone: str = Field(description="手机号")
    province: str = Field(min_length=2, max_length=20)
    city: str = Field(min_length=2, max_length=20)
    county: str = Field(min_length=2, max_length=20)
    township: str = Field(min_length=2, max_length=20)
    village: str = Field(default="", max_length=30)
    address_detail: str = Field(min_length=2, max_length=120, description="详细地址")

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalize_mobile(v)


class CheckoutIn(BaseModel):
    """What checkout asks for; every field is checked with a message in Chinese."""

    model_config = ConfigDict(str_strip_whitespace=True)

    recipient: str = Field(min_length=1, max_length=30, description="收货人")
    phone: str = Field(description="手机号")
    province: str = Field(min_length=2, max_length=20)
    city: str = Field(min_length=2, max_length=20)
    county: str = Field(min_length=2, max_length=20)
    township: str = Field(min_length=2, max_length=20)
    village: str = Field(default="", max_length=30)
    address_detail: str = Field(min_length=2, max_length=120, description="详细地址")
    delivery_method: DeliveryMethod
    note: str = Field(default="", max_length=200)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalize_mobile(v)


class OrderLineOut(BaseModel):
    id: int
    sku_id: int
    product_id: int
    product_name: str
    sku_spec: str
    unit: str
    unit_price_fen: int
    quantity: int
    line_total_fen: int
    batch_id: int | None = None  # the lot packed for this line, once packing said so


class FulfilmentOut(BaseModel):
    id: int
    cooperative_id: int
    cooperative_name: str
    status: str
    items_fen: int
    shipping_fen: int
    lines: list[OrderLineOut]


class OrderEventOut(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    note: str
    created_at: datetime


class ParcelOut(BaseModel):
    id: int
    carrier: str
    carrier_label: str
    waybill_no: str | None
    status: str
    status_label: str
    events: list[dict[str, Any]]
    courier_name: str | None = None  # the township courier carrying it
    needs_check: bool = False  # a lost create answer: someone must look at the carrier's portal


class OrderOut(BaseModel):
    id: int
    number: str
    status: str
    status_label: str
    recipient: str
    phone_masked: str
    delivery_phone: str | None = None  # full number, only for the cooperative that ships
    address: str
    delivery_method: str
    items_fen: int
    shipping_fen: int
    total_fen: int
    created_at: datetime
    pay_by: datetime
    paid_at: datetime | None
    fulfilments: list[FulfilmentOut]
    events: list[OrderEventOut]
    parcels: list[ParcelOut] = []
