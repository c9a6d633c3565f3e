"""The order state machine: every allowed move, and a record of each one taken."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import Update
from sqlmodel import col

from farmgate.db import insert_row, pk, table_of, utcnow
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


_ORDERS = table_of(Order)
_UPDATES: dict[tuple[str, ...], Update] = {
    names: update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("order_id"))
    .values({name: bindparam(f"new_{name}") for name in names})
    for names in (("status",), ("status", "paid_at"), ("status", "closed_at"))
}


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
    # One UPDATE (Core, built once) instead of a flush of the order; the loaded order takes
    # the values as written. Listeners that follow status changes, which no flush now shows,
    # read the order in session.info (STATUS_WRITTEN: the reports' days).
    written: dict[str, object] = {"status": to.value}
    if to == OS.PAID:
        written["paid_at"] = now
    if to in CLOSED:
        written["closed_at"] = now
    session.execute(
        _UPDATES[tuple(written)],
        {"order_id": pk(order), **{f"new_{name}": value for name, value in written.items()}},
    )
    for name, value in written.items():
        set_committed_value(order, name, to if name == "status" else value)
    session.info.setdefault(STATUS_WRITTEN, []).append(order)
    event = OrderEvent(
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
