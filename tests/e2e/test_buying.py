"""A phone-sized Chromium buys from two cooperatives and pays through the simulator.

Runs the real app (``farmgate demo`` in a subprocess, SQLite, embedded jobs) and drives
Debian's Chromium with Playwright. Screenshots land in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import re
import time

from tests.support.browser import NEEDS_CHROMIUM, shot, submit

pytestmark = NEEDS_CHROMIUM


def test_a_phone_buys_from_two_cooperatives_and_pays(page, pay_sim) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.select_option("select[name=category]", "dried_goods")
    submit(page, "text=筛选")
    assert "谭家场干红辣椒" in page.content() and "辰溪稻花鱼" not in page.content()
    shot(page, "01-filtered")

    submit(page, "text=谭家场干红辣椒")
    page.fill("input[name=quantity]", "2")
    submit(page, "text=加入购物车")
    shot(page, "02a-cart")
    page.goto("/")
    submit(page, "text=辰溪稻花鱼")
    shot(page, "02-product")
    submit(page, "text=加入购物车")
    assert page.locator(".group h2").count() == 2  # two cooperatives in one cart
    shot(page, "03-cart")

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
    submit(page, "text=提交订单")
    page.wait_for_selector("text=待付款")
    assert page.locator(".group").count() == 2  # one fulfilment per cooperative
    shot(page, "04-order")

    submit(page, "text=微信支付")
    page.wait_for_selector(".qr svg")
    shot(page, "05-qr")
    shot(page, "05-qr")
    order_url = page.url
    submit(page, "text=模拟支付")
    page.wait_for_selector("text=确认支付（模拟）")
    submit(page, "text=确认支付（模拟）")
    page.wait_for_selector("text=支付成功（模拟）")
    for _ in range(50):
        page.goto(order_url)
        if "已付款" in page.content():
            break
        time.sleep(0.2)
    assert "已付款" in page.content()
    shot(page, "06-paid")


def test_bad_checkout_input_shows_the_messages(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/products/1")
    submit(page, "text=加入购物车")
    submit(page, "text=去结算")
    page.fill("input[name=phone]", "12345")
    page.fill("input[name=province]", "")
    submit(page, "text=提交订单")
    text = page.content()
    assert "请输入11位中国大陆手机号码" in text and "必填" in text
    assert re.search(r'aria-invalid="true"', text)
    shot(page, "07-checkout-errors")
