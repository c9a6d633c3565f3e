"""The ledger's invariants, checked by the tests after every step (and usable on a live
database): each returns a list of human-readable violations, empty when all is well."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import pk
from farmgate.ledger import accounts, deposits
from farmgate.models import (
    Fulfilment,
    IntentStatus,
    LedgerEntry,
    LedgerTxn,
    Order,
    OrderLine,
    OrderStatus,
    PaymentIntent,
    PaymentNotification,
    PresaleOrder,
    ProfitShare,
    Refund,
    RefundStatus,
)


def balanced(session: Session) -> list[str]:
    """Every transaction, and so the whole ledger, sums to zero."""
    problems = [
        f"transaction {txn} sums to {total}"
        for txn, total in session.execute(
            select(col(LedgerEntry.txn_id), func.sum(LedgerEntry.amount_fen))
            .group_by(col(LedgerEntry.txn_id))
            .having(func.sum(LedgerEntry.amount_fen) != 0)
        )
    ]
    total = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)))
    if total:
        problems.append(f"the ledger sums to {total}")
    return problems


def _late(session: Session) -> set[tuple[str, str]]:
    """Payments that arrived after their order was cancelled (never applied to it)."""
    return {
        (provider, transaction_id)
        for provider, transaction_id in session.execute(
            select(
                col(PaymentNotification.provider), col(PaymentNotification.transaction_id)
            ).where(col(PaymentNotification.outcome) == "late")
        )
    }


def orders_add_up(session: Session) -> list[str]:
    """Per paid order: the lines plus shipping are the total, which is what its payments
    brought and what the ledger received (once per payment) once it is fully paid; a pre-sale
    order with only its deposit paid brought, and the ledger received, the total less the
    balance still owed."""
    problems = []
    lines: dict[int, int] = dict(
        session.execute(
            select(col(OrderLine.order_id), func.sum(OrderLine.line_total_fen)).group_by(
                col(OrderLine.order_id)
            )
        ).all()
    )
    shipping: dict[int, int] = dict(
        session.execute(
            select(col(Fulfilment.order_id), func.sum(Fulfilment.shipping_fen)).group_by(
                col(Fulfilment.order_id)
            )
        ).all()
    )
    received = {
        order_id: int(amount)
        for order_id, amount in session.execute(
            select(col(LedgerTxn.order_id), func.sum(LedgerEntry.amount_fen))
            .join(LedgerTxn, col(LedgerTxn.id) == LedgerEntry.txn_id)
            .where(
                col(LedgerTxn.kind).in_(["order_paid", deposits.BALANCE_KIND]),
                col(LedgerEntry.kind) == "payment",
            )
            .group_by(col(LedgerTxn.order_id))
        )
    }
    late = _late(session)
    for order in session.scalars(select(Order).where(col(Order.paid_at).is_not(None))):
        oid = pk(order)
        if int(lines.get(oid, 0)) + int(shipping.get(oid, 0)) != order.total_fen:
            problems.append(f"order {order.number}: lines + shipping != total {order.total_fen}")
        owed = deposits.balance_owed_fen(session, order)
        whole = not owed or bool(deposits.applied_balances(session, order))
        expected = order.total_fen if whole else order.total_fen - owed
        applied = [
            intent.amount_fen
            for intent in session.scalars(
                select(PaymentIntent).where(
                    col(PaymentIntent.order_id) == oid,
                    col(PaymentIntent.status) == IntentStatus.PAID,
                )
            )
            if (intent.provider, intent.transaction_id) not in late
        ]
        if applied and sum(applied) != expected:
            problems.append(f"order {order.number}: paid {sum(applied)} != {expected}")
        if oid in received and received[oid] != expected:
            problems.append(f"order {order.number}: ledger received {received[oid]} != {expected}")
    return problems


def deposits_held(session: Session) -> list[str]:
    """A pre-sale deposit is held for its buyer only while the balance is owed: never below
    zero, nothing of the order owed to a cooperative meanwhile, and nothing left held once
    the balance is in or the order is refunded or cancelled."""
    problems = []
    held = session.execute(
        select(col(LedgerEntry.order_id), func.sum(LedgerEntry.amount_fen))
        .where(col(LedgerEntry.account) == accounts.PRESALE_DEPOSITS)
        .group_by(col(LedgerEntry.order_id))
    ).all()
    for order_id, total in held:
        order = session.get(Order, order_id)
        amount = -int(total)
        if order is None or amount < 0:
            problems.append(f"order {order_id}: deposits held {amount}")
            continue
        if deposits.balance_posted(session, pk(order)):
            if amount:
                problems.append(f"order {order.number}: {amount} still held after the balance")
            continue
        if amount and order.status in (OrderStatus.REFUNDED, OrderStatus.CANCELLED):
            problems.append(f"order {order.number}: {amount} held after it was {order.status}")
        owed_to_coops = session.scalar(
            select(func.count(col(LedgerEntry.id))).where(
                col(LedgerEntry.order_id) == order_id,
                col(LedgerEntry.cooperative_id).is_not(None),
            )
        )
        if owed_to_coops:
            problems.append(f"order {order.number}: owed to a cooperative before its balance")
    return problems


def refunds_within_payment(session: Session) -> list[str]:
    """No payment is refunded more than it brought in."""
    refunded = session.execute(
        select(col(Refund.intent_id), func.sum(Refund.amount_fen))
        .where(col(Refund.status) != RefundStatus.FAILED)
        .group_by(col(Refund.intent_id))
    ).all()
    problems = []
    for intent_id, total in refunded:
        intent = session.get(PaymentIntent, intent_id)
        if intent is None or int(total) > intent.amount_fen:
            problems.append(f"intent {intent_id}: refunds {total} exceed what was paid")
    return problems


def nothing_overpaid(session: Session) -> list[str]:
    """No payout was larger than what was available to its cooperative when it was made.

    (A refund after settlement may later take the balance below zero: money the cooperative
    owes back, not a payout too many.)"""
    problems = []
    payouts = session.execute(
        select(col(LedgerEntry.txn_id), col(LedgerEntry.account), col(LedgerEntry.amount_fen))
        .where(
            col(LedgerEntry.kind) == "payout",
            col(LedgerEntry.account).endswith(":" + accounts.AVAILABLE),
        )
        .order_by(col(LedgerEntry.txn_id))
    ).all()
    for txn_id, account, amount in payouts:
        before = -int(
            session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
                    col(LedgerEntry.account) == account, col(LedgerEntry.txn_id) < txn_id
                )
            )
            or 0
        )
        if amount > before:
            problems.append(f"payout {txn_id} of {amount} from {account} with {before} available")
    return problems


def posted_once(session: Session) -> list[str]:
    """Every paid order's payment, and every pre-sale balance applied, is in the ledger
    exactly once."""
    paid = set(session.scalars(select(col(Order.id)).where(col(Order.paid_at).is_not(None))))
    counts: dict[int | None, int] = dict(
        session.execute(
            select(col(LedgerTxn.order_id), func.count())
            .where(col(LedgerTxn.kind) == "order_paid")
            .group_by(col(LedgerTxn.order_id))
        ).all()
    )
    problems = [f"order {o} posted {n} times" for o, n in counts.items() if n != 1]
    problems += [
        f"order {o} paid but not posted"
        for o in sorted(o for o in paid - set(counts) if o is not None)
    ]
    for part in session.scalars(
        select(PresaleOrder).where(col(PresaleOrder.balance_paid_at).is_not(None))
    ):
        intent = session.scalars(
            select(PaymentIntent).where(col(PaymentIntent.out_trade_no) == part.balance_trade_no)
        ).first()
        key = f"{deposits.BALANCE_KIND}:{intent.id if intent else None}"
        if (
            intent is None
            or session.scalars(select(col(LedgerTxn.id)).where(col(LedgerTxn.key) == key)).first()
            is None
        ):
            problems.append(f"order {part.order_id}: balance paid but not posted")
    return problems


def shares_within_cap(session: Session) -> list[str]:
    """No payment shared (分账) more than the maximum ratio of it, less what came back."""
    live = case(
        (col(ProfitShare.status).in_(("closed", "failed")), 0),
        else_=ProfitShare.amount_fen - ProfitShare.returned_fen,
    )
    problems = []
    for intent_id, shared in session.execute(
        select(col(ProfitShare.intent_id), func.sum(live)).group_by(col(ProfitShare.intent_id))
    ):
        intent = session.get(PaymentIntent, intent_id)
        cap = intent.amount_fen * settings.profit_sharing_max_bp // 10_000 if intent else 0
        if int(shared or 0) > cap:
            problems.append(f"intent {intent_id}: shared {shared} over the cap {cap}")
    return problems


def all_problems(session: Session) -> list[str]:
    return [
        *balanced(session),
        *orders_add_up(session),
        *deposits_held(session),
        *refunds_within_payment(session),
        *nothing_overpaid(session),
        *posted_once(session),
        *shares_within_cap(session),
    ]
