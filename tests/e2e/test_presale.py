"""Pre-sales on a 360 px Chromium: the desk opens one with a deposit, a buyer pays the deposit,
the harvest is recorded, the buyer pays the balance and the cooperative packs the order; and a
short harvest: four buyers pay, the harvest fills the first two, the last two are refunded
automatically, and each side sees it (the domain and ledger sides: tests/test_presale*.py)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import db
from farmgate.models import Presale
from farmgate.presale import service as presale
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
    _wait_for(page, url, until)


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


def _buy(page, product_id: int, quantity: int, phone: str, name: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A guest buys ``quantity`` of the pre-sale and pays in full; returns the order's page
    (with its access token) and number."""
    page.context.clear_cookies()
    page.goto(f"/products/{product_id}")
    page.fill("input[name=quantity]", str(quantity))
    submit(page, "text=加入购物车")
    page.goto("/cart")
    submit(page, "text=去结算")
    for field, value in {
        "recipient": name,
        "phone": phone,
        "city": "怀化市",
        "county": "辰溪县",
        "township": "谭家场乡",
        "village": "高坪村",
        "address_detail": "3组12号",
    }.items():
        page.fill(f"input[name={field}]", value)
    submit(page, "text=提交订单")
    page.wait_for_selector("text=待付款")
    order_url = page.url
    number = page.inner_text(".order-no").replace("订单", "").strip()
    submit(page, "text=微信支付")
    page.wait_for_selector(".qr svg")
    _simulate_payment(page, "模拟支付", order_url, "还未采收")
    return order_url, number


def _wait_for(page, url: str, text: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(75):
        page.goto(url)
        if text in page.content():
            return
        time.sleep(0.2)
    raise AssertionError(f"{text} never shown on {url}")


def test_a_short_harvest_serves_the_first_paid_and_refunds_the_last(page, app_db: Path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{app_db}")
    today = local_today()
    with Session(engine) as session:
        shop = desk.shop(session, "岩头腊肉合作社", lot="YTL2026")
        sale = presale.open_presale(
            session,
            shop.owner,
            presale.PresaleIn(
                sku_id=shop.sku.id,  # type: ignore[arg-type]
                harvest_from=today,
                ship_from=today + timedelta(days=1),
                ship_to=today + timedelta(days=4),
                cap=6,
            ),
        )
        session.commit()
        phone, product_id, sale_id = shop.owner.phone, shop.product.id, sale.id

    # Four buyers, one after another: 2 + 1 + 2 + 1 = all six units of the pre-sale.
    bought = [
        _buy(page, product_id, quantity, f"1391234{i:04d}", name)  # type: ignore[arg-type]
        for i, (quantity, name) in enumerate([(2, "王一"), (1, "李二"), (2, "张三"), (1, "赵四")])
    ]
    check_phone(page, "s1-buyer-paid-waiting-for-harvest")
    (first_url, first), (_, second), (third_url, third), (_, fourth) = bought

    # The cooperative: only three units came in. The queue shows who paid first.
    _login(page, phone)
    page.goto(f"/coop/presales/{sale_id}")
    queue = page.inner_text("#sale-orders + p + ol")
    assert [queue.index(n) for n in (first, second, third, fourth)] == sorted(
        queue.index(n) for n in (first, second, third, fourth)
    )
    check_phone(page, "s2-desk-presale-queue")
    page.select_option("#batch_id", index=1)
    page.fill("#units", "3")
    submit(page, 'button:has-text("登记采收结果")')
    assert "采收结果已登记" in page.content()
    # The refunds go back through WeChat Pay in the background; the desk shows them arriving.
    _wait_for(page, f"/coop/presales/{sale_id}", "已退 ¥")
    for _ in range(75):
        cards = page.locator("#sale-orders ~ ol li").all_inner_texts()
        if sum("已退 ¥" in c for c in cards) == 2:
            break
        time.sleep(0.2)
        page.reload()
    cards = page.locator("#sale-orders ~ ol li").all_inner_texts()
    outcome = {n: next(c for c in cards if n in c) for n in (first, second, third, fourth)}
    for kept in (first, second):
        assert "够发" in outcome[kept] and "退" not in outcome[kept].split("件")[-1], outcome
    for refunded in (third, fourth):
        assert "不够发，已自动退款" in outcome[refunded] and "已退 ¥" in outcome[refunded]
        assert "已退款" in outcome[refunded]
    assert "已登记采收：能发 3 件" in page.content()
    check_phone(page, "s3-desk-harvest-short")

    page.goto("/coop/orders")
    content = page.content()
    assert first in content and second in content  # ready to pack
    assert third not in content and fourth not in content
    assert page.locator("a:has-text('去打包')").count() == 2
    check_phone(page, "s4-desk-orders-to-pack")

    # The refunded buyer's order page says why, and how much came back.
    page.context.clear_cookies()
    _wait_for(page, third_url, "已原路退回")
    text = page.inner_text("#presale-refund")
    assert "采收不足，按付款先后发货，本单已全额自动退款" in text
    assert "状态：已退款" in page.inner_text(".status")
    with Session(engine) as session:
        from farmgate.models import Order

        total = session.query(Order).filter_by(number=third).one().total_fen
    assert f"已原路退回 ¥{total // 100}.{total % 100:02d}" in text
    check_phone(page, "s5-buyer-refunded")

    page.goto(first_url)
    assert "合作社正在备货打包" in page.content()
    check_phone(page, "s6-buyer-kept-packing")
    engine.dispose()
