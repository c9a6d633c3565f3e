"""Pre-sale money in the ledger: a deposit is held for the buyer until the balance makes the
order whole; only then is the order's value owed to the cooperative; refunds come back out of
wherever the money sits. Account balances are checked after each step, with every invariant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.ledger import accounts, checks, posting, settlement
from farmgate.models import (
    LedgerEntry,
    LedgerTxn,
    Order,
    OrderStatus,
    PaymentIntent,
    Presale,
    Refund,
    RefundStatus,
    Role,
)
from farmgate.payments import service as payments
from farmgate.presale import service as presale
from tests.support import desk
from tests.support import factories as f
from tests.support.ledger import complete, finish_refunds, post_pending
from tests.support.presale import buy, cashier, open_presale

RATE_BP = 500  # 5 % commission, so that what the cooperative is owed is visibly "less commission"
DEPOSIT = 1000


@pytest.fixture(autouse=True)
def commission(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "commission_bp", {"default": RATE_BP})


def _fee(order: Order) -> int:
    return (order.items_fen * RATE_BP + 5_000) // 10_000


def _deposit(shop: desk.Shop, order: Order, quantity: int) -> int:
    """What the first payment of a deposit pre-sale brings: the total less the balance."""
    return order.total_fen - (shop.sku.price_fen - DEPOSIT) * quantity


def _held(session: Session, order: Order | None = None) -> int:
    """Deposits held for buyers (for one order, or in all)."""
    order_id = order.id if order else None
    return -posting.balance(session, accounts.PRESALE_DEPOSITS, order_id=order_id)


def _coop_entries(session: Session, order: Order) -> int:
    return len(
        session.scalars(
            select(LedgerEntry).where(
                col(LedgerEntry.order_id) == order.id, col(LedgerEntry.cooperative_id).is_not(None)
            )
        ).all()
    )


def _kinds(session: Session, order: Order) -> list[str]:
    return sorted(
        session.scalars(select(col(LedgerTxn.kind)).where(col(LedgerTxn.order_id) == order.id))
    )


def _refunds_done(session: Session, order: Order) -> list[Refund]:
    """The provider answers each refund of the order and the station hands the cash back."""
    return finish_refunds(session, order, f.create_account(session, role=Role.ADMIN))


def _pay_balance(session: Session, order: Order) -> PaymentIntent:
    intent = presale.pay_balance(session, order, "cash", client_ip="127.0.0.1")
    cashier(session, order, intent.amount_fen)
    session.flush()
    return intent


def _harvest(session: Session, shop: desk.Shop, sale: Presale, units: int) -> presale.HarvestResult:
    return presale.record_harvest(session, shop.owner, sale.id, shop.lot.id, units)  # type: ignore[arg-type]


def test_a_deposit_alone_is_held_for_the_buyer_and_owed_to_no_cooperative(
    session: Session,
) -> None:
    shop = desk.shop(session)
    open_presale(session, shop, cap=5, deposit_fen=DEPOSIT)
    order = buy(session, shop, 2)
    deposit = _deposit(shop, order, 2)
    assert 0 < deposit < order.total_fen
    assert post_pending(session, times=2) == 1
    assert posting.balance(session, accounts.STATION_CASH) == deposit  # what actually came
    assert _held(session, order) == deposit
    assert settlement.pending_fen(session, shop.coop.id) == 0  # not the order's full value
    assert posting.balance(session, accounts.COMMISSION) == 0
    assert _coop_entries(session, order) == 0
    assert _kinds(session, order) == ["order_paid"]
    assert checks.all_problems(session) == []


def test_the_balance_releases_the_deposit_and_the_whole_order_is_owed(session: Session) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=5, deposit_fen=DEPOSIT)
    order = buy(session, shop, 2)
    _harvest(session, shop, sale, 5)
    balance = _pay_balance(session, order)
    assert balance.amount_fen == (shop.sku.price_fen - DEPOSIT) * 2
    # The balance's job may run before the deposit's: the deposit is posted first, once.
    assert posting.balance_paid(session, balance) is not None
    assert post_pending(session, times=2) == 2
    assert posting.posted(session, f"order_paid:{order.id}") is not None
    assert posting.posted(session, f"presale_balance:{balance.id}") is not None
    assert _kinds(session, order) == ["order_paid", "presale_balance"]
    assert posting.balance(session, accounts.STATION_CASH) == order.total_fen
    assert _held(session) == 0
    fee = _fee(order)
    assert fee > 0
    assert settlement.pending_fen(session, shop.coop.id) == order.total_fen - fee
    assert -posting.balance(session, accounts.COMMISSION) == fee
    assert checks.all_problems(session) == []
    # Delivered, confirmed and due: the whole order is payable, once.
    complete(session, order)
    post_pending(session)
    settlement.settle_due(session, utcnow() + timedelta(days=settings.settlement_days + 1))
    assert settlement.available_fen(session, shop.coop.id) == order.total_fen - fee
    assert settlement.pending_fen(session, shop.coop.id) == 0
    assert checks.all_problems(session) == []


def test_a_missed_deadline_refunds_the_deposit_out_of_the_hold(session: Session) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=5, deposit_fen=DEPOSIT)
    order = buy(session, shop, 1)
    deposit = _deposit(shop, order, 1)
    _harvest(session, shop, sale, 5)
    sale.balance_due = utcnow() - timedelta(minutes=1)
    session.add(sale)
    assert presale.close_overdue(session, shop.owner, sale.id) == [order.number]  # type: ignore[arg-type]
    (refund,) = _refunds_done(session, order)
    assert refund.amount_fen == deposit and refund.status == RefundStatus.SUCCEEDED
    assert order.status == OrderStatus.REFUNDED
    post_pending(session, times=2)
    assert _kinds(session, order) == ["order_paid", "refund"]
    assert posting.balance(session, accounts.STATION_CASH) == 0  # handed back
    assert _held(session) == 0
    assert _coop_entries(session, order) == 0  # the cooperative was never owed it
    assert posting.balance(session, accounts.COMMISSION) == 0
    assert checks.all_problems(session) == []


def test_a_balance_arriving_after_the_deposit_was_refunded_goes_back_unapplied(
    session: Session,
) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=5, deposit_fen=DEPOSIT)
    order = buy(session, shop, 1)
    _harvest(session, shop, sale, 5)
    intent = presale.pay_balance(session, order, "cash", client_ip="127.0.0.1")
    sale.balance_due = utcnow() - timedelta(minutes=1)
    session.add(sale)
    presale.close_overdue(session, shop.owner, sale.id)  # type: ignore[arg-type]
    cashier(session, order, intent.amount_fen)  # the cash is brought in after all
    refunds = _refunds_done(session, order)
    assert sorted(r.amount_fen for r in refunds) == sorted(
        [_deposit(shop, order, 1), intent.amount_fen]
    )
    post_pending(session, times=2)
    assert posting.posted(session, f"presale_balance:{intent.id}") is None
    assert posting.posted(session, f"late_payment:{intent.id}") is not None
    assert posting.balance(session, accounts.STATION_CASH) == 0
    assert posting.balance(session, accounts.UNAPPLIED) == 0
    assert _held(session) == 0
    assert _coop_entries(session, order) == 0
    assert checks.all_problems(session) == []


def test_a_short_harvest_refunds_deposit_only_orders_out_of_the_hold(session: Session) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=6, deposit_fen=DEPOSIT)
    first, second, third = (buy(session, shop, 2) for _ in range(3))
    post_pending(session)
    assert _held(session) == 3 * _deposit(shop, first, 2)
    result = _harvest(session, shop, sale, 3)
    assert result.kept == [first.number]
    assert result.refunded == [second.number, third.number]
    for order in (second, third):
        (refund,) = _refunds_done(session, order)
        assert refund.amount_fen == _deposit(shop, order, 2)  # what was paid, never the total
        assert order.status == OrderStatus.REFUNDED
    post_pending(session)
    assert _held(session) == _deposit(shop, first, 2)  # only the kept order's deposit
    assert settlement.pending_fen(session, shop.coop.id) == 0
    assert checks.all_problems(session) == []
    _pay_balance(session, first)
    post_pending(session)
    assert _held(session) == 0
    assert posting.balance(session, accounts.STATION_CASH) == first.total_fen
    assert settlement.pending_fen(session, shop.coop.id) == first.total_fen - _fee(first)
    assert -posting.balance(session, accounts.COMMISSION) == _fee(first)
    for order in (second, third):
        assert _coop_entries(session, order) == 0
    assert checks.all_problems(session) == []


def test_a_short_harvest_refunds_fully_paid_orders_from_the_cooperative(
    session: Session,
) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=6, deposit_fen=0)
    first, second, third = (buy(session, shop, 2) for _ in range(3))
    post_pending(session)
    fee = _fee(first)
    assert _held(session) == 0  # paid in full: owed to the cooperative at once, as any order
    assert settlement.pending_fen(session, shop.coop.id) == 3 * (first.total_fen - fee)
    _harvest(session, shop, sale, 3)
    for order in (second, third):
        (refund,) = _refunds_done(session, order)
        assert refund.amount_fen == order.total_fen
    post_pending(session, times=2)
    assert posting.balance(session, accounts.STATION_CASH) == first.total_fen
    assert settlement.pending_fen(session, shop.coop.id) == first.total_fen - fee
    assert -posting.balance(session, accounts.COMMISSION) == fee  # the others' given back
    for order in (second, third):
        assert (
            posting.balance(
                session, accounts.cooperative(shop.coop.id, "pending"), order_id=order.id
            )
            == 0
        )
    assert checks.all_problems(session) == []


def test_a_refund_after_the_balance_takes_both_payments_from_the_cooperative(
    session: Session,
) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=5, deposit_fen=DEPOSIT)
    order = buy(session, shop, 2)
    _harvest(session, shop, sale, 5)
    _pay_balance(session, order)
    presale.refund_all(session, order, "合作社取消订单")
    refunds = _refunds_done(session, order)
    assert sum(r.amount_fen for r in refunds) == order.total_fen and len(refunds) == 2
    post_pending(session, times=2)
    assert order.status == OrderStatus.REFUNDED
    assert posting.balance(session, accounts.STATION_CASH) == 0
    assert _held(session) == 0
    assert settlement.pending_fen(session, shop.coop.id) == 0
    assert posting.balance(session, accounts.COMMISSION) == 0
    assert checks.all_problems(session) == []


def test_part_of_a_deposit_refunded_before_the_balance_is_taken_back_at_the_balance(
    session: Session,
) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=5, deposit_fen=DEPOSIT)
    order = buy(session, shop, 2)
    deposit = _deposit(shop, order, 2)
    refund = payments.approve_refund(session, order, 300, "少收一点定金")  # the console
    _refunds_done(session, order)
    post_pending(session)
    assert refund.status == RefundStatus.SUCCEEDED and order.status == OrderStatus.PAID
    assert _held(session, order) == deposit - 300
    assert settlement.pending_fen(session, shop.coop.id) == 0
    assert checks.all_problems(session) == []
    _harvest(session, shop, sale, 5)
    _pay_balance(session, order)
    post_pending(session)
    fee = _fee(order)
    back = fee * 300 // order.total_fen  # the refunded share of the commission
    assert _held(session) == 0
    assert posting.balance(session, accounts.STATION_CASH) == order.total_fen - 300
    assert settlement.pending_fen(session, shop.coop.id) == order.total_fen - 300 - fee + back
    assert -posting.balance(session, accounts.COMMISSION) == fee - back
    assert checks.all_problems(session) == []


def test_a_short_harvest_after_a_partial_refund_refunds_only_what_is_left(
    session: Session,
) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=4, deposit_fen=DEPOSIT)
    first, second = buy(session, shop, 2), buy(session, shop, 2)
    deposit = _deposit(shop, second, 2)
    payments.approve_refund(session, second, 1, "控制台退 1 分")
    _refunds_done(session, second)
    result = _harvest(session, shop, sale, 2)  # refused before: it asked to refund 1 fen too many
    assert result.refunded == [second.number]
    refunds = _refunds_done(session, second)
    assert [r.amount_fen for r in refunds] == [1, deposit - 1]
    assert second.status == OrderStatus.REFUNDED
    post_pending(session)
    assert _held(session) == _deposit(shop, first, 2)
    assert posting.balance(session, accounts.STATION_CASH) == _deposit(shop, first, 2)
    assert checks.all_problems(session) == []
