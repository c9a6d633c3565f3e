"""Whose WeChat is this: the OAuth ``state`` (CSRF), and openids bound to accounts and orders.

- ``state`` is a nonce plus an HMAC of it and the visitor's browser-session cookie (the same
  anchor the forms' CSRF tokens use), so a callback is honoured only in the browser that began
  the authorisation: a link carrying someone else's code and state is refused.
- An openid belongs to at most one account (per appid); a second account is refused.
- A guest has no account: the openid is kept in a signed cookie and bound to its orders.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import pk
from farmgate.models import Account, Order, WeChatIdentity, WeChatOrderPayer
from farmgate.wechat.errors import OpenIdTaken


def _mac(purpose: str, *parts: str) -> str:
    message = "\x1f".join((purpose, settings.wechat_app_id, *parts)).encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def new_state(anchor: str) -> str:
    """An OAuth ``state`` bound to the browser session ``anchor`` (at most 128 bytes)."""
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{_mac('oauth-state', anchor, nonce)}"


def state_valid(anchor: str, state: str) -> bool:
    nonce, _, mac = state.partition(".")
    if not nonce or not mac or not anchor:
        return False
    return hmac.compare_digest(_mac("oauth-state", anchor, nonce), mac)


def sealed_openid(openid: str) -> str:
    """A guest's openid for a cookie, signed so it cannot be swapped for another's."""
    return f"{openid}.{_mac('openid', openid)}"


def unsealed_openid(value: str | None) -> str | None:
    if not value:
        return None
    openid, _, mac = value.rpartition(".")
    if openid and hmac.compare_digest(_mac("openid", openid), mac):
        return openid
    return None


def account_openid(session: Session, account: Account) -> str | None:
    return session.scalars(
        select(col(WeChatIdentity.openid)).where(
            col(WeChatIdentity.appid) == settings.wechat_app_id,
            col(WeChatIdentity.account_id) == account.id,
        )
    ).first()


def bind_account(session: Session, account: Account, openid: str) -> None:
    """Bind ``openid`` to ``account``; refused when another account already has it."""
    appid = settings.wechat_app_id
    holder = session.scalars(
        select(WeChatIdentity).where(
            col(WeChatIdentity.appid) == appid, col(WeChatIdentity.openid) == openid
        )
    ).first()
    if holder is not None:
        if holder.account_id != account.id:
            raise OpenIdTaken(
                "这个微信已绑定另一个账号。请退出后用那个账号登录，或改用二维码支付。"
            )
        return
    mine = session.scalars(
        select(WeChatIdentity).where(
            col(WeChatIdentity.appid) == appid, col(WeChatIdentity.account_id) == account.id
        )
    ).first()
    if mine is None:  # a signed-in owner who now uses another WeChat: the newest one counts
        mine = WeChatIdentity(appid=appid, openid=openid, account_id=pk(account))
    mine.openid = openid
    session.add(mine)
    session.flush()


def order_openid(session: Session, order: Order) -> str | None:
    row = session.get(WeChatOrderPayer, order.id)
    return row.openid if row is not None and row.appid == settings.wechat_app_id else None


def bind_order(session: Session, order: Order, openid: str) -> None:
    """The order is paid (and will be notified) through this WeChat user."""
    row = session.get(WeChatOrderPayer, order.id)
    if row is None:
        row = WeChatOrderPayer(order_id=pk(order), appid=settings.wechat_app_id, openid=openid)
    row.appid, row.openid = settings.wechat_app_id, openid
    session.add(row)
    session.flush()
