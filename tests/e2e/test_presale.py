"""A pre-sale on a 360 px Chromium: the desk opens it with a deposit, a buyer pays the deposit,
the harvest is recorded, the buyer pays the balance and the cooperative packs the order.
(The short harvest refunding the last buyers is tests/test_presale.py's domain test.)"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import db
from farmgate.models import Presale
from farmgate.timeutil import local_today
from tests.support import desk
from tests.support import factories as f
from tests.support.browser import NEEDS_CHROMIUM, check_phone, submit

pytestmark = NEEDS_CHROMIUM


def _login(page, phone: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", f.PASSWORD)
    submit(page, "button[type=submit]")


def _simulate_payment(page, link: str, url: str, until: str) -> None:  # type: ignore[no-untyped-def]
    submit(page, f"text={link}")
    page.wait_for_selector("text=确认支付（模拟）")
    submit(page, "text=确认支付（模拟）")
    page.wait_for_selector("text=支付成功（模拟）")
    for _ in range(50):
        page.goto(url)
        if until in page.content():
            return
        time.sleep(0.2)
    raise AssertionError(f"{until} never shown")


def test_a_presale_with_a_deposit_balance_harvest_and_packing(page, app_db: Path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:
        shop = desk.shop(session, "溪口柑橘合作社", lot="XKJ2026")
        session.commit()
        phone, product_id, sku_id = shop.owner.phone, shop.product.id, shop.sku.id

    today = local_today()
    _login(page, phone)
    page.goto("/coop/presales")
    page.select_option("#sku_id", str(sku_id))
    page.fill("#harvest_from", str(today))
    page.fill("#ship_from", str(today - timedelta(days=1)))
    page.fill("#ship_to", str(today + timedelta(days=5)))
    page.fill("#cap", "10")
    page.fill("#deposit", "5")
    page.fill("#balance_due", str(today + timedelta(days=3)))
    submit(page, 'button:has-text("开始预售")')
    assert "发货日期不能早于预计采收日期" in page.content()
    check_phone(page, "p1-desk-presale-refused")
    page.fill("#ship_from", str(today + timedelta(days=1)))
    submit(page, 'button:has-text("开始预售")')
    assert "预售已开始" in page.content()
    check_phone(page, "p2-desk-presale-open")

    page.context.clear_cookies()
    page.goto(f"/products/{product_id}")
    assert "定金原路退回" in page.content()
    check_phone(page, "p3-product-presale")
    page.fill("input[name=quantity]", "2")
    submit(page, "text=加入购物车")
    page.goto("/cart")
    assert "预售 · 预计" in page.content()
    check_phone(page, "p4-cart-presale")
    submit(page, "text=去结算")
    for name, value in {
        "recipient": "李四",
        "phone": "13912345678",
        "city": "怀化市",
        "county": "辰溪县",
        "township": "谭家场乡",
        "village": "高坪村",
        "address_detail": "3组12号",
    }.items():
        page.fill(f"input[name={name}]", value)
    assert "发货" in page.content()
    submit(page, "text=提交订单")
    page.wait_for_selector("text=待付款")
    assert "预售订单" in page.content() and "尾款" in page.content()
    check_phone(page, "p5-order-deposit-due")
    order_url = page.url
    submit(page, "text=微信支付")
    page.wait_for_selector(".qr svg")
    _simulate_payment(page, "模拟支付", order_url, "还未采收")
    check_phone(page, "p5-order-deposit-paid-b")

    with Session(engine) as session:
        presale_id = session.query(Presale).one().id
    _login(page, phone)
    page.goto(f"/coop/presales/{presale_id}")
    page.select_option("#batch_id", index=1)
    page.fill("#units", "10")
    submit(page, 'button:has-text("登记采收结果")')
    assert "采收结果已登记" in page.content()
    check_phone(page, "p6-desk-harvest")

    page.context.clear_cookies()
    page.goto(order_url)
    assert "请付尾款后发货" in page.content()
    submit(page, "text=支付尾款")
    page.wait_for_selector(".qr svg")
    check_phone(page, "p7-order-balance-qr")
    _simulate_payment(page, "模拟支付尾款", order_url, "合作社正在备货打包")
    check_phone(page, "p8-order-balance-paid")

    _login(page, phone)
    page.goto("/coop/orders")
    submit(page, "xpath=(//a[text()='去打包'])[1]")
    submit(page, "text=已装好箱，标记为已打包")
    assert "已标记为已打包" in page.content()
    check_phone(page, "p9-desk-packed")
    engine.dispose()
