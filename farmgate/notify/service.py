"""Recording a notification where its event happens, and the buyer's choice to get none.

Each ``order_*`` function is called inside the transaction of its event. It records at most
one ``Notification`` per (order, kind, ref) and queues ``notify.send`` for it through the
outbox: a retried step, a second courier push or a payment notified twice sends nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk
from farmgate.models import (
    Account,
    Notification,
    NotificationKind,
    NotificationOptOut,
    NotificationStatus,
    Order,
    Recall,
    RefundRequest,
)

K = NotificationKind
OPTED_OUT = "买家已关闭订单通知"
# A recall is a food-safety notice: it reaches buyers who turned the other messages off.
ALWAYS_SENT = frozenset({K.RECALL})


def opted_out(session: Session, order: Order) -> bool:
    """The buyer turned notifications off: for this order, or for the account that placed it."""
    clauses = [col(NotificationOptOut.order_id) == order.id]
    if order.account_id is not None:
        clauses.append(col(NotificationOptOut.account_id) == order.account_id)
    return (
        session.scalars(select(col(NotificationOptOut.id)).where(or_(*clauses))).first() is not None
    )


def account_opted_out(session: Session, account: Account) -> bool:
    found = select(col(NotificationOptOut.id)).where(
        col(NotificationOptOut.account_id) == account.id
    )
    return session.scalars(found).first() is not None


def order_opted_out(session: Session, order: Order) -> bool:
    """Turned off for this order itself (a guest's choice, from the order page)."""
    found = select(col(NotificationOptOut.id)).where(col(NotificationOptOut.order_id) == order.id)
    return session.scalars(found).first() is not None


def set_opt_out(
    session: Session, *, off: bool, account: Account | None = None, order: Order | None = None
) -> bool:
    """Turn notifications off (``off``) or back on, for ``account`` or one ``order``.

    Returns whether anything changed (a form sent twice changes nothing the second time).
    """
    if (account is None) == (order is None):
        raise ValueError("give an account or an order")
    if account is not None:
        where = col(NotificationOptOut.account_id) == account.id
    else:
        assert order is not None
        where = col(NotificationOptOut.order_id) == pk(order)
    row = session.scalars(select(NotificationOptOut).where(where)).first()
    if off and row is None:
        session.add(
            NotificationOptOut(
                account_id=account.id if account is not None else None,
                order_id=order.id if order is not None else None,
            )
        )
        session.flush()
        return True
    if not off and row is not None:
        session.delete(row)
        session.flush()
        return True
    return False


def _record(
    session: Session, order: Order, kind: NotificationKind, ref: str = ""
) -> Notification | None:
    """The notification for (order, kind, ref) if it is new, queued to be sent; else None."""
    existing = session.scalars(
        select(col(Notification.id)).where(
            col(Notification.order_id) == order.id,
            col(Notification.kind) == kind,
            col(Notification.ref) == ref,
        )
    ).first()
    if existing is not None:
        return None
    note = Notification(order_id=pk(order), kind=kind, ref=ref)
    if kind not in ALWAYS_SENT and opted_out(session, order):
        note.status, note.error = NotificationStatus.SKIPPED, OPTED_OUT
    try:
        with session.begin_nested():  # two steps racing: the unique key lets one through
            session.add(note)
            session.flush()
    except IntegrityError:
        return None
    if note.status == NotificationStatus.PENDING:
        from farmgate.notify.tasks import send  # the job module imports this one

        send.enqueue(session, {"notification_id": pk(note)}, key=f"notification:{note.id}")
    return note


def order_paid(session: Session, order: Order) -> Notification | None:
    return _record(session, order, K.PAID)


def order_shipped(session: Session, order: Order) -> Notification | None:
    return _record(session, order, K.SHIPPED)


def order_delivered(session: Session, order: Order) -> Notification | None:
    return _record(session, order, K.DELIVERED)


def refund_decided(
    session: Session, order: Order, request: RefundRequest, *, accepted: bool
) -> Notification | None:
    """A cooperative (or the township) answered a refund or after-sales request."""
    kind = K.REFUND_ACCEPTED if accepted else K.REFUND_REFUSED
    return _record(session, order, kind, str(pk(request)))


def recall_started(session: Session, recall: Recall, orders: Iterable[Order]) -> int:
    """Tell the buyer of every affected order; returns how many were newly queued."""
    return sum(_record(session, o, K.RECALL, str(pk(recall))) is not None for o in orders)


def for_order(session: Session, order: Order) -> list[Notification]:
    """What was sent (or not, and why) about ``order``, oldest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(col(Notification.order_id) == order.id)
            .order_by(col(Notification.id))
        )
    )
