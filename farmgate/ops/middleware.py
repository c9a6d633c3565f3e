"""One ASGI middleware for every request: its id, its time in the metrics, one log line."""

from __future__ import annotations

import logging
import time
from typing import Any

from farmgate.ops import logs, metrics

log = logging.getLogger("farmgate.request")
QUIET = ("/healthz", "/readyz", "/metrics", "/static/")


def route_template(scope: dict[str, Any]) -> str:
    """The matched route's template (/api/v1/products/{product_id}, /01/{rest}, /media/{path}):
    one metric series per route, and no order numbers or serials in the logs. Never the path
    itself, whatever a parameter holds (a ``{rest:path}`` spans several segments);
    "unmatched" when no route answered."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    regex = getattr(route, "path_regex", None)
    if isinstance(template, str) and regex is not None:
        # A route of an included router knows only its own part; what comes before it is
        # the routers' literal prefixes (/api/v1).
        path = str(scope.get("path", ""))
        for at, char in enumerate(path):
            if char == "/" and regex.match(path[at:]):
                return path[:at] + template
        return template
    if scope.get("endpoint") is not None and scope.get("root_path"):
        return f"{scope['root_path']}/{{path}}"  # a mounted app (media, static files)
    return "unmatched"


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
            if not path.startswith(QUIET) and log.isEnabledFor(logging.INFO):
                _log_line(scope.get("method"), template, status, rid, seconds)
            logs.request_id.reset(token)


def _log_line(method: Any, template: str, status: int, rid: str, seconds: float) -> None:
    """``log.info`` without its search of the stack for the caller's file and line (more than
    half of a log line's CPU, on every request), which no formatter here prints."""
    record = log.makeRecord(
        log.name,
        logging.INFO,
        __file__,
        0,
        "%s %s %s",
        (method, template, status),
        None,
        extra={
            "request_id": rid,
            "method": method,
            "path": template,
            "status": status,
            "ms": round(seconds * 1000, 1),
        },
    )
    log.handle(record)
