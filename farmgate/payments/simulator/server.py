"""Running the simulator: a uvicorn server in a background thread on 127.0.0.1."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from farmgate.payments.simulator.app import build_app
from farmgate.payments.simulator.state import SimState
from farmgate.simulation import LocalServer


class SimulatorServer(LocalServer):
    """The simulator, reachable at ``url``, with the merchant credentials it generated.

    ``state`` is the live in-memory state (orders, faults, ``sent`` notification bodies,
    ``deliveries`` with headers and the merchant's answer status); ``v2_config()`` and
    ``v3_config()`` are keyword arguments for ``WeChatPayV2(...)`` and ``WeChatPayV3(...)``.
    """

    name = "wechatpay-simulator"

    def __init__(
        self, port: int = 0, *, appid: str = "wx_simulated_app", mch_id: str = "1900000109"
    ) -> None:
        super().__init__(port)
        self.state = SimState(
            appid=appid, mch_id=mch_id, api_key=secrets.token_hex(16), public_url=self.url
        )
        self._serve(build_app(self.state))

    # Credentials, for configuring the providers.

    def v2_config(self) -> dict[str, Any]:
        s = self.state
        return {"appid": s.appid, "mch_id": s.mch_id, "api_key": s.api_key, "base_url": self.url}

    def v3_config(
        self, verification: Literal["public_key", "certificate"] = "public_key"
    ) -> dict[str, Any]:
        """Keyword arguments for ``WeChatPayV3``. Also switches which Wechatpay-Serial the
        simulator signs with: "certificate" makes the provider download /v3/certificates."""
        s = self.state
        s.platform_mode = verification
        config: dict[str, Any] = {
            "appid": s.appid,
            "mchid": s.mch_id,
            "merchant_private_key": s.merchant_private_key_pem,
            "merchant_serial_no": s.merchant_serial_no,
            "apiv3_key": s.apiv3_key,
            "base_url": self.url,
        }
        if verification == "public_key":
            config["platform_public_key"] = s.platform_public_key_pem
            config["platform_public_key_id"] = s.platform_public_key_id
        return config

    # Control API (over HTTP, as another process would use it).

    def pay(self, out_trade_no: str) -> dict[str, Any]:
        """The payer pays; returns state, transaction_id and the notify_url's answer statuses."""
        response = self.control.post(f"{self.url}/_simulator/pay/{out_trade_no}")
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def edit_next_bill(
        self,
        *,
        drop: list[str] | None = None,
        add: list[dict[str, Any]] | None = None,
        alter: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Drop, add or alter lines of the next trade bill served (either API), once."""
        payload = {"drop": drop or [], "add": add or [], "alter": alter or {}}
        self.control.post(f"{self.url}/_simulator/bill", json=payload).raise_for_status()

    def order(self, out_trade_no: str) -> dict[str, Any] | None:
        response = self.control.get(f"{self.url}/_simulator/orders/{out_trade_no}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


@contextmanager
def start_simulator(
    port: int = 0, *, appid: str = "wx_simulated_app", mch_id: str = "1900000109"
) -> Iterator[SimulatorServer]:
    """Run the WeChat Pay SIMULATOR on 127.0.0.1 (a free port unless given) for the block."""
    server = SimulatorServer(port, appid=appid, mch_id=mch_id).start()
    try:
        yield server
    finally:
        server.stop()
