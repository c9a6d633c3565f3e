"""Phones for the WeChat browser tests: user agents, a 360 px context, and a stand-in for the
WeChat app's JSAPI bridge that pays through the payment simulator."""

from __future__ import annotations

from typing import Any

from farmgate.payments.simulator import SimulatorServer
from farmgate.payments.wechat_v2 import hmac_sha256_sign
from tests.support.browser import CHROMIUM

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0.0.0 Mobile Safari/537.36"
)
ANDROID_WECHAT = ANDROID_CHROME + " MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI"

# What the page's WeixinJSBridge.invoke does in the WeChat app, minus the app: hand the signed
# parameters to the test (window.wechatPay, exposed by Playwright), which checks the signature
# and pays through the simulator, and answer the page's callback as WeChat does.
BRIDGE_STUB = """
window.WeixinJSBridge = {
  invoke: function (name, params, callback) {
    window.bridgeCalls = (window.bridgeCalls || []).concat([name]);
    window.wechatPay(name, params).then(function (result) { callback({err_msg: result}); });
  }
};
"""


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    )


def phone(browser: Any, base_url: str, user_agent: str) -> Any:
    """A 360 px zh-CN phone page with ``user_agent``."""
    context = browser.new_context(
        viewport={"width": 360, "height": 760},
        locale="zh-CN",
        base_url=base_url,
        user_agent=user_agent,
        is_mobile=True,
        has_touch=True,
    )
    return context.new_page()


def install_bridge(page: Any, pay_sim: SimulatorServer, calls: list[dict[str, Any]]) -> None:
    """Stub WeixinJSBridge in every page; paying verifies paySign and pays the simulator."""

    def wechat_pay(name: str, params: dict[str, Any]) -> str:
        calls.append(params)
        if name != "getBrandWCPayRequest" or params.get("appId") != pay_sim.state.appid:
            return "get_brand_wcpay_request:fail"
        signed = {k: v for k, v in params.items() if k != "paySign"}
        if hmac_sha256_sign(signed, pay_sim.state.api_key) != params.get("paySign"):
            return "get_brand_wcpay_request:fail"
        prepay_id = str(params["package"]).removeprefix("prepay_id=")
        order = next(o for o in pay_sim.state.orders.values() if o.prepay_id == prepay_id)
        pay_sim.pay(order.out_trade_no)
        return "get_brand_wcpay_request:ok"

    page.expose_function("wechatPay", wechat_pay)
    page.add_init_script(BRIDGE_STUB)


# The pay step's own tap targets (the site's header links are the shared layout's business).
PAY_TARGETS = """() => [...document.querySelectorAll('main .pay a, main .pay button')]
  .filter(e => e.getClientRects().length)
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""

MAIN_TARGETS = PAY_TARGETS.replace("main .pay a, main .pay button", "main a, main button")
