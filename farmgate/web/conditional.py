"""Conditional GETs and cache headers for pages and JSON reads.

Every complete 200 page or JSON answer to a GET gets a weak ETag (a hash of its bytes); a
request whose ``If-None-Match`` names it gets a bodiless 304, which on rural 4G is most of a
page's transfer saved. Anonymous reads of the public catalogue (home, product, cooperative and
search pages, the catalogue API) are the same for everyone — they carry no per-visitor token
and set no cookie — so they may be kept for a short while by the browser and by a shared cache
in front of the app (Caddy's cache, a CDN): ``public, max-age=30``, varying on ``Cookie``.
Everything else revalidates (``private, no-cache``). An answer that set its own
``Cache-Control`` (``no-store`` on trace pages, whose scans are counted) keeps it.
Streaming answers (downloads) pass through untouched.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from farmgate.web.cookies import SESSION_COOKIE

PUBLIC_MAX_AGE = 30
PUBLIC_EXACT = frozenset({"/", "/search", "/.well-known/gs1resolver"})
PUBLIC_PREFIXES = (
    "/products/",
    "/cooperatives/",
    "/api/v1/products",
    "/api/v1/categories",
    "/api/v1/storage-classes",
    "/api/v1/villages",
    "/api/v1/cooperatives",
    "/api/v1/search",
)
CACHEABLE_TYPES = ("text/html", "application/json")


def is_public_read(scope: Scope) -> bool:
    """A read whose answer is the same for every anonymous visitor (WeChat's browser aside:
    its product pages carry a signed share card)."""
    path: str = scope["path"]
    if path not in PUBLIC_EXACT and not path.startswith(PUBLIC_PREFIXES):
        return False
    headers = Headers(scope=scope)
    if "authorization" in headers or "micromessenger" in headers.get("user-agent", "").lower():
        return False
    return f"{SESSION_COOKIE}=" not in headers.get("cookie", "")


class ConditionalGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        streaming = False

        async def hold(message: Message) -> None:
            nonlocal start, streaming
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or streaming:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                if len(chunks) == 1 and start is not None:  # a stream: let it flow as it is
                    streaming = True
                    await send(start)
                    await send(message)
                return
            assert start is not None
            await self._finish(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, hold)

    async def _finish(self, scope: Scope, start: Message, body: bytes, send: Send) -> None:
        headers = MutableHeaders(raw=list(start["headers"]))
        content_type = headers.get("content-type", "")
        if (
            start["status"] != 200
            or not content_type.startswith(CACHEABLE_TYPES)
            or "etag" in headers
            or "no-store" in headers.get("cache-control", "")
        ):
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        etag = f'W/"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
        headers["ETag"] = etag
        if "cache-control" not in headers:
            public = is_public_read(scope) and "set-cookie" not in headers
            headers["Cache-Control"] = (
                f"public, max-age={PUBLIC_MAX_AGE}" if public else "private, no-cache"
            )
            if public:
                headers.append("Vary", "Cookie")
        asked = Headers(scope=scope).get("if-none-match", "")
        if etag in {tag.strip() for tag in asked.split(",")} or asked.strip() == "*":
            for name in ("content-length", "content-type"):
                if name in headers:
                    del headers[name]
            await send({"type": "http.response.start", "status": 304, "headers": headers.raw})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})
