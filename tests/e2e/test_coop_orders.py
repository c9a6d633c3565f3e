"""A cooperative packs a paid order choosing its lot, prints the packing slip, then answers a
buyer's refund request, on a 360 px Chromium; every page without sideways scrolling and with
tap targets at least 44 px high."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import db
from farmgate.models import Refund
from farmgate.payments import requests
from tests.support import desk
from tests.support import factories as f
from tests.support.browser import NEEDS_CHROMIUM, check_phone, submit

pytestmark = NEEDS_CHROMIUM


def test_a_cooperative_packs_prints_and_answers_a_refund(page, app_url, app_db: Path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:
        shop = desk.shop(session, "溪口蜂蜜合作社", lot="XK2026")
        to_pack = desk.order(session, shop.sku)
        to_refund = desk.order(session, shop.sku)
        (asked,) = requests.ask(session, None, to_refund, "收到时有一瓶漏了")
        session.commit()
        phone, lot_id, number = shop.owner.phone, shop.lot.id, to_pack.number
        asked_id, refund_number = asked.id, to_refund.number

    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", f.PASSWORD)
    submit(page, "button[type=submit]")
    page.goto("/coop/orders")
    assert number in page.content() and refund_number in page.content()
    check_phone(page, "40-coop-orders")

    submit(
        page, f"xpath=//h2[a[contains(., '{number}')]]/following-sibling::div/a[text()='去打包']"
    )
    select = page.locator("select[name^=lot_]")
    assert select.input_value() == str(lot_id)
    check_phone(page, "41-coop-order-pack")
    submit(page, "text=已装好箱，标记为已打包")
    assert "已标记为已打包" in page.content()
    check_phone(page, "42-coop-order-packed")

    submit(page, 'a.button:text-is("打印装箱单")')
    assert "装箱单" in page.content() and "XK2026" in page.content()
    check_phone(page, "43-coop-packing-slip")
    page.emulate_media(media="print")
    assert page.locator(".no-print").first.is_hidden()
    page.emulate_media(media="screen")

    page.goto("/coop/refunds")
    assert "收到时有一瓶漏了" in page.content()
    check_phone(page, "44-coop-refunds")
    submit(page, "text=处理这个申请")
    page.check("input[name=how][value=part]")
    page.fill("#amount", "9999")
    submit(page, "text=同意并退款")
    assert "最多可退" in page.content()
    check_phone(page, "45-coop-refund-error")
    page.fill("#amount", "5")
    submit(page, "text=同意并退款")
    assert "已同意退款" in page.content()
    check_phone(page, "46-coop-refund-accepted")
    with Session(engine) as session:
        assert [r.amount_fen for r in session.query(Refund).filter_by(order_id=to_refund.id)] == [
            500
        ]
    assert page.url.endswith(f"/coop/refunds/{asked_id}?done=accepted")
    engine.dispose()
