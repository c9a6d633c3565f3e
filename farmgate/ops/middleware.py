"""One ASGI middleware for every request: its id, its time in the metrics, one log line."""

from __future__ import annotations

import logging
import time
from typing import Any

from farmgate.ops import logs, metrics

log = logging.getLogger("farmgate.request")
QUIET = ("/healthz", "/readyz", "/metrics", "/static/")


def route_template(scope: dict[str, Any]) -> str:
    """The path with its parameters named (/api/v1/products/{product_id}): one metric series
    per route, and no order numbers or lot codes in the logs. "unmatched" for no route."""
    if scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    parts = scope.get("path", "").split("/")
    return "/".join(f"{{{params[p]}}}" if p in params else p for p in parts)


class RequestContext:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming[:64] if incoming.isascii() and incoming.strip() else logs.new_request_id()
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            path = scope.get("path", "")
            template = route_template(scope)
            metrics.observe(template, scope.get("method", ""), status, seconds)
            if not path.startswith(QUIET):
                log.info(
                    "%s %s %s",
                    scope.get("method"),
                    template,
                    status,
                    extra={
                        "request_id": rid,
                        "method": scope.get("method"),
                        "path": template,
                        "status": status,
                        "ms": round(seconds * 1000, 1),
                    },
                )
            logs.request_id.reset(token)
