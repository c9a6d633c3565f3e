"""The WeChat official account: silent OAuth (state, binding, refusals), the access token and
JS-SDK ticket cached for every process and refreshed, the JS-SDK signature, template messages
and the simulator's faults. Data tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.models import Order, Role, Sku, WeChatCredential, WeChatIdentity, WeChatOrderPayer
from farmgate.payments.simulator import SimulatorServer
from farmgate.payments.wechat_v2 import hmac_sha256_sign
from farmgate.wechat import client as wechat
from farmgate.wechat import credentials, identity
from farmgate.wechat.errors import WeChatError, WeChatUnavailable
from farmgate.wechat.simulator import MpSimulatorServer, start_mp_simulator
from tests.support import factories as f
from tests.support.factories import ADDRESS
from tests.support.live import REDIS_URL
from tests.support.trace import create_batch
from tests.support.web import SAME_ORIGIN, csrf_token
from tests.support.wechat import ANDROID_CHROME, ANDROID_WECHAT

WX = {"user-agent": ANDROID_WECHAT}


@pytest.fixture(scope="module")
def mp_sim() -> Iterator[MpSimulatorServer]:
    with start_mp_simulator() as server:
        yield server


@pytest.fixture
def official_account(
    mp_sim: MpSimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> MpSimulatorServer:
    """farmgate configured for the simulated official account (Pay under the same appid)."""
    for name, value in mp_sim.settings().items():
        monkeypatch.setattr(settings, name, value)
    monkeypatch.setattr(settings, "wechat_appid", mp_sim.state.appid)
    monkeypatch.setattr(settings, "public_base_url", "http://testserver")
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(settings, "wechat_http_timeout", 2)
    mp_sim.state.faults.clear()
    credentials._unreachable_until.clear()
    return mp_sim


def _oauth(client, next_url: str = "/checkout", user: str | None = None) -> httpx.Response:  # type: ignore[no-untyped-def]
    """Start OAuth in ``client``'s browser, let the simulated WeChat answer, return the
    callback's answer (not followed)."""
    start = client.get(f"/wechat/oauth?next={next_url}", headers=WX, follow_redirects=False)
    assert start.status_code == 303
    authorize = start.headers["location"]
    assert "scope=snsapi_base" in authorize and authorize.endswith("#wechat_redirect")
    back = httpx.get(authorize, cookies={"wxsim_user": user} if user else {})
    assert back.status_code == 302
    callback = back.headers["location"].removeprefix("http://testserver")
    answer: httpx.Response = client.get(callback, headers=WX, follow_redirects=False)
    return answer


def _identities(session: Session) -> list[tuple[int, str]]:
    session.expire_all()
    rows = session.scalars(select(WeChatIdentity)).all()
    return [(r.account_id, r.openid) for r in rows]


# --- OAuth ----------------------------------------------------------------------------------


def test_silent_oauth_binds_the_openid_to_the_signed_in_account(
    client, session: Session, official_account: MpSimulatorServer
) -> None:  # type: ignore[no-untyped-def]
    buyer = f.create_account(session)
    f.login_browser(client, session, buyer)
    answer = _oauth(client, "/my-orders")
    assert answer.status_code == 303 and answer.headers["location"] == "/my-orders"
    assert _identities(session) == [(buyer.id, official_account.state.openid("buyer"))]
    assert identity.unsealed_openid(client.cookies.get("fg_wx_openid")) == (
        official_account.state.openid("buyer")
    )


def test_a_forged_or_foreign_state_is_refused_and_binds_nothing(
    client, session: Session, official_account: MpSimulatorServer
) -> None:  # type: ignore[no-untyped-def]
    buyer = f.create_account(session)
    f.login_browser(client, session, buyer)
    forged = httpx.get(
        f"{official_account.url}/connect/oauth2/authorize",
        params={
            "appid": official_account.state.appid,
            "redirect_uri": "http://testserver/wechat/oauth/callback?next=/",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": "attacker.0123456789abcdef0123456789abcdef",
        },
    )
    refused = client.get(forged.headers["location"].removeprefix("http://testserver"))
    assert refused.status_code == 403 and "微信授权链接无效或已过期" in refused.text
    # A genuine state, but made for another browser: a link someone was sent.
    start = client.get("/wechat/oauth?next=/", headers=WX, follow_redirects=False)
    callback = httpx.get(start.headers["location"]).headers["location"]
    client.cookies.clear()
    other = client.get(callback.removeprefix("http://testserver"), follow_redirects=False)
    assert other.status_code == 403
    assert _identities(session) == [] and "fg_wx_openid" not in client.cookies


def test_an_openid_of_another_account_is_refused(
    client, session: Session, official_account: MpSimulatorServer
) -> None:  # type: ignore[no-untyped-def]
    first, second = f.create_account(session), f.create_account(session)
    f.login_browser(client, session, first)
    assert _oauth(client, "/", user="shared-phone").status_code == 303
    f.login_browser(client, session, second)
    refused = _oauth(client, "/checkout", user="shared-phone")
    assert refused.status_code == 409
    assert "这个微信已绑定另一个账号" in refused.text and 'href="/checkout"' in refused.text
    assert refused.cookies.get("fg_wx_skip") == "1"  # pay by QR code instead, no loop
    assert _identities(session) == [(first.id, official_account.state.openid("shared-phone"))]


def test_an_invalid_code_is_a_clear_message_and_falls_back(
    client, session: Session, official_account: MpSimulatorServer
) -> None:  # type: ignore[no-untyped-def]
    official_account.inject("invalid_code")
    answer = _oauth(client, "/checkout")
    assert answer.status_code == 502 and "微信授权失败，可改用二维码支付" in answer.text
    assert "fg_wx_skip" in answer.cookies and _identities(session) == []


def _place_order(client, session: Session, headers: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    """A guest puts a product in the cart and checks out; the order page's HTML."""
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.scalars(select(Sku).where(Sku.product_id == product.id)).one()  # type: ignore[arg-type]
    session.commit()
    page = client.get(f"/products/{product.id}", headers=headers)
    assert "加入购物车" in page.text
    client.post("/cart/add", data={"sku_id": sku.id}, headers={**headers, **SAME_ORIGIN})
    checkout = client.get("/checkout", headers=headers, follow_redirects=False)
    if checkout.status_code == 303:  # first time it is needed: off to OAuth
        assert checkout.headers["location"] == "/wechat/oauth?next=%2Fcheckout"
        assert _oauth(client, "/checkout").headers["location"] == "/checkout"
        checkout = client.get("/checkout", headers=headers)
    assert checkout.status_code == 200  # the openid is known now: no second trip
    placed = client.post(
        "/checkout", data={**ADDRESS, "csrf_token": csrf_token(checkout.text)}, headers=headers
    )
    assert placed.status_code == 200 and "待付款" in placed.text
    return str(placed.text)


def _pay(client, session: Session, page: str, headers: dict[str, str], method: str = "wechat"):  # type: ignore[no-untyped-def]
    number = session.scalars(select(Order)).one().number
    secret = re.search(r'name="t" value="([^"]+)"', page)
    assert secret is not None
    data = {"csrf_token": csrf_token(page), "t": secret.group(1), "method": method}
    return client.post(f"/orders/{number}/pay", data=data, headers=headers, follow_redirects=False)


@pytest.fixture
def wechat_shop(
    official_account: MpSimulatorServer, pay_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> SimulatorServer:
    """The official account and WeChat Pay (v2, the simulator) under one appid."""
    assert pay_sim.state.appid == official_account.state.appid
    monkeypatch.setattr(settings, "wechat_pay_version", "v2")
    monkeypatch.setattr(settings, "wechat_mch_id", pay_sim.state.mch_id)
    monkeypatch.setattr(settings, "wechat_api_key", pay_sim.state.api_key)
    monkeypatch.setattr(settings, "wechat_api_base", pay_sim.url)
    return pay_sim


def test_a_guest_in_wechat_is_sent_through_oauth_and_its_openid_bound_to_the_order(
    client, session: Session, official_account: MpSimulatorServer
) -> None:  # type: ignore[no-untyped-def]
    _place_order(client, session, WX)
    order = session.scalars(select(Order)).one()
    payer = session.get(WeChatOrderPayer, order.id)
    assert payer is not None and payer.openid == official_account.state.openid("buyer")


def test_paying_inside_wechat_is_jsapi_with_signed_parameters_and_a_qr_fallback(
    client, session: Session, official_account: MpSimulatorServer, wechat_shop: SimulatorServer
) -> None:  # type: ignore[no-untyped-def]
    page = _place_order(client, session, WX)
    started = _pay(client, session, page, WX)
    assert started.status_code == 303 and started.headers["location"].endswith("&paying=1")
    shown = client.get(started.headers["location"], headers=WX).text
    found = re.search(r"data-params='([^']+)'", shown)
    assert found and "data-autostart" in shown and "/static/order-pay.js" in shown
    params = json.loads(html.unescape(found.group(1)))
    unsigned = {k: v for k, v in params.items() if k != "paySign"}
    assert params["paySign"] == hmac_sha256_sign(unsigned, wechat_shop.state.api_key)
    assert params["appId"] == official_account.state.appid
    prepay_id = params["package"].removeprefix("prepay_id=")
    sim_order = next(o for o in wechat_shop.state.orders.values() if o.prepay_id == prepay_id)
    assert sim_order.trade_type == "JSAPI"
    assert sim_order.openid == official_account.state.openid("buyer")
    assert "改用二维码" in shown  # no bridge (an old WeChat, a desktop WeChat): the QR code
    fallback = _pay(client, session, shown, WX, method="qr")
    qr = client.get(fallback.headers["location"], headers=WX).text
    assert '<div class="qr"' in qr and "data-params" not in qr


def test_without_an_official_account_wechat_shows_the_qr_code(
    client, session: Session, wechat_shop: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "wechat_app_id", "")
    page = _place_order(client, session, WX)  # no trip to OAuth either
    started = _pay(client, session, page, WX)
    shown = client.get(started.headers["location"], headers=WX).text
    assert '<div class="qr"' in shown and "data-params" not in shown


def test_a_phone_browser_gets_a_link_to_the_h5_page_that_comes_back(
    client, session: Session, wechat_shop: SimulatorServer
) -> None:  # type: ignore[no-untyped-def]
    phone = {"user-agent": ANDROID_CHROME}
    page = _place_order(client, session, phone)
    started = _pay(client, session, page, phone)
    order_url = started.headers["location"]
    assert started.status_code == 303 and order_url.startswith("/orders/")  # not off-site
    shown = client.get(order_url, headers=phone).text
    link = re.search(r'id="mweb-link" href="([^"]+)"', shown)
    assert link is not None
    href = html.unescape(link.group(1))
    assert href.startswith(f"{wechat_shop.url}/_simulator/scan/")
    back = parse_qs(urlsplit(href).query)["redirect_url"][0]
    assert back == f"http://testserver{order_url}&paying=1"
    number = order_url.split("/")[2].split("?")[0]
    status = client.get(f"/orders/{number}/status?{order_url.split('?')[1]}")
    assert status.json() == {"status": "pending_payment", "pending": True}
    client.cookies.clear()
    assert client.get(f"/orders/{number}/status").status_code in (401, 404)


# --- the JS-SDK signature, the token and the ticket ----------------------------------------


def test_the_jssdk_signature_matches_wechats_documented_example() -> None:
    # WeChat's JS-SDK documentation, appendix 1 (JS-SDK使用权限签名算法).
    ticket = (
        "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    )
    signature = wechat.jsapi_signature(
        "Wm3WZYTPz0wzccnW", ticket, 1414587457, "http://mp.weixin.qq.com?params=value"
    )
    assert signature == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


def test_token_and_ticket_are_fetched_once_and_shared_through_the_database(
    session: Session, official_account: MpSimulatorServer
) -> None:
    state = official_account.state
    tokens, tickets = state.token_fetches, state.ticket_fetches
    first = wechat.jssdk_config("http://testserver/products/1#top")
    credentials._stores.clear()  # as another process would start: nothing in memory
    second = wechat.jssdk_config("http://testserver/products/1")
    assert (state.token_fetches, state.ticket_fetches) == (tokens + 1, tickets + 1)
    assert first["appId"] == state.appid and len(second["signature"]) == 40
    session.expire_all()
    names = {row.name for row in session.scalars(select(WeChatCredential))}
    assert names == {f"{state.appid}:access_token", f"{state.appid}:jsapi_ticket"}
    ticket = wechat.jsapi_ticket()
    expected = wechat.jsapi_signature(
        second["nonceStr"], ticket, second["timestamp"], "http://testserver/products/1"
    )
    assert second["signature"] == expected


def test_a_token_about_to_expire_is_refreshed_before_it_does(
    session: Session, official_account: MpSimulatorServer
) -> None:
    state = official_account.state
    old = wechat.access_token()
    fetched = state.token_fetches
    row = session.get(WeChatCredential, f"{state.appid}:access_token")
    assert row is not None
    row.expires_at = utcnow() + timedelta(seconds=60)  # inside the refresh margin
    session.commit()
    new = wechat.access_token()
    assert new != old and state.token_fetches == fetched + 1
    assert wechat.access_token() == new and state.token_fetches == fetched + 1


def test_when_wechat_is_throttling_pages_do_not_keep_waiting_on_it(
    session: Session, official_account: MpSimulatorServer
) -> None:
    name = f"{official_account.state.appid}:access_token"
    credentials.forget(name)
    official_account.inject("throttled", "throttled")
    with pytest.raises(WeChatUnavailable):
        wechat.access_token()
    with pytest.raises(WeChatUnavailable):  # backing off: WeChat is not asked again
        wechat.access_token()
    assert official_account.state.faults == ["throttled"]
    official_account.state.faults.clear()
    credentials._unreachable_until.clear()
    token = wechat.access_token()
    # A token in its last minutes is still used while a refresh cannot be had.
    row = session.get(WeChatCredential, name)
    assert row is not None
    row.expires_at = utcnow() + timedelta(seconds=60)
    session.commit()
    official_account.inject("throttled")
    assert wechat.access_token() == token


def test_with_redis_the_token_is_kept_there_for_every_process(
    official_account: MpSimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "redis_url", REDIS_URL)
    r = redis.Redis.from_url(REDIS_URL)
    key = f"{settings.queue_prefix}:wechat:{official_account.state.appid}:access_token"
    r.delete(key)
    try:
        token = wechat.access_token()
        assert 7100 < (r.ttl(key) or 0) <= 7200
        assert credentials.RedisStore(REDIS_URL).get(f"{official_account.state.appid}:access_token")
        fetched = official_account.state.token_fetches
        credentials._stores.clear()
        assert wechat.access_token() == token and official_account.state.token_fetches == fetched
    finally:
        r.delete(key)
        credentials._stores.clear()


# --- template messages and faults ----------------------------------------------------------


def test_send_template_reaches_the_user_and_survives_a_replaced_token(
    session: Session, official_account: MpSimulatorServer
) -> None:
    wechat.access_token()
    httpx.post(f"{official_account.url}/_simulator/revoke").raise_for_status()  # 40001 next
    fetched = official_account.state.token_fetches
    data = {"first": {"value": "您的订单已发货"}, "keyword1": {"value": "202612050001"}}
    msgid = wechat.send_template("oSIMbuyer", "TPL_SHIPPED", data, "http://testserver/orders/1")
    sent = official_account.state.messages[-1]
    assert sent["msgid"] == msgid and sent["touser"] == "oSIMbuyer"
    assert sent["template_id"] == "TPL_SHIPPED" and sent["data"] == data
    assert sent["url"] == "http://testserver/orders/1"
    assert official_account.state.token_fetches == fetched + 1


@pytest.mark.parametrize("fault", ["throttled", "error_500", "timeout"])
def test_throttling_errors_and_timeouts_are_reported_as_unavailable(
    session: Session,
    official_account: MpSimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:
    wechat.access_token()
    monkeypatch.setattr(settings, "wechat_http_timeout", 0.3)
    official_account.inject(fault, timeout_seconds=1)
    with pytest.raises(WeChatUnavailable):
        wechat.send_template("oSIMbuyer", "TPL", {"first": {"value": "x"}})


def test_a_wrong_secret_is_an_error_not_a_retry(
    session: Session, official_account: MpSimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "wechat_app_secret", "wrong")
    monkeypatch.setattr(settings, "wechat_app_id", official_account.state.appid)
    credentials.forget(f"{official_account.state.appid}:access_token")
    with pytest.raises(WeChatError) as caught:
        wechat.access_token()
    assert caught.value.errcode == 40125 and not isinstance(caught.value, WeChatUnavailable)


# --- share cards ----------------------------------------------------------------------------


def _signed_config(page: str) -> dict[str, object]:
    found = re.search(r"data-config='([^']+)'", page)
    assert found, "no wx.config on the page"
    config: dict[str, object] = json.loads(html.unescape(found.group(1)))
    return config


def test_a_product_page_has_open_graph_tags_and_the_jssdk_only_inside_wechat(
    client, session: Session, farm, official_account: MpSimulatorServer
) -> None:  # type: ignore[no-untyped-def]
    outside = client.get(f"/products/{farm['fresh']}")
    assert '<meta property="og:title" content="' in outside.text
    assert "og:image" in outside.text or "og:description" in outside.text
    assert "jweixin" not in outside.text and "wechat-share.js" not in outside.text
    assert "res.wx.qq.com" not in outside.headers["content-security-policy"]

    inside = client.get(f"/products/{farm['fresh']}?from=singlemessage", headers=WX)
    assert "https://res.wx.qq.com/open/js/jweixin-1.6.0.js" in inside.text
    csp = inside.headers.get_list("content-security-policy")
    assert len(csp) == 1 and "script-src 'self' https://res.wx.qq.com" in csp[0]
    assert "form-action 'self'" in csp[0] and "'unsafe-inline'" not in csp[0]
    config = _signed_config(inside.text)
    url = f"http://testserver/products/{farm['fresh']}?from=singlemessage"
    expected = wechat.jsapi_signature(
        str(config["nonceStr"]), wechat.jsapi_ticket(), int(str(config["timestamp"])), url
    )
    assert config["appId"] == official_account.state.appid and config["signature"] == expected
    assert "起" in inside.text.split('og:title" content="')[1].split('"')[0]  # the price


def test_the_trace_page_shares_too_but_ships_no_script_outside_wechat(
    client, session: Session, farm, official_account: MpSimulatorServer
) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm, "TJC2026W", village_code=farm["village_code"])
    path = batch["trace_url"].removeprefix(settings.public_base_url.rstrip("/"))
    outside = client.get(path)
    assert outside.status_code == 200 and "<script" not in outside.text
    assert 'og:title" content="' in outside.text and "TJC2026W" in outside.text
    inside = client.get(path, headers=WX)
    assert _signed_config(inside.text)["appId"] == official_account.state.appid


def test_without_an_official_account_pages_in_wechat_load_no_sdk(
    client, session: Session, farm, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "wechat_app_id", "")
    page = client.get(f"/products/{farm['fresh']}", headers=WX)
    assert page.status_code == 200 and "jweixin" not in page.text


def test_the_api_pays_by_jsapi_with_the_accounts_bound_openid(
    client, session: Session, official_account: MpSimulatorServer, wechat_shop: SimulatorServer
) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.scalars(select(Sku).where(Sku.product_id == product.id)).one()  # type: ignore[arg-type]
    buyer = f.create_account(session)
    headers = f.auth_headers(session, buyer)
    client.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": 1}, headers=headers)
    order = client.post("/api/v1/checkout", json=ADDRESS, headers=headers).json()
    url = f"/api/v1/orders/{order['id']}/pay"
    unbound = client.post(url, json={"channel": "jsapi"}, headers=headers)
    assert unbound.status_code == 422  # no openid given and none bound
    for odd in ("\u00a0", "o 1", "ó123"):  # not what WeChat issues: refused before any call
        refused = client.post(url, json={"channel": "jsapi", "openid": odd}, headers=headers)
        assert refused.status_code == 422, (odd, refused.text)
    assert session.get(WeChatOrderPayer, order["id"]) is None
    identity_openid = official_account.state.openid("api-buyer")
    identity.bind_account(session, buyer, identity_openid)
    session.commit()
    paid = client.post(url, json={"channel": "jsapi"}, headers=headers)
    assert paid.status_code == 200, paid.text
    assert paid.json()["client"]["jsapi"]["package"].startswith("prepay_id=")
    payer = session.get(WeChatOrderPayer, order["id"])
    assert payer is not None and payer.openid == identity_openid
