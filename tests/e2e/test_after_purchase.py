"""After the purchase on a 360 px Chromium (zh-CN): a buyer confirms receipt of a delivered
order, another cancels an unpaid one (the stock comes back), and an after-sales request with a
photo is answered by the cooperative on its desk and refunded, the buyer seeing each step."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import db
from farmgate.catalog import service as catalog
from farmgate.media.storage import LocalMediaStorage, set_storage
from farmgate.models import Account, Order, Refund, RefundStatus, Role, Sku
from farmgate.payments import service as payments
from tests.support import aftercare, desk
from tests.support import factories as f
from tests.support.browser import NEEDS_CHROMIUM, SMALL_TARGETS, check_phone, submit
from tests.support.images import jpeg

pytestmark = NEEDS_CHROMIUM


def _phone(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """check_phone, saying which targets are too small when some are."""
    assert page.evaluate(SMALL_TARGETS) == [], name
    check_phone(page, name)


def _sign_in(page, phone: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", f.PASSWORD)
    submit(page, "button[type=submit]")


def test_confirm_cancel_and_after_sales_refunded(
    page, app_url, app_db: Path, app_workdir: Path
) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{app_db}")
    # The product photo is written where the server serves its media from.
    set_storage(LocalMediaStorage(app_workdir / "media", "/media"))
    with Session(engine) as session:
        shop = desk.shop(session, "山背茶油合作社", lot="SB2026A")
        shop.coop.service_phone = "0745-6221234"
        session.add(shop.coop)
        catalog.add_photo(session, shop.owner, shop.product.id, jpeg((640, 480), (40, 120, 40)))  # type: ignore[arg-type]
        buyer = f.create_account(session)
        received = aftercare.delivered(session, desk.order(session, shop.sku, buyer=buyer))
        spoiled = aftercare.delivered(session, desk.order(session, shop.sku, buyer=buyer))
        aftercare.packed_with_excursion(session, spoiled, shop.lot)
        unpaid = desk.order(session, shop.sku, paid=False)
        other = session.get(Account, unpaid.account_id)
        session.commit()
        ids = (received.id, spoiled.id, unpaid.id, shop.sku.id, shop.product.id)
        phones = (buyer.phone, other.phone, shop.owner.phone)  # type: ignore[union-attr]
        numbers = (received.number, spoiled.number, unpaid.number)
        stock = session.get(Sku, shop.sku.id).stock  # type: ignore[union-attr]

    # 1. A buyer confirms receipt of a delivered order.
    _sign_in(page, phones[0])
    page.goto("/my-orders")
    assert numbers[0] in page.content() and "确认收货" in page.content()
    assert page.locator("img.thumb").first.evaluate("img => img.naturalWidth") > 0
    _phone(page, "50-my-orders")
    page.goto(f"/orders/{numbers[0]}")
    assert 'href="tel:0745-6221234"' in page.content() and "自动确认收货" in page.content()
    _phone(page, "51-order-delivered")
    submit(page, "button:text-is('确认收货')")
    assert "已确认收货" in page.content() and "已完成" in page.content()
    _phone(page, "52-order-confirmed")

    # 2. Another buyer cancels an unpaid order: the stock comes back.
    _sign_in(page, phones[1])
    page.goto("/my-orders")
    submit(page, "button:text-is('取消订单')")
    assert "订单已取消" in page.content()
    _phone(page, "53-order-cancelled")
    with Session(engine) as session:
        assert session.get(Order, ids[2]).status == "cancelled"  # type: ignore[union-attr]
        assert session.get(Sku, ids[3]).stock == stock + 2  # type: ignore[union-attr]

    # The address book: a new address, then checkout offers it (chosen as the default).
    page.goto("/addresses")
    submit(page, "text=添加新地址")
    page.fill("#f-recipient", "周七")
    page.fill("#f-village", "高坪")
    page.fill("#f-address_detail", "2组6号")
    _phone(page, "61-address-new")
    submit(page, "text=保存地址")
    assert "地址已保存" in page.content() and "默认" in page.content()
    _phone(page, "62-address-book")
    page.goto(f"/products/{ids[4]}")
    submit(page, "text=加入购物车")
    submit(page, "text=去结算")
    assert page.locator("input[name=address_id]:checked").get_attribute("value") != "new"
    _phone(page, "63-checkout-saved-address")
    submit(page, "text=提交订单")
    assert "周七" in page.content() and "2组6号" in page.content()

    # 3. After-sales with a photo: a wrong amount first, then the request.
    _sign_in(page, phones[0])
    page.goto(f"/orders/{numbers[1]}")
    submit(page, "text=申请售后 / 退款")
    _phone(page, "54-after-sales-form")
    page.check("input[name=kind][value=spoiled]")
    page.fill("#f-amount", "9999")
    page.fill("#f-note", "到货时油瓶发烫，味道不对")
    submit(page, "text=提交售后申请")
    assert "最多可退" in page.content() and "味道不对" in page.content()
    _phone(page, "55-after-sales-error")
    page.fill("#f-amount", "6")
    page.set_input_files(
        "#f-photos", files=[{"name": "oil.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    submit(page, "text=提交售后申请")
    assert "等待合作社答复" in page.content() and "批次 SB2026A" in page.content()
    assert page.locator("img[alt^=售后照片]").evaluate("img => img.naturalWidth") > 0
    _phone(page, "56-after-sales-open")

    # 4. The cooperative answers on its desk.
    _sign_in(page, phones[2])
    page.goto("/coop/refunds")
    assert numbers[1] in page.content() and "有冷链超温记录" in page.content()
    _phone(page, "57-desk-after-sales-list")
    submit(page, "text=处理这个申请")
    assert "冷链记录" in page.content() and "按买家申请的金额退款 ¥6.00" in page.content()
    _phone(page, "58-desk-after-sales")
    submit(page, "text=同意并退款")
    assert "已同意退款" in page.content()

    # 5. The buyer sees each step: accepted, cash waiting at the station, refunded.
    _sign_in(page, phones[0])
    for _ in range(50):
        page.goto(f"/orders/{numbers[1]}")
        if "等待村服务站退还现金" in page.content():
            break
        time.sleep(0.2)
    assert "合作社同意退款 ¥6.00" in page.content()
    assert "等待村服务站退还现金 ¥6.00" in page.content()
    _phone(page, "59-after-sales-accepted")
    with Session(engine) as session:
        refund = session.query(Refund).filter_by(order_id=ids[1]).one()
        assert refund.status == RefundStatus.PENDING_CASH and refund.amount_fen == 600
        admin = f.create_account(session, role=Role.ADMIN)
        payments.cash_returned(session, refund, admin)  # the station hands the cash back
        session.commit()
    page.reload()
    assert "已退款 ¥6.00" in page.content()
    _phone(page, "60-after-sales-refunded")
    engine.dispose()
