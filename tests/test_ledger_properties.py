"""Random sequences of checkouts, payments, refunds, deliveries, settlement and payouts: every
ledger invariant holds after every step (farmgate/ledger/checks.py), on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from farmgate.config import settings as farmgate_settings
from farmgate.db import utcnow
from farmgate.errors import ValidationFailed
from farmgate.ledger import checks, payouts, settlement
from farmgate.models import Order, OrderStatus, Role
from farmgate.payments import service as payments
from tests.support import desk
from tests.support import factories as f
from tests.support.ledger import complete, post_pending, refund_part

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["checkout", "pay", "refund", "deliver", "settle", "payout", "rerun"]),
        st.integers(min_value=0, max_value=10_000),
    ),
    min_size=1,
    max_size=12,
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
    clock = utcnow()
    for action, n in steps:
        if action == "checkout":
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


def _parts(session: Session, order: Order) -> list:  # type: ignore[type-arg]
    from farmgate.ledger.posting import parts

    return parts(session, order)
