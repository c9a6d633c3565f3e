"""What the buyer's pages add to an order: thumbnails, the cooperatives' phones, next actions."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.media.storage import get_storage
from farmgate.models import Cooperative, Order, OrderLine, OrderStatus, ProductPhoto

OS = OrderStatus
THUMB = 320


@dataclass
class BuyerExtras:
    thumbs: dict[int, str] = field(default_factory=dict)  # product id -> photo URL
    phones: dict[int, str] = field(default_factory=dict)  # cooperative id -> service phone
    can_pay: bool = False
    can_cancel: bool = False
    can_confirm: bool = False
    can_after_sales: bool = False
    completed: bool = False  # where the review link (issue 18, reviews) goes


def thumbnails(session: Session, product_ids: list[int]) -> dict[int, str]:
    """Each product's first photo (its smallest variant), for lists of orders."""
    out: dict[int, str] = {}
    if not product_ids:
        return out
    storage = get_storage()
    for photo in session.scalars(
        select(ProductPhoto)
        .where(col(ProductPhoto.product_id).in_(product_ids))
        .order_by(col(ProductPhoto.position), col(ProductPhoto.id))
    ):
        if photo.product_id not in out:
            width = min(int(w) for w in photo.widths.split(",")) if photo.widths else THUMB
            out[photo.product_id] = storage.url(f"{photo.storage_key}-{width}.webp")
    return out


def service_phones(session: Session, cooperative_ids: list[int]) -> dict[int, str]:
    """The phone buyers may call (the cooperative's service phone), where it set one."""
    if not cooperative_ids:
        return {}
    rows = session.execute(
        select(col(Cooperative.id), col(Cooperative.service_phone)).where(
            col(Cooperative.id).in_(cooperative_ids)
        )
    ).all()
    return {int(cid or 0): phone for cid, phone in rows if phone}


def extras(session: Session, orders: list[Order]) -> dict[int, BuyerExtras]:
    """The extras of several orders at once (my orders), by order id."""
    ids = [o.id for o in orders]
    lines = (
        list(session.scalars(select(OrderLine).where(col(OrderLine.order_id).in_(ids))))
        if ids
        else []
    )
    thumbs = thumbnails(session, sorted({line.product_id for line in lines}))
    out = {}
    for order in orders:
        status = OS(order.status)
        out[int(order.id or 0)] = BuyerExtras(
            thumbs=thumbs,
            can_pay=status == OS.PENDING_PAYMENT,
            can_cancel=status == OS.PENDING_PAYMENT,
            can_confirm=status == OS.DELIVERED,
            can_after_sales=status in {OS.PAID, OS.FULFILLING, OS.SHIPPED, OS.DELIVERED},
            completed=status == OS.COMPLETED,
        )
    return out
