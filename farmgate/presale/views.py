"""What pages show of a pre-sale's orders: the desk's queue (who was served, in what order)
and, for a buyer, how much of a refunded order has come back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk
from farmgate.models import Order, OrderStatus, Presale, PresaleOrder, Refund, RefundStatus

OUTCOMES = {"kept": "够发，按付款先后保留", "refunded": "不够发，已自动退款"}


@dataclass(frozen=True)
class SaleOrder:
    number: str
    quantity: int
    paid_at: datetime | None  # the deposit's (or the full payment's) arrival: the queue order
    outcome: str  # what the harvest decided, in words ("" before it)
    status: str  # the order's status label
    refunded_fen: int  # refunds completed
    refunding_fen: int  # refunds still on their way


def orders(session: Session, presale: Presale) -> list[SaleOrder]:
    """The pre-sale's orders in the order they are served: first paid first (unpaid last)."""
    rows = session.execute(
        select(PresaleOrder, Order)
        .join(Order, col(Order.id) == PresaleOrder.order_id)
        .where(col(PresaleOrder.presale_id) == presale.id)
        .order_by(col(PresaleOrder.deposit_paid_at).is_(None), col(PresaleOrder.deposit_paid_at))
        .order_by(col(PresaleOrder.id))
    ).all()
    sums = refund_sums(session, [pk(order) for _, order in rows])
    return [
        SaleOrder(
            number=order.number,
            quantity=part.quantity,
            paid_at=part.deposit_paid_at,
            outcome=OUTCOMES.get(part.outcome, ""),
            status=OrderStatus(order.status).label,
            refunded_fen=sums.get(pk(order), (0, 0))[0],
            refunding_fen=sums.get(pk(order), (0, 0))[1],
        )
        for part, order in rows
    ]


def refund_sums(session: Session, order_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per order: refunds completed, and refunds still on their way (failed ones left out)."""
    sums: dict[int, tuple[int, int]] = {}
    if not order_ids:
        return sums
    for order_id, status, amount in session.execute(
        select(col(Refund.order_id), col(Refund.status), func.sum(Refund.amount_fen))
        .where(col(Refund.order_id).in_(order_ids), col(Refund.status) != RefundStatus.FAILED)
        .group_by(col(Refund.order_id), col(Refund.status))
    ):
        done, going = sums.get(order_id, (0, 0))
        if status == RefundStatus.SUCCEEDED:
            done += int(amount)
        else:
            going += int(amount)
        sums[order_id] = (done, going)
    return sums
