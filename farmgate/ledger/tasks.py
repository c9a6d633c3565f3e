"""Ledger jobs (rules in farmgate/jobs/__init__.py): post a money event, settle what is due.

The events are queued by the code where they happen, in the same transaction (the outbox):
an order paid or completed (``orders.state.transition``), a pre-sale's balance paid, a payment
after cancellation and a refund completed (``payments.service``). Posting is idempotent on the
event's key, so a job that runs twice, or is killed and re-run, posts once.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.jobs.registry import job, periodic
from farmgate.ledger import posting, settlement
from farmgate.models import Order, PaymentIntent, Refund

Event = Literal["order_paid", "order_completed", "presale_balance", "late_payment", "refund"]


class PostArgs(TypedDict):
    event: Event
    id: int


@job("ledger.post", queue="quick", max_tries=8, timeout=30)
def post(session: Session, args: PostArgs) -> str:
    """Post one money event (its id: the order, payment intent or refund)."""
    event, row_id = args["event"], args["id"]
    if event == "order_paid":
        found = posting.paid_order_for_update(session, row_id)
        return "posted" if found and posting.order_paid(session, *found) else "skipped"
    if event == "order_completed":
        order = session.get(Order, row_id, with_for_update=True)
        return settlement.settle_order(session, order) if order else "skipped"
    if event == "presale_balance":
        intent = session.get(PaymentIntent, row_id, with_for_update=True)
        return "posted" if intent and posting.balance_paid(session, intent) else "skipped"
    if event == "late_payment":
        intent = session.get(PaymentIntent, row_id)
        return "posted" if intent and posting.late_payment(session, intent) else "skipped"
    if event == "refund":
        refund = session.get(Refund, row_id, with_for_update=True)
        return "posted" if refund and posting.refund(session, refund) else "skipped"
    raise ValueError(f"unknown ledger event {event!r}")


def queue(session: Session, event: Event, row_id: int) -> None:
    """Record that ``event`` happened to ``row_id``; posted once this transaction commits.

    A completed order is looked at again when its money falls due (settlement_days later).
    """
    delay = settings.settlement_days * 86_400 if event == "order_completed" else 0
    post.enqueue(
        session, {"event": event, "id": row_id}, key=f"ledger:{event}:{row_id}", delay_seconds=delay
    )


@periodic("ledger.settle_due", every_seconds=3600)
def settle_due(session: Session) -> int:
    """Settle completed orders that fell due (including ones whose hold was lifted since)."""
    return settlement.settle_due(session)
