from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled(
    {
        "pending_payment": "待付款",
        "paid": "已付款",
        "fulfilling": "备货中",
        "shipped": "已发货",
        "delivered": "已送达",
        "completed": "已完成",
        "cancelled": "已取消",
        "refund_requested": "退款申请中",
        "refunded": "已退款",
    }
)
class OrderStatus(Labelled):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    FULFILLING = "fulfilling"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUND_REQUESTED = "refund_requested"
    REFUNDED = "refunded"


@labelled(
    {
        "courier": "快递到家",
        "post": "邮政 / EMS",
        "local": "乡镇配送员送货上门（限本县）",
        "pickup": "村级电商服务站自提",
    }
)
class DeliveryMethod(Labelled):
    COURIER = "courier"  # 快递
    POST = "post"  # 邮政 / EMS
    PICKUP = "pickup"  # 村级电商服务站自提
    LOCAL = "local"  # 乡镇配送员送货上门: the township's own couriers, within its county


@labelled(
    {
        "pending": "待付款",
        "to_pack": "待打包",
        "packed": "已打包",
        "shipped": "已发货",
        "delivered": "已送达",
        "cancelled": "已取消",
    }
)
class FulfilmentStatus(Labelled):
    PENDING = "pending"  # waiting for the order to be paid
    TO_PACK = "to_pack"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Cart(SQLModel, table=True):
    """A shopping cart: a signed-in account's, or an anonymous browser's (by token)."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", unique=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class CartItem(SQLModel, table=True):
    __tablename__ = "cart_item"
    __table_args__ = (
        UniqueConstraint("cart_id", "sku_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cart_id: int = Field(foreign_key="cart.id", index=True)
    sku_id: int = Field(foreign_key="sku.id")
    quantity: int


# The session.info key under which code that writes an order's status with a Core UPDATE
# (orders.state.transition) lists the order: listeners that follow status changes, which no
# flush then shows, read it there (reports/tracking.py).
STATUS_WRITTEN = "order_status_written"


class Order(SQLModel, table=True):
    """One checkout. Money in fen; the address is copied, not referenced."""

    __tablename__ = "orders"  # "order" is an SQL keyword
    __table_args__ = (
        CheckConstraint("total_fen = items_fen + shipping_fen", name="total_adds_up"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=24, unique=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    status: OrderStatus = Field(default=OrderStatus.PENDING_PAYMENT, sa_type=String(20), index=True)
    recipient: str = Field(max_length=30)
    phone: str = Field(max_length=11, index=True)
    province: str = Field(max_length=20)
    city: str = Field(max_length=20)
    county: str = Field(max_length=20)
    township: str = Field(max_length=20)
    village: str = Field(default="", max_length=30)
    address_detail: str = Field(max_length=120)
    delivery_method: DeliveryMethod = Field(sa_type=String(10))
    note: str = Field(default="", max_length=200)
    items_fen: int
    shipping_fen: int
    total_fen: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    pay_by: datetime = Field(sa_type=AwareDateTime, description="unpaid stock is released then")
    paid_at: datetime | None = Field(default=None, sa_type=AwareDateTime, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class Fulfilment(SQLModel, table=True):
    """The part of an order one cooperative packs and ships."""

    __table_args__ = (UniqueConstraint("order_id", "cooperative_id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    cooperative_id: int = Field(foreign_key="cooperative.id", index=True)
    status: FulfilmentStatus = Field(default=FulfilmentStatus.PENDING, sa_type=String(12))
    items_fen: int
    shipping_fen: int
    packed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class OrderLine(SQLModel, table=True):
    """A SKU bought, with its name and price as they were at checkout."""

    __tablename__ = "order_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    fulfilment_id: int = Field(foreign_key="fulfilment.id", index=True)
    sku_id: int = Field(foreign_key="sku.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    product_name: str = Field(max_length=60)
    sku_spec: str = Field(max_length=40)
    unit: str = Field(max_length=4)
    unit_price_fen: int
    quantity: int
    line_total_fen: int
    # The lot packed for this line (chosen at packing): recalls and tracking follow it.
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)


class OrderEvent(SQLModel, table=True):
    """Every status change of an order: from, to, who and when."""

    __tablename__ = "order_event"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    actor_account_id: int | None = Field(default=None, foreign_key="account.id")
    actor: str = Field(max_length=30, description="system, consumer, cooperative, admin, payment")
    note: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
