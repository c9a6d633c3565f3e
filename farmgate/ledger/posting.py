"""Posting balanced transactions, once per event, and what each money event posts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import pk, utcnow
from farmgate.ledger import accounts, commission
from farmgate.models import (
    Cooperative,
    Fulfilment,
    IntentStatus,
    LedgerEntry,
    LedgerTxn,
    Order,
    OrderLine,
    PaymentIntent,
    Product,
    Refund,
    RefundRequest,
    RefundStatus,
    Township,
)


class Unbalanced(ValueError):
    """A transaction whose entries do not sum to zero: a bug, never posted."""


@dataclass(frozen=True)
class Line:
    account: str
    amount_fen: int  # debit > 0, credit < 0
    kind: str
    cooperative_id: int | None = None
    order_id: int | None = None


def posted(session: Session, key: str) -> LedgerTxn | None:
    return session.scalars(select(LedgerTxn).where(col(LedgerTxn.key) == key)).first()


def post(
    session: Session,
    key: str,
    kind: str,
    lines: list[Line],
    *,
    occurred_at: datetime | None = None,
    order_id: int | None = None,
    memo: str = "",
) -> LedgerTxn | None:
    """Post ``lines`` as one transaction keyed ``key``; None when that event is posted already.

    The key is unique in the table, so two runs racing each other post once: the loser's
    flush fails and its job, retried, finds the winner's transaction here.
    """
    if posted(session, key) is not None:
        return None
    lines = [line for line in lines if line.amount_fen]
    if sum(line.amount_fen for line in lines) != 0:
        raise Unbalanced(f"{key}: entries sum to {sum(x.amount_fen for x in lines)}")
    when = occurred_at or utcnow()
    txn = LedgerTxn(key=key, kind=kind, occurred_at=when, order_id=order_id, memo=memo[:200])
    session.add(txn)
    session.flush()
    session.add_all(
        LedgerEntry(
            txn_id=pk(txn),
            account=line.account,
            amount_fen=line.amount_fen,
            kind=line.kind,
            cooperative_id=line.cooperative_id,
            order_id=line.order_id if line.order_id is not None else order_id,
            occurred_at=when,
        )
        for line in lines
    )
    session.flush()
    return txn


# --- buyer payments ------------------------------------------------------------------------


def _paid_provider(session: Session, order: Order) -> str | None:
    return session.scalars(
        select(col(PaymentIntent.provider)).where(
            col(PaymentIntent.order_id) == order.id,
            col(PaymentIntent.status) == IntentStatus.PAID,
        )
    ).first()


def _part_commission(session: Session, part: Fulfilment) -> int:
    """The commission on one cooperative's goods in an order: per line, at its rate."""
    if not settings.commission_bp:
        return 0  # none configured (the default): no need to look at the lines
    rows = session.execute(
        select(col(OrderLine.line_total_fen), col(Product.category), col(Township.code))
        .join(Product, col(Product.id) == OrderLine.product_id)
        .join(Cooperative, col(Cooperative.id) == part.cooperative_id)
        .join(Township, col(Township.id) == Cooperative.township_id)
        .where(col(OrderLine.fulfilment_id) == part.id)
    ).all()
    return sum(
        commission.of(total, commission.rate_bp(part.cooperative_id, category, code))
        for total, category, code in rows
    )


def parts(session: Session, order: Order) -> list[Fulfilment]:
    return list(
        session.scalars(
            select(Fulfilment)
            .where(col(Fulfilment.order_id) == order.id)
            .order_by(col(Fulfilment.id))
        )
    )


def order_paid(session: Session, order: Order) -> LedgerTxn | None:
    """The buyer's payment: into the provider's clearing (or station cash), owed to each
    cooperative for its goods and shipping, less the platform's commission."""
    oid = pk(order)
    lines = [Line(accounts.payment(_paid_provider(session, order)), order.total_fen, "payment")]
    for part in parts(session, order):
        coop = part.cooperative_id
        pending = accounts.cooperative(coop, accounts.PENDING)
        fee = _part_commission(session, part)
        lines += [
            Line(pending, -part.items_fen, "goods", coop),
            Line(pending, -part.shipping_fen, "shipping", coop),
            Line(pending, fee, "commission", coop),
            Line(accounts.COMMISSION, -fee, "commission"),
        ]
    return post(
        session,
        f"order_paid:{oid}",
        "order_paid",
        lines,
        occurred_at=order.paid_at,
        order_id=oid,
        memo=f"订单 {order.number} 付款",
    )


def late_payment(session: Session, intent: PaymentIntent) -> LedgerTxn | None:
    """Paid after the order was cancelled: the money is held aside until refunded."""
    return post(
        session,
        f"late_payment:{pk(intent)}",
        "late_payment",
        [
            Line(accounts.payment(intent.provider), intent.amount_fen, "payment"),
            Line(accounts.UNAPPLIED, -intent.amount_fen, "payment"),
        ],
        occurred_at=intent.paid_at,
        order_id=intent.order_id,
        memo=f"订单取消后到账 {intent.out_trade_no}",
    )


# --- refunds -------------------------------------------------------------------------------


def _shares(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder: the shares add up)."""
    whole = sum(weights)
    if whole <= 0:
        return [0] * len(weights)
    base = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in order[: total - sum(base)]:
        base[i] += 1
    return base


def is_settled(session: Session, order_id: int) -> bool:
    return posted(session, f"settle:{order_id}") is not None


def _paid_commission(session: Session, order_id: int, cooperative_id: int) -> int:
    """The commission the order's payment charged this cooperative (rates may change since)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
            .join(LedgerTxn, col(LedgerTxn.id) == LedgerEntry.txn_id)
            .where(
                col(LedgerTxn.key) == f"order_paid:{order_id}",
                col(LedgerEntry.cooperative_id) == cooperative_id,
                col(LedgerEntry.kind) == "commission",
            )
        )
        or 0
    )


def refund(session: Session, row: Refund) -> LedgerTxn | None:
    """A completed refund: out of the clearing account (or station cash); taken back from the
    cooperative whose part it was for (an order-wide refund from each part in proportion),
    with its share of the commission given back."""
    if row.status != RefundStatus.SUCCEEDED:
        return None
    order = session.get(Order, row.order_id)
    intent = session.get(PaymentIntent, row.intent_id)
    assert order is not None and intent is not None
    lines = [Line(accounts.payment(intent.provider), -row.amount_fen, "refund")]
    if order.paid_at is None:  # a payment that arrived after the order was cancelled
        lines.append(Line(accounts.UNAPPLIED, row.amount_fen, "refund"))
    else:
        order_paid(session, order)  # posted first, whatever order the jobs run in
        everyone = parts(session, order)
        asked = session.scalars(
            select(col(RefundRequest.fulfilment_id)).where(col(RefundRequest.refund_id) == row.id)
        ).first()
        chosen = [p for p in everyone if p.id == asked] or everyone
        weights = [p.items_fen + p.shipping_fen for p in chosen]
        part_name = accounts.AVAILABLE if is_settled(session, pk(order)) else accounts.PENDING
        for part, share in zip(chosen, _shares(row.amount_fen, weights), strict=True):
            coop = part.cooperative_id
            account = accounts.cooperative(coop, part_name)
            gross = part.items_fen + part.shipping_fen
            back = _paid_commission(session, pk(order), coop) * share // gross if gross else 0
            lines += [
                Line(account, share, "refund", coop),
                Line(account, -back, "commission", coop),
                Line(accounts.COMMISSION, back, "commission"),
            ]
    return post(
        session,
        f"refund:{pk(row)}",
        "refund",
        lines,
        occurred_at=row.completed_at,
        order_id=pk(order),
        memo=f"订单 {order.number} 退款 {row.out_refund_no}",
    )


# --- balances ------------------------------------------------------------------------------


def balance(session: Session, account: str, *, order_id: int | None = None) -> int:
    """The sum of an account's entries (debits positive), optionally for one order."""
    query = select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
        col(LedgerEntry.account) == account
    )
    if order_id is not None:
        query = query.where(col(LedgerEntry.order_id) == order_id)
    return int(session.scalar(query) or 0)
