"""Pages inside WeChat's browser: silent OAuth for the visitor's openid, and what the order and
product pages need from the official account (JSAPI payment, share cards).

The openid is asked for the first time it is needed (checkout or paying), never on browsing.
``/wechat/oauth`` sends the visitor to WeChat with a ``state`` bound to its browser session;
``/wechat/oauth/callback`` refuses any other state, swaps the code for the openid, binds it to
the signed-in account (refused when another account has it) or keeps it in a signed cookie for
a guest's orders, and returns to ``next``. When OAuth fails the visitor is not sent again for a
while (``WX_SKIP_COOKIE``): paying falls back to the QR code.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.models import Account, Order
from farmgate.storefront.common import ANON_COOKIE, PageAccount, csrf_anchor, render, see_other
from farmgate.web.guard import WECHAT_JSSDK_CSP
from farmgate.web.session import SessionDep
from farmgate.wechat import client as wechat
from farmgate.wechat import identity
from farmgate.wechat.errors import OpenIdTaken, WeChatError

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

OPENID_COOKIE = "fg_wx_openid"
WX_SKIP_COOKIE = "fg_wx_skip"  # OAuth failed or was refused: use the QR code for a while
SKIP_SECONDS = 30 * 60


def in_wechat(request: Request) -> bool:
    return "MicroMessenger" in request.headers.get("user-agent", "")


def in_phone_browser(request: Request) -> bool:
    agent = request.headers.get("user-agent", "")
    return ("Mobile" in agent or "Android" in agent) and "MicroMessenger" not in agent


def _local(next_url: str | None) -> str:
    """Only paths on this site (no //host or scheme): an open redirect otherwise."""
    if not next_url or not next_url.startswith("/") or next_url.startswith(("//", "/\\")):
        return "/"
    return next_url


def known_openid(request: Request, session: Session, account: Account | None) -> str | None:
    """The visitor's openid under our official account, if we have it."""
    if account is not None:
        return identity.account_openid(session, account)
    return identity.unsealed_openid(request.cookies.get(OPENID_COOKIE))


def jsapi_enabled() -> bool:
    return wechat.jsapi_enabled()


def oauth_needed(request: Request, session: Session, account: Account | None) -> bool:
    """In WeChat, paying by JSAPI is possible, and we do not know the visitor's openid yet."""
    return (
        wechat.jsapi_enabled()
        and in_wechat(request)
        and not request.cookies.get(WX_SKIP_COOKIE)
        and known_openid(request, session, account) is None
    )


def oauth_start(next_url: str) -> Response:
    return see_other(f"/wechat/oauth?next={quote(_local(next_url), safe='')}")


def bind_order_payer(
    request: Request, session: Session, account: Account | None, order: Order
) -> str | None:
    """Bind the visitor's openid (if known) to ``order``; returns it."""
    openid = known_openid(request, session, account)
    if openid is not None:
        identity.bind_order(session, order, openid)
    return openid


def _set(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=settings.secure_cookies
    )


@router.get("/wechat/oauth")
def oauth(request: Request, next: str = "/") -> Response:
    """Off to WeChat's silent authorisation (snsapi_base), with a state bound to this browser."""
    if not wechat.configured():
        return see_other(_local(next))
    anchor = csrf_anchor(request)
    back = quote(_local(next), safe="")
    callback = f"{settings.public_base_url}/wechat/oauth/callback?next={back}"
    response = see_other(wechat.authorize_url(callback, identity.new_state(anchor)))
    new_anon = request.state.__dict__.get("new_anon")
    if new_anon:  # the anchor is new: the browser must keep it to come back with it
        _set(response, ANON_COOKIE, new_anon)
    return response


def _refused(
    request: Request, account: Account | None, message: str, next_url: str, status: int
) -> Response:
    response = render(
        request, "wechat_oauth_failed.html", account, message=message, next_url=next_url
    )
    response.status_code = status
    _set(response, WX_SKIP_COOKIE, "1", SKIP_SECONDS)
    return response


@router.get("/wechat/oauth/callback")
def oauth_callback(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    code: str = "",
    state: str = "",
    next: str = "/",
) -> Response:
    next_url = _local(next)
    if not identity.state_valid(csrf_anchor(request), state):
        message = "微信授权链接无效或已过期，请返回重新操作。"
        return _refused(request, account, message, next_url, 403)
    if not code:  # the visitor declined (only possible for snsapi_userinfo)
        return _refused(request, account, "没有获得微信授权，可改用二维码支付。", next_url, 400)
    try:
        openid = wechat.openid_for_code(code)
    except WeChatError as exc:
        log.warning("wechat oauth failed: %s", exc.message)
        return _refused(request, account, "微信授权失败，可改用二维码支付。", next_url, 502)
    if account is not None:
        try:
            identity.bind_account(session, account, openid)
        except OpenIdTaken as exc:
            return _refused(request, account, exc.message, next_url, 409)
    response = see_other(next_url)
    _set(response, OPENID_COOKIE, identity.sealed_openid(openid), 30 * 24 * 3600)
    return response


def share_card(request: Request, title: str, description: str, image: str | None) -> dict[str, Any]:
    """Open Graph values for every app, and in WeChat the JS-SDK's wx.config (None when the
    official account is not configured or WeChat cannot be reached: the page works without)."""
    base = settings.public_base_url
    url = f"{base}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
    image_url = f"{base}{image}" if image and image.startswith("/") else image
    card: dict[str, Any] = {
        "title": title,
        "description": description,
        "url": url,
        "image": image_url,
        "jssdk": None,
    }
    if in_wechat(request) and wechat.configured():
        try:
            card["jssdk"] = wechat.jssdk_config(url)
        except WeChatError as exc:
            log.warning("wechat js-sdk config unavailable: %s", exc.message)
    return card


def yuan(fen: int | None) -> str:
    return f"¥{fen / 100:.2f}" if fen is not None else ""


def with_share_csp(response: Response, card: dict[str, Any]) -> Response:
    """Let this one answer load WeChat's JS-SDK (only when the page was opened in WeChat)."""
    if card.get("jssdk"):
        response.headers["content-security-policy"] = WECHAT_JSSDK_CSP
    return response
