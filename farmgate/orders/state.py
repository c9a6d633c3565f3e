"""The order state machine: every allowed move, and a record of each one taken."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import insert_row, new_row, pk, update_row, utcnow
from farmgate.errors import InvalidTransition
from farmgate.models import STATUS_WRITTEN, Account, Order, OrderEvent, OrderStatus

OS = OrderStatus
TRANSITIONS: dict[OrderStatus, set[OrderStatus]] = {
    OS.PENDING_PAYMENT: {OS.PAID, OS.CANCELLED},
    OS.PAID: {OS.FULFILLING, OS.REFUND_REQUESTED},
    OS.FULFILLING: {OS.SHIPPED, OS.REFUND_REQUESTED},
    OS.SHIPPED: {OS.DELIVERED, OS.REFUND_REQUESTED},
    OS.DELIVERED: {OS.COMPLETED, OS.REFUND_REQUESTED},
    # A declined request goes back where it came from (see decline_refund).
    OS.REFUND_REQUESTED: {OS.REFUNDED, OS.PAID, OS.FULFILLING, OS.SHIPPED, OS.DELIVERED},
    OS.COMPLETED: set(),
    OS.CANCELLED: set(),
    OS.REFUNDED: set(),
}
CLOSED = {OS.COMPLETED, OS.CANCELLED, OS.REFUNDED}


def actor_label(actor: Account | None) -> str:
    return "system" if actor is None else str(actor.role)


def transition(
    session: Session,
    order: Order,
    to: OrderStatus,
    *,
    actor: Account | None = None,
    actor_name: str | None = None,
    note: str = "",
) -> OrderEvent:
    """Move ``order`` to ``to`` or raise InvalidTransition; records who and when."""
    current = OS(order.status)
    if to not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"订单当前为「{current.label}」，不能变为「{to.label}」",
            context={"from": current, "to": to, "order": order.number},
        )
    now = utcnow()
    # One Core UPDATE instead of a flush of the order. Listeners that follow status changes,
    # which no flush now shows, read the order in session.info (STATUS_WRITTEN: the reports).
    written: dict[str, object] = {"status": to}
    if to == OS.PAID:
        written["paid_at"] = now
    if to in CLOSED:
        written["closed_at"] = now
    update_row(session, order, written)
    session.info.setdefault(STATUS_WRITTEN, []).append(order)
    event = new_row(
        OrderEvent,
        order_id=pk(order),
        from_status=current,
        to_status=to,
        actor_account_id=actor.id if actor else None,
        actor=actor_name or actor_label(actor),
        note=note[:200],
        created_at=now,
    )
    insert_row(session, event)
    # Money events, posted to the ledger through the outbox: the payment now, the settlement
    # when a completed order's money falls due.
    if (to == OS.PAID and current == OS.PENDING_PAYMENT) or to == OS.COMPLETED:
        from farmgate.ledger import tasks as ledger  # the job bodies are registered by install()

        ledger.queue(session, "order_paid" if to == OS.PAID else "order_completed", pk(order))
    return event


def status_before_refund_request(session: Session, order: Order) -> OrderStatus:
    last = session.scalars(
        select(OrderEvent)
        .where(
            col(OrderEvent.order_id) == order.id, col(OrderEvent.to_status) == OS.REFUND_REQUESTED
        )
        .order_by(col(OrderEvent.id).desc())
    ).first()
    return OS(last.from_status) if last and last.from_status else OS.PAID
