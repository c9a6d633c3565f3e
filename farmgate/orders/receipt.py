"""After delivery: the buyer confirms receipt, or the order completes itself after some days."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import pk, utcnow
from farmgate.errors import InvalidTransition
from farmgate.models import Account, Order, OrderEvent, OrderStatus
from farmgate.orders import state

OS = OrderStatus


def confirm(session: Session, order: Order, buyer: Account | None) -> bool:
    """Delivered -> completed. Confirming again does nothing (False); earlier states refuse."""
    order = session.get(Order, pk(order), with_for_update=True, populate_existing=True) or order
    if order.status == OS.COMPLETED:
        return False
    if order.status != OS.DELIVERED:
        raise InvalidTransition("订单送达后才能确认收货", code="not_delivered")
    state.transition(session, order, OS.COMPLETED, actor=buyer, note="买家确认收货")
    return True


def delivered_at(session: Session, order: Order) -> datetime | None:
    """When the order last became delivered (a declined after-sales request starts it again)."""
    return session.scalar(
        select(func.max(OrderEvent.created_at)).where(
            col(OrderEvent.order_id) == order.id, col(OrderEvent.to_status) == OS.DELIVERED
        )
    )


def auto_confirm_due(order: Order, at: datetime | None) -> datetime | None:
    return at + timedelta(days=settings.auto_confirm_days) if at else None


def auto_confirm(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Complete the orders delivered ``settings.auto_confirm_days`` ago or more; how many."""
    cutoff = (now or utcnow()) - timedelta(days=settings.auto_confirm_days)
    last = (
        select(col(OrderEvent.order_id), func.max(OrderEvent.created_at).label("at"))
        .where(col(OrderEvent.to_status) == OS.DELIVERED)
        .group_by(col(OrderEvent.order_id))
        .subquery()
    )
    ids = session.scalars(
        select(col(Order.id))
        .join(last, last.c.order_id == Order.id)
        .where(col(Order.status) == OS.DELIVERED, last.c.at <= cutoff)
        .order_by(col(Order.id))
        .limit(limit)
    ).all()
    done = 0
    for order_id in ids:
        order = session.get(Order, order_id, with_for_update=True, populate_existing=True)
        if order is None or order.status != OS.DELIVERED:
            continue  # changed meanwhile (an after-sales request, the buyer confirmed)
        state.transition(
            session,
            order,
            OS.COMPLETED,
            actor_name="system",
            note=f"送达 {settings.auto_confirm_days} 天后自动确认收货",
        )
        done += 1
    session.flush()
    return done
