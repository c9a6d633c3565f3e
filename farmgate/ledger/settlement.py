"""When a cooperative's money becomes payable, and the holds that keep it back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import pk, utcnow
from farmgate.jobs import outbox
from farmgate.ledger import accounts, posting
from farmgate.ledger.posting import Line
from farmgate.models import (
    IntentStatus,
    LedgerEntry,
    LedgerTxn,
    Order,
    OrderStatus,
    PaymentIntent,
    RefundRequest,
    RefundRequestStatus,
)


def is_held(session: Session, order: Order) -> bool:
    """Whether an open after-sales matter keeps the order's money from being paid out.

    The order is "退款申请中" or one of its refund requests is unanswered; an after-sales
    request (售后) is a refund request with its reason, photos and evidence, so an open one
    holds the money too (payments.aftersales.open_after_sales lists the same requests).
    """
    if order.status == OrderStatus.REFUND_REQUESTED:
        return True
    return bool(
        session.scalar(
            select(
                exists().where(
                    col(RefundRequest.order_id) == order.id,
                    col(RefundRequest.status) == RefundRequestStatus.OPEN,
                )
            )
        )
    )


def due_at(order: Order) -> datetime | None:
    """When a completed order's money becomes payable (None until it is completed)."""
    if order.status != OrderStatus.COMPLETED or order.closed_at is None:
        return None
    return order.closed_at + timedelta(days=settings.settlement_days)


def settle_order(session: Session, order: Order, now: datetime | None = None) -> str:
    """Move a completed order's money from each cooperative's pending to its available
    account once it is due and not held. Returns what happened (settled, not_due, held, done)."""
    due = due_at(order)
    if due is None or due > (now or utcnow()):
        return "not_due"
    if posting.is_settled(session, pk(order)):
        return "done"
    if is_held(session, order):
        return "held"
    posting.order_paid(session, order)  # posted first, whatever order the jobs ran in
    rows = session.execute(
        select(col(LedgerEntry.cooperative_id), func.sum(LedgerEntry.amount_fen))
        .where(
            col(LedgerEntry.order_id) == order.id,
            col(LedgerEntry.cooperative_id).is_not(None),
            col(LedgerEntry.account).endswith(":" + accounts.PENDING),
        )
        .group_by(col(LedgerEntry.cooperative_id))
        .order_by(col(LedgerEntry.cooperative_id))
    ).all()
    lines: list[Line] = []
    for coop, amount in rows:
        assert coop is not None
        lines += [
            Line(accounts.cooperative(coop, accounts.PENDING), -int(amount), "settle", coop),
            Line(accounts.cooperative(coop, accounts.AVAILABLE), int(amount), "settle", coop),
        ]
    posting.post(
        session,
        f"settle:{pk(order)}",
        "settle",
        lines,
        occurred_at=due,
        order_id=pk(order),
        memo=f"订单 {order.number} 确认收货满 {settings.settlement_days} 天，可结算",
    )
    if _frozen_for_sharing(session, pk(order)):
        # Payable now: WeChat Pay profit-sharing pays part of it (farmgate/payments/sharing.py).
        # Queued by name: payments imports the ledger, never the other way round.
        outbox.enqueue(
            session, "payments.share_order", {"order_id": pk(order)}, key=f"share_order:{pk(order)}"
        )
    return "settled"


def _frozen_for_sharing(session: Session, order_id: int) -> bool:
    """Whether a payment of the order was made with profit-sharing (its money is frozen)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    col(PaymentIntent.order_id) == order_id,
                    col(PaymentIntent.status) == IntentStatus.PAID,
                    col(PaymentIntent.profit_sharing).is_(True),
                )
            )
        )
    )


def settle_due(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Settle every completed order that is due and not yet settled; returns how many."""
    now = now or utcnow()
    cutoff = now - timedelta(days=settings.settlement_days)
    settled = exists().where(col(LedgerTxn.order_id) == Order.id, col(LedgerTxn.kind) == "settle")
    due = session.scalars(
        select(Order)
        .where(
            col(Order.status) == OrderStatus.COMPLETED,
            col(Order.closed_at) <= cutoff,
            ~settled,
        )
        .order_by(col(Order.closed_at))
        .limit(limit)
    ).all()
    return sum(settle_order(session, order, now) == "settled" for order in due)


def available_fen(session: Session, cooperative_id: int) -> int:
    """What may be paid out to the cooperative now."""
    return -posting.balance(session, accounts.cooperative(cooperative_id, accounts.AVAILABLE))


def pending_fen(session: Session, cooperative_id: int) -> int:
    """Owed to the cooperative but not yet payable (not delivered, or not yet due)."""
    return -posting.balance(session, accounts.cooperative(cooperative_id, accounts.PENDING))
