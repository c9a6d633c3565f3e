"""The Kuaidi100 adapter against the simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from itertools import count

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from farmgate.logistics.adapter import (
    CourierError,
    CourierUnavailable,
    SignatureInvalid,
    TrackingStatus,
    WaybillRequest,
    newer,
)
from farmgate.logistics.kuaidi100 import CHINA_POST, EMS, Kuaidi100Adapter
from farmgate.logistics.simulator import CourierSimulatorServer

SALT = "farmgate-salt"
_refs = count(1)


class Callback:
    """A tiny shop endpoint that records pushes and answers like the real one would."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        ack = Kuaidi100Adapter("c", "k", None).ack(True)

        async def receive(request: Request) -> Response:
            self.received.append(await request.body())
            return Response(ack[2], status_code=ack[0], media_type=ack[1])

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{port}/kuaidi100/push"
        app = Starlette(routes=[Route("/kuaidi100/push", receive, methods=["POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        for _ in range(200):
            if self._server.started:
                break
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)


@pytest.fixture(scope="module")
def callback() -> Iterator[Callback]:
    cb = Callback()
    yield cb
    cb.stop()


@pytest.fixture
def kd(courier_sim: CourierSimulatorServer) -> Kuaidi100Adapter:
    courier_sim.state.faults.clear()
    return Kuaidi100Adapter(**courier_sim.config(), timeout=5, waybill_lookup=True)


def request(carrier: str = EMS, order_ref: str | None = None) -> WaybillRequest:
    return WaybillRequest(
        order_ref=order_ref or f"FUL-{next(_refs)}",
        carrier=carrier,
        sender_name="临安山核桃合作社",
        sender_phone="13900000001",
        sender_address="浙江省杭州市临安区太湖源镇",
        recipient_name="张三",
        recipient_phone="13800001234",
        recipient_province="北京市",
        recipient_city="北京市",
        recipient_county="朝阳区",
        recipient_address="建国路 1 号",
        weight_g=1500,
        item_name="山核桃",
    )


def test_every_answer_says_simulator(courier_sim: CourierSimulatorServer) -> None:
    assert httpx.get(f"{courier_sim.url}/nowhere").headers["x-simulator"] == "kuaidi100"
    answer = httpx.post(f"{courier_sim.url}/poll/query.do", data={"customer": "x"})
    assert answer.headers["x-simulator"] == "kuaidi100"


def test_the_simulator_makes_a_waybill_per_create_call_and_the_lookup_finds_the_first(
    courier_sim: CourierSimulatorServer, kd: Kuaidi100Adapter
) -> None:
    # Like a carrier that does not deduplicate: asking twice makes two, which is what the
    # sync jobs must never do (the tests count them here).
    req = request(CHINA_POST)
    first = kd.create_waybill(req)
    again = kd.create_waybill(req)
    other = kd.create_waybill(request(CHINA_POST))
    assert len({first.waybill_no, again.waybill_no, other.waybill_no}) == 3
    assert (first.carrier, first.order_ref) == (CHINA_POST, req.order_ref)
    assert [p.order_ref for p in courier_sim.state.parcels.values()].count(req.order_ref) == 2
    assert kd.find_waybill(req.order_ref) == first
    assert first.label_url is not None
    page = httpx.get(first.label_url)
    assert page.status_code == 200 and "模拟" in page.text and first.waybill_no in page.text


def test_wrong_secret_is_a_refusal_not_an_outage(courier_sim: CourierSimulatorServer) -> None:
    kd = Kuaidi100Adapter(**{**courier_sim.config(), "secret": "wrong"})
    with pytest.raises(CourierError) as info:
        kd.create_waybill(request())
    assert info.type is CourierError and info.value.code == "30002"


def test_create_then_timeout_then_look_before_creating_again(
    courier_sim: CourierSimulatorServer, kd: Kuaidi100Adapter
) -> None:
    impatient = Kuaidi100Adapter(**courier_sim.config(), timeout=0.5)
    req = request()
    courier_sim.inject("create_then_timeout", timeout_seconds=1.5)
    with pytest.raises(CourierUnavailable):
        impatient.create_waybill(req)
    found = kd.find_waybill(req.order_ref)
    assert found is not None and found.order_ref == req.order_ref
    assert [p.order_ref for p in courier_sim.state.parcels.values()].count(req.order_ref) == 1


def test_without_the_lookup_the_adapter_refuses_to_look(
    courier_sim: CourierSimulatorServer,
) -> None:
    plain = Kuaidi100Adapter(**courier_sim.config())
    assert not plain.can_find_waybill
    with pytest.raises(CourierError):
        plain.find_waybill("FUL-anything")


def test_find_waybill_for_an_unknown_order_is_none(kd: Kuaidi100Adapter) -> None:
    assert kd.find_waybill("FUL-never-created") is None


def test_query_follows_the_parcel(
    courier_sim: CourierSimulatorServer, kd: Kuaidi100Adapter
) -> None:
    waybill = kd.create_waybill(request())
    with pytest.raises(CourierError) as info:  # nothing scanned yet: 查询无结果
        kd.query(EMS, waybill.waybill_no, "1234")
    assert info.value.code == "500" and not isinstance(info.value, CourierUnavailable)

    courier_sim.advance(waybill.waybill_no)
    snapshot = kd.query(EMS, waybill.waybill_no, "1234")
    assert snapshot.status is TrackingStatus.PICKED_UP and snapshot.raw_state == "1"
    assert len(snapshot.events) == 1 and "揽收" in snapshot.events[0].context
    assert snapshot.events[0].time.tzinfo is not None and not snapshot.is_final

    for _ in range(3):
        courier_sim.advance(waybill.waybill_no)
    snapshot = kd.query(EMS, waybill.waybill_no, None)
    assert snapshot.status is TrackingStatus.DELIVERED and snapshot.is_final
    assert [e.status for e in snapshot.events] == [
        TrackingStatus.PICKED_UP,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    ]
    assert [e.time for e in snapshot.events] == sorted(e.time for e in snapshot.events)


def test_query_with_wrong_key_is_a_refusal(courier_sim: CourierSimulatorServer) -> None:
    kd = Kuaidi100Adapter(**{**courier_sim.config(), "key": "wrong"})
    with pytest.raises(CourierError) as info:
        kd.query(EMS, "1100000000001", None)
    assert info.type is CourierError and info.value.code == "503"


@pytest.mark.parametrize("fault", ["error_500", "timeout"])
def test_outages_are_transient(
    courier_sim: CourierSimulatorServer, kd: Kuaidi100Adapter, fault: str
) -> None:
    impatient = Kuaidi100Adapter(**courier_sim.config(), timeout=0.5)
    waybill = kd.create_waybill(request())
    courier_sim.advance(waybill.waybill_no)
    calls = [
        lambda: impatient.query(EMS, waybill.waybill_no, None),
        lambda: impatient.create_waybill(request()),
        lambda: impatient.subscribe(EMS, waybill.waybill_no, "http://127.0.0.1:9/x", SALT),
    ]
    for call in calls:
        courier_sim.inject(fault, timeout_seconds=1.5)
        with pytest.raises(CourierUnavailable):
            call()
    # Each fault is used once: the next call goes through.
    assert kd.query(EMS, waybill.waybill_no, None).status is TrackingStatus.PICKED_UP


def subscribed_parcel(
    courier_sim: CourierSimulatorServer, kd: Kuaidi100Adapter, callback: Callback
) -> str:
    waybill = kd.create_waybill(request())
    kd.subscribe(EMS, waybill.waybill_no, callback.url, SALT)
    kd.subscribe(EMS, waybill.waybill_no, callback.url, SALT)  # 501 重复订阅 is fine
    callback.received.clear()
    return waybill.waybill_no


def test_subscribe_then_advance_pushes_a_verified_snapshot(
    courier_sim: CourierSimulatorServer, kd: Kuaidi100Adapter, callback: Callback
) -> None:
    number = subscribed_parcel(courier_sim, kd, callback)
    result = courier_sim.advance(number)
    assert result["pushes"] == [200]
    (body,) = callback.received
    snapshot = kd.parse_push({}, body, SALT)
    assert (snapshot.waybill, snapshot.status) == (number, TrackingStatus.PICKED_UP)
    delivery = courier_sim.state.deliveries[-1]
    assert delivery.body == body and delivery.status == 200
    assert json.loads(delivery.answer) == {"result": True, "returnCode": "200", "message": "成功"}

    courier_sim.advance(number, 14)
    assert kd.parse_push({}, callback.received[-1], SALT).status is TrackingStatus.REJECTED


def test_forged_push_is_rejected(
    courier_sim: CourierSimulatorServer, kd: Kuaidi100Adapter, callback: Callback
) -> None:
    number = subscribed_parcel(courier_sim, kd, callback)
    courier_sim.inject("push_forged")
    courier_sim.advance(number)
    with pytest.raises(SignatureInvalid):
        kd.parse_push({}, callback.received[-1], SALT)
    courier_sim.advance(number)  # used once: the next push verifies
    assert kd.parse_push({}, callback.received[-1], SALT).status is TrackingStatus.IN_TRANSIT


def test_repeated_push_parses_twice_and_changes_nothing(
    courier_sim: CourierSimulatorServer, kd: Kuaidi100Adapter, callback: Callback
) -> None:
    number = subscribed_parcel(courier_sim, kd, callback)
    courier_sim.inject("push_twice")
    assert courier_sim.advance(number)["pushes"] == [200, 200]
    first, second = (kd.parse_push({}, b, SALT) for b in callback.received)
    assert first == second
    assert newer(first, second) is first


def test_out_of_order_push_is_parsed_and_newer_keeps_the_latest(
    courier_sim: CourierSimulatorServer, kd: Kuaidi100Adapter, callback: Callback
) -> None:
    number = subscribed_parcel(courier_sim, kd, callback)
    courier_sim.advance(number)
    courier_sim.advance(number)
    courier_sim.inject("push_out_of_order")
    courier_sim.advance(number)  # pushes 派件, then the older 在途
    current, late = (kd.parse_push({}, b, SALT) for b in callback.received[-2:])
    assert current.status is TrackingStatus.OUT_FOR_DELIVERY
    assert late.status is TrackingStatus.IN_TRANSIT and len(late.events) == 2
    assert newer(current, late) is current
    assert newer(late, current) is current
    # Same latest event but a later status still wins the tie.
    assert newer(replace(current, status=TrackingStatus.IN_TRANSIT), current) is current


def test_cancel_before_pickup_only(
    courier_sim: CourierSimulatorServer, kd: Kuaidi100Adapter
) -> None:
    fresh = kd.create_waybill(request())
    kd.cancel(fresh)
    assert courier_sim.parcel(fresh.waybill_no)["cancelled"] is True  # type: ignore[index]
    moving = kd.create_waybill(request())
    courier_sim.advance(moving.waybill_no)
    with pytest.raises(CourierError):
        kd.cancel(moving)
