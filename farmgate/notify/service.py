"""Recording a notification where its event happens, and the buyer's choice to get none.

Each ``order_*`` function is called inside the transaction of its event. It records at most
one ``Notification`` per (order, kind, ref) and queues ``notify.send`` for it through the
outbox: a retried step, a second courier push or a payment notified twice sends nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk, table_of
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


_N = table_of(Notification)
_OFF = table_of(NotificationOptOut)


def _opts_out(order_id: Any, account_id: Any) -> ColumnElement[bool]:
    """An opt-out row for the order, or for the account that placed it. A guest's order has
    no account: NULL = NULL is never true, so only the order's own opt-out counts then."""
    return or_(_OFF.c.order_id == order_id, _OFF.c.account_id == account_id)


def opted_out_column(order_id: Any, account_id: Any) -> ColumnElement[bool]:
    """:func:`opted_out`, as a column of a statement that reads the order anyway."""
    return exists().where(_opts_out(order_id, account_id))


_OPTED_OUT = (
    select(_OFF.c.id).where(_opts_out(bindparam("order_id"), bindparam("account_id"))).limit(1)
)


def opted_out(session: Session, order: Order) -> bool:
    """The buyer turned notifications off: for this order, or for the account that placed it."""
    params = {"order_id": order.id, "account_id": order.account_id}
    return session.execute(_OPTED_OUT, params).first() is not None


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


def _recording(insert: Any, check_opt_out: bool) -> Any:
    """INSERT the notification for (order, kind, ref) unless it exists; its id and status.

    One statement, built once per database: the unique key makes a second record (a retried
    step, two steps racing) a no-op, and the buyer's opt-out is read inside it."""
    values: dict[str, Any] = {
        "order_id": bindparam("n_order"),
        "kind": bindparam("n_kind"),
        "ref": bindparam("n_ref"),
    }
    if check_opt_out:
        off = opted_out_column(bindparam("n_order"), bindparam("n_account"))
        values["status"] = case(
            (off, NotificationStatus.SKIPPED.value), else_=NotificationStatus.PENDING.value
        )
        values["error"] = case((off, OPTED_OUT), else_="")
    return (
        insert(_N)
        .values(values)
        .on_conflict_do_nothing(index_elements=["order_id", "kind", "ref"])
        .returning(_N.c.id, _N.c.status)
    )


_RECORD = {
    (name, check): _recording(dialect.insert, check)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    for check in (True, False)
}


def _record(session: Session, order: Order, kind: NotificationKind, ref: str = "") -> int | None:
    """The id of the notification for (order, kind, ref) if it is new, queued to be sent; else
    None. It is recorded "skipped" when the buyer turned notifications off (see opted_out)."""
    session.flush()  # what a query would have flushed first (an opt-out just added)
    statement = _RECORD[session.get_bind().dialect.name, kind not in ALWAYS_SENT]
    params = {
        "n_order": pk(order),
        "n_kind": kind.value,
        "n_ref": ref,
        "n_account": order.account_id,
    }
    new = session.execute(statement, params).first()
    if new is None:
        return None
    if new.status == NotificationStatus.PENDING:
        from farmgate.notify.tasks import send  # the job module imports this one

        send.enqueue(session, {"notification_id": new.id}, key=f"notification:{new.id}")
    return int(new.id)


def order_paid(session: Session, order: Order) -> int | None:
    return _record(session, order, K.PAID)


def order_shipped(session: Session, order: Order) -> int | None:
    return _record(session, order, K.SHIPPED)


def order_delivered(session: Session, order: Order) -> int | None:
    return _record(session, order, K.DELIVERED)


def refund_decided(
    session: Session, order: Order, request: RefundRequest, *, accepted: bool
) -> int | None:
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
