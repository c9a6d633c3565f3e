"""What the ledger needs to know about pre-sale payments (queries only; posting.py posts).

A pre-sale with a deposit (定金) is paid in two intents: at checkout the total less the
balance (尾款), and the balance after the harvest. The first is held for the buyer
(``accounts.PRESALE_DEPOSITS``) until the balance makes the order whole; only then is the
order's value owed to its cooperatives. A deposit refunded before that comes out of the hold.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk
from farmgate.models import IntentStatus, LedgerTxn, Order, PaymentIntent, PresaleOrder

BALANCE_KIND = "presale_balance"


def balance_owed_query(order_id: Any) -> Select[Any]:
    """The query behind ``balance_owed_fen``, for the order ``order_id`` (a value, or a
    column when it is a subquery of a larger read)."""
    return select(func.coalesce(func.sum(PresaleOrder.balance_fen), 0)).where(
        col(PresaleOrder.order_id) == order_id
    )


def balance_owed_fen(session: Session, order: Order) -> int:
    """What a pre-sale order with a deposit leaves for its balance payment, as fixed at
    checkout; 0 for every other order. Its first payment brought the total less this."""
    return int(session.scalar(balance_owed_query(pk(order))) or 0)


def balance_posted(session: Session, order_id: int) -> bool:
    """Whether the order's balance payment is in the ledger."""
    return (
        session.scalars(
            select(col(LedgerTxn.id)).where(
                col(LedgerTxn.order_id) == order_id, col(LedgerTxn.kind) == BALANCE_KIND
            )
        ).first()
        is not None
    )


def applied_balances(session: Session, order: Order) -> list[PaymentIntent]:
    """The order's balance intents that were paid and applied (recorded on its pre-sale parts;
    a balance paid after the order was cancelled is a late payment instead)."""
    trade_nos = [
        t
        for t in session.scalars(
            select(col(PresaleOrder.balance_trade_no)).where(
                col(PresaleOrder.order_id) == order.id,
                col(PresaleOrder.balance_paid_at).is_not(None),
            )
        )
        if t
    ]
    if not trade_nos:
        return []
    return list(
        session.scalars(
            select(PaymentIntent)
            .where(
                col(PaymentIntent.out_trade_no).in_(trade_nos),
                col(PaymentIntent.status) == IntentStatus.PAID,
            )
            .order_by(col(PaymentIntent.id))
        )
    )
