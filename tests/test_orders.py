"""Cart, checkout, the order state machine, fulfilments and the unpaid-stock release."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from farmgate.db import utcnow
from farmgate.errors import InvalidTransition
from farmgate.jobs import runner
from farmgate.models import Order, OrderEvent, OrderStatus, OutboxJob, Sku
from farmgate.orders import service, state
from tests.support import factories as f
from tests.support.factories import ADDRESS


def test_guest_buys_from_two_cooperatives(client, session: Session, shop) -> None:  # type: ignore[no-untyped-def]
    added = client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 2})
    assert added.status_code == 200
    token = added.headers["X-Cart-Token"]
    client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1})
    cart = client.get("/api/v1/cart").json()
    assert [g["cooperative_name"] for g in cart["groups"]] == ["辣椒合作社", "稻花鱼合作社"]
    assert cart["items_fen"] == 2 * 3800 + 3500 and cart["count"] == 3

    response = client.post("/api/v1/checkout", json=ADDRESS)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending_payment" and order["phone_masked"] == "139****5678"
    assert [fl["cooperative_name"] for fl in order["fulfilments"]] == ["辣椒合作社", "稻花鱼合作社"]
    assert [fl["shipping_fen"] for fl in order["fulfilments"]] == [
        1000,
        2500,
    ]  # the fish travels chilled
    assert order["total_fen"] == 7600 + 3500 + 3500
    assert (f.stock_of(session, shop["chilli"]), f.stock_of(session, shop["fish"])) == (8, 4)
    assert client.get("/api/v1/cart", headers={"X-Cart-Token": token}).json()["count"] == 0

    # The release job waits in the outbox until the payment deadline.
    release = session.query(OutboxJob).filter_by(job="orders.release_unpaid").one()
    assert release.key == f"order:{order['id']}"
    assert abs((release.available_at - session.get(Order, order["id"]).pay_by).total_seconds()) < 5

    found = client.post(
        "/api/v1/orders/lookup", json={"number": order["number"], "phone": "139 1234 5678"}
    )
    assert found.status_code == 200 and found.json()["id"] == order["id"]
    # Checkout answers with what it made, not read back: the same as the order read back.
    assert found.json() == order
    wrong = client.post(
        "/api/v1/orders/lookup", json={"number": order["number"], "phone": "13900000001"}
    )
    assert wrong.status_code == 404


def test_checkout_input_is_validated_with_messages(client, shop) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 1})
    bad = dict(ADDRESS, phone="1234", recipient="", delivery_method="drone", address_detail="")
    response = client.post("/api/v1/checkout", json=bad)
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert fields["phone"] == "请输入11位中国大陆手机号码"
    assert set(fields) >= {"recipient", "delivery_method", "address_detail"}


def test_short_stock_rolls_the_whole_checkout_back(client, session: Session, shop) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 3})
    client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 5})
    fish = session.get(Sku, shop["fish"])
    fish.stock = 2  # someone else bought three meanwhile
    session.commit()
    response = client.post("/api/v1/checkout", json=ADDRESS)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "out_of_stock" and "仅剩2件" in error["fields"][f"sku {shop['fish']}"]
    assert (f.stock_of(session, shop["chilli"]), f.stock_of(session, shop["fish"])) == (
        10,
        2,
    )  # nothing kept
    assert session.query(Order).count() == 0


def test_cart_refuses_more_than_the_stock_and_unpublished_skus(
    client, session: Session, shop
) -> None:  # type: ignore[no-untyped-def]
    too_many = client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 6})
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "insufficient_stock"
    session.get(Sku, shop["fish"]).is_active = False  # type: ignore[union-attr]
    session.commit()
    assert (
        client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1}).status_code
        == 404
    )


def test_guest_cart_moves_to_the_account_on_sign_in(client, session: Session, shop) -> None:  # type: ignore[no-untyped-def]
    token = client.post(
        "/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 1}
    ).headers["X-Cart-Token"]
    client.cookies.clear()
    buyer = f.auth_headers(session, f.create_account(session))
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 2}, headers=buyer)
    merged = client.get("/api/v1/cart", headers={**buyer, "X-Cart-Token": token}).json()
    assert merged["count"] == 3
    order = client.post("/api/v1/checkout", json=ADDRESS, headers=buyer).json()
    mine = client.get("/api/v1/orders", headers=buyer).json()
    assert [o["id"] for o in mine] == [order["id"]]
    other = f.auth_headers(session, f.create_account(session))
    assert client.get(f"/api/v1/orders/{order['id']}", headers=other).status_code == 404


def _order(client, shop) -> dict:  # type: ignore[no-untyped-def, type-arg]
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 2})
    client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1})
    return client.post("/api/v1/checkout", json=ADDRESS).json()  # type: ignore[no-any-return]


def test_state_machine_refuses_invalid_moves_and_records_each_one(
    client, session: Session, shop
) -> None:  # type: ignore[no-untyped-def]
    order = session.get(Order, _order(client, shop)["id"])
    with pytest.raises(InvalidTransition):
        state.transition(session, order, OrderStatus.SHIPPED)
    service.mark_paid(session, order, note="wechat 4200000001")
    with pytest.raises(InvalidTransition):
        service.cancel(session, order, None)  # paid: refund instead
    state.transition(session, order, OrderStatus.REFUND_REQUESTED, actor_name="consumer")
    back = state.status_before_refund_request(session, order)
    assert back == OrderStatus.PAID
    state.transition(session, order, back, actor_name="admin", note="拒绝退款")
    events = session.query(OrderEvent).filter_by(order_id=order.id).order_by(OrderEvent.id).all()
    assert [(e.from_status, e.to_status, e.actor) for e in events] == [
        (None, "pending_payment", "guest"),
        ("pending_payment", "paid", "payment"),
        ("paid", "refund_requested", "consumer"),
        ("refund_requested", "paid", "admin"),
    ]
    assert all(e.created_at.tzinfo is not None for e in events)


def test_each_cooperative_packs_only_its_own_fulfilment(client, session: Session, shop) -> None:  # type: ignore[no-untyped-def]
    data = _order(client, shop)
    a_fulfilment, b_fulfilment = (fl["id"] for fl in data["fulfilments"])
    assert (
        client.get("/api/v1/my/fulfilments", headers=shop["staff_a"]).json() == []
    )  # unpaid: nothing to pack
    service.mark_paid(session, session.get(Order, data["id"]))
    session.commit()

    seen = client.get("/api/v1/my/fulfilments", headers=shop["staff_a"]).json()
    assert [[fl["id"] for fl in o["fulfilments"]] for o in seen] == [[a_fulfilment]]  # not the fish
    assert (
        client.post(
            f"/api/v1/my/fulfilments/{b_fulfilment}/pack", headers=shop["staff_a"]
        ).status_code
        == 404
    )
    packed = client.post(f"/api/v1/my/fulfilments/{a_fulfilment}/pack", headers=shop["staff_a"])
    assert packed.status_code == 200 and packed.json()["status"] == "fulfilling"
    assert (
        client.post(
            f"/api/v1/my/fulfilments/{a_fulfilment}/pack", headers=shop["staff_a"]
        ).status_code
        == 409
    )


def test_payment_sends_every_part_to_packing_and_the_session_sees_it(  # type: ignore[no-untyped-def]
    client, session: Session, shop
) -> None:
    """One UPDATE moves the parts; parts this session loaded before show the new status
    without a reload, and another order's parts are left alone."""
    from farmgate.models import Fulfilment, FulfilmentStatus

    first, second = _order(client, shop), _order(client, shop)
    loaded = session.query(Fulfilment).order_by(Fulfilment.id).all()
    assert {f.status for f in loaded} == {FulfilmentStatus.PENDING}
    service.mark_paid(session, session.get(Order, first["id"]))
    mine = [f for f in loaded if f.order_id == first["id"]]
    other = [f for f in loaded if f.order_id == second["id"]]
    assert len(mine) == 2 and len(other) == 2
    assert {f.status for f in mine} == {FulfilmentStatus.TO_PACK}
    assert {f.status for f in other} == {FulfilmentStatus.PENDING}
    assert not session.dirty  # as the database has it: nothing left to write
    session.commit()
    session.expire_all()
    assert {f.order_id: f.status for f in session.query(Fulfilment)} == {
        first["id"]: FulfilmentStatus.TO_PACK,
        second["id"]: FulfilmentStatus.PENDING,
    }


def test_unpaid_orders_are_released_at_the_deadline_once(client, session: Session, shop) -> None:  # type: ignore[no-untyped-def]
    data = _order(client, shop)
    row = session.query(OutboxJob).filter_by(key=f"order:{data['id']}").one()
    assert runner.execute(row.id).outcome == runner.Outcome.RETRY  # too early: nothing happens
    assert f.stock_of(session, shop["chilli"]) == 8

    order = session.get(Order, data["id"])
    order.pay_by = utcnow() - timedelta(seconds=5)
    session.commit()
    row.status = "pending"
    session.commit()
    assert runner.execute(row.id).outcome == runner.Outcome.DONE
    session.expire_all()
    assert session.get(Order, data["id"]).status == OrderStatus.CANCELLED
    assert (f.stock_of(session, shop["chilli"]), f.stock_of(session, shop["fish"])) == (10, 5)
    # Running the job again changes nothing (it is keyed by the order).
    row.status = "pending"
    session.commit()
    assert runner.execute(row.id).outcome == runner.Outcome.DONE
    assert (f.stock_of(session, shop["chilli"]), f.stock_of(session, shop["fish"])) == (10, 5)


def test_paid_orders_are_not_released(client, session: Session, shop) -> None:  # type: ignore[no-untyped-def]
    data = _order(client, shop)
    order = session.get(Order, data["id"])
    service.mark_paid(session, order)
    order.pay_by = utcnow() - timedelta(seconds=5)
    session.commit()
    row = session.query(OutboxJob).filter_by(key=f"order:{data['id']}").one()
    assert runner.execute(row.id).outcome == runner.Outcome.DONE
    assert session.get(Order, data["id"]).status == OrderStatus.PAID
    assert f.stock_of(session, shop["chilli"]) == 8


def test_one_cooperatives_several_lines_are_stored_together_in_order(  # type: ignore[no-untyped-def]
    client, session: Session, shop
) -> None:
    """A part's lines are inserted by one statement: each gets its own id, in the cart's
    order, and the answer is the order as stored."""
    from farmgate.catalog.schemas import SkuCreate
    from farmgate.models import Account, OrderLine, Sku, Village

    product = f.create_product(
        session,
        session.get(Account, shop["staff_a_id"]),
        session.get(Village, shop["village_id"]),
        name="辣椒粉",
        skus=[
            SkuCreate(spec=f"{n}斤装", price_fen=1000 * n, stock=9, weight_g=500 * n)
            for n in (1, 2, 3)
        ],
    )
    skus = [s.id for s in session.query(Sku).filter_by(product_id=product.id).order_by(Sku.id)]
    session.commit()
    for sku_id, quantity in zip(skus, (3, 1, 2), strict=True):
        client.post("/api/v1/cart/items", json={"sku_id": sku_id, "quantity": quantity})
    order = client.post("/api/v1/checkout", json=ADDRESS).json()
    (part,) = order["fulfilments"]
    assert [(line["sku_id"], line["quantity"]) for line in part["lines"]] == list(
        zip(skus, (3, 1, 2), strict=True)
    )
    stored = session.query(OrderLine).filter_by(order_id=order["id"]).order_by(OrderLine.id)
    assert [(line.sku_id, line.quantity, line.fulfilment_id) for line in stored] == [
        (sku_id, quantity, part["id"]) for sku_id, quantity in zip(skus, (3, 1, 2), strict=True)
    ]
    found = client.post(
        "/api/v1/orders/lookup", json={"number": order["number"], "phone": ADDRESS["phone"]}
    )
    assert found.json() == order


def test_the_polled_order_is_the_orders_view_read_with_two_statements_fewer(  # type: ignore[no-untyped-def]
    client, session: Session, shop, connection
) -> None:
    """GET /orders/{id} reads the order's row with its fulfilments (presenters.
    visible_order_view): the same answer as order_view of the order get_for gives, paid and
    packed, and the same "not found" for anyone but its buyer and the admin."""
    from farmgate.models import Role
    from farmgate.orders import presenters

    account = f.create_account(session)
    buyer = f.auth_headers(session, account)
    session.commit()
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 2}, headers=buyer)
    client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1}, headers=buyer)
    placed = client.post("/api/v1/checkout", json=ADDRESS, headers=buyer).json()
    order = session.get(Order, placed["id"])
    assert order is not None
    service.mark_paid(session, order)
    session.commit()
    first = placed["fulfilments"][0]["id"]
    packed = client.post(f"/api/v1/my/fulfilments/{first}/pack", headers=shop["staff_a"])
    assert packed.status_code == 200, packed.text
    # The packed fulfilment's parcel, carried by a township courier; the other has none.
    from farmgate.models import Parcel, ParcelStatus

    courier = f.create_account(session, role=Role.COURIER)
    session.add(
        Parcel(
            fulfilment_id=first,
            order_id=placed["id"],
            carrier="township",
            order_ref=f"{placed['number']}-{first}",
            waybill_no=f"{placed['number']}-{first}",
            status=ParcelStatus.CREATED,
            events=[{"time": "2026-12-01 10:00", "context": "已揽收"}],
            salt="0" * 32,
            courier_account_id=courier.id,
        )
    )
    session.commit()
    session.expire_all()

    sent: list[str] = []

    def record(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        if "SAVEPOINT" not in statement:  # the tests' own, around each unit
            sent.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        polled = client.get(f"/api/v1/orders/{placed['id']}", headers=buyer)
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert polled.status_code == 200
    # The caller, then the order with its fulfilments, lines and parcels, then its events.
    assert len(sent) == 3, sent
    order = session.get(Order, placed["id"])
    assert order is not None
    expected = presenters.order_view(session, order).model_dump(mode="json")
    assert polled.json() == expected
    assert [len(fl["lines"]) for fl in polled.json()["fulfilments"]] == [1, 1]
    assert [e["to_status"] for e in polled.json()["events"]][:2] == ["pending_payment", "paid"]
    assert [(p["courier_name"], p["events"][0]["context"]) for p in polled.json()["parcels"]] == [
        (courier.display_name or "配送员", "已揽收")
    ]
    admin = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    other = f.auth_headers(session, f.create_account(session))
    session.commit()
    assert client.get(f"/api/v1/orders/{placed['id']}", headers=admin).json() == expected
    for headers, order_id in ((other, placed["id"]), (buyer, placed["id"] + 1000)):
        gone = client.get(f"/api/v1/orders/{order_id}", headers=headers)
        assert gone.status_code == 404 and gone.json()["error"]["message"] == "订单不存在"


def test_a_signed_in_checkout_reads_the_cart_with_its_lines(  # type: ignore[no-untyped-def]
    client, session: Session, shop, connection
) -> None:
    """Signed in, with no guest cart to merge: the account's cart is found in the statement
    that reads its lines (no SELECT of the cart first); emptied once the order is placed; a
    buyer with no cart, or an empty one, gets "empty_cart"."""
    buyer = f.auth_headers(session, f.create_account(session))
    session.commit()
    nothing = client.post("/api/v1/checkout", json=ADDRESS, headers=buyer)
    assert nothing.status_code == 422 and nothing.json()["error"]["code"] == "empty_cart"
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 2}, headers=buyer)
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        sent.append(" ".join(statement.split()))

    event.listen(connection, "before_cursor_execute", record)
    try:
        placed = client.post("/api/v1/checkout", json=ADDRESS, headers=buyer)
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert placed.status_code == 201, placed.text
    assert [line["quantity"] for fl in placed.json()["fulfilments"] for line in fl["lines"]] == [2]
    assert not [s for s in sent if s.startswith("SELECT cart.id")], sent
    assert client.get("/api/v1/cart", headers=buyer).json()["count"] == 0
    again = client.post("/api/v1/checkout", json=ADDRESS, headers=buyer)
    assert again.status_code == 422 and again.json()["error"]["code"] == "empty_cart"
