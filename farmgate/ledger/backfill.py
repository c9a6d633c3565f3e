"""Posting money history that happened before the ledger existed (or was written straight
into the tables, as the demo's sample orders are): every paid order and pre-sale balance, every
completed refund, then the settlement of whatever fell due. Idempotent like every posting: run it
again and it posts nothing new."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.ledger import deposits, posting, settlement
from farmgate.models import Order, Refund, RefundStatus


def post_history(session: Session, now: datetime | None = None) -> int:
    """Post what is missing; returns how many transactions were added."""
    added = 0
    for order in session.scalars(
        select(Order).where(col(Order.paid_at).is_not(None)).order_by(col(Order.id))
    ):
        added += posting.order_paid(session, order) is not None
        for intent in deposits.applied_balances(session, order):
            added += posting.balance_paid(session, intent) is not None
    for refund in session.scalars(
        select(Refund).where(col(Refund.status) == RefundStatus.SUCCEEDED).order_by(col(Refund.id))
    ):
        added += posting.refund(session, refund) is not None
    while settled := settlement.settle_due(session, now):
        added += settled
    return added
