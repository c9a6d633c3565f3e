"""A consumer's copy of their personal information, and its deletion (PIPL)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.models import Account, AuthToken, Order, OrderStatus, Role, Sku, Township
from farmgate.orders import service as orders
from tests.support import factories as f
from tests.support.factories import ADDRESS
from tests.support.sms import api_code


def _buyer_with_orders(client, session: Session):  # type: ignore[no-untyped-def]
    township = session.query(Township).first() or f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    buyer = f.create_account(session)
    headers = f.auth_headers(session, buyer)
    numbers = []
    for _ in range(2):
        client.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": 1}, headers=headers)
        placed = client.post("/api/v1/checkout", json=ADDRESS, headers=headers)
        assert placed.status_code == 201, placed.text
        numbers.append(placed.json()["number"])
    return buyer, headers, numbers, sku


def test_a_buyer_downloads_everything_held_about_them(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    buyer, headers, numbers, _ = _buyer_with_orders(client, session)
    answer = client.get("/api/v1/auth/me/data", headers=headers)
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    data = answer.json()
    assert data["account"]["phone"] == buyer.phone
    assert [o["number"] for o in data["orders"]] == numbers
    assert data["orders"][0]["address"]["detail"] == ADDRESS["address_detail"]
    assert data["orders"][0]["lines"][0]["quantity"] == 1
    assert client.get("/api/v1/auth/me/data").status_code == 401


def test_erasing_an_account_keeps_the_trade_records_without_the_person(  # type: ignore[no-untyped-def]
    client, session: Session, sms
) -> None:
    buyer, headers, numbers, sku = _buyer_with_orders(client, session)
    phone = buyer.phone
    paid = session.query(Order).filter_by(number=numbers[0]).one()
    orders.mark_paid(session, paid)
    session.commit()
    erase = "/api/v1/auth/me/erase"
    # Not while an order is on its way, and only with the password.
    wrong = client.post(erase, json={"password": "not-it"}, headers=headers)
    assert wrong.status_code == 401
    busy = client.post(erase, json={"password": f.PASSWORD}, headers=headers)
    assert busy.status_code == 409 and numbers[0] in busy.json()["error"]["fields"]["orders"]
    paid.status = OrderStatus.COMPLETED  # delivered and closed
    session.commit()
    session.expire_all()
    stock_before = session.get(Sku, sku.id).stock
    gone = client.post(erase, json={"password": f.PASSWORD}, headers=headers)
    assert gone.status_code == 204, gone.text
    session.expire_all()
    for number in numbers:
        order = session.query(Order).filter_by(number=number).one()
        assert order.account_id is None and order.recipient == "已注销用户"
        assert order.phone == "" and order.address_detail == "" and order.village == ""
        assert order.province == ADDRESS["province"]  # figures by region keep working
    unpaid = session.query(Order).filter_by(number=numbers[1]).one()
    assert unpaid.status == OrderStatus.CANCELLED
    assert session.get(Sku, sku.id).stock == stock_before + 1  # its stock went back
    account = session.get(Account, buyer.id)
    assert not account.is_active and account.phone != phone
    assert session.query(AuthToken).filter_by(account_id=buyer.id).count() == 0
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    login = client.post("/api/v1/auth/token", json={"phone": phone, "password": f.PASSWORD})
    assert login.status_code == 401
    # The number is free for a new account.
    code = api_code(client, session, sms, phone)
    again = client.post(
        "/api/v1/auth/register",
        json={"phone": phone, "code": code, "password": "another-password"},
    )
    assert again.status_code == 201


def test_staff_accounts_are_not_erased_by_themselves(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    headers = f.auth_headers(session, staff)
    answer = client.post("/api/v1/auth/me/erase", json={"password": f.PASSWORD}, headers=headers)
    assert answer.status_code == 403
    session.expire_all()
    assert session.get(Account, staff.id).is_active
