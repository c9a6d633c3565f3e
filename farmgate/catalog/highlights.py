"""What the home page puts first: this season's harvests and what sells."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

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
        select(col(Product.id), col(Product.name), func.max(col(Batch.harvest_date)))
        .join(Batch, col(Batch.product_id) == col(Product.id))
        .where(
            col(Product.status) == ProductStatus.PUBLISHED,
            col(Batch.status) == BatchStatus.ACTIVE,
            col(Batch.harvest_date) >= since,
        )
        .group_by(col(Product.id), col(Product.name))
        .order_by(func.max(col(Batch.harvest_date)).desc())
        .limit(limit)
    ).all()
    return [
        Highlight(pid, name, f"{harvested:%m月%d日}采收") for pid, name, harvested in rows if pid
    ]


def best_sellers(session: Session, days: int = 30, limit: int = 6) -> list[Highlight]:
    """Published products by units sold in paid orders over the last ``days`` days."""
    since = utcnow() - timedelta(days=days)
    sold = func.sum(col(OrderLine.quantity))
    rows = session.execute(
        select(col(Product.id), col(Product.name), sold)
        .join(OrderLine, col(OrderLine.product_id) == col(Product.id))
        .join(Order, col(Order.id) == col(OrderLine.order_id))
        .where(
            col(Product.status) == ProductStatus.PUBLISHED,
            col(Order.status).in_(SOLD),
            col(Order.paid_at) >= since,
        )
        .group_by(col(Product.id), col(Product.name))
        .order_by(sold.desc(), col(Product.id))
        .limit(limit)
    ).all()
    return [Highlight(pid, name, f"近{days}天售出 {count}") for pid, name, count in rows if pid]
