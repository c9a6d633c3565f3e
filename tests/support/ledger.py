"""Driving the money events of an order through domain functions, and running the ledger's
queued jobs in the test's own session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.jobs import registry
from farmgate.ledger import tasks
from farmgate.models import (
    Account,
    Order,
    OrderStatus,
    OutboxJob,
    OutboxStatus,
    Refund,
    RefundStatus,
)
from farmgate.orders import state
from farmgate.payments import requests
from farmgate.payments import service as payments
from farmgate.payments import tasks as payment_tasks

TO_COMPLETED = (
    OrderStatus.FULFILLING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
)


def post_pending(session: Session, *, times: int = 1) -> int:
    """Run every queued ``ledger.post`` job ``times`` times (as a retry after a lost answer
    would), whatever its delay; returns how many jobs ran."""
    rows = (
        session.query(OutboxJob)
        .filter(OutboxJob.job == "ledger.post", OutboxJob.status == OutboxStatus.PENDING)
        .order_by(OutboxJob.id)
        .all()
    )
    for row in rows:
        for _ in range(times):
            tasks.post(session, row.args)  # type: ignore[arg-type]
        row.status = OutboxStatus.DONE
    session.flush()
    return len(rows)


def complete(session: Session, order: Order) -> None:
    """A paid order packed, shipped, delivered and confirmed."""
    for to in TO_COMPLETED:
        if to in state.TRANSITIONS[OrderStatus(order.status)]:
            state.transition(session, order, to)
    session.flush()


def refund_part(
    session: Session, order: Order, cooperative_owner: Account, staff: Account, amount: int | None
) -> Refund | None:
    """The buyer asks, the cooperative accepts ``amount`` (None: all), the station hands the
    cash back: a completed refund (None: nothing was left to refund)."""
    asked = requests.ask(session, None, order, "坏了")
    mine = next(r for r in asked if r.cooperative_id == cooperative_owner.cooperative_id)
    left = requests.refundable_fen(session, mine)
    if left == 0:  # refunded in full already: the request is refused
        for request in asked:
            owner = cooperative_owner_of(session, request.cooperative_id)
            requests.refuse(session, owner, request.id, "已全额退款")
        return None
    refund = requests.accept(session, cooperative_owner, mine.id, min(amount or left, left))
    for other in asked:
        if other.id != mine.id:
            requests.refuse(
                session, cooperative_owner_of(session, other.cooperative_id), other.id, "不退"
            )
    payment_tasks.refund(session, {"refund_id": refund.id})  # type: ignore[typeddict-item]
    session.flush()
    payments.cash_returned(session, refund, staff)
    session.flush()
    return refund


def cooperative_owner_of(session: Session, cooperative_id: int | None) -> Account:
    found = session.query(Account).filter(Account.cooperative_id == cooperative_id).first()
    assert found is not None
    return found


def run_sharing(session: Session, *, times: int = 1, keep_transient: bool = False) -> list[Any]:
    """Run every queued profit-sharing job (``times`` each, as a retry would), in order, each
    in a savepoint as the runner's transaction. ``keep_transient``: a try that fails for now
    is rolled back and left queued (else it raises)."""
    from farmgate.jobs.errors import TransientJobError

    outcomes: list[Any] = []
    while True:
        rows = list(
            session.scalars(
                select(OutboxJob)
                .where(
                    OutboxJob.job.startswith("payments.share"),  # type: ignore[attr-defined]
                    OutboxJob.status == OutboxStatus.PENDING,
                )
                .order_by(OutboxJob.id)
            )
        )
        if not rows:
            return outcomes
        for row in rows:
            spec = registry.get(row.job)
            assert spec is not None
            for _ in range(times):
                nested = session.begin_nested()
                try:
                    outcomes.append(spec.body(session, row.args))
                except TransientJobError:
                    nested.rollback()
                    if not keep_transient:
                        raise
                    return [*outcomes, "transient"]
                nested.commit()
            row.status = OutboxStatus.DONE
            session.flush()


def finish_refunds(session: Session, order: Order, staff: Account) -> list[Refund]:
    """Every refund of ``order`` still under way is answered by the provider and, for cash,
    handed back at the station; returns all the order's refunds."""
    rows = list(session.query(Refund).filter(Refund.order_id == order.id).order_by(Refund.id))
    for row in rows:
        if row.status == RefundStatus.REQUESTED:
            payment_tasks.refund(session, {"refund_id": row.id})  # type: ignore[typeddict-item]
            session.flush()
        if row.status == RefundStatus.PENDING_CASH:
            payments.cash_returned(session, row, staff)
    session.flush()
    return rows
