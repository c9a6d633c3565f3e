"""Running the simulator: a uvicorn server in a background thread on 127.0.0.1."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from farmgate.payments.simulator.app import SimState, build_app


class SimulatorServer:
    """The simulator with its merchant credentials, reachable at ``url``."""

    def __init__(
        self, port: int = 0, *, appid: str = "wx_simulated_app", mch_id: str = "1900000109"
    ) -> None:
        if port == 0:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{port}"
        self.state = SimState(
            appid=appid, mch_id=mch_id, api_key=secrets.token_hex(16), public_url=self.url
        )
        config = uvicorn.Config(
            build_app(self.state), host="127.0.0.1", port=port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name="wechatpay-simulator", daemon=True
        )

    def start(self) -> SimulatorServer:
        self._thread.start()
        for _ in range(100):
            if self._server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("WeChat Pay simulator did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    def inject(self, *faults: str) -> None:
        httpx.post(
            f"{self.url}/_simulator/faults", json={"faults": list(faults)}, timeout=5
        ).raise_for_status()

    def pay(self, out_trade_no: str) -> dict[str, object]:
        response = httpx.post(f"{self.url}/_simulator/pay/{out_trade_no}", timeout=15)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


@contextmanager
def start_simulator(**kwargs: object) -> Iterator[SimulatorServer]:
    server = SimulatorServer(**kwargs).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
