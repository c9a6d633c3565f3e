"""Security at the door, for every response and request: headers, body size, rate limits.

- Headers: a Content-Security-Policy without inline scripts or styles (pages load their
  scripts from /static), no framing, no MIME sniffing, a strict referrer policy, the camera
  only for this site (the courier's scanner), and HSTS when the request came over TLS (as
  the proxy tells uvicorn with ``--proxy-headers``).
- A request body larger than ``FARMGATE_MAX_REQUEST_BYTES`` is refused with 413: at once
  when its Content-Length says so (before a byte of it is read), or as soon as a chunked
  body passes the limit. The refusal is an HTTPException raised from ``receive``, so the
  app's own handlers answer it: the JSON error shape under /api, the error page elsewhere.
- Rate limits (farmgate/ops/ratelimit.py) answer 429 with Retry-After, in the JSON shape.
"""

from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie
from typing import Any

from fastapi import HTTPException

from farmgate.config import settings
from farmgate.ops import ratelimit

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (/api/docs, farmgate/api/docs.py) styles its elements inline and draws icons
# from data: URLs; its scripts are still files from this origin only.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
DOCS_PATH = "/api/docs"
# A product or trace page opened inside WeChat loads the JS-SDK (share cards) from WeChat's
# host; the storefront sets this on that response only (Guard keeps a response's own CSP).
WECHAT_JSSDK_CSP = CSP.replace(
    "script-src 'self'", "script-src 'self' https://res.wx.qq.com https://res2.wx.qq.com"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
]
# Paths whose bodies are small by nature get a tighter limit than FARMGATE_MAX_REQUEST_BYTES:
# a WeChat Pay notification is about 1 KB.
BODY_LIMITS = ((re.compile(r"^/api/v1/payments/wechat/notify$"), 64 * 1024),)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def body_limit(path: str) -> int | None:
    """The tighter body limit of ``path``, if it has one."""
    for pattern, limit in BODY_LIMITS:
        if pattern.match(path):
            return limit
    return None


def security_headers(secure: bool, path: str = "") -> list[tuple[bytes, bytes]]:
    """The headers every answer carries (HSTS only over TLS; the docs page's own CSP)."""
    headers = [*HEADERS, HSTS] if secure else list(HEADERS)
    if path == DOCS_PATH:
        headers[0] = (b"content-security-policy", DOCS_CSP.encode())
    return headers


def add_security_headers(response: Any, secure: bool) -> Any:
    """For answers made outside this middleware: Starlette's server-error handler runs
    outermost, so a 500 never passes through ``Guard``."""
    for name, value in security_headers(secure):
        response.headers[name.decode()] = value.decode()
    return response


def _error(status: int, code: str, message: str, extra: list[tuple[bytes, bytes]]) -> Any:
    body = json.dumps(
        {"error": {"code": code, "message": message, "fields": {}}}, ensure_ascii=False
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    return status, headers, body


def _client(headers: dict[bytes, bytes]) -> str | None:
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer ") and len(auth) > 7:
        return ratelimit.client_key(auth[7:].strip())
    cookie = headers.get(b"cookie", b"").decode("latin-1")
    if cookie:
        try:
            jar = SimpleCookie(cookie)
        except Exception:
            return None
        morsel = jar.get("fg_session")
        if morsel is not None and morsel.value:
            return ratelimit.client_key(morsel.value)
    return None


def _limited(receive: Any, headers: dict[bytes, bytes], path: str) -> Any:
    """``receive`` that raises a 413 instead of handing over a body past the limit.

    FastAPI re-raises an HTTPException met while reading the body (anything else becomes a
    400), and the exception handlers then answer it as they answer every other error.
    """
    limit = min(settings.max_request_bytes, body_limit(path) or settings.max_request_bytes)
    length = headers.get(b"content-length", b"")
    declared_too_large = length.isdigit() and int(length) > limit
    received = 0

    async def receive_within_limit() -> dict[str, Any]:
        nonlocal received
        if declared_too_large:
            raise HTTPException(413)
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413)
        return message  # type: ignore[no-any-return]

    return receive_within_limit


class Guard:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = security_headers(secure, scope.get("path", ""))
                own = message.get("headers", [])
                if any(name.lower() == b"content-security-policy" for name, _ in own):
                    extra = [h for h in extra if h[0] != b"content-security-policy"]
                message["headers"] = [*own, *extra]
            await send(message)

        headers = dict(scope.get("headers") or [])
        ip = (scope.get("client") or ("unknown", 0))[0]
        client = _client(headers)
        budget_token = ratelimit.current_client.set(f"client:{client}" if client else f"ip:{ip}")
        try:
            await self._guarded(scope, receive, send, send_with_headers, headers)
        finally:
            ratelimit.current_client.reset(budget_token)

    async def _guarded(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        send_with_headers: Any,
        headers: dict[bytes, bytes],
    ) -> None:
        refusal = await self._refusal(scope, headers)
        if refusal is not None:
            status, response_headers, body = refusal
            await send_with_headers(
                {"type": "http.response.start", "status": status, "headers": response_headers}
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, _limited(receive, headers, scope.get("path", "")), send_with_headers)

    async def _refusal(self, scope: dict[str, Any], headers: dict[bytes, bytes]) -> Any:
        if not settings.rate_limits:
            return None
        rule = ratelimit.rule_for(scope.get("method", ""), scope.get("path", ""))
        if rule is None:
            return None
        ip = (scope.get("client") or ("unknown", 0))[0]
        wait = await ratelimit.limiter.check(rule, ip, _client(headers))
        if wait is None:
            return None
        return _error(
            429,
            "rate_limited",
            f"操作太频繁，请 {wait} 秒后再试",
            [(b"retry-after", str(wait).encode())],
        )
