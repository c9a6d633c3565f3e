"""A SIMULATOR of WeChat's official-account servers (open.weixin.qq.com + api.weixin.qq.com)
for the demo and the tests: a real HTTP server on 127.0.0.1, no real WeChat involved.

WeChat's endpoints, as documented:
- ``GET /connect/oauth2/authorize``: WeChat's silent snsapi_base authorisation; redirects (302)
  to ``redirect_uri`` with ``code`` and ``state``. The simulated WeChat user is the cookie
  ``wxsim_user`` on this host ("buyer" when absent); its openid is stable per appid.
- ``GET /sns/oauth2/access_token``: a code (usable once, 5 minutes) for the openid.
- ``GET /cgi-bin/token``: the account's access_token; ``GET /cgi-bin/ticket/getticket``: the
  JS-SDK ticket; ``POST /cgi-bin/message/template/send``: a template message.

Control API (under /_simulator/): ``POST faults`` ``{"faults": [...]}``, each used once by the
next call it applies to: invalid_code (40029), token_invalid (40001 from a token-checked call),
throttled (45009), timeout (stalls ``timeout_seconds``), error_500. ``POST revoke`` invalidates
every token (as when another system fetches a new one); ``GET messages``: the messages sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from farmgate.simulation import LocalServer, SimulatorHeader, faults_route

FAULTS = frozenset({"invalid_code", "token_invalid", "throttled", "timeout", "error_500"})


@dataclass
class MpState:
    appid: str
    secret: str
    token_ttl: int = 7200
    ticket_ttl: int = 7200
    faults: list[str] = field(default_factory=list)
    timeout_seconds: float = 15.0
    codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # code -> (openid, at)
    tokens: set[str] = field(default_factory=set)
    token_fetches: int = 0
    ticket_fetches: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)

    def openid(self, user: str) -> str:
        digest = hashlib.sha256(f"{self.appid}:{user}".encode()).hexdigest()
        return "oSIM" + digest[:24]

    def take_fault(self, *names: str) -> str | None:
        for name in names:
            if name in self.faults:
                self.faults.remove(name)
                return name
        return None


def _error(errcode: int, errmsg: str) -> JSONResponse:
    return JSONResponse({"errcode": errcode, "errmsg": errmsg})


def build_app(state: MpState) -> ASGIApp:
    async def general_fault() -> Response | None:
        fault = state.take_fault("timeout", "error_500", "throttled")
        if fault == "timeout":
            await asyncio.sleep(state.timeout_seconds)
        if fault == "error_500":
            return Response("simulated failure", status_code=500)
        if fault == "throttled":
            return _error(45009, "reach max api daily quota limit (simulated)")
        return None

    def token_error(request: Request) -> Response | None:
        if state.take_fault("token_invalid"):
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        if request.query_params.get("access_token") not in state.tokens:
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        return None

    async def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("appid") != state.appid:
            return Response("appid 参数错误（模拟器）", status_code=400)
        if q.get("scope") not in ("snsapi_base", "snsapi_userinfo") or not q.get("redirect_uri"):
            return Response("scope 或 redirect_uri 参数错误（模拟器）", status_code=400)
        user = request.cookies.get("wxsim_user") or "buyer"
        code = secrets.token_hex(16)
        state.codes[code] = (state.openid(user), time.monotonic())
        target = q["redirect_uri"]
        separator = "&" if "?" in target else "?"
        query = urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{target}{separator}{query}", status_code=302)

    async def oauth_token(request: Request) -> Response:
        failed = await general_fault()
        if failed is not None:
            return failed
        q = request.query_params
        if q.get("appid") != state.appid or q.get("secret") != state.secret:
            return _error(40125, "invalid appsecret")
        found = state.codes.pop(q.get("code", ""), None)
        if state.take_fault("invalid_code") or found is None or time.monotonic() - found[1] > 300:
            return _error(40029, "invalid code")
        return JSONResponse(
            {
                "access_token": "SNS" + secrets.token_hex(16),
                "expires_in": 7200,
                "refresh_token": "REFRESH" + secrets.token_hex(16),
                "openid": found[0],
                "scope": "snsapi_base",
            }
        )

    async def token(request: Request) -> Response:
        failed = await general_fault()
        if failed is not None:
            return failed
        q = request.query_params
        if q.get("appid") != state.appid or q.get("secret") != state.secret:
            return _error(40125, "invalid appsecret")
        state.token_fetches += 1
        value = "ACCESS" + secrets.token_hex(24)
        state.tokens.add(value)
        return JSONResponse({"access_token": value, "expires_in": state.token_ttl})

    async def ticket(request: Request) -> Response:
        failed = await general_fault() or token_error(request)
        if failed is not None:
            return failed
        state.ticket_fetches += 1
        return JSONResponse(
            {
                "errcode": 0,
                "errmsg": "ok",
                "ticket": "TICKET" + secrets.token_hex(24),
                "expires_in": state.ticket_ttl,
            }
        )

    async def template_send(request: Request) -> Response:
        failed = await general_fault() or token_error(request)
        if failed is not None:
            return failed
        body = await request.json()
        if not body.get("touser") or not body.get("template_id"):
            return _error(40003, "invalid openid or template_id")
        msgid = len(state.messages) + 1000
        state.messages.append({**body, "msgid": msgid})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    async def revoke(request: Request) -> Response:
        state.tokens.clear()
        return JSONResponse({"tokens": 0})

    async def messages(request: Request) -> Response:
        return JSONResponse({"messages": state.messages})

    app = Starlette(
        routes=[
            Route("/connect/oauth2/authorize", authorize, methods=["GET"]),
            Route("/sns/oauth2/access_token", oauth_token, methods=["GET"]),
            Route("/cgi-bin/token", token, methods=["GET"]),
            Route("/cgi-bin/ticket/getticket", ticket, methods=["GET"]),
            Route("/cgi-bin/message/template/send", template_send, methods=["POST"]),
            Route("/_simulator/revoke", revoke, methods=["POST"]),
            Route("/_simulator/messages", messages, methods=["GET"]),
            faults_route(state, FAULTS),
        ]
    )
    return SimulatorHeader(app, "wechat-mp")


class MpSimulatorServer(LocalServer):
    """The official-account SIMULATOR at ``url``; ``settings()`` configures farmgate for it."""

    name = "wechat-mp-simulator"

    def __init__(self, port: int = 0, *, appid: str = "wx_simulated_app") -> None:
        super().__init__(port)
        self.state = MpState(appid=appid, secret=secrets.token_hex(16))
        self._serve(build_app(self.state))

    def settings(self) -> dict[str, Any]:
        """``FARMGATE_*`` values (lower-case names) pointing farmgate at this simulator."""
        return {
            "wechat_app_id": self.state.appid,
            "wechat_app_secret": self.state.secret,
            "wechat_mp_api_base": self.url,
            "wechat_mp_oauth_base": self.url,
            # Template ids for the order notifications (any id is accepted by the simulator).
            **{
                f"notify_wechat_template_{kind}": f"SIM_TPL_{kind.upper()}"
                for kind in ("paid", "shipped", "delivered", "refund", "recall")
            },
        }


@contextmanager
def start_mp_simulator(
    port: int = 0, *, appid: str = "wx_simulated_app"
) -> Iterator[MpSimulatorServer]:
    """Run the WeChat official-account SIMULATOR on 127.0.0.1 for the block."""
    server = MpSimulatorServer(port, appid=appid).start()
    try:
        yield server
    finally:
        server.stop()
