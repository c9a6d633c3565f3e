"""After the purchase through the HTML pages alone: the address book and checkout, my orders
with thumbnails and next actions, cancel, confirm receipt, after-sales answered on the desk."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.catalog import service as catalog
from farmgate.models import Address, Order, OrderStatus, RefundRequest, Role, Sku
from farmgate.orders import service as orders
from farmgate.trace import urls as trace_urls
from tests.support import aftercare, desk
from tests.support import factories as f
from tests.support.images import jpeg
from tests.support.web import SAME_ORIGIN, csrf_token

OS = OrderStatus
HOME = {
    "recipient": "王五",
    "phone": "13912345679",
    "province": "湖南省",
    "city": "怀化市",
    "county": "辰溪县",
    "township": "谭家场乡",
    "village": "高坪",
    "address_detail": "5组8号",
}


def test_the_address_book_and_checkout_with_a_saved_address(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    buyer = f.create_account(session)
    client.follow_redirects = False
    f.login_browser(client, session, buyer)
    form = client.get("/addresses/new")
    assert form.status_code == 200 and '<option value="高坪">' in form.text
    token = csrf_token(form.text)
    # Missing detail and a village not of this township: the same page, what was typed kept.
    bad = client.post(
        "/addresses",
        data={**HOME, "village": "不存在村", "address_detail": "", "csrf_token": token},
    )
    assert (
        bad.status_code == 422
        and 'value="王五"' in bad.text
        and 'href="#f-address_detail"' in bad.text
    )
    bad = client.post("/addresses", data={**HOME, "village": "不存在村", "csrf_token": token})
    assert bad.status_code == 422 and "没有这个村" in bad.text
    assert session.query(Address).count() == 0
    for detail in ("5组8号", "6组1号"):
        saved = client.post(
            "/addresses", data={**HOME, "address_detail": detail, "csrf_token": token}
        )
        assert saved.status_code == 303
    first, second = session.query(Address).order_by(Address.id).all()
    assert first.is_default and not second.is_default
    client.post(f"/addresses/{second.id}/default", data={"csrf_token": token})
    client.post(
        f"/addresses/{second.id}", data={**HOME, "address_detail": "6组2号", "csrf_token": token}
    )
    book = client.get("/addresses").text
    assert book.index("6组2号") < book.index("5组8号") and "默认" in book
    # Another buyer's address: not found.
    other = f.create_account(session)
    theirs = Address(account_id=other.id, **HOME)  # type: ignore[arg-type]
    session.add(theirs)
    session.commit()
    assert client.get(f"/addresses/{theirs.id}").status_code == 404
    assert (
        client.post(f"/addresses/{theirs.id}/delete", data={"csrf_token": token}).status_code == 404
    )

    # Checkout offers the saved addresses, the default chosen; ordering uses its fields.
    page = client.get(f"/products/{s.product.id}")
    assert "加入购物车" in page.text
    client.post("/cart/add", data={"sku_id": s.sku.id, "quantity": 1}, headers=SAME_ORIGIN)
    checkout = client.get("/checkout").text
    assert f'name="address_id" value="{second.id}" checked' in checkout
    placed = client.post(
        "/checkout",
        data={
            "address_id": str(second.id),
            "delivery_method": "courier",
            "csrf_token": csrf_token(checkout),
        },
    )
    assert placed.status_code == 303
    order = session.query(Order).filter_by(account_id=buyer.id).one()
    assert order.address_detail == "6组2号" and order.recipient == "王五"
    # A new address typed at checkout can be saved to the book.
    client.post(
        "/cart/add", data={"sku_id": s.sku.id, "quantity": 1, "csrf_token": csrf_token(checkout)}
    )
    placed = client.post(
        "/checkout",
        data={
            **HOME,
            "address_detail": "9组9号",
            "address_id": "new",
            "save_address": "1",
            "delivery_method": "courier",
            "csrf_token": csrf_token(checkout),
        },
    )
    assert placed.status_code == 303
    assert (
        session.query(Address).filter_by(account_id=buyer.id, address_detail="9组9号").count() == 1
    )
    client.post(f"/addresses/{first.id}/delete", data={"csrf_token": token})
    assert session.query(Address).filter_by(id=first.id).count() == 0


def test_my_orders_cancel_and_confirm_receipt(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    s.coop.service_phone = "0745-6221234"
    catalog.add_photo(session, s.owner, s.product.id, jpeg())  # type: ignore[arg-type]
    buyer = f.create_account(session)
    unpaid = desk.order(session, s.sku, buyer=buyer, paid=False)
    paid = desk.order(session, s.sku, buyer=buyer)
    delivered = aftercare.delivered(session, desk.order(session, s.sku, buyer=buyer))
    stock = session.get(Sku, s.sku.id).stock  # type: ignore[union-attr]
    client.follow_redirects = False
    f.login_browser(client, session, buyer)
    mine = client.get("/my-orders").text
    assert mine.count('class="thumb"') == 3 and "去付款" in mine and "确认收货" in mine
    assert "取消订单" in mine and "申请售后" in mine
    token = csrf_token(mine)

    # A paid order cannot be cancelled: the order page says so, nothing changes.
    refused = client.post(f"/orders/{paid.number}/cancel", data={"csrf_token": token})
    assert refused.status_code == 409 and "申请退款" in refused.text
    session.expire_all()
    assert session.get(Order, paid.id).status == OS.PAID  # type: ignore[union-attr]
    done = client.post(
        f"/orders/{unpaid.number}/cancel", data={"csrf_token": token}, follow_redirects=True
    )
    assert "订单已取消" in done.text
    session.expire_all()
    assert session.get(Order, unpaid.id).status == OS.CANCELLED  # type: ignore[union-attr]
    assert session.get(Sku, s.sku.id).stock == stock + 2  # type: ignore[union-attr]

    page = client.get(f"/orders/{delivered.number}").text
    assert 'href="tel:0745-6221234"' in page and "自动确认收货" in page
    for _ in range(2):  # twice: harmless
        confirmed = client.post(f"/orders/{delivered.number}/confirm", data={"csrf_token": token})
        assert confirmed.status_code == 303
    session.expire_all()
    assert session.get(Order, delivered.id).status == OS.COMPLETED  # type: ignore[union-attr]
    # Someone else's order: not found.
    stranger = desk.order(session, s.sku)
    session.commit()
    assert (
        client.post(f"/orders/{stranger.number}/confirm", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post(f"/orders/{stranger.number}/cancel", data={"csrf_token": token}).status_code
        == 404
    )
    # The cooperative's phone on the product page too; the favicon is served.
    assert 'href="tel:0745-6221234"' in client.get(f"/products/{s.product.id}").text
    assert 'href="tel:0745-6221234"' in client.get(trace_urls.trace_path(s.lot)).text
    icon = client.get("/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and "svg" in icon.headers["content-type"]
    assert 'rel="icon"' in client.get("/").text


def test_after_sales_on_the_pages_answered_on_the_desk(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    buyer = f.create_account(session)
    order = aftercare.delivered(session, desk.order(session, s.sku, buyer=buyer))
    aftercare.packed_with_excursion(session, order, s.lot)
    stranger = aftercare.delivered(session, desk.order(session, s.sku))
    client.follow_redirects = False
    f.login_browser(client, session, buyer)
    form = client.get(f"/orders/{order.number}/after-sales")
    assert form.status_code == 200 and "运输途中变质" in form.text
    token = csrf_token(form.text)
    (part_id,) = [p.id for p in orders.fulfilments_for(session, s.owner) if p.order_id == order.id]
    good = {
        "csrf_token": token,
        "part": str(part_id),
        "kind": "spoiled",
        "amount": "5",
        "note": "坏了两斤",
    }

    def post(number: str, data: dict[str, str], photo: tuple[str, bytes, str] | None = None):  # type: ignore[no-untyped-def]
        files = {"photos": photo} if photo else None
        return client.post(f"/orders/{number}/after-sales", data=data, files=files)

    assert post(stranger.number, good).status_code == 404
    for data, photo, message in [
        ({**good, "kind": ""}, None, "请选择售后原因"),
        ({**good, "part": ""}, None, "请选择是哪个合作社的商品"),
        ({**good, "amount": "99999"}, None, "最多可退"),
        (good, ("x.pdf", b"%PDF-1.4 nope", "application/pdf"), "第1张（x.pdf）"),
    ]:
        bad = post(order.number, data, photo)
        assert bad.status_code == 422 and message in bad.text and "坏了两斤" in bad.text
    assert session.query(RefundRequest).count() == 0
    made = post(order.number, good, ("a.jpg", jpeg(), "image/jpeg"))
    assert made.status_code == 303
    page = client.get(made.headers["location"]).text
    assert (
        "售后申请已提交" in page and "等待合作社答复" in page and "批次 " + s.lot.lot_code in page
    )
    assert page.count("售后照片") == 1
    asked = session.query(RefundRequest).one()

    # The township console shows the same request (it may step in on late ones).
    f.login_browser(client, session, f.create_account(session, role=Role.ADMIN))
    console = client.get(f"/township/refunds/{asked.id}").text
    assert "冷链记录" in console and "买家申请退款 ¥5.00" in console

    # The cooperative sees the evidence and photo on its desk, and accepts the amount asked.
    f.login_browser(client, session, s.owner)
    desk_page = client.get(f"/coop/refunds/{asked.id}").text
    assert "冷链记录" in desk_page and "运输途中变质" in desk_page and "买家照片 1" in desk_page
    assert "按买家申请的金额退款 ¥5.00" in desk_page
    accepted = client.post(
        f"/coop/refunds/{asked.id}/accept", data={"how": "all", "csrf_token": csrf_token(desk_page)}
    )
    assert accepted.status_code == 303
    f.login_browser(client, session, buyer)
    page = client.get(f"/orders/{order.number}").text
    steps = page[page.index("售后申请 ·") :]
    assert "合作社同意退款 ¥5.00" in steps, steps[:800]
    assert "退款处理中 ¥5.00" in steps or "等待村服务站退还现金 ¥5.00" in steps
