"""Running the courier simulator: a uvicorn server in a background thread on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from farmgate.logistics.simulator.app import build_app
from farmgate.logistics.simulator.state import CourierSimState
from farmgate.simulation import LocalServer


class CourierSimulatorServer(LocalServer):
    """The simulator, reachable at ``url``, with the Kuaidi100 account it generated.

    ``state`` is the live in-memory state (parcels, subscriptions, faults, ``deliveries`` with
    the pushed bodies and the callback's answers); ``config()`` gives keyword arguments for
    ``Kuaidi100Adapter(...)``.
    """

    name = "kuaidi100-simulator"

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self.state = CourierSimState(public_url=self.url)
        self._serve(build_app(self.state))

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

    def advance(self, waybill: str, state: int | str | None = None) -> dict[str, Any]:
        """Move the parcel on (or to ``state``); returns its state and the pushes' statuses."""
        payload = {} if state is None else {"state": str(state)}
        response = httpx.post(f"{self.url}/_simulator/advance/{waybill}", json=payload, timeout=30)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def parcel(self, waybill: str) -> dict[str, Any] | None:
        response = httpx.get(f"{self.url}/_simulator/parcels/{waybill}", timeout=5)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


@contextmanager
def start_courier_simulator(port: int = 0) -> Iterator[CourierSimulatorServer]:
    """Run the Kuaidi100 SIMULATOR on 127.0.0.1 (a free port unless given) for the block."""
    server = CourierSimulatorServer(port).start()
    try:
        yield server
    finally:
        server.stop()
