"""What the home page puts first: this season's harvests and what sells."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from farmgate.db import utcnow
from farmgate.models import (
    Batch,
    BatchStatus,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProductStatus,
)
from farmgate.timeutil import local_today

SOLD = (
    OrderStatus.PAID,
    OrderStatus.FULFILLING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
)


@dataclass(frozen=True)
class Highlight:
    product_id: int
    name: str
    note: str


def seasonal(session: Session, days: int = 60, limit: int = 6) -> list[Highlight]:
    """Published products with a lot harvested in the last ``days`` days, newest first."""
    since: date = local_today() - timedelta(days=days)
    rows = session.execute(
        select(Product.id, Product.name, func.max(Batch.harvest_date))
        .join(Batch, Batch.product_id == Product.id)
        .where(
            Product.status == ProductStatus.PUBLISHED,
            Batch.status == BatchStatus.ACTIVE,
            Batch.harvest_date >= since,  # type: ignore[operator]
        )
        .group_by(Product.id, Product.name)
        .order_by(func.max(Batch.harvest_date).desc())
        .limit(limit)
    ).all()
    return [Highlight(pid, name, f"{harvested:%m月%d日}采收") for pid, name, harvested in rows]


def best_sellers(session: Session, days: int = 30, limit: int = 6) -> list[Highlight]:
    """Published products by units sold in paid orders over the last ``days`` days."""
    since = utcnow() - timedelta(days=days)
    sold = func.sum(OrderLine.quantity)
    rows = session.execute(
        select(Product.id, Product.name, sold)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Product.status == ProductStatus.PUBLISHED,
            Order.status.in_(SOLD),  # type: ignore[attr-defined]
            Order.paid_at >= since,  # type: ignore[operator]
        )
        .group_by(Product.id, Product.name)
        .order_by(sold.desc(), Product.id)
        .limit(limit)
    ).all()
    return [Highlight(pid, name, f"近{days}天售出 {count}") for pid, name, count in rows]
