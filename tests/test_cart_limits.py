"""Cart edge cases from the security review (issue 15.17): quantity 0, quantity and total caps."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.models import Sku
from farmgate.orders.cart import MAX_TOTAL_FEN


def test_put_quantity_zero_removes_the_line(client, shop) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 2})
    client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1})
    answer = client.put(f"/api/v1/cart/items/{shop['chilli']}", json={"quantity": 0})
    assert answer.status_code == 200, answer.text
    lines = [line["sku_id"] for g in answer.json()["groups"] for line in g["lines"]]
    assert lines == [shop["fish"]]
    # The old body shape (with sku_id) still works; a negative quantity does not.
    again = client.put(
        f"/api/v1/cart/items/{shop['fish']}", json={"sku_id": shop["fish"], "quantity": 3}
    )
    assert again.status_code == 200 and again.json()["count"] == 3
    assert (
        client.put(f"/api/v1/cart/items/{shop['fish']}", json={"quantity": -1}).status_code == 422
    )


def test_a_cart_total_past_the_cap_is_refused_when_adding(  # type: ignore[no-untyped-def]
    client, session: Session, shop
) -> None:
    # A price near the top: 22 of them pass 2^31 fen, what PostgreSQL's INTEGER holds.
    sku = session.get(Sku, shop["chilli"])
    sku.price_fen, sku.stock = 99_999_000, 900  # type: ignore[union-attr]
    session.commit()
    first = client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 1})
    assert first.status_code == 200
    over = client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 30})
    assert over.status_code == 422
    assert over.json()["error"]["code"] == "cart_total_too_large"
    assert "合计" in over.json()["error"]["message"]
    put = client.put(f"/api/v1/cart/items/{shop['chilli']}", json={"quantity": 500})
    assert put.status_code == 422
    fish = client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1})
    assert fish.status_code == 422  # the total counts every line
    assert client.get("/api/v1/cart").json()["items_fen"] == 99_999_000 <= MAX_TOTAL_FEN
    too_many = client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1000})
    assert too_many.status_code == 422
