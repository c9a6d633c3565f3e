"""Buying through the HTML pages alone (no JavaScript): cart, checkout, order page."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from farmgate.models import Order, OrderLine, Role, Sku
from farmgate.trace import service as trace
from farmgate.trace.schemas import BatchIn, HarvestIn
from tests.support import factories as f
from tests.support.factories import ADDRESS
from tests.support.web import SAME_ORIGIN, csrf_token


def test_browse_add_checkout_and_see_the_order(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township, name="红辣椒合作社")
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(
        session, staff, f.first_village(session, township), name="谭家场干红辣椒"
    )
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    session.commit()

    page = client.get(f"/products/{product.id}")
    assert page.status_code == 200 and "加入购物车" in page.text
    assert 'name="csrf_token"' not in page.text  # the same page for every anonymous visitor
    assert "set-cookie" not in page.headers
    added = client.post(
        "/cart/add",
        data={"sku_id": sku.id, "quantity": 2},
        headers=SAME_ORIGIN,
        follow_redirects=True,
    )
    assert "谭家场干红辣椒" in added.text and "¥76.00" in added.text

    form = client.get("/checkout")
    token = csrf_token(form.text)
    bad = client.post(
        "/checkout", data={**ADDRESS, "phone": "12345", "recipient": "", "csrf_token": token}
    )
    assert bad.status_code == 422
    assert "请输入11位中国大陆手机号码" in bad.text and 'aria-invalid="true"' in bad.text
    assert session.query(Order).count() == 0

    placed = client.post("/checkout", data={**ADDRESS, "csrf_token": token}, follow_redirects=False)
    assert placed.status_code == 303
    order_page = client.get(placed.headers["location"])
    assert order_page.status_code == 200
    assert "待付款" in order_page.text and "¥86.00" in order_page.text  # 76.00 + 10.00 shipping
    number = session.query(Order).one().number
    assert client.get(f"/orders/{number}").status_code == 404  # without the link secret: not found

    lookup = client.get("/my-orders")
    found = client.post(
        "/my-orders",
        data={"number": number, "phone": ADDRESS["phone"], "csrf_token": csrf_token(lookup.text)},
        follow_redirects=True,
    )
    assert f"订单 {number}" in found.text


def test_forms_without_csrf_are_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/cart/add", data={"sku_id": 1, "quantity": 1})
    assert response.status_code == 403
    # Adding to the cart takes the browser's Origin instead of a token, but only this site's.
    for origin in ("https://evil.example", "null"):
        forged = client.post(
            "/cart/add", data={"sku_id": 1, "quantity": 1}, headers={"Origin": origin}
        )
        assert forged.status_code == 403
    assert "fg_cart" not in client.cookies
    other_forms = client.post(
        "/my-orders", data={"number": "1", "phone": "13912345678"}, headers=SAME_ORIGIN
    )
    assert other_forms.status_code == 403  # every other form still needs its token


def test_paying_from_the_order_page_shows_the_qr_code(
    client, session: Session, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from farmgate.config import settings
    from farmgate.payments.simulator import start_simulator

    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    session.commit()
    with start_simulator() as sim:
        for key, value in {
            "wechat_appid": sim.state.appid,
            "wechat_mch_id": sim.state.mch_id,
            "wechat_api_key": sim.state.api_key,
            "wechat_api_base": sim.url,
            "simulator": True,
        }.items():
            monkeypatch.setattr(settings, key, value)
        page = client.get(f"/products/{product.id}")
        assert "加入购物车" in page.text
        client.post("/cart/add", data={"sku_id": sku.id, "quantity": 1}, headers=SAME_ORIGIN)
        token = csrf_token(client.get("/checkout").text)
        order_page = client.post(
            "/checkout", data={**ADDRESS, "csrf_token": token}, follow_redirects=True
        )
        link_secret = re.search(r'name="t" value="([^"]+)"', order_page.text).group(1)  # type: ignore[union-attr]
        number = session.query(Order).one().number
        paying = client.post(
            f"/orders/{number}/pay",
            data={"csrf_token": csrf_token(order_page.text), "t": link_secret},
            follow_redirects=True,
        )
        assert paying.status_code == 200

        assert "<svg" in paying.text and "模拟支付（仅演示" in paying.text


def test_choosing_cash_at_the_station_holds_the_order(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    session.commit()
    page = client.get(f"/products/{product.id}")
    assert "加入购物车" in page.text
    client.post("/cart/add", data={"sku_id": sku.id, "quantity": 1}, headers=SAME_ORIGIN)
    token = csrf_token(client.get("/checkout").text)
    order_page = client.post(
        "/checkout", data={**ADDRESS, "csrf_token": token}, follow_redirects=True
    )
    assert 'value="cash"' in order_page.text
    link_secret = re.search(r'name="t" value="([^"]+)"', order_page.text).group(1)  # type: ignore[union-attr]
    number = session.query(Order).one().number
    held = client.post(
        f"/orders/{number}/pay",
        data={"csrf_token": csrf_token(order_page.text), "t": link_secret, "method": "cash"},
        follow_redirects=True,
    )
    assert held.status_code == 200 and "到村服务站付款" in held.text
    assert 'value="cash"' not in held.text  # chosen already; WeChat Pay stays offered
    assert 'value="wechat"' in held.text


def test_cooperative_page_and_packing_desk(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from farmgate.orders import service as orders

    township = f.create_township(session)
    coop = f.create_cooperative(session, township, name="高坪稻花鱼合作社")
    coop.story = "稻田里养鱼"
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township), name="稻花鱼")
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    session.commit()

    page = client.get(f"/cooperatives/{coop.id}")
    assert page.status_code == 200 and "稻田里养鱼" in page.text and "稻花鱼" in page.text
    assert client.get("/cooperatives/999").status_code == 404

    client.post("/cart/add", data={"sku_id": sku.id, "quantity": 1}, headers=SAME_ORIGIN)
    token = csrf_token(client.get("/checkout").text)
    client.post("/checkout", data={**ADDRESS, "csrf_token": token})
    order = session.query(Order).one()
    orders.mark_paid(session, order)
    lot = trace.create_batch(
        session,
        staff,
        BatchIn(product_id=product.id, lot_code="GP-01", quantity=Decimal(100), unit="条"),
    )
    trace.record_harvest(session, staff, lot, HarvestIn(harvest_date=date.today()))
    session.commit()

    client.cookies.clear()
    login = client.get("/login")
    client.post(
        "/login",
        data={"phone": staff.phone, "password": f.PASSWORD, "csrf_token": csrf_token(login.text)},
    )
    desk = client.get("/coop")
    assert (
        "待打包发货（1）" in desk.text and ADDRESS["phone"] in desk.text
    )  # the packer needs the number
    fulfilment_id = re.search(r"/coop/fulfilments/(\d+)/pack", desk.text).group(1)  # type: ignore[union-attr]
    lot_field = re.search(
        r'<select name="(lot_\d+)"><option value="">不指定</option><option value="(\d+)"', desk.text
    )
    assert lot_field and lot_field.group(2) == str(lot.id)  # the newest harvested lot offered
    client.post(
        f"/coop/fulfilments/{fulfilment_id}/pack",
        data={"csrf_token": csrf_token(desk.text), lot_field.group(1): lot_field.group(2)},
    )
    session.expire_all()
    assert session.get(Order, order.id).status == "fulfilling"
    assert session.query(OrderLine).filter_by(order_id=order.id).one().batch_id == lot.id
    desk_after = client.get("/coop").text
    assert "待打包发货（0）" in desk_after and "运输中（1）" in desk_after
