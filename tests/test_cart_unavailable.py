"""A cart always opens: lines delisted, sold out or short are flagged, not fatal (issue 15.7)."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from farmgate.models import Product, ProductStatus, Sku
from tests.support import factories as f
from tests.support.factories import ADDRESS


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _spoil(session: Session, shop: dict) -> None:  # type: ignore[type-arg]
    """After the guest filled the cart: the fish is delisted, the chilli runs short."""
    fish = session.get(Sku, shop["fish"])
    product = session.get(Product, fish.product_id)  # type: ignore[union-attr]
    product.status = ProductStatus.DELISTED  # type: ignore[union-attr]
    chilli = session.get(Sku, shop["chilli"])
    chilli.stock = 1  # type: ignore[union-attr]
    session.commit()


def test_the_api_cart_opens_after_sign_in_with_lines_flagged(  # type: ignore[no-untyped-def]
    client, session: Session, shop
) -> None:
    token = client.post(
        "/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 3}
    ).headers["X-Cart-Token"]
    client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1})
    _spoil(session, shop)
    client.cookies.clear()
    buyer = f.auth_headers(session, f.create_account(session))
    headers = {**buyer, "X-Cart-Token": token}
    cart = client.get("/api/v1/cart", headers=headers)
    assert cart.status_code == 200, cart.text
    lines = {line["sku_id"]: line for g in cart.json()["groups"] for line in g["lines"]}
    assert lines[shop["fish"]]["problem"] == "delisted" and not lines[shop["fish"]]["available"]
    assert lines[shop["chilli"]]["problem"] == "short"
    assert "仅剩1件" in lines[shop["chilli"]]["problem_message"]
    assert cart.json()["unavailable"] == 2
    refused = client.post("/api/v1/checkout", json=ADDRESS, headers=buyer)
    assert refused.status_code in (409, 422)
    assert any("已下架" in v for v in refused.json()["error"]["fields"].values())
    gone = client.delete(f"/api/v1/cart/items/{shop['fish']}", headers=buyer)
    assert gone.status_code == 200
    fixed = client.put(f"/api/v1/cart/items/{shop['chilli']}", json={"quantity": 1}, headers=buyer)
    assert fixed.status_code == 200 and fixed.json()["unavailable"] == 0
    assert client.post("/api/v1/checkout", json=ADDRESS, headers=buyer).status_code == 201


def test_the_cart_page_opens_after_sign_in_and_removes_bad_lines(  # type: ignore[no-untyped-def]
    client, session: Session, shop
) -> None:
    for sku, quantity in ((shop["chilli"], 3), (shop["fish"], 1)):
        page = client.get("/login")  # any page with a form gives the guest's CSRF token
        added = client.post(
            "/cart/add",
            data={"sku_id": sku, "quantity": quantity, "csrf_token": _csrf(page.text)},
        )
        assert added.status_code in (200, 303), added.text
    guest_cart = client.cookies.get("fg_cart")
    assert guest_cart
    _spoil(session, shop)
    f.login_browser(client, session, f.create_account(session))
    client.cookies.set("fg_cart", guest_cart)

    cart = client.get("/cart")
    assert cart.status_code == 200, cart.text
    assert "已下架" in cart.text and "库存不足，仅剩1件" in cart.text
    assert "现在不能购买" in cart.text  # the summary at the top
    checkout = client.get("/checkout")
    assert checkout.status_code == 200
    assert "已下架" in checkout.text and 'href="/cart"' in checkout.text
    placed = client.post("/checkout", data={**ADDRESS, "csrf_token": _csrf(checkout.text)})
    assert placed.status_code == 422 and "不能购买" in placed.text

    # The remove button: a plain form, no JavaScript.
    assert "移除" in cart.text
    removed = client.post(
        "/cart/set",
        data={"sku_id": shop["fish"], "quantity": 0, "csrf_token": _csrf(cart.text)},
        follow_redirects=True,
    )
    assert removed.status_code == 200 and "稻花鱼" not in removed.text
    sold_out = session.get(Sku, shop["chilli"])
    sold_out.stock = 0  # type: ignore[union-attr]
    session.commit()
    assert "已售罄" in client.get("/cart").text
