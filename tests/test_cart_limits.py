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


def _change(client, headers, how: str, sku_id: int, quantity: int):  # type: ignore[no-untyped-def]
    """Add to a line (``how`` "post") or set it ("put")."""
    if how == "post":
        body = {"sku_id": sku_id, "quantity": quantity}
        return client.post("/api/v1/cart/items", json=body, headers=headers)
    return client.put(f"/api/v1/cart/items/{sku_id}", json={"quantity": quantity}, headers=headers)


def test_the_cart_answered_after_a_change_is_the_cart_read_back(  # type: ignore[no-untyped-def]
    client, session: Session, shop
) -> None:
    """Adding or changing a line answers with the cart built from the rows it read (not read
    again): lines grouped by cooperative, a new line last in its group, quantities current."""
    from farmgate.models import Account, Village
    from tests.support import factories as f

    staff_a = session.get(Account, shop["staff_a_id"])
    village = session.get(Village, shop["village_id"])
    sauce_product = f.create_product(session, staff_a, village, name="辣椒酱")
    sauce = session.query(Sku).filter_by(product_id=sauce_product.id).one().id
    fish, chilli = shop["fish"], shop["chilli"]
    buyer = f.auth_headers(session, f.create_account(session))
    session.commit()
    steps = [
        ("post", fish, 1),
        ("post", sauce, 2),
        ("post", chilli, 1),
        ("post", fish, 2),
        ("put", sauce, 5),
        ("put", chilli, 0),
        ("post", chilli, 4),
    ]
    for how, sku_id, quantity in steps:
        answer = _change(client, buyer, how, sku_id, quantity)
        assert answer.status_code == 200, answer.text
        assert answer.json() == client.get("/api/v1/cart", headers=buyer).json(), (how, sku_id)
    cart = client.get("/api/v1/cart", headers=buyer).json()
    assert [[line["sku_id"] for line in g["lines"]] for g in cart["groups"]] == [
        [sauce, chilli],
        [fish],
    ]
    assert [line["quantity"] for g in cart["groups"] for line in g["lines"]] == [5, 4, 3]
    assert cart["count"] == 12


def test_a_change_marks_the_cart_used_at_most_once_an_hour(  # type: ignore[no-untyped-def]
    client, session: Session, shop
) -> None:
    """updated_at (when the cart was last used) is written when it is an hour old or more:
    not on every change of a line."""
    from datetime import timedelta

    from sqlalchemy import select

    from farmgate.db import utcnow
    from farmgate.models import Cart
    from farmgate.orders.cart import TOUCH_EVERY
    from tests.support import factories as f

    account = f.create_account(session)
    buyer = f.auth_headers(session, account)
    session.commit()

    def add() -> Cart:
        answer = client.post(
            "/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1}, headers=buyer
        )
        assert answer.status_code == 200, answer.text
        session.expire_all()
        return session.scalars(select(Cart).where(Cart.account_id == account.id)).one()

    made = add().updated_at
    assert add().updated_at == made  # used again within the hour: no write
    cart = add()
    cart.updated_at = utcnow() - TOUCH_EVERY - timedelta(minutes=1)
    session.commit()
    assert utcnow() - add().updated_at < timedelta(minutes=1)  # an hour old: marked now


def test_a_signed_in_change_reads_the_cart_with_its_lines(  # type: ignore[no-untyped-def]
    client, session: Session, shop, connection
) -> None:
    """Signed in, with no guest cart to merge: the cart and its lines are one statement. An
    add is then the caller, the cart with its lines, the SKU, the line's INSERT or UPDATE."""
    from sqlalchemy import event

    from tests.support import factories as f

    buyer = f.auth_headers(session, f.create_account(session))
    session.commit()
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        if "SAVEPOINT" not in statement:  # the tests' own, around each unit
            sent.append(" ".join(statement.split())[:40])

    def change(how: str, sku: int, quantity: int) -> dict:  # type: ignore[type-arg]
        sent.clear()
        event.listen(connection, "before_cursor_execute", record)
        try:
            answer = _change(client, buyer, how, sku, quantity)
        finally:
            event.remove(connection, "before_cursor_execute", record)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    first = change("post", shop["fish"], 1)  # no cart yet: made
    assert first["count"] == 1 and len(sent) == 5 and sent[2].startswith("INSERT INTO cart "), sent
    second = change("post", shop["chilli"], 2)
    assert second["count"] == 3 and len(sent) == 4, sent
    more = change("post", shop["chilli"], 1)
    assert more["count"] == 4 and len(sent) == 4 and sent[-1].startswith("UPDATE cart_item"), sent
    gone = change("put", shop["fish"], 0)
    assert gone["count"] == 3 and len(sent) == 3 and sent[-1].startswith("DELETE"), sent
    assert client.get("/api/v1/cart", headers=buyer).json() == gone
