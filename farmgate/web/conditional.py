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
_PUBLIC = f"public, max-age={PUBLIC_MAX_AGE}".encode("latin-1")


def is_public_read(scope: Scope, headers: dict[bytes, bytes] | None = None) -> bool:
    """A read whose answer is the same for every anonymous visitor (WeChat's browser aside:
    its product pages carry a signed share card). ``headers``: the request's, by lower-case
    name, if the caller has them already."""
    path: str = scope["path"]
    if path not in PUBLIC_EXACT and not path.startswith(PUBLIC_PREFIXES):
        return False
    if headers is None:
        headers = _by_name(scope["headers"])
    if b"authorization" in headers or b"micromessenger" in headers.get(b"user-agent", b"").lower():
        return False
    return _SESSION_COOKIE_SET not in headers.get(b"cookie", b"")


_SESSION_COOKIE_SET = f"{SESSION_COOKIE}=".encode("latin-1")
_CACHEABLE = tuple(t.encode("latin-1") for t in CACHEABLE_TYPES)
_DROPPED_FROM_304 = (b"content-length", b"content-type")


def _by_name(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Headers by lower-case name (ASGI servers send request names in lower case already;
    a response's are whatever its code wrote). A repeated name keeps its first value, as
    Starlette's ``Headers.get`` does."""
    named: dict[bytes, bytes] = {}
    for name, value in raw:
        named.setdefault(name.lower(), value)
    return named


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
        raw: list[tuple[bytes, bytes]] = list(start["headers"])
        answer = _by_name(raw)
        if (
            start["status"] != 200
            or not answer.get(b"content-type", b"").startswith(_CACHEABLE)
            or b"etag" in answer
            or b"no-store" in answer.get(b"cache-control", b"")
        ):
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        etag = f'W/"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
        raw.append((b"etag", etag.encode("latin-1")))
        request = _by_name(scope["headers"])
        if b"cache-control" not in answer:
            public = is_public_read(scope, request) and b"set-cookie" not in answer
            if public:
                raw += [(b"cache-control", _PUBLIC), (b"vary", b"Cookie")]
            else:
                raw.append((b"cache-control", b"private, no-cache"))
        asked = request.get(b"if-none-match", b"").decode("latin-1")
        if etag in {tag.strip() for tag in asked.split(",")} or asked.strip() == "*":
            kept = [(name, value) for name, value in raw if name.lower() not in _DROPPED_FROM_304]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": raw})
        await send({"type": "http.response.body", "body": body})
