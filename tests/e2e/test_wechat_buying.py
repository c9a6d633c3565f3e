"""Buying on a phone: in a phone browser with WeChat Pay's H5 page, and inside WeChat's own
browser with silent OAuth (the official-account simulator the demo starts) and JSAPI (the
bridge stubbed in the page, paying through the payment simulator). Both end on a paid order."""

from __future__ import annotations

from typing import Any

from tests.support.browser import NEEDS_CHROMIUM, check_phone, shot, submit
from tests.support.wechat import (
    ANDROID_CHROME,
    ANDROID_WECHAT,
    MAIN_TARGETS,
    PAY_TARGETS,
    install_bridge,
    launch,
    phone,
)

pytestmark = NEEDS_CHROMIUM

ADDRESS = {
    "recipient": "王五",
    "city": "怀化市",
    "county": "辰溪县",
    "township": "谭家场乡",
    "village": "高坪村",
    "address_detail": "5组8号",
}


def _buy(page: Any, phone_number: str, prefix: str) -> None:
    """From a product to a placed order."""
    page.goto("/")
    submit(page, "text=谭家场干红辣椒")
    submit(page, "text=加入购物车")
    shot(page, f"{prefix}-1-cart")
    submit(page, "text=去结算")
    page.fill("input[name=phone]", phone_number)
    for name, value in ADDRESS.items():
        page.fill(f"input[name={name}]", value)
    shot(page, f"{prefix}-2-checkout")
    submit(page, "text=提交订单")
    page.wait_for_selector("text=待付款")


def test_a_phone_browser_pays_on_the_h5_page_and_comes_back_paid(app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = phone(browser, app_url, ANDROID_CHROME)
        _buy(page, "13912340001", "h5")
        order_url = page.url
        submit(page, "button:has-text('微信支付')")
        link = page.locator("#mweb-link")
        href = link.get_attribute("href") or ""
        assert "/_simulator/scan/" in href and "redirect_url=" in href
        check_phone(page, "h5-3-pay-link", PAY_TARGETS)
        submit(page, "#mweb-link")  # a link, not a form: our CSP's form-action stays 'self'
        page.wait_for_selector("text=确认支付（模拟）")
        shot(page, "h5-4-wechat-pay-page")
        submit(page, "text=确认支付（模拟）")
        assert page.url.startswith(order_url.split("?")[0])  # back on our order page
        # The webhook applies the payment when WeChat notifies, before the cashier sends the
        # phone back: the order page shows it paid at once (or polls, then reloads, if the
        # notification is late); either way no "confirming" notice is left beside 已付款.
        page.wait_for_selector("text=已付款", timeout=20_000)
        assert page.locator("#pay-progress").count() == 0
        check_phone(page, "h5-5-paid", PAY_TARGETS)
        browser.close()


def test_inside_wechat_silent_oauth_then_jsapi_pays(app_url: str, pay_sim: Any) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = phone(browser, app_url, ANDROID_WECHAT)
        calls: list[dict[str, Any]] = []
        install_bridge(page, pay_sim, calls)
        visited: list[str] = []
        page.on("request", lambda r: visited.append(r.url) if r.is_navigation_request() else None)
        _buy(page, "13912340002", "wx")
        # Checkout went through WeChat's silent authorisation and came back with the openid.
        authorize = [u for u in visited if "/connect/oauth2/authorize" in u]
        assert authorize and "scope=snsapi_base" in authorize[0]
        assert any("/wechat/oauth/callback?" in u and "code=" in u for u in visited)
        cookies = {c["name"] for c in page.context.cookies()}
        assert "fg_wx_openid" in cookies
        check_phone(page, "wx-3-order", PAY_TARGETS)
        submit(page, "button:has-text('微信支付')")
        page.wait_for_selector("text=已付款", timeout=20_000)
        assert len(calls) == 1 and calls[0]["package"].startswith("prepay_id=")
        order = next(o for o in pay_sim.state.orders.values() if o.prepay_id in calls[0]["package"])
        assert order.trade_type == "JSAPI" and order.openid and order.openid.startswith("oSIM")
        check_phone(page, "wx-4-paid", PAY_TARGETS)
        browser.close()


def test_a_forged_oauth_answer_is_refused_with_a_way_on(app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = phone(browser, app_url, ANDROID_WECHAT)
        answer = page.goto("/wechat/oauth/callback?code=stolen&state=forged.0000&next=/checkout")
        assert answer is not None and answer.status == 403
        assert "微信授权链接无效或已过期" in page.content()
        check_phone(page, "wx-5-forged-state", MAIN_TARGETS)
        assert "fg_wx_openid" not in {c["name"] for c in page.context.cookies()}
        browser.close()
