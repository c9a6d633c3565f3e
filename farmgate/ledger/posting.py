"""Posting balanced transactions, once per event, and what each money event posts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import pk, run, table_of, utcnow
from farmgate.ledger import accounts, commission, deposits
from farmgate.models import (
    Cooperative,
    Fulfilment,
    IntentStatus,
    LedgerEntry,
    LedgerTxn,
    Order,
    OrderLine,
    PaymentIntent,
    PaymentNotification,
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


_TXN = table_of(LedgerTxn)
_ENTRY = table_of(LedgerEntry)
# Built once: a transaction is added unless its key is posted already, in one statement (the
# key is unique; a concurrent poster's uncommitted row is waited for, then skipped).
_ADD_TXN = {
    "postgresql": pg_insert(_TXN)
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(_TXN.c.id),
    "sqlite": sqlite_insert(_TXN)
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(_TXN.c.id),
}
_ADD_ENTRIES = insert(_ENTRY)


def post(
    session: Session,
    key: str,
    kind: str,
    lines: list[Line],
    *,
    occurred_at: datetime | None = None,
    order_id: int | None = None,
    memo: str = "",
) -> int | None:
    """Post ``lines`` as one transaction keyed ``key``; its id, or None when that event is
    posted already.

    The key is unique in the table, so two runs racing each other post once: the second
    waits for the first to commit and finds its transaction.
    """
    lines = [line for line in lines if line.amount_fen]
    if sum(line.amount_fen for line in lines) != 0:
        if posted(session, key) is not None:
            return None
        raise Unbalanced(f"{key}: entries sum to {sum(x.amount_fen for x in lines)}")
    when = occurred_at or utcnow()
    txn_id = run(
        session,
        _ADD_TXN[session.get_bind().dialect.name],
        {
            "key": key,
            "kind": kind,
            "occurred_at": when,
            "posted_at": utcnow(),
            "order_id": order_id,
            "memo": memo[:200],
        },
    ).scalar()
    if txn_id is None:
        return None
    if lines:
        run(
            session,
            _ADD_ENTRIES,
            [
                {
                    "txn_id": txn_id,
                    "account": line.account,
                    "amount_fen": line.amount_fen,
                    "kind": line.kind,
                    "cooperative_id": line.cooperative_id,
                    "order_id": line.order_id if line.order_id is not None else order_id,
                    "occurred_at": when,
                }
                for line in lines
            ],
        )
    return int(txn_id)


# --- buyer payments ------------------------------------------------------------------------


def _paid_provider_query(order_id: Any) -> Select[Any]:
    """The provider of the order's first paid intent (a pre-sale's deposit, or the whole)."""
    return (
        select(col(PaymentIntent.provider))
        .where(
            col(PaymentIntent.order_id) == order_id,
            col(PaymentIntent.status) == IntentStatus.PAID,
        )
        .order_by(col(PaymentIntent.id))
        .limit(1)
    )


def _paid_provider(session: Session, order: Order) -> str | None:
    return session.scalars(_paid_provider_query(pk(order))).first()


@dataclass(frozen=True)
class PaidFacts:
    """What ``order_paid`` reads besides the order: the balance a pre-sale still owes, the
    provider of the first payment, and the order's parts (``parts``)."""

    owed_fen: int
    provider: str | None
    parts: list[Fulfilment]


# Built once (bound parameter): every paid order's posting reads it.
_PAID_ORDER = (
    select(
        Order,
        Fulfilment,
        deposits.balance_owed_query(col(Order.id)).scalar_subquery(),
        _paid_provider_query(col(Order.id)).scalar_subquery(),
    )
    .outerjoin(Fulfilment, col(Fulfilment.order_id) == Order.id)
    .where(col(Order.id) == bindparam("order_id"))
    .order_by(col(Fulfilment.id))
    .with_for_update(of=Order)
    .execution_options(populate_existing=True)
)


def paid_order_for_update(session: Session, order_id: int) -> tuple[Order, PaidFacts] | None:
    """The order, locked, with what posting its payment needs, in one statement (a row per
    part)."""
    rows = session.execute(_PAID_ORDER, {"order_id": order_id}).all()
    if not rows:
        return None
    order, _, owed, provider = rows[0]
    return order, PaidFacts(int(owed or 0), provider, [p for _, p, _, _ in rows if p is not None])


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


def _owed_lines(
    session: Session, order: Order, known_parts: list[Fulfilment] | None = None
) -> list[Line]:
    """The order's full value owed to each cooperative for its goods and shipping, less the
    platform's commission (credits on their pending accounts)."""
    lines: list[Line] = []
    for part in parts(session, order) if known_parts is None else known_parts:
        coop = part.cooperative_id
        pending = accounts.cooperative(coop, accounts.PENDING)
        fee = _part_commission(session, part)
        lines += [
            Line(pending, -part.items_fen, "goods", coop),
            Line(pending, -part.shipping_fen, "shipping", coop),
            Line(pending, fee, "commission", coop),
            Line(accounts.COMMISSION, -fee, "commission"),
        ]
    return lines


def order_paid(session: Session, order: Order, facts: PaidFacts | None = None) -> int | None:
    """The buyer's payment: into the provider's clearing (or station cash), owed to each
    cooperative for its goods and shipping, less the platform's commission.

    A pre-sale order with a deposit posts what its first payment brought, the total less the
    balance still owed, and holds it for the buyer (``PRESALE_DEPOSITS``): nothing is owed to
    a cooperative until the balance arrives (``balance_paid``); a refund gives it back.
    """
    oid = pk(order)
    if facts is None:  # not read with the order (``paid_order_for_update``)
        owed_fen = deposits.balance_owed_fen(session, order)
        provider = _paid_provider(session, order)
        facts = PaidFacts(owed_fen, provider, [] if owed_fen else parts(session, order))
    owed = facts.owed_fen
    received = order.total_fen - owed
    lines = [Line(accounts.payment(facts.provider), received, "payment")]
    if owed:
        lines.append(Line(accounts.PRESALE_DEPOSITS, -received, "deposit"))
    else:
        lines += _owed_lines(session, order, facts.parts)
    return post(
        session,
        f"order_paid:{oid}",
        "order_paid",
        lines,
        occurred_at=order.paid_at,
        order_id=oid,
        memo=f"订单 {order.number} {'付定金' if owed else '付款'}",
    )


def balance_paid(session: Session, intent: PaymentIntent) -> int | None:
    """A pre-sale's balance arrived: it and the deposit held make the order whole, and its
    full value is now owed to the cooperatives, less commission.

    What was refunded out of the deposit before the balance came (a partial refund from the
    console) is taken back from the cooperatives here, as a refund would have been.
    """
    key = f"presale_balance:{pk(intent)}"
    if posted(session, key) is not None:
        return None
    order = session.get(Order, intent.order_id)
    assert order is not None
    oid = pk(order)
    order_paid(session, order)  # the deposit first, whatever order the jobs run in
    held = -balance(session, accounts.PRESALE_DEPOSITS, order_id=oid)
    refunded = order.total_fen - deposits.balance_owed_fen(session, order) - held
    owed = _owed_lines(session, order)
    lines = [
        Line(accounts.payment(intent.provider), intent.amount_fen, "payment"),
        Line(accounts.PRESALE_DEPOSITS, held, "deposit"),
        *owed,
    ]
    if refunded:
        charged: dict[int, int] = {}
        for line in owed:
            if line.kind == "commission" and line.cooperative_id is not None:
                charged[line.cooperative_id] = line.amount_fen
        lines += _refund_lines(session, order, parts(session, order), refunded, charged)
    return post(
        session,
        key,
        deposits.BALANCE_KIND,
        lines,
        occurred_at=intent.paid_at,
        order_id=oid,
        memo=f"订单 {order.number} 付尾款",
    )


def late_payment(session: Session, intent: PaymentIntent) -> int | None:
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


def _is_late(session: Session, intent: PaymentIntent) -> bool:
    """Whether this payment arrived after its order was cancelled or refunded (never applied)."""
    return (
        session.scalars(
            select(col(PaymentNotification.id)).where(
                col(PaymentNotification.provider) == intent.provider,
                col(PaymentNotification.transaction_id) == intent.transaction_id,
                col(PaymentNotification.outcome) == "late",
            )
        ).first()
        is not None
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
    """The commission the order's payment (or a pre-sale's balance) charged this cooperative
    (rates may change since)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
            .join(LedgerTxn, col(LedgerTxn.id) == LedgerEntry.txn_id)
            .where(
                col(LedgerTxn.order_id) == order_id,
                col(LedgerTxn.kind).in_(["order_paid", deposits.BALANCE_KIND]),
                col(LedgerEntry.cooperative_id) == cooperative_id,
                col(LedgerEntry.kind) == "commission",
            )
        )
        or 0
    )


def _refunded_before(session: Session, order_id: int, cooperative_id: int) -> int:
    """What the ledger has already taken back from this cooperative for the order."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
                col(LedgerEntry.order_id) == order_id,
                col(LedgerEntry.cooperative_id) == cooperative_id,
                col(LedgerEntry.kind) == "refund",
            )
        )
        or 0
    )


def _refund_lines(
    session: Session,
    order: Order,
    chosen: list[Fulfilment],
    amount_fen: int,
    charged: dict[int, int] | None = None,
) -> list[Line]:
    """``amount_fen`` taken back from the cooperatives of ``chosen`` parts (in proportion),
    each given back its share of the commission it was ``charged`` (default: as posted).

    The share is worked out on everything refunded to the part so far, so that refunds adding
    up to the whole part (a pre-sale's deposit and balance, say) give back the whole commission
    rather than one rounding-down each."""
    oid = pk(order)
    part_name = accounts.AVAILABLE if is_settled(session, oid) else accounts.PENDING
    weights = [p.items_fen + p.shipping_fen for p in chosen]
    lines: list[Line] = []
    for part, share in zip(chosen, _shares(amount_fen, weights), strict=True):
        coop = part.cooperative_id
        account = accounts.cooperative(coop, part_name)
        gross = part.items_fen + part.shipping_fen
        fee = charged.get(coop, 0) if charged is not None else _paid_commission(session, oid, coop)
        before = _refunded_before(session, oid, coop)
        back = (fee * (before + share) // gross - fee * before // gross) if gross else 0
        lines += [
            Line(account, share, "refund", coop),
            Line(account, -back, "commission", coop),
            Line(accounts.COMMISSION, back, "commission"),
        ]
    return lines


def refund(session: Session, row: Refund) -> int | None:
    """A completed refund: out of the clearing account (or station cash); taken back from the
    cooperative whose part it was for (an order-wide refund from each part in proportion),
    with its share of the commission given back. A pre-sale deposit refunded before its
    balance came is given back out of the deposits held; a payment that was never applied
    (it arrived after the order was cancelled) out of the unapplied money."""
    if row.status != RefundStatus.SUCCEEDED:
        return None
    order = session.get(Order, row.order_id)
    intent = session.get(PaymentIntent, row.intent_id)
    assert order is not None and intent is not None
    lines = [Line(accounts.payment(intent.provider), -row.amount_fen, "refund")]
    if order.paid_at is None or _is_late(session, intent):
        late_payment(session, intent)  # posted first, whatever order the jobs run in
        lines.append(Line(accounts.UNAPPLIED, row.amount_fen, "refund"))
    else:
        order_paid(session, order)  # posted first, whatever order the jobs run in
        for paid in deposits.applied_balances(session, order):
            balance_paid(session, paid)  # posted first, whatever order the jobs run in
        if deposits.balance_owed_fen(session, order) and not deposits.balance_posted(
            session, pk(order)
        ):
            lines.append(Line(accounts.PRESALE_DEPOSITS, row.amount_fen, "refund"))
        else:
            everyone = parts(session, order)
            asked = session.scalars(
                select(col(RefundRequest.fulfilment_id)).where(
                    col(RefundRequest.refund_id) == row.id
                )
            ).first()
            chosen = [p for p in everyone if p.id == asked] or everyone
            lines += _refund_lines(session, order, chosen, row.amount_fen)
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
