"""Kuaidi100 wire format without a network: signatures, state mapping, pushes, ``newer``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from farmgate.logistics.adapter import (
    MalformedPush,
    SignatureInvalid,
    TrackingEvent,
    TrackingSnapshot,
    TrackingStatus,
    newer,
)
from farmgate.logistics.kuaidi100 import (
    Kuaidi100Adapter,
    dumps,
    label_sign,
    push_sign,
    query_sign,
    verify_push_sign,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SALT = "s3cret-salt"


def adapter() -> Kuaidi100Adapter:
    return Kuaidi100Adapter(customer="CUSTOMER123", key="KEYabc", secret="SECRETxyz")


def last_result(state: str = "0", **extra: object) -> dict[str, object]:
    return {
        "message": "ok",
        "nu": "1100000000001",
        "ischeck": "0",
        "com": "ems",
        "status": "200",
        "state": state,
        "data": [
            {
                "time": "2026-03-02 08:15:00",
                "ftime": "2026-03-02 08:15:00",
                "context": "【杭州市】快件已到达杭州转运中心",
                "location": "杭州市",
                "status": "在途",
            },
            {
                "time": "2026-03-01 17:00:05",
                "ftime": "2026-03-01 17:00:05",
                "context": "【临安区】快递员已揽收",
                "status": "揽收",
            },
        ],
        **extra,
    }


def push(
    result: object, salt: str = SALT, status: str = "polling", sign: str | None = None
) -> bytes:
    param = dumps({"status": status, "message": "", "lastResult": result})
    return urlencode({"param": param, "sign": sign or push_sign(param, salt)}).encode()


# Signatures, against md5 values computed by hand (coreutils md5sum) for fixed inputs.


def test_query_sign_is_upper_md5_of_param_key_customer() -> None:
    param = '{"com":"ems","num":"1100000000001","resultv2":"1"}'
    assert query_sign(param, "KEYabc", "CUSTOMER123") == "94136884BCFE1C1BEBF70E6F9BF34287"


def test_push_sign_is_upper_md5_of_param_salt() -> None:
    assert push_sign('{"status":"polling"}', "salt42") == "F4AD4A04B9A173023C585F43858E355E"
    # Kuaidi100 documents md5(param + salt); a lower-case sign verifies too.
    assert verify_push_sign('{"status":"polling"}', "salt42", "f4ad4a04b9a173023c585f43858e355e")
    assert not verify_push_sign(
        '{"status":"polling"}', "salt43", "F4AD4A04B9A173023C585F43858E355E"
    )


def test_label_sign_is_upper_md5_of_param_t_key_secret() -> None:
    assert (
        label_sign('{"orderId":"F-1"}', "1576123932000", "KEYabc", "SECRETxyz")
        == "8EAB413E90886C48A250D6556FF4DE25"
    )


def test_dumps_keeps_chinese_and_is_compact() -> None:
    assert dumps({"a": "邮政", "b": 1}) == '{"a":"邮政","b":1}'


# State mapping.


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("0", TrackingStatus.IN_TRANSIT),
        ("1", TrackingStatus.PICKED_UP),
        ("2", TrackingStatus.PROBLEM),
        ("3", TrackingStatus.DELIVERED),
        ("4", TrackingStatus.RETURNED),
        ("5", TrackingStatus.OUT_FOR_DELIVERY),
        ("6", TrackingStatus.RETURNING),
        ("7", TrackingStatus.IN_TRANSIT),
        ("14", TrackingStatus.REJECTED),
        ("8", TrackingStatus.IN_TRANSIT),  # 清关: customs, on its way (issue 19)
        ("13", TrackingStatus.PROBLEM),  # 清关异常: held by customs
        ("1001", TrackingStatus.PROBLEM),
    ],
)
def test_every_state_code_maps(state: str, status: TrackingStatus) -> None:
    snapshot = adapter().parse_push({}, push(last_result(state)), SALT)
    assert snapshot.status is status
    assert snapshot.raw_state == state
    assert snapshot.is_final is (status in (TrackingStatus.DELIVERED, TrackingStatus.RETURNED))


def test_push_is_parsed_into_aware_beijing_times_oldest_first() -> None:
    snapshot = adapter().parse_push({}, push(last_result("0")), SALT)
    assert (snapshot.carrier, snapshot.waybill) == ("ems", "1100000000001")
    first, second = snapshot.events
    assert first.time == datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC)  # 17:00:05 Beijing
    assert first.time.utcoffset() == timedelta(hours=8)
    assert first.status is TrackingStatus.PICKED_UP and first.location == ""
    assert second.location == "杭州市" and second.status is TrackingStatus.IN_TRANSIT
    assert second.context == "【杭州市】快件已到达杭州转运中心"


def test_shutdown_push_is_final() -> None:
    snapshot = adapter().parse_push({}, push(last_result("0"), status="shutdown"), SALT)
    assert snapshot.is_final


def test_forged_or_missing_sign_is_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        adapter().parse_push({}, push(last_result(), salt="other-salt"), SALT)
    with pytest.raises(SignatureInvalid):
        adapter().parse_push({}, push(last_result(), sign="0" * 32), SALT)
    param = dumps({"status": "polling", "lastResult": last_result()})
    with pytest.raises(SignatureInvalid):
        adapter().parse_push({}, urlencode({"param": param}).encode(), SALT)


def test_tampered_param_fails_the_sign() -> None:
    body = push(last_result("0"))
    with pytest.raises(SignatureInvalid):
        adapter().parse_push(
            {}, body.replace(b"%22state%22%3A%220%22", b"%22state%22%3A%223%22"), SALT
        )


@pytest.mark.parametrize(
    "param",
    [
        "not json",
        dumps({"status": "polling"}),  # no lastResult
        dumps({"lastResult": "text"}),
        dumps({"lastResult": {**last_result(), "data": [{"time": "yesterday", "context": "x"}]}}),
        dumps({"lastResult": {k: v for k, v in last_result().items() if k != "nu"}}),
    ],
)
def test_malformed_push(param: str) -> None:
    body = urlencode({"param": param, "sign": push_sign(param, SALT)}).encode()
    with pytest.raises(MalformedPush):
        adapter().parse_push({}, body, SALT)


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b"sign=ABC", b"param=a&param=b&sign=x"])
def test_push_that_is_not_a_push_form(body: bytes) -> None:
    with pytest.raises(MalformedPush):
        adapter().parse_push({}, body, SALT)


def test_ack() -> None:
    status, content_type, body = adapter().ack(True)
    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(body) == {"result": True, "returnCode": "200", "message": "成功"}
    assert json.loads(adapter().ack(False)[2])["result"] is False


# newer().


def snap(status: TrackingStatus, *hours: int) -> TrackingSnapshot:
    base = datetime(2026, 3, 1, 8, tzinfo=SHANGHAI)
    events = tuple(TrackingEvent(base + timedelta(hours=h), f"h{h}") for h in hours)
    return TrackingSnapshot("ems", "1", status, "0", events, False)


def test_newer_picks_the_latest_event_time_whatever_the_order() -> None:
    old, new = snap(TrackingStatus.OUT_FOR_DELIVERY, 1, 2), snap(TrackingStatus.IN_TRANSIT, 1, 3)
    assert newer(old, new) is new
    assert newer(new, old) is new


def test_newer_breaks_time_ties_by_status_rank() -> None:
    moving, delivered = snap(TrackingStatus.IN_TRANSIT, 1), snap(TrackingStatus.DELIVERED, 1)
    assert newer(moving, delivered) is delivered
    assert newer(delivered, moving) is delivered


def test_newer_keeps_the_stored_one_on_a_full_tie_and_prefers_events_over_none() -> None:
    a, b = snap(TrackingStatus.IN_TRANSIT, 1), snap(TrackingStatus.IN_TRANSIT, 1)
    assert newer(a, b) is a
    empty = snap(TrackingStatus.CREATED)
    assert newer(empty, a) is a
    assert newer(a, empty) is a
