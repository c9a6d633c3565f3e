"""Finding orders for the township console: by number, buyer phone, cooperative, status, dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.models import Fulfilment, Order, OrderStatus
from farmgate.timeutil import LOCAL_TZ

PAGE_SIZE = 50


@dataclass(frozen=True)
class OrderQuery:
    """What the admin typed; empty fields do not filter. Dates are local days, inclusive."""

    number: str = ""
    phone: str = ""
    cooperative_id: int | None = None
    status: OrderStatus | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    total: int
    page: int
    pages: int


def search(session: Session, query: OrderQuery, page: int = 1) -> OrderPage:
    """Matching orders, newest first, ``PAGE_SIZE`` a page (page numbers start at 1)."""
    where = []
    if query.number:
        where.append(col(Order.number).contains(query.number.strip().upper()))
    if query.phone:
        where.append(col(Order.phone).contains(query.phone.strip()))
    if query.cooperative_id is not None:
        parts = select(col(Fulfilment.order_id)).where(
            col(Fulfilment.cooperative_id) == query.cooperative_id
        )
        where.append(col(Order.id).in_(parts))
    if query.status is not None:
        where.append(col(Order.status) == query.status)
    if query.date_from is not None:
        where.append(col(Order.created_at) >= datetime.combine(query.date_from, time(0), LOCAL_TZ))
    if query.date_to is not None:
        end = datetime.combine(query.date_to + timedelta(days=1), time(0), LOCAL_TZ)
        where.append(col(Order.created_at) < end)
    total = session.scalar(select(func.count(col(Order.id))).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    orders = session.scalars(
        select(Order)
        .where(*where)
        .order_by(col(Order.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return OrderPage(list(orders), total, page, pages)
