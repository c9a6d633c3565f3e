"""Running the SMS simulator: a uvicorn server in a background thread on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from farmgate.simulation import LocalServer
from farmgate.sms.simulator.app import build_app
from farmgate.sms.simulator.state import (
    LOGIN_TEMPLATE,
    ORDER_NOTICE_TEMPLATE,
    RESET_TEMPLATE,
    SmsSimState,
)


class SmsSimulatorServer(LocalServer):
    """The simulator, reachable at ``url``; ``state`` holds the messages it "sent"."""

    name = "tencent-sms-simulator"

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self.state = SmsSimState()
        self._serve(build_app(self.state))

    def settings(self) -> dict[str, Any]:
        """The ``farmgate.config.Settings`` values (``sms_*``) that point at this simulator."""
        s = self.state
        return {
            "sms_secret_id": s.secret_id,
            "sms_secret_key": s.secret_key,
            "sms_sdk_app_id": s.sdk_app_id,
            "sms_sign_name": s.sign_name,
            "sms_template_login": LOGIN_TEMPLATE,
            "sms_template_reset": RESET_TEMPLATE,
            "notify_sms_template": ORDER_NOTICE_TEMPLATE,
            "sms_api_base": self.url,
        }

    def environment(self) -> dict[str, str]:
        """The same as ``FARMGATE_SMS_*`` variables, for a server in another process."""
        return {f"FARMGATE_{k.upper()}": str(v) for k, v in self.settings().items()}

    def messages(self, phone: str | None = None) -> list[dict[str, Any]]:
        """The messages sent (to ``phone``, 11 digits), oldest first, over HTTP."""
        params = {"phone": phone} if phone else {}
        response = httpx.get(f"{self.url}/_simulator/messages", params=params, timeout=5)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["messages"]
        return found

    def wait_for_code(self, phone: str, timeout: float = 15) -> str:
        """The code in the newest message to ``phone``, waiting for the send job to run."""
        deadline = time.monotonic() + timeout
        while (code := self.latest_code(phone)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no SMS reached the simulator for {phone}")
            time.sleep(0.05)
        return code

    def latest_code(self, phone: str) -> str | None:
        """The code in the newest message to ``phone``, or None."""
        codes = (LOGIN_TEMPLATE, RESET_TEMPLATE)  # not order notices to the same number
        sent = [m for m in self.messages(phone) if m["template_id"] in codes]
        return str(sent[-1]["params"][0]) if sent else None


@contextmanager
def start_sms_simulator(port: int = 0) -> Iterator[SmsSimulatorServer]:
    """Run the Tencent Cloud SMS SIMULATOR on 127.0.0.1 (a free port unless given)."""
    server = SmsSimulatorServer(port).start()
    try:
        yield server
    finally:
        server.stop()
