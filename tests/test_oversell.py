"""No overselling: 50 buyers racing for the last 10 units get exactly 10 orders."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, func, select

from farmgate.catalog.schemas import SkuCreate
from farmgate.config import settings
from farmgate.db import session_scope
from farmgate.models import Order, OrderLine, Role, Sku
from farmgate.orders import cart as carts
from farmgate.orders import checkout as checkouts
from farmgate.orders.schemas import CheckoutIn
from tests.support import factories as f
from tests.support.factories import ADDRESS

BUYERS = 50
UNITS = 10


def test_fifty_buyers_ten_units(committed_db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # One phone and address for every guest here: only the race is tested, not the guest
    # hold limits (tests/test_guest_limits.py).
    monkeypatch.setattr(settings, "guest_max_unpaid_orders", BUYERS)
    monkeypatch.setattr(settings, "guest_max_units_per_sku", BUYERS)
    monkeypatch.setattr(settings, "guest_max_stock_share", 1.0)
    with session_scope() as session:
        township = f.create_township(session)
        coop = f.create_cooperative(session, township)
        staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
        product = f.create_product(
            session,
            staff,
            f.first_village(session, township),
            skus=[SkuCreate(spec="最后一批", price_fen=3800, stock=UNITS, weight_g=550)],
        )
        sku_id = session.scalars(select(Sku.id).where(Sku.product_id == product.id)).one()
        cart_ids = []
        for _ in range(BUYERS):
            ref = carts.get_cart(session, None, None, create=True)
            assert ref is not None
            carts.set_quantity(session, ref.cart, sku_id, 1)
            cart_ids.append(ref.cart.id)

    start = threading.Barrier(BUYERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(cart_id: int) -> None:
        start.wait()
        try:
            with session_scope() as session:
                cart = session.get(carts.Cart, cart_id)
                checkouts.checkout(session, cart, CheckoutIn(**ADDRESS), None)  # type: ignore[arg-type]
            result = "ok"
        except checkouts.OutOfStock:
            result = "out_of_stock"
        except Exception as exc:
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buy, args=(cid,)) for cid in cart_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert sorted(set(outcomes)) == ["ok", "out_of_stock"], outcomes
    assert outcomes.count("ok") == UNITS
    with session_scope() as session:
        assert session.get(Sku, sku_id).stock == 0  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(Order)) == UNITS
        assert session.scalar(select(func.sum(OrderLine.quantity))) == UNITS


def test_an_order_number_already_taken_is_drawn_again(  # type: ignore[no-untyped-def]
    client, session, monkeypatch
) -> None:
    """Order numbers are random; a clash (the bench met one in 6,000 orders at 8 digits) must
    not fail the checkout."""
    from farmgate.models import Order, Role, Sku, Township
    from farmgate.orders import checkout
    from tests.support import factories as f
    from tests.support.factories import ADDRESS

    township = session.query(Township).first() or f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    buyer = f.auth_headers(session, f.create_account(session))
    session.commit()
    numbers = iter(["2026112900000001", "2026112900000001", "2026112900000002"])
    monkeypatch.setattr(checkout, "_order_number", lambda: next(numbers))
    for _ in range(2):
        client.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": 1}, headers=buyer)
        placed = client.post("/api/v1/checkout", json=ADDRESS, headers=buyer)
        assert placed.status_code == 201, placed.text
    assert sorted(o.number for o in session.query(Order)) == [
        "2026112900000001",
        "2026112900000002",
    ]
