"""Notifications to buyers: one per event even when its step runs twice, sent by WeChat
template message when the order has an openid and by SMS otherwise, turned off by the buyer
(except recalls), retried after a fault and dead-lettered visibly. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.errors import InvalidTransition
from farmgate.logistics import service as logistics
from farmgate.logistics.adapter import TrackingEvent, TrackingSnapshot, TrackingStatus
from farmgate.models import DeadJob, NotificationOptOut, Role
from farmgate.notify import messages
from farmgate.notify import service as notify
from farmgate.orders import service as orders
from farmgate.payments import requests
from farmgate.payments import service as payments
from farmgate.sms.simulator import SmsSimulatorServer
from farmgate.timeutil import LOCAL_TZ
from farmgate.trace import recalls
from farmgate.wechat import client as wechat
from farmgate.wechat import credentials, identity
from farmgate.wechat.errors import WeChatError
from farmgate.wechat.simulator import MpSimulatorServer, start_mp_simulator
from tests.support import desk
from tests.support import factories as f
from tests.support.notify import kinds, notes, packed_from, parcel_of, run_send, send_jobs

OPENID = "oSIMnotifybuyer0000000000001"


@pytest.fixture(scope="module")
def notify_mp() -> Iterator[MpSimulatorServer]:
    with start_mp_simulator(appid="wx_notify_app") as server:
        yield server


@pytest.fixture
def channels(
    notify_mp: MpSimulatorServer, sms: SmsSimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> MpSimulatorServer:
    """The official account and SMS simulators configured, a WeChat template for each kind."""
    for name, value in notify_mp.settings().items():
        monkeypatch.setattr(settings, name, value)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(settings, "wechat_http_timeout", 2)
    monkeypatch.setattr(settings, "public_base_url", "https://shop.example.cn")
    for kind in ("paid", "shipped", "delivered", "refund", "recall"):
        monkeypatch.setattr(settings, f"notify_wechat_template_{kind}", f"TPL_{kind.upper()}")
    notify_mp.state.faults.clear()
    notify_mp.state.messages.clear()
    credentials._unreachable_until.clear()
    return notify_mp


def snap(status: TrackingStatus, hour: int) -> TrackingSnapshot:
    at = datetime(2026, 12, 1, 8, tzinfo=LOCAL_TZ) + timedelta(hours=hour)
    return TrackingSnapshot("ems", "1", status, "0", (TrackingEvent(at, f"h{hour}"),), False)


# --- each event once -------------------------------------------------------------------------


def test_payment_confirmed_twice_notifies_once(session: Session) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku, paid=False)
    admin = f.create_account(session, role=Role.ADMIN)
    for _ in range(2):  # the station confirms the same receipt twice
        payments.confirm_cash(
            session, order, receipt_no="R-1", amount_fen=order.total_fen, staff=admin
        )
    assert kinds(session, order) == ["paid"]
    assert len(send_jobs(session, notes(session, order)[0])) == 1
    assert notify.order_paid(session, order) is None  # called again: nothing new


def test_shipped_and_delivered_once_each_whatever_the_courier_repeats(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "kuaidi100_key", "a-carrier-account")  # parcels when paid
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    parcel = parcel_of(session, order)
    logistics.apply_snapshot(session, parcel, snap(TrackingStatus.PICKED_UP, 1))
    logistics.apply_snapshot(session, parcel, snap(TrackingStatus.PICKED_UP, 1))  # pushed twice
    logistics.apply_snapshot(session, parcel, snap(TrackingStatus.IN_TRANSIT, 2))
    assert kinds(session, order) == ["paid", "shipped"]
    logistics.apply_snapshot(session, parcel, snap(TrackingStatus.DELIVERED, 3))
    logistics.apply_snapshot(session, parcel, snap(TrackingStatus.DELIVERED, 4))
    assert kinds(session, order) == ["paid", "shipped", "delivered"]
    assert all(len(send_jobs(session, n)) == 1 for n in notes(session, order))


def test_each_refund_answer_is_one_notification(session: Session) -> None:
    s = desk.shop(session)
    buyer = f.create_account(session)
    order = desk.order(session, s.sku, buyer=buyer)
    (asked,) = requests.ask(session, buyer, order, "不想要了")
    requests.refuse(session, s.owner, asked.id, "已经发货，无法退款")  # type: ignore[arg-type]
    with pytest.raises(InvalidTransition):  # answered already: refused, and nothing more is queued
        requests.refuse(session, s.owner, asked.id, "再拒绝一次")  # type: ignore[arg-type]
    (again,) = requests.ask(session, buyer, order, "还是想退")
    requests.accept(session, s.owner, again.id, None)  # type: ignore[arg-type]
    assert kinds(session, order) == ["paid", "refund_refused", "refund_accepted"]
    refused, accepted = notes(session, order)[1:]
    assert refused.ref == str(asked.id) and accepted.ref == str(again.id)
    text = messages.compose(session, refused, order).text(order.number)
    assert "已经发货，无法退款" in text and order.number in text


def test_a_recall_tells_every_affected_buyer_once(session: Session) -> None:
    s = desk.shop(session)
    first, second = desk.order(session, s.sku), desk.order(session, s.sku)
    unaffected = desk.order(session, s.sku)
    for order in (first, second):
        packed_from(session, order, s.lot.id)  # type: ignore[arg-type]
    admin = f.create_account(session, role=Role.ADMIN)
    recall = recalls.start(session, admin, s.lot.id, "农残超标，请停止食用")  # type: ignore[arg-type]
    assert kinds(session, first) == kinds(session, second) == ["paid", "recall"]
    assert kinds(session, unaffected) == ["paid"]
    assert notify.recall_started(session, recall, [first, second]) == 0  # run again: none new
    text = messages.compose(session, notes(session, first)[1], first).text(first.number)
    assert s.lot.lot_code in text and "停止食用" in text


# --- channels --------------------------------------------------------------------------------


def test_an_order_with_an_openid_is_told_by_wechat_template(
    session: Session, channels: MpSimulatorServer
) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    identity.bind_order(session, order, OPENID)
    (paid,) = notes(session, order)
    assert run_send(session, paid) == ["done"]
    (sent,) = channels.state.messages
    assert sent["touser"] == OPENID and sent["template_id"] == "TPL_PAID"
    assert sent["data"]["keyword1"]["value"] == order.number
    assert sent["url"] == f"https://shop.example.cn/orders/{order.number}?t=" + (
        orders.access_token(order)
    )
    paid = notes(session, order)[0]
    assert (paid.channel, paid.status, paid.attempts) == ("wechat", "sent", 1)
    assert paid.provider_id == str(sent["msgid"])
    assert run_send(session, paid) == []  # done: the job is not run again


def test_an_accounts_openid_counts_too(session: Session, channels: MpSimulatorServer) -> None:
    s = desk.shop(session)
    buyer = f.create_account(session)
    identity.bind_account(session, buyer, OPENID)
    order = desk.order(session, s.sku, buyer=buyer)
    assert run_send(session, notes(session, order)[0]) == ["done"]
    assert [m["touser"] for m in channels.state.messages] == [OPENID]


def test_without_an_openid_the_buyer_gets_an_sms(
    session: Session, channels: MpSimulatorServer, sms: SmsSimulatorServer
) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    (paid,) = notes(session, order)
    assert run_send(session, paid) == ["done"]
    assert channels.state.messages == []
    (text,) = [m["text"] for m in sms.messages(order.phone)]
    assert order.number in text and "已付款成功" in text and "/orders/" in text
    paid = notes(session, order)[0]
    assert (paid.channel, paid.status) == ("sms", "sent")


def test_without_a_template_for_the_kind_an_openid_still_gets_an_sms(
    session: Session,
    channels: MpSimulatorServer,
    sms: SmsSimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "notify_wechat_template_paid", "")
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    identity.bind_order(session, order, OPENID)
    assert run_send(session, notes(session, order)[0]) == ["done"]
    assert channels.state.messages == [] and len(sms.messages(order.phone)) == 1


def test_with_no_channel_configured_nothing_is_sent_and_it_says_why(session: Session) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    assert run_send(session, notes(session, order)[0]) == ["done"]
    (paid,) = notes(session, order)
    assert paid.status == "skipped" and "没有可用的发送渠道" in paid.error


# --- turning them off ------------------------------------------------------------------------


def test_an_account_that_turned_them_off_gets_none_but_recalls(
    session: Session, channels: MpSimulatorServer, sms: SmsSimulatorServer
) -> None:
    s = desk.shop(session)
    buyer = f.create_account(session)
    assert notify.set_opt_out(session, off=True, account=buyer) is True
    assert notify.set_opt_out(session, off=True, account=buyer) is False  # sent twice
    order = desk.order(session, s.sku, buyer=buyer)
    (paid,) = notes(session, order)
    assert paid.status == "skipped" and send_jobs(session, paid) == []
    packed_from(session, order, s.lot.id)  # type: ignore[arg-type]
    admin = f.create_account(session, role=Role.ADMIN)
    recalls.start(session, admin, s.lot.id, "包装破损可能污染")  # type: ignore[arg-type]
    recall = notes(session, order)[1]
    assert run_send(session, recall) == ["done"]
    assert notes(session, order)[1].status == "sent"
    assert "正在召回" in sms.messages(order.phone)[-1]["text"]


def test_an_order_turned_off_before_it_is_paid_is_recorded_skipped(session: Session) -> None:
    """Turned off for one order: its notification is recorded, skipped, never queued; the
    same buyer's other order is told as usual."""
    s = desk.shop(session)
    buyer = f.create_account(session)
    quiet = desk.order(session, s.sku, buyer=buyer, paid=False)
    other = desk.order(session, s.sku, buyer=buyer, paid=False)
    notify.set_opt_out(session, off=True, order=quiet)
    admin = f.create_account(session, role=Role.ADMIN)
    for order in (quiet, other):
        payments.confirm_cash(
            session, order, receipt_no=f"R-{order.id}", amount_fen=order.total_fen, staff=admin
        )
    (off,) = notes(session, quiet)
    (on,) = notes(session, other)
    assert (off.status, off.error) == ("skipped", notify.OPTED_OUT)
    assert send_jobs(session, off) == []
    assert on.status == "pending" and len(send_jobs(session, on)) == 1


def test_turning_off_after_the_event_still_stops_the_message(
    session: Session, channels: MpSimulatorServer, sms: SmsSimulatorServer
) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)  # queued while notifications were on
    notify.set_opt_out(session, off=True, order=order)
    assert run_send(session, notes(session, order)[0]) == ["done"]
    assert notes(session, order)[0].status == "skipped" and sms.messages(order.phone) == []
    assert notify.set_opt_out(session, off=False, order=order) is True
    assert session.query(NotificationOptOut).filter_by(order_id=order.id).count() == 0


# --- faults ------------------------------------------------------------------------------------


def test_a_wechat_fault_is_retried_then_sent(session: Session, channels: MpSimulatorServer) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    identity.bind_order(session, order, OPENID)
    wechat.access_token()  # the fault below then hits the send itself
    channels.inject("throttled")
    (paid,) = notes(session, order)
    assert run_send(session, paid) == ["retry"]
    paid = notes(session, order)[0]
    assert paid.status == "retrying" and paid.attempts == 1 and "45009" in paid.error
    assert run_send(session, paid) == ["done"]
    paid = notes(session, order)[0]
    assert (paid.status, paid.attempts, paid.channel) == ("sent", 2, "wechat")
    assert len(channels.state.messages) == 1


def test_a_refused_number_dead_letters_visibly(
    session: Session, channels: MpSimulatorServer, sms: SmsSimulatorServer
) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    sms.inject("invalid_number")
    (paid,) = notes(session, order)
    assert run_send(session, paid) == ["dead"]
    paid = notes(session, order)[0]
    assert paid.status == "dead" and "IncorrectPhoneNumber" in paid.error
    (job,) = send_jobs(session, paid)
    assert session.query(DeadJob).filter_by(outbox_id=job.id).count() == 1


def test_an_sms_gateway_throttling_is_retried_then_sent(
    session: Session, channels: MpSimulatorServer, sms: SmsSimulatorServer
) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    sms.inject("throttled")
    (paid,) = notes(session, order)
    assert run_send(session, paid) == ["retry"]
    assert notes(session, order)[0].status == "retrying" and sms.messages(order.phone) == []
    assert run_send(session, paid) == ["done"]
    paid = notes(session, order)[0]
    assert (paid.status, paid.attempts, paid.channel) == ("sent", 2, "sms")
    assert len(sms.messages(order.phone)) == 1


def test_a_buyer_who_unfollowed_the_account_gets_an_sms_instead(
    session: Session,
    channels: MpSimulatorServer,
    sms: SmsSimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unfollowed(*args: object, **kwargs: object) -> int:
        raise WeChatError.answered(43004, "require subscribe")

    monkeypatch.setattr(wechat, "send_template", unfollowed)
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    identity.bind_order(session, order, OPENID)
    assert run_send(session, notes(session, order)[0]) == ["done"]
    paid = notes(session, order)[0]
    assert (paid.channel, paid.status) == ("sms", "sent") and "43004" in paid.error
    assert len(sms.messages(order.phone)) == 1
