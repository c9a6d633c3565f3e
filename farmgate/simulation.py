"""What the protocol simulators share (WeChat Pay, the courier aggregator): a uvicorn server in
a daemon thread on 127.0.0.1, and queued one-shot faults with their control endpoint."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Protocol, Self

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SimulatorHeader:
    """Every answer, even a 404, says it comes from the simulator (``X-Simulator: <name>``)."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.value = name.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-simulator"]
                message["headers"] = [*headers, (b"x-simulator", self.value)]
            await send(message)

        await self.app(scope, receive, send_marked)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HasFaults(Protocol):
    faults: list[str]
    timeout_seconds: float  # how long a "timeout" fault stalls an answer


def faults_route(state: HasFaults, known: frozenset[str]) -> Route:
    """``POST /_simulator/faults`` ``{"faults": [...], "timeout_seconds": 2}``: queue faults,
    each used once by the next call it applies to."""

    async def faults(request: Request) -> Response:
        payload = await request.json()
        names = payload.get("faults", [])
        unknown = set(names) - known
        if unknown:
            return JSONResponse({"error": f"unknown faults {sorted(unknown)}"}, status_code=400)
        if "timeout_seconds" in payload:
            state.timeout_seconds = float(payload["timeout_seconds"])
        state.faults.extend(names)
        return JSONResponse({"faults": state.faults, "timeout_seconds": state.timeout_seconds})

    return Route("/_simulator/faults", faults, methods=["POST"])


class LocalServer:
    """An ASGI app on 127.0.0.1 (a free port unless given), served from a daemon thread.

    Subclasses set ``url``-dependent state, then call ``_serve(app)`` from ``__init__``.
    """

    name = "simulator"

    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # One keep-alive client for the control calls (a bench pays thousands of orders).
        self.control = httpx.Client(timeout=30)

    def _serve(self, app: ASGIApp) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,  # a stalled "timeout" answer must not block stop()
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=self.name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        for _ in range(200):
            if self._server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self.control.close()

    def inject(self, *faults: str, timeout_seconds: float | None = None) -> None:
        """Queue faults (over HTTP, as another process would), each used once."""
        payload: dict[str, Any] = {"faults": list(faults)}
        if timeout_seconds is not None:
            payload["timeout_seconds"] = timeout_seconds
        self.control.post(f"{self.url}/_simulator/faults", json=payload).raise_for_status()
