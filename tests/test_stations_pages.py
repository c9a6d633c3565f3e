"""Village service station pages: the staff's phone pages, pickup at checkout, cash refused
for far parcels, the console's stations section and the dashboard's station counts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from farmgate import audit
from farmgate.models import (
    Account,
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    PaymentIntent,
    Product,
    Role,
    Sku,
    Station,
    StationOrder,
    StationStaff,
)
from farmgate.orders import service as orders
from tests.support import factories as f
from tests.support.factories import ADDRESS
from tests.support.stations import station_world
from tests.support.web import SAME_ORIGIN, csrf_token


def week(opens: str = "08:00", closes: str = "18:00") -> dict[str, str]:
    """The console's opening-hours fields: every day the same."""
    return {f"{k}_{d}": v for d in range(1, 8) for k, v in (("open", opens), ("close", closes))}


def _place(client, world, **form):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/station/order").text)
    data = {
        "csrf_token": token,
        "villager_name": "王奶奶",
        "villager_phone": "13912345678",
        "delivery_method": "pickup",
        f"qty_{world['sku'].id}": "2",
    }
    data.update(form)
    return client.post("/station/order", data=data, follow_redirects=False)


def test_staff_order_for_a_villager_take_cash_and_hand_over(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    world = station_world(session)
    f.login_browser(client, session, world["staff"])
    home = client.get("/station")
    assert home.status_code == 200 and "为村民代下单" in home.text

    refused = _place(client, world, villager_name="", **{f"qty_{world['sku'].id}": "x"})
    assert refused.status_code == 422
    assert "请填写0到999的整数" in refused.text and 'value="13912345678"' in refused.text
    assert session.query(Order).count() == 0

    placed = _place(client, world)
    assert placed.status_code == 303, placed.text
    number = placed.headers["location"].split("/")[3].split("?")[0]
    page = client.get(placed.headers["location"])
    code = re.search(r'id="pickup-code">(\d{6})<', page.text)
    assert code is not None and "收取现金" in page.text

    token = csrf_token(page.text)
    paid = client.post(f"/station/orders/{number}/cash", data={"csrf_token": token})
    assert paid.status_code == 200 and "已登记收到现金" in paid.text
    session.expire_all()
    order = session.query(Order).filter_by(number=number).one()
    assert order.status == OrderStatus.PAID

    early = client.post(f"/station/orders/{number}/arrived", data={"csrf_token": token})
    assert early.status_code == 409 and "还没有全部打包" in early.text

    fulfilment = session.query(Fulfilment).filter_by(order_id=order.id).one()
    orders.mark_packed(session, world["coop_staff"], fulfilment.id)
    session.commit()
    arrived = client.post(f"/station/orders/{number}/arrived", data={"csrf_token": token})
    assert arrived.status_code == 200 and "已登记到站" in arrived.text

    wrong = client.post("/station/pickup", data={"csrf_token": token, "code": "12ab"})
    assert (
        wrong.status_code == 422 and "没有这个取货码" in wrong.text and 'value="12ab"' in wrong.text
    )
    done = client.post("/station/pickup", data={"csrf_token": token, "code": code.group(1)})
    assert done.status_code == 200 and "已交付" in done.text
    session.expire_all()
    assert session.get(Order, order.id).status == OrderStatus.DELIVERED  # type: ignore[union-attr]

    # Another station's staff: that order is not found.
    f.login_browser(client, session, world["other_staff"])
    assert client.get(f"/station/orders/{number}").status_code == 404


@pytest.mark.parametrize("role", [Role.CONSUMER, Role.COURIER, None])
def test_station_pages_are_for_station_staff(client, session: Session, role) -> None:  # type: ignore[no-untyped-def]
    station_world(session)
    if role is not None:
        f.login_browser(client, session, f.create_account(session, role=role))
    session.commit()
    for url in ("/station", "/station/order", "/station/pickup"):
        page = client.get(url)
        assert (page.url.path == "/login") if role is None else page.status_code == 403, url


def _checkout_page(client, session: Session, world) -> str:  # type: ignore[no-untyped-def]
    buyer = f.create_account(session)
    f.login_browser(client, session, buyer)
    token = csrf_token(client.get("/").text)
    client.post("/cart/add", data={"sku_id": world["sku"].id, "quantity": 1, "csrf_token": token})
    return csrf_token(client.get("/checkout").text)


def test_pickup_at_a_station_at_checkout(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    world = station_world(session)
    world["other"].is_closed = True
    token = _checkout_page(client, session, world)
    form = {**ADDRESS, "address_detail": "", "delivery_method": "pickup", "csrf_token": token}

    closed = client.post("/checkout", data={**form, "station_id": str(world["other"].id)})
    assert closed.status_code == 422 and "暂停服务" in closed.text
    assert session.query(Order).count() == 0

    placed = client.post("/checkout", data={**form, "station_id": str(world["station"].id)})
    assert placed.status_code == 200, placed.text
    order = session.query(Order).one()
    link = session.get(StationOrder, order.id)
    assert link is not None and link.station_id == world["station"].id
    assert "谭家场村电商服务站" in order.address_detail and order.shipping_fen == 0
    assert f'id="pickup-code">{link.pickup_code}<' in placed.text
    assert 'value="cash"' in placed.text  # cash at the station is offered for pickup


def test_cash_is_refused_for_a_parcel_to_another_province(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    world = station_world(session)
    token = _checkout_page(client, session, world)
    far = {**ADDRESS, "province": "广东省", "city": "广州市", "county": "天河区"}
    placed = client.post("/checkout", data={**far, "csrf_token": token})
    assert placed.status_code == 200 and 'value="cash"' not in placed.text
    order = session.query(Order).one()
    token = csrf_token(placed.text)
    paid = client.post(
        f"/orders/{order.number}/pay",
        data={"csrf_token": token, "method": "cash", "t": orders.access_token(order)},
    )
    assert paid.status_code == 409 and "寄往外地的快递" in paid.text
    assert session.query(PaymentIntent).count() == 0


def test_the_console_keeps_stations_and_their_staff(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    world = station_world(session)
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    listing = client.get("/township/stations")
    assert listing.status_code == 200 and "高坪村电商服务站" in listing.text
    token = csrf_token(listing.text)
    village = str(world["station"].village_id)
    bad = {"csrf_token": token, "name": "新站", "village_id": village, "address": "村口"}
    refused = client.post("/township/stations", data={**bad, **week(), "open_2": "8点"})
    assert refused.status_code == 422 and "周二开门时间请按 08:00 的格式" in refused.text
    assert 'id="open_2-error"' in refused.text and 'href="#open_2"' in refused.text
    assert 'value="村口"' in refused.text and 'value="8点"' in refused.text
    assert session.query(Station).count() == 2

    made = client.post(
        "/township/stations",
        data={**bad, **week("08:00", "17:30"), "open_6": "9:00", "rest_7": "1", "takes_cash": "1"},
    )
    assert made.status_code == 200 and "已新建服务站" in made.text
    station = session.query(Station).filter_by(name="新站").one()
    assert (station.takes_cash, station.holds_parcels, station.is_closed) == (True, False, False)
    assert station.weekly_hours["6"] == ["09:00", "17:30"] and "7" not in station.weekly_hours
    assert "周一至周五 08:00–17:30，周六 09:00–17:30，周日休息" in made.text

    staff = client.post(
        f"/township/stations/{station.id}/staff",
        data={"csrf_token": token, "staff_name": "李站长", "staff_phone": "13700001111"},
    )
    assert staff.status_code == 200 and "初始密码" in staff.text
    account = session.query(Account).filter_by(phone="13700001111").one()
    assert account.role == Role.STATION
    assert session.get(StationStaff, account.id).station_id == station.id  # type: ignore[union-attr]
    assert {e.action for e in audit.entries(session)} >= {"station.create", "station.staff_add"}

    dashboard = client.get("/township/dashboard")
    assert dashboard.status_code == 200 and "村服务站订单" in dashboard.text


def test_the_consoles_cash_page_names_the_orders_station(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    world = station_world(session)
    f.login_browser(client, session, world["staff"])
    assert _place(client, world).status_code == 303
    f.login_browser(client, session, f.create_account(session, role=Role.ADMIN))
    page = client.get("/township/cash")
    assert page.status_code == 200 and 'value="谭家场村电商服务站"' in page.text


def test_a_station_closed_in_the_console_is_refused_at_checkout(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    world = station_world(session)
    station = world["station"]
    f.login_browser(client, session, f.create_account(session, role=Role.ADMIN))
    page = client.get(f"/township/stations/{station.id}")
    form = {
        "csrf_token": csrf_token(page.text),
        "name": station.name,
        "village_id": str(station.village_id),
        "address": station.address,
        **week(),
        "takes_cash": "1",
        "holds_parcels": "1",
        "cooperative_id": "99999",
    }
    refused = client.post(f"/township/stations/{station.id}", data=form)
    assert refused.status_code == 422 and "已审核的合作社" in refused.text
    closed = client.post(
        f"/township/stations/{station.id}", data={**form, "cooperative_id": "", "is_closed": "1"}
    )
    assert closed.status_code == 200 and "已保存" in closed.text
    session.expire_all()
    assert session.get(Station, station.id).is_closed  # type: ignore[union-attr]

    token = _checkout_page(client, session, world)
    form = {**ADDRESS, "delivery_method": "pickup", "csrf_token": token}
    placed = client.post("/checkout", data={**form, "station_id": str(station.id)})
    assert placed.status_code == 422 and "暂停服务" in placed.text
    assert session.query(Order).count() == 0


def test_guests_picking_up_at_one_station_do_not_share_an_address_limit(  # type: ignore[no-untyped-def]
    client, session: Session
) -> None:
    world = station_world(session)
    world["sku"].stock = 100
    session.commit()
    for i in range(3):  # more than a guest address may hold unpaid (two)
        client.cookies.clear()
        client.post("/cart/add", data={"sku_id": world["sku"].id}, headers=SAME_ORIGIN)
        token = csrf_token(client.get("/checkout").text)
        form = {**ADDRESS, "phone": f"1391111000{i}", "delivery_method": "pickup"}
        placed = client.post(
            "/checkout", data={**form, "station_id": str(world["station"].id), "csrf_token": token}
        )
        assert placed.status_code == 200, placed.text
    assert session.query(StationOrder).count() == 3


def test_ordering_for_a_villager_choose_then_how_many_then_the_order(  # type: ignore[no-untyped-def]
    client, session: Session
) -> None:
    """Three short pages without script: the chosen SKUs travel in the address as qty_<id>."""
    world = station_world(session)
    sku = world["sku"]
    product = session.get(Product, sku.product_id)
    assert product is not None
    sold_out = Sku(product_id=sku.product_id, spec="礼盒", price_fen=9900, stock=0, weight_g=900)
    session.add(sold_out)
    session.commit()
    f.login_browser(client, session, world["staff"])

    choose = client.get("/station/order")
    assert choose.status_code == 200 and "第1步" in choose.text
    assert f'href="/station/order/sku/{sku.id}"' in choose.text
    assert f"/station/order/sku/{sold_out.id}" not in choose.text  # only what is in stock
    found = client.get("/station/order/choose", params={"q": product.name[:2]})
    assert f"/station/order/sku/{sku.id}" in found.text
    missing = client.get("/station/order/choose", params={"q": "没有这种东西"})
    assert "没有找到有货的商品" in missing.text and "/station/order/sku/" not in missing.text

    how_many = client.get(f"/station/order/sku/{sku.id}")
    assert how_many.status_code == 200 and "第2步" in how_many.text
    assert client.get(f"/station/order/sku/{sold_out.id}").status_code == 404
    wrong = client.get("/station/order", params={"add": sku.id, "n": "两"})
    assert wrong.status_code == 422 and 'id="n-error"' in wrong.text and 'value="两"' in wrong.text

    added = client.get("/station/order", params={"add": sku.id, "n": "2"}, follow_redirects=False)
    assert added.status_code == 303
    assert added.headers["location"] == f"/station/order?qty_{sku.id}=2"
    again = client.get(
        "/station/order",
        params={f"qty_{sku.id}": "2", "add": sku.id, "n": "1"},
        follow_redirects=False,
    )
    assert again.headers["location"] == f"/station/order?qty_{sku.id}=3"  # added up

    order_page = client.get(again.headers["location"])
    assert order_page.status_code == 200 and "第3步" in order_page.text
    assert f'name="qty_{sku.id}" value="3"' in order_page.text
    assert f"¥{sku.price_fen * 3 // 100}." in order_page.text
    assert 'href="/station/order"' in order_page.text  # removing the only line
    assert session.query(Order).count() == 0  # nothing is stored until the order is placed

    placed = _place(client, world, **{f"qty_{sku.id}": "3"})
    assert placed.status_code == 303
    session.expire_all()
    order = session.query(Order).one()
    assert [line.quantity for line in session.query(OrderLine).filter_by(order_id=order.id)] == [3]
