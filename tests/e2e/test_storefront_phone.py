"""The shop's own pages on a 360 px phone: nothing scrolls sideways and every link, button
and field is a thumb's size (44 px), header included. Buyers are often over 50."""

from __future__ import annotations

from tests.support.browser import NEEDS_CHROMIUM, check_phone, submit

pytestmark = NEEDS_CHROMIUM


def test_the_shop_fits_a_phone_and_thumbs(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    check_phone(page, "90-shop-home")
    page.goto("/search?q=辣椒")
    check_phone(page, "91-shop-search")
    submit(page, "text=谭家场干红辣椒")
    check_phone(page, "92-shop-product")
    trace = page.locator("a:has-text('查看溯源')").first
    trace_url = trace.get_attribute("href")
    submit(page, "text=加入购物车")
    check_phone(page, "93-shop-cart")
    submit(page, "text=去结算")
    check_phone(page, "94-shop-checkout")
    page.goto("/login")
    check_phone(page, "95-shop-login")
    page.goto("/my-orders")
    check_phone(page, "96-shop-my-orders")
    assert trace_url
    page.goto(trace_url)
    check_phone(page, "97-shop-trace")
