"""The simulator's memory: the account it made up, parcels, subscriptions, faults, deliveries."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from farmgate.logistics.kuaidi100 import SHANGHAI, STATE_NAMES

FAULTS = frozenset(
    {
        "error_500",  # the next API call answers HTTP 503
        "timeout",  # the next API call stalls for timeout_seconds, then answers
        "create_then_timeout",  # the next e-waybill order is created, then the answer stalls
        "push_twice",  # the next advance pushes the same snapshot twice
        "push_out_of_order",  # ... pushes the current snapshot, then the previous one
        "push_forged",  # ... pushes with a sign made from the wrong salt
    }
)
# The path a parcel takes when advanced without an explicit state: 揽收, 在途, 派件, 签收.
HAPPY_PATH = ("1", "0", "5", "3")
CONTEXTS = {
    "0": "【{loc}】快件已到达{loc}转运中心，正发往下一站（模拟）",
    "1": "【{loc}】快递员已揽收（模拟）",
    "2": "【{loc}】快件出现异常，正在处理（模拟）",
    "3": "【{loc}】快件已签收，签收人：本人（模拟）",
    "4": "【{loc}】快件已退回寄件人并签收（模拟）",
    "5": "【{loc}】快递员正在派件（模拟）",
    "6": "【{loc}】快件正在退回寄件人（模拟）",
    "7": "【{loc}】快件已转投（模拟）",
    "14": "【{loc}】收件人拒收（模拟）",
}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass
class Subscription:
    callback_url: str
    salt: str


@dataclass
class SimParcel:
    waybill_no: str
    carrier: str
    order_ref: str
    recipient_phone: str
    location: str
    created_at: datetime
    task_id: str = field(default_factory=lambda: secrets.token_hex(16))
    kd_order_no: str = field(default_factory=lambda: "SIM" + secrets.token_hex(6).upper())
    state: str | None = None  # None until picked up: nothing to query yet
    events: list[dict[str, str]] = field(default_factory=list)  # oldest first
    results: list[dict[str, Any]] = field(default_factory=list)  # lastResult after each move
    cancelled: bool = False

    def advance(self, state: str | None = None) -> dict[str, Any]:
        """Move to ``state`` (or the next state on the happy path); returns the lastResult."""
        if state is None:
            position = HAPPY_PATH.index(self.state) + 1 if self.state in HAPPY_PATH else 0
            state = HAPPY_PATH[min(position, len(HAPPY_PATH) - 1)]
        # One simulated hour per move keeps event times strictly increasing.
        when = self.created_at + timedelta(hours=len(self.events) + 1)
        stamp = when.strftime(TIME_FORMAT)
        self.events.append(
            {
                "time": stamp,
                "ftime": stamp,
                "context": CONTEXTS.get(state, "【{loc}】状态更新（模拟）").format(
                    loc=self.location
                ),
                "location": self.location,
                "status": STATE_NAMES.get(state, ""),
            }
        )
        self.state = state
        result = self.last_result()
        self.results.append(result)
        return result

    def last_result(self) -> dict[str, Any]:
        return {
            "message": "ok",
            "nu": self.waybill_no,
            "ischeck": "1" if self.state == "3" else "0",
            "condition": "F00",
            "com": self.carrier,
            "status": "200",
            "state": self.state or "0",
            "data": [dict(e) for e in reversed(self.events)],  # newest first, as Kuaidi100
        }


@dataclass
class Delivery:
    """One push POSTed to a callback: what was sent and what the callback answered."""

    waybill_no: str
    headers: dict[str, str]
    body: bytes
    status: int  # 0 when the callback was unreachable
    answer: bytes


@dataclass
class CourierSimState:
    customer: str = field(default_factory=lambda: secrets.token_hex(16).upper())
    key: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    public_url: str = ""
    parcels: dict[str, SimParcel] = field(default_factory=dict)  # by waybill_no
    by_order: dict[str, str] = field(default_factory=dict)  # orderId -> waybill_no
    subscriptions: dict[str, Subscription] = field(default_factory=dict)  # by waybill_no
    faults: list[str] = field(default_factory=list)
    timeout_seconds: float = 3.0
    deliveries: list[Delivery] = field(default_factory=list)
    _serial: int = 0

    def take_fault(self, *names: str) -> str | None:
        """Use up the first queued fault among ``names``, if any."""
        for i, fault in enumerate(self.faults):
            if fault in names:
                del self.faults[i]
                return fault
        return None

    def create_parcel(self, carrier: str, order_ref: str, phone: str, address: str) -> SimParcel:
        """A new waybill for ``order_ref``, every time, as a carrier that does not deduplicate
        would: a client that asks twice gets two, and the tests and the bench count them.
        ``by_order`` (the lookup some gateways offer) keeps the first."""
        self._serial += 1
        prefix = {"ems": "11", "youzhengguonei": "98"}.get(carrier, "90")
        number = f"{prefix}{self._serial:05d}{secrets.randbelow(10**6):06d}"
        parcel = SimParcel(
            waybill_no=number,
            carrier=carrier,
            order_ref=order_ref,
            recipient_phone=phone,
            location=address[:6] or "模拟网点",
            created_at=datetime.now(SHANGHAI).replace(microsecond=0),
        )
        self.parcels[number] = parcel
        self.by_order.setdefault(order_ref, number)
        return parcel
