"""A guest cannot hold a SKU's stock: unpaid orders per phone and address, units per SKU,
a share of the stock for all guests together, shorter cash holds far away (issue 15.6)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.models import DeliveryMethod, Order, Sku
from farmgate.orders import guest_limits
from tests.support import factories as f
from tests.support.factories import ADDRESS


def _guest_checkout(client, sku_id: int, quantity: int, **address):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    added = client.post("/api/v1/cart/items", json={"sku_id": sku_id, "quantity": quantity})
    assert added.status_code == 200, added.text
    return client.post("/api/v1/checkout", json={**ADDRESS, **address})


def test_a_phone_and_an_address_hold_at_most_two_unpaid_orders(client, shop) -> None:  # type: ignore[no-untyped-def]
    assert settings.guest_max_unpaid_orders == 2
    for _ in range(2):
        assert _guest_checkout(client, shop["chilli"], 1).status_code == 201
    third = _guest_checkout(client, shop["chilli"], 1)
    assert third.status_code == 422
    assert third.json()["error"]["code"] == "guest_hold_limit"
    assert "未付款订单" in third.json()["error"]["message"]
    # Another phone, the same address (spaces do not make it another place).
    same_place = _guest_checkout(
        client, shop["chilli"], 1, phone="13700000001", address_detail="3组 12号"
    )
    assert same_place.status_code == 422 and "收货地址" in same_place.json()["error"]["message"]
    elsewhere = _guest_checkout(client, shop["chilli"], 1, phone="13700000001", village="李家坳村")
    assert elsewhere.status_code == 201


def test_a_guest_holds_a_few_units_and_guests_half_the_stock(  # type: ignore[no-untyped-def]
    client, session: Session, shop
) -> None:
    chilli = session.get(Sku, shop["chilli"])
    chilli.stock = 100  # type: ignore[union-attr]
    session.commit()
    too_many = _guest_checkout(client, shop["chilli"], settings.guest_max_units_per_sku + 1)
    assert too_many.status_code == 422
    assert "最多购买" in too_many.json()["error"]["fields"][f"sku {shop['chilli']}"]
    # The fish: 5 in stock; one guest may hold 3 (half, rounded up), the next guest none.
    assert _guest_checkout(client, shop["fish"], 3).status_code == 201
    second = _guest_checkout(client, shop["fish"], 1, phone="13700000002", village="高坪村二组")
    assert second.status_code == 422
    assert "占用" in second.json()["error"]["fields"][f"sku {shop['fish']}"]
    # A signed-in buyer is accountable: not limited.
    client.cookies.clear()
    buyer = f.auth_headers(session, f.create_account(session))
    client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 2}, headers=buyer)
    assert client.post("/api/v1/checkout", json=ADDRESS, headers=buyer).status_code == 201
    session.expire_all()
    assert session.get(Sku, shop["fish"]).stock == 0  # type: ignore[union-attr]


def test_the_checkout_page_says_the_rule_to_guests(client, shop) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 1})
    page = client.get("/checkout")
    assert page.status_code == 200
    assert "最多保留 2 笔未付款订单" in page.text and "登录后购买不受此限" in page.text


@pytest.mark.parametrize(
    ("method", "hours"),
    [
        (DeliveryMethod.PICKUP, "cash_hold_hours"),
        (DeliveryMethod.LOCAL, "cash_hold_hours"),
        (DeliveryMethod.COURIER, "cash_hold_hours_remote"),
        (DeliveryMethod.POST, "cash_hold_hours_remote"),
    ],
)
def test_cash_holds_are_shorter_for_far_away_orders(method: DeliveryMethod, hours: str) -> None:
    assert settings.cash_hold_hours_remote < settings.cash_hold_hours
    order = Order(delivery_method=method)  # type: ignore[call-arg]
    assert guest_limits.cash_hold_hours(order) == getattr(settings, hours)
