"""Kuaidi100: customs states are a parcel on its way; "abort" and a corrected carrier code
lead to a new subscription (issue 19)."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy.orm import Session

from farmgate.logistics.adapter import TrackingStatus
from farmgate.logistics.kuaidi100 import Kuaidi100Adapter, dumps, push_sign
from farmgate.models import OutboxJob, Parcel
from tests.support.logistics import paid_order, run_jobs

SALT = "s3cret-salt"


def adapter() -> Kuaidi100Adapter:
    return Kuaidi100Adapter(customer="CUSTOMER123", key="KEYabc", secret="SECRETxyz")


def result(
    state: str, number: str = "1100000000001", com: str = "ems", name: str = "清关中"
) -> dict[str, object]:
    return {
        "message": "ok",
        "nu": number,
        "ischeck": "0",
        "com": com,
        "state": state,
        "data": [
            {"time": "2026-03-02 08:15:00", "context": "【上海】海关查验中", "status": name},
            {"time": "2026-03-01 17:00:05", "context": "快递员已揽收", "status": "揽收"},
        ],
    }


def push_body(last: dict[str, object], salt: str = SALT, **fields: str) -> bytes:
    param = dumps({"status": "polling", "message": "", **fields, "lastResult": last})
    return urlencode({"param": param, "sign": push_sign(param, salt)}).encode()


def test_customs_states_are_on_the_way_and_only_a_customs_hold_is_a_problem() -> None:
    for state in ("8", "10", "11", "12"):
        snapshot = adapter().parse_push({}, push_body(result(state)), SALT)
        assert snapshot.status is TrackingStatus.IN_TRANSIT, state
        assert snapshot.events[-1].status is TrackingStatus.IN_TRANSIT
        assert not snapshot.resubscribe
    held = adapter().parse_push({}, push_body(result("13", name="清关异常")), SALT)
    assert (
        held.status is TrackingStatus.PROBLEM and held.events[-1].status is TrackingStatus.PROBLEM
    )


def test_abort_and_a_corrected_carrier_ask_for_a_new_subscription() -> None:
    aborted = adapter().parse_push({}, push_body(result("0"), status="abort"), SALT)
    assert aborted.resubscribe and not aborted.is_final and aborted.corrected_carrier is None
    corrected = adapter().parse_push(
        {},
        push_body(
            result("0"), status="abort", autoCheck="1", comOld="ems", comNew="youzhengguonei"
        ),
        SALT,
    )
    assert corrected.resubscribe and corrected.corrected_carrier == "youzhengguonei"
    assert corrected.carrier == "youzhengguonei"
    same = adapter().parse_push(
        {}, push_body(result("0"), autoCheck="1", comOld="ems", comNew="ems"), SALT
    )
    assert not same.resubscribe and same.corrected_carrier is None
    done = adapter().parse_push({}, push_body(result("3", name="签收"), status="abort"), SALT)
    assert done.is_final and not done.resubscribe  # delivered: nothing to follow


def test_an_abort_push_resubscribes_under_the_corrected_code(
    client, session: Session, carrier
) -> None:  # type: ignore[no-untyped-def]
    order = paid_order(client, session)
    run_jobs(session, "logistics.create_waybill")
    assert run_jobs(session, "logistics.subscribe") == ["done"]
    session.expire_all()
    parcel = session.query(Parcel).filter_by(order_id=order.id).one()
    assert parcel.subscribed and parcel.waybill_no in carrier.state.subscriptions
    old = parcel.carrier
    new = "ems" if old != "ems" else "youzhengguonei"
    body = push_body(
        result("0", number=parcel.waybill_no or "", com=old),
        salt=parcel.salt,
        status="abort",
        message="快递公司单号有误",
        autoCheck="1",
        comOld=old,
        comNew=new,
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (
        client.post("/api/v1/logistics/kuaidi100/push", content=body, headers=headers).status_code
        == 200
    )
    assert run_jobs(session, "logistics.apply_push") == ["done"]
    session.expire_all()
    parcel = session.get(Parcel, parcel.id)
    assert parcel is not None and parcel.carrier == new and not parcel.subscribed
    carrier.state.subscriptions.clear()
    assert run_jobs(session, "logistics.subscribe") == ["done"]
    session.expire_all()
    parcel = session.get(Parcel, parcel.id)
    assert parcel is not None and parcel.subscribed
    assert parcel.waybill_no in carrier.state.subscriptions  # subscribed anew at the carrier
    # A customs push afterwards moves nothing backwards and asks for nothing.
    jobs_before = session.query(OutboxJob).filter_by(job="logistics.subscribe").count()
    customs = push_body(result("11", number=parcel.waybill_no or "", com=new), salt=parcel.salt)
    client.post("/api/v1/logistics/kuaidi100/push", content=customs, headers=headers)
    run_jobs(session, "logistics.apply_push")
    session.expire_all()
    assert session.query(OutboxJob).filter_by(job="logistics.subscribe").count() == jobs_before
    assert session.get(Parcel, parcel.id).status != "problem"  # type: ignore[union-attr]
