"""Random sequences of checkouts, payments, refunds, deliveries, settlement and payouts, with a
pre-sale (deposits, a harvest that may fall short, balances, a missed deadline) alongside: every
ledger invariant holds after every step (farmgate/ledger/checks.py), on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from farmgate.config import settings as farmgate_settings
from farmgate.db import utcnow
from farmgate.errors import ValidationFailed
from farmgate.ledger import checks, payouts, settlement
from farmgate.models import (
    Account,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderStatus,
    Presale,
    PresaleStatus,
    Refund,
    RefundStatus,
    Role,
)
from farmgate.payments import service as payments
from farmgate.presale import service as presale
from tests.support import desk
from tests.support import factories as f
from tests.support.ledger import complete, finish_refunds, post_pending, refund_part, run_sharing
from tests.support.presale import buy, cashier, open_presale

STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "checkout",
                "pay",
                "refund",
                "deliver",
                "settle",
                "payout",
                "rerun",
                *["presale"] * 3,  # one pre-sale, moved on a step at a time (_presale_step)
            ]
        ),
        st.integers(min_value=0, max_value=10_000),
    ),
    min_size=1,
    max_size=16,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_every_invariant_after_every_step(
    session: Session, monkeypatch: pytest.MonkeyPatch, steps: list[tuple[str, int]]
) -> None:
    monkeypatch.setattr(farmgate_settings, "commission_bp", {"default": 300})
    nested = session.begin_nested()  # each example starts from the same empty shop
    try:
        _run(session, steps)
    finally:
        nested.rollback()


def _run(session: Session, steps: list[tuple[str, int]]) -> None:
    a = desk.shop(session)
    b = desk.shop(session, "别家合作社", lot="OTHER1")
    for shop in (a, b):
        shop.sku.stock = 10_000
    admin = f.create_account(session, role=Role.ADMIN)
    orders: list[Order] = []
    pre = desk.shop(session, "预售合作社", lot="PRE1")  # a deposit pre-sale, made when first used
    sale = None
    pre_orders: list[Order] = []
    clock = utcnow()
    for action, n in steps:
        if action == "presale":
            if sale is None:
                sale = open_presale(session, pre, cap=10_000, deposit_fen=500 + n % 3000)
            _presale_step(session, n, pre, sale, pre_orders, admin)
        elif action == "refund" and pre_orders and n % 3 == 0:
            _presale_refund(session, pre_orders[n % len(pre_orders)], n, admin)
        elif action == "deliver" and n % 2 and (ready := _packable(session, pre_orders)):
            complete(session, ready[n % len(ready)])
        elif action == "checkout":
            skus = [(a.sku,), (b.sku,), (a.sku, b.sku)][n % 3]
            orders.append(desk.order(session, *skus, paid=n % 4 != 0))
        elif action == "pay" and orders:
            order = orders[n % len(orders)]
            if order.status == OrderStatus.PENDING_PAYMENT:
                payments.confirm_cash(
                    session,
                    order,
                    receipt_no=f"P-{order.id}",
                    amount_fen=order.total_fen,
                    staff=admin,
                )
        elif action == "refund" and orders:
            order = orders[n % len(orders)]
            if order.status in (OrderStatus.PAID, OrderStatus.FULFILLING):
                owner = (
                    a.owner
                    if any(p.cooperative_id == a.coop.id for p in _parts(session, order))
                    else b.owner
                )
                refund_part(session, order, owner, admin, None if n % 2 else 1 + n % 500)
        elif action == "deliver" and orders:
            order = orders[n % len(orders)]
            if order.status in (OrderStatus.PAID, OrderStatus.FULFILLING):
                complete(session, order)
        elif action == "settle":
            clock += timedelta(days=1 + n % (farmgate_settings.settlement_days + 2))
            post_pending(session)
            settlement.settle_due(session, clock)
        elif action == "payout":
            shop = (a, b)[n % 2]
            available = settlement.available_fen(session, shop.coop.id)
            amount = 1 + n % max(1, available + 200)
            if amount <= available:
                payouts.record(session, admin, shop.coop.id, amount, bank_ref=f"B{n}")
            else:
                with pytest.raises(ValidationFailed):
                    payouts.record(session, admin, shop.coop.id, amount, bank_ref=f"B{n}")
        post_pending(session, times=2 if action == "rerun" else 1)
        session.flush()
        assert checks.all_problems(session) == [], (action, n)


def _presale_step(
    session: Session, n: int, shop: desk.Shop, sale: Presale, orders: list[Order], admin: Account
) -> None:
    """The pre-sale's next step: while open, a buyer pays a deposit (or leaves it unpaid) or,
    once something is sold, the harvest is recorded, often a few units short; once harvested,
    a buyer pays the balance (or only starts to) or the deadline passes. The refunds the
    harvest or the deadline decide are completed."""
    if sale.status == PresaleStatus.OPEN:
        sold = sum(o.items_fen for o in orders if o.status == OrderStatus.PAID)
        sold //= shop.sku.price_fen
        if sold and n % 3 == 0:
            units = max(0, sold - n % 4)
            presale.record_harvest(session, shop.owner, sale.id, shop.lot.id, units)  # type: ignore[arg-type]
        else:
            orders.append(buy(session, shop, 1 + n % 3, pay=n % 5 != 0))
    elif sale.status == PresaleStatus.HARVESTED:
        owing = [o for o in orders if any(p.balance_open for p in presale.of_order(session, o))]
        if owing and n % 6:
            order = owing[n % len(owing)]
            intent = presale.pay_balance(session, order, "cash", client_ip="127.0.0.1")
            if n % 7:  # else the buyer only starts to pay (the deadline may come first)
                cashier(session, order, intent.amount_fen)
        else:
            sale.balance_due = utcnow() - timedelta(seconds=1)
            session.add(sale)
            presale.close_overdue(session, shop.owner, sale.id)  # type: ignore[arg-type]
    for order in orders:
        finish_refunds(session, order, admin)


def _presale_refund(session: Session, order: Order, n: int, admin: Account) -> None:
    """The console refunds part of a paid pre-sale order (its deposit, or its first payment)."""
    if order.status != OrderStatus.PAID:
        return
    intent = payments.paid_intent(session, order)
    refunded = sum(
        r.amount_fen
        for r in session.query(Refund).filter(
            Refund.intent_id == intent.id, Refund.status != RefundStatus.FAILED
        )
    )
    amount = min(1 + n % 500, intent.amount_fen - refunded)
    if amount > 0:
        payments.approve_refund(session, order, amount, "控制台部分退款")
        finish_refunds(session, order, admin)


def _packable(session: Session, orders: list[Order]) -> list[Order]:
    """Pre-sale orders ready to pack (kept, balance paid): the only ones that can be sent."""
    return [
        order
        for order in orders
        if order.status == OrderStatus.PAID
        and session.query(Fulfilment)
        .filter(Fulfilment.order_id == order.id, Fulfilment.status == FulfilmentStatus.TO_PACK)
        .first()
        is not None
    ]


def _parts(session: Session, order: Order) -> list:  # type: ignore[type-arg]
    from farmgate.ledger.posting import parts

    return parts(session, order)


SHARING_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["wechat", "refund", "deliver", "settle", "share", "payout", "fault"]),
        st.integers(min_value=0, max_value=10_000),
    ),
    min_size=1,
    max_size=10,
)
SHARING_FAULTS = ["share_receiver_closed", "share_ratio_exceeded", "share_processing", "error_500"]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=SHARING_STEPS)
@example(steps=[("wechat", 0), ("deliver", 0), ("settle", 0), ("share", 0)])
@example(steps=[("wechat", 2), ("deliver", 0), ("settle", 0), ("refund", 7), ("payout", 1)])
@example(steps=[("fault", 0), ("wechat", 2), ("deliver", 0), ("settle", 0), ("share", 1)])
@example(steps=[("fault", 2), ("fault", 3), ("wechat", 0), ("deliver", 0), ("settle", 0)])
@example(steps=[("fault", 1), ("wechat", 1), ("deliver", 0), ("settle", 0), ("refund", 3)])
def test_every_invariant_with_profit_sharing(
    session: Session, pay_sim: Any, monkeypatch: pytest.MonkeyPatch, steps: list[tuple[str, int]]
) -> None:
    """WeChat Pay v3 payments frozen for sharing, shares (with faults), refunds returned,
    bank payouts: the ledger's invariants, and the sharing cap, hold after every step."""
    from tests.support.billing import use_simulator

    use_simulator(monkeypatch, pay_sim, "v3")
    monkeypatch.setattr(farmgate_settings, "profit_sharing", True)
    monkeypatch.setattr(farmgate_settings, "commission_bp", {"default": 300})
    pay_sim.state.faults.clear()
    nested = session.begin_nested()
    try:
        _run_sharing(session, pay_sim, steps)
    finally:
        nested.rollback()
        pay_sim.state.faults.clear()


def _run_sharing(session: Session, sim: Any, steps: list[tuple[str, int]]) -> None:
    from farmgate.payments import providers, sharing
    from farmgate.payments import tasks as payment_tasks

    a = desk.shop(session)
    b = desk.shop(session, "别家合作社", lot="OTHER1")
    admin = f.create_account(session, role=Role.ADMIN)
    for shop, account in ((a, "1900001111"), (b, "1900002222")):
        shop.sku.stock = 10_000
        sharing.set_receiver(session, admin, shop.coop.id, "MERCHANT_ID", account, shop.coop.name)
    orders: list[Order] = []
    faults: list[str] = []
    clock = utcnow()
    for action, n in steps:
        if action == "wechat":
            skus = [(a.sku,), (b.sku,), (a.sku, b.sku)][n % 3]
            order = desk.order(session, *skus, paid=False, channel="native")
            intent = payments.create_intent(session, order, "native", client_ip="127.0.0.1")
            sim.pay(intent.out_trade_no)
            answer = providers.provider("wechat_v3").query(intent.out_trade_no)
            payments.record_provider_paid(session, intent, answer, "test")
            orders.append(order)
        elif action == "refund" and orders:
            order = orders[n % len(orders)]
            if order.status in (OrderStatus.PAID, OrderStatus.COMPLETED):
                intent = payments.paid_intent(session, order)
                left = intent.amount_fen - sum(
                    r.amount_fen for r in session.query(Refund).filter_by(intent_id=intent.id)
                )
                if left > 0:
                    refund = payments.request_refund(
                        session, order, intent, 1 + n % min(left, 500), "坏了"
                    )
                    payment_tasks.refund(session, {"refund_id": refund.id})
        elif action == "deliver":
            for order in orders[n % 2 :]:  # all (or all but the first) paid orders
                if order.status == OrderStatus.PAID:
                    complete(session, order)
        elif action in ("settle", "share"):
            if action == "settle":
                clock += timedelta(days=farmgate_settings.settlement_days + 1 + n % 3)
                post_pending(session)
                settlement.settle_due(session, clock)
            post_pending(session)
            sim.state.faults[:] = faults  # only the sharing calls meet the injected faults
            faults.clear()
            run_sharing(session, times=1 + n % 2, keep_transient=True)
            sim.state.faults.clear()  # an outage passes; a job left queued runs next time
        elif action == "fault":
            faults.append(SHARING_FAULTS[n % len(SHARING_FAULTS)])
        elif action == "payout":
            shop = (a, b)[n % 2]
            available = settlement.available_fen(session, shop.coop.id)
            if available > 0:
                payouts.record(session, admin, shop.coop.id, 1 + n % available, bank_ref=f"B{n}")
        post_pending(session)
        session.flush()
        assert checks.all_problems(session) == [], (action, n)
