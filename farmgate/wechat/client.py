"""Calls to the official account's API through wechatpy: OAuth (snsapi_base), the access
token, the JS-SDK ticket and signature, and template messages.

``FARMGATE_WECHAT_MP_API_BASE`` / ``FARMGATE_WECHAT_MP_OAUTH_BASE`` replace WeChat's hosts (the
simulator, farmgate/wechat/simulator.py). The token and ticket are cached for all processes
(credentials.py); an answer saying the token is no longer valid drops it and retries once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from wechatpy import WeChatClient, WeChatOAuth
from wechatpy.client.api import WeChatJSAPI
from wechatpy.exceptions import WeChatClientException, WeChatOAuthException

from farmgate.config import settings
from farmgate.wechat import credentials
from farmgate.wechat.errors import WeChatError, WeChatUnavailable

API_BASE = "https://api.weixin.qq.com"
OAUTH_BASE = "https://open.weixin.qq.com"
# The token was replaced or expired early (another system fetched one, or WeChat reset it).
STALE_TOKEN = {40001, 40014, 42001}
THROTTLED = {45009, 45011, -1}  # daily quota reached, too fast, system busy
T = TypeVar("T")


def configured() -> bool:
    """An official account is configured (OAuth, share cards, template messages)."""
    return bool(settings.wechat_app_id and settings.wechat_app_secret)


def jsapi_enabled() -> bool:
    """Pages in WeChat can pay by JSAPI: the account is configured and WeChat Pay uses it."""
    return configured() and settings.wechat_appid == settings.wechat_app_id


def _api_base() -> str:
    return (settings.wechat_mp_api_base or API_BASE).rstrip("/")


def _oauth() -> WeChatOAuth:
    oauth = WeChatOAuth(settings.wechat_app_id, settings.wechat_app_secret, "")
    oauth.API_BASE_URL = _api_base() + "/"
    oauth.OAUTH_BASE_URL = (settings.wechat_mp_oauth_base or OAUTH_BASE).rstrip("/") + "/connect/"
    return oauth


def _failure(exc: Exception) -> WeChatError:
    if isinstance(exc, requests.RequestException):
        return WeChatUnavailable(f"微信接口无法连接（{exc.__class__.__name__}），请稍后重试")
    errcode = getattr(exc, "errcode", None)
    errmsg = getattr(exc, "errmsg", None)
    if errcode is None or int(errcode) in THROTTLED:
        error = WeChatUnavailable.answered(errcode, errmsg)
    else:
        error = WeChatError.answered(int(errcode), errmsg)
    return error


def authorize_url(redirect_uri: str, state: str) -> str:
    """Where to send the visitor for silent OAuth (snsapi_base: no consent screen)."""
    oauth = _oauth()
    oauth.redirect_uri = redirect_uri
    oauth.scope = "snsapi_base"
    oauth.state = state
    return str(oauth.authorize_url)


def openid_for_code(code: str) -> str:
    """The visitor's openid for the ``code`` WeChat sent back (usable once, for 5 minutes)."""
    oauth = _oauth()
    params = {
        "appid": settings.wechat_app_id,
        "secret": settings.wechat_app_secret,
        "code": code,
        "grant_type": "authorization_code",
    }
    try:
        answer = oauth._get(
            "sns/oauth2/access_token", params=params, timeout=settings.wechat_http_timeout
        )
    except (WeChatOAuthException, requests.RequestException) as exc:
        raise _failure(exc) from exc
    openid = answer.get("openid") if isinstance(answer, dict) else None
    if not openid:
        raise WeChatError("微信授权没有返回 openid")
    return str(openid)


def _client(token: str | None = None) -> WeChatClient:
    client = WeChatClient(
        settings.wechat_app_id,
        settings.wechat_app_secret,
        access_token=token,
        timeout=settings.wechat_http_timeout,
        auto_retry=False,  # stale tokens are handled here, with the shared cache
    )
    client.API_BASE_URL = _api_base() + "/cgi-bin/"
    return client


def _name(kind: str) -> str:
    return f"{settings.wechat_app_id}:{kind}"


def _fetch_token() -> tuple[str, int]:
    params = {
        "grant_type": "client_credential",
        "appid": settings.wechat_app_id,
        "secret": settings.wechat_app_secret,
    }
    try:
        answer = requests.get(
            _api_base() + "/cgi-bin/token", params=params, timeout=settings.wechat_http_timeout
        ).json()
    except (requests.RequestException, ValueError) as exc:
        raise WeChatUnavailable("微信接口无法连接，请稍后重试") from exc
    if not isinstance(answer, dict) or "access_token" not in answer:
        answer = answer if isinstance(answer, dict) else {}
        errcode = answer.get("errcode")
        raise _failure(WeChatClientException(errcode, answer.get("errmsg")))
    return str(answer["access_token"]), int(answer.get("expires_in", 7200))


def access_token() -> str:
    """The account's access_token, shared by every process and refreshed before it expires."""
    return credentials.cached(_name("access_token"), _fetch_token)


def _with_token(call: Callable[[WeChatClient], T]) -> T:
    """``call`` with a client holding the cached token; a stale token is fetched again once."""
    for attempt in (1, 2):
        try:
            return call(_client(access_token()))
        except (WeChatClientException, requests.RequestException) as exc:
            errcode = getattr(exc, "errcode", None)
            if attempt == 1 and errcode is not None and int(errcode) in STALE_TOKEN:
                credentials.forget(_name("access_token"))
                credentials.forget(_name("jsapi_ticket"))  # fetched with that token
                continue
            raise _failure(exc) from exc
    raise AssertionError("unreachable")


def _fetch_ticket() -> tuple[str, int]:
    answer = _with_token(lambda client: client.jsapi.get_ticket("jsapi"))
    return str(answer["ticket"]), int(answer["expires_in"])


def jsapi_ticket() -> str:
    """The JS-SDK ticket, shared by every process and refreshed before it expires."""
    return credentials.cached(_name("jsapi_ticket"), _fetch_ticket)


def jsapi_signature(noncestr: str, ticket: str, timestamp: int, url: str) -> str:
    """wx.config's signature: SHA1 of the sorted ``noncestr, jsapi_ticket, timestamp, url``."""
    return str(WeChatJSAPI().get_jsapi_signature(noncestr, ticket, timestamp, url))


def jssdk_config(url: str) -> dict[str, Any]:
    """``wx.config`` parameters for the page at ``url`` (without its #fragment)."""
    nonce = secrets.token_hex(8)
    timestamp = int(time.time())
    page = url.split("#", 1)[0]
    return {
        "appId": settings.wechat_app_id,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": jsapi_signature(nonce, jsapi_ticket(), timestamp, page),
    }


def send_template(
    openid: str, template_id: str, data: dict[str, Any], url: str | None = None
) -> int:
    """Send a template message to ``openid``; returns WeChat's msgid.

    ``data`` is ``{"keyword1": {"value": "..."}, ...}`` as the template defines. Raises
    ``WeChatUnavailable`` (retry later: timeout, throttled) or ``WeChatError`` (don't: the user
    unfollowed, the template is wrong).
    """
    answer = _with_token(
        lambda client: client.message.send_template(openid, template_id, data, url=url)
    )
    return int(answer.get("msgid", 0))
