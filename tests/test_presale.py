"""Pre-sale of a harvest: the cap, the deposit and balance, the harvest deciding who is served."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import utcnow
from farmgate.errors import InvalidTransition, ValidationFailed
from farmgate.models import (
    Fulfilment,
    FulfilmentStatus,
    IntentStatus,
    OrderLine,
    OrderStatus,
    OutboxJob,
    PaymentIntent,
    PresaleOrder,
    PresaleStatus,
    Refund,
    Sku,
)
from farmgate.orders.checkout import OutOfStock
from farmgate.presale import service as presale
from farmgate.timeutil import local_today
from tests.support import desk
from tests.support.presale import buy, cashier, open_presale


def _fulfilment(session: Session, order_id: int) -> Fulfilment:
    return session.scalars(select(Fulfilment).where(col(Fulfilment.order_id) == order_id)).one()


def test_deposit_then_balance_then_harvest_makes_the_order_ready_to_pack(session: Session) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=5, deposit_fen=1000)
    assert session.get(Sku, shop.sku.id).stock == 5  # type: ignore[union-attr]
    order = buy(session, shop, 2)
    intents = list(
        session.scalars(select(PaymentIntent).where(col(PaymentIntent.order_id) == order.id))
    )
    assert [i.amount_fen for i in intents] == [order.total_fen - (shop.sku.price_fen - 1000) * 2]
    assert order.status == OrderStatus.PAID
    assert _fulfilment(session, order.id).status == FulfilmentStatus.PENDING  # type: ignore[arg-type]

    with pytest.raises(InvalidTransition, match="还未采收"):
        presale.pay_balance(session, order, "cash", client_ip="127.0.0.1")

    result = presale.record_harvest(session, shop.owner, sale.id, shop.lot.id, 5)  # type: ignore[arg-type]
    assert result.kept == [order.number]
    line = session.scalars(select(OrderLine).where(col(OrderLine.order_id) == order.id)).one()
    assert line.batch_id == shop.lot.id
    assert _fulfilment(session, order.id).status == FulfilmentStatus.PENDING  # type: ignore[arg-type]
    assert session.scalars(
        select(OutboxJob).where(col(OutboxJob.job) == "presale.harvest_notice")
    ).first()

    balance = presale.pay_balance(session, order, "cash", client_ip="127.0.0.1")
    assert balance.amount_fen == (shop.sku.price_fen - 1000) * 2
    cashier(session, order, balance.amount_fen)
    session.refresh(balance)
    assert balance.status == IntentStatus.PAID
    assert _fulfilment(session, order.id).status == FulfilmentStatus.TO_PACK  # type: ignore[arg-type]


def test_over_the_cap_is_refused_and_nothing_changes(session: Session) -> None:
    shop = desk.shop(session)
    open_presale(session, shop, cap=3)
    buy(session, shop, 2)
    with pytest.raises((OutOfStock, ValidationFailed), match="库存不足，仅剩1件"):
        buy(session, shop, 2)
    assert session.get(Sku, shop.sku.id).stock == 1  # type: ignore[union-attr]


def test_a_ship_window_before_the_harvest_is_refused(session: Session) -> None:
    shop = desk.shop(session)
    today = local_today()
    with pytest.raises(ValidationFailed) as caught:
        presale.open_presale(
            session,
            shop.owner,
            presale.PresaleIn(
                sku_id=shop.sku.id,  # type: ignore[arg-type]
                harvest_from=today + timedelta(days=10),
                ship_from=today + timedelta(days=2),
                ship_to=today + timedelta(days=12),
                cap=10,
            ),
        )
    assert "ship_from" in caught.value.fields
    assert presale.current_for_product(session, shop.product.id) == []  # type: ignore[arg-type]


def test_a_balance_after_the_deadline_is_refused_and_closing_refunds_the_deposit(
    session: Session,
) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=5, deposit_fen=1000)
    order = buy(session, shop, 1)
    presale.record_harvest(session, shop.owner, sale.id, shop.lot.id, 5)  # type: ignore[arg-type]
    sale.balance_due = utcnow() - timedelta(minutes=1)
    session.add(sale)
    with pytest.raises(InvalidTransition, match="尾款支付已截止"):
        presale.pay_balance(session, order, "cash", client_ip="127.0.0.1")
    assert (
        session.scalars(select(PaymentIntent).where(col(PaymentIntent.order_id) == order.id))
        .all()
        .__len__()
        == 1
    )
    assert presale.close_overdue(session, shop.owner, sale.id) == [order.number]  # type: ignore[arg-type]
    refunds = session.scalars(select(Refund).where(col(Refund.order_id) == order.id)).all()
    assert [r.amount_fen for r in refunds] == [order.total_fen - (shop.sku.price_fen - 1000)]
    assert order.status == OrderStatus.REFUND_REQUESTED


def test_a_short_harvest_refunds_the_last_paid_buyers(session: Session) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=6, deposit_fen=0)
    first, second, third = (buy(session, shop, 2) for _ in range(3))
    result = presale.record_harvest(session, shop.owner, sale.id, shop.lot.id, 3)  # type: ignore[arg-type]
    assert result.kept == [first.number]
    assert result.refunded == [second.number, third.number]
    assert _fulfilment(session, first.id).status == FulfilmentStatus.TO_PACK  # type: ignore[arg-type]
    for order in (second, third):
        refund = session.scalars(select(Refund).where(col(Refund.order_id) == order.id)).one()
        assert refund.amount_fen == order.total_fen
        assert order.status == OrderStatus.REFUND_REQUESTED
    assert sale.status == PresaleStatus.HARVESTED
    parts = session.scalars(select(PresaleOrder).order_by(col(PresaleOrder.id))).all()
    assert [p.outcome for p in parts] == ["kept", "refunded", "refunded"]
    assert session.get(Sku, shop.sku.id).stock == 0  # type: ignore[union-attr]
    volumes = presale.volumes(session)
    assert volumes[0]["sold"] == 6 and volumes[0]["harvested"] == 3
