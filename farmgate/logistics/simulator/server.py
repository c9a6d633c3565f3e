"""Running the courier simulator: a uvicorn server in a background thread on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from farmgate.logistics.simulator.app import build_app
from farmgate.logistics.simulator.state import CourierSimState


class CourierSimulatorServer:
    """The simulator, reachable at ``url``, with the Kuaidi100 account it generated.

    ``state`` is the live in-memory state (parcels, subscriptions, faults, ``deliveries`` with
    the pushed bodies and the callback's answers); ``config()`` gives keyword arguments for
    ``Kuaidi100Adapter(...)``.
    """

    def __init__(self, port: int = 0) -> None:
        if port == 0:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{port}"
        self.state = CourierSimState(public_url=self.url)
        config = uvicorn.Config(
            build_app(self.state),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=1,  # a stalled "timeout" answer must not block stop()
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name="kuaidi100-simulator", daemon=True
        )

    def start(self) -> CourierSimulatorServer:
        self._thread.start()
        for _ in range(200):
            if self._server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("Kuaidi100 simulator did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    def config(self) -> dict[str, Any]:
        """Keyword arguments for ``Kuaidi100Adapter``, pointed at this simulator."""
        s = self.state
        return {
            "customer": s.customer,
            "key": s.key,
            "secret": s.secret,
            "base_url": self.url,
            "label_base_url": self.url,
        }

    # Control API (over HTTP, as another process would use it).

    def inject(self, *faults: str, timeout_seconds: float | None = None) -> None:
        """Queue faults, each used once by the next call it applies to."""
        payload: dict[str, Any] = {"faults": list(faults)}
        if timeout_seconds is not None:
            payload["timeout_seconds"] = timeout_seconds
        httpx.post(f"{self.url}/_simulator/faults", json=payload, timeout=5).raise_for_status()

    def advance(self, waybill: str, state: int | str | None = None) -> dict[str, Any]:
        """Move the parcel on (or to ``state``); returns its state and the pushes' statuses."""
        payload = {} if state is None else {"state": str(state)}
        response = httpx.post(f"{self.url}/_simulator/advance/{waybill}", json=payload, timeout=30)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def parcel(self, waybill: str) -> dict[str, Any] | None:
        response = httpx.get(f"{self.url}/_simulator/parcels/{waybill}", timeout=5)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


@contextmanager
def start_courier_simulator(port: int = 0) -> Iterator[CourierSimulatorServer]:
    """Run the Kuaidi100 SIMULATOR on 127.0.0.1 (a free port unless given) for the block."""
    server = CourierSimulatorServer(port).start()
    try:
        yield server
    finally:
        server.stop()
