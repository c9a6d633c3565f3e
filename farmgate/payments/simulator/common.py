"""Pieces both wire formats share: injected outages, and delivering notifications."""

from __future__ import annotations

import asyncio
import weakref

import httpx
from starlette.responses import Response

from farmgate.payments.simulator.state import Delivery, SimOrder, SimState

SIM_HEADER = {"X-Simulator": "wechatpay"}


async def injected_failure(state: SimState) -> Response | None:
    """Consume an injected ``error_500`` (answer 503) or ``timeout`` (stall, then go on)."""
    fault = state.take_fault("error_500", "timeout")
    if fault == "error_500":
        return Response("simulated outage", status_code=503, headers=SIM_HEADER)
    if fault == "timeout":
        await asyncio.sleep(state.timeout_seconds)
    return None


# One client per event loop (the simulator's server thread has one): a notification reuses
# its connection instead of opening a new client each time.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def _client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = httpx.AsyncClient(timeout=10)
    return client


async def deliver(state: SimState, order: SimOrder, headers: dict[str, str], body: bytes) -> int:
    """POST one notification to the order's notify_url; 0 when the merchant is unreachable."""
    state.sent.append(body)
    status = 0
    try:
        response = await _client().post(
            order.notify_url, content=body, headers={**headers, **SIM_HEADER}
        )
        status = response.status_code
    except httpx.HTTPError:
        pass  # WeChat would retry later; the shop's reconciliation (query) catches it
    state.deliveries.append(Delivery(order.out_trade_no, order.api, headers, body, status))
    return status
