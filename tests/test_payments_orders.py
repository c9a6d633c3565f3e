"""Paying orders through the WeChat Pay simulator: intents, notifications, refunds, reconciling."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import session_scope, utcnow
from farmgate.jobs import runner
from farmgate.models import (
    Order,
    OrderEvent,
    OrderStatus,
    OutboxJob,
    PaymentIntent,
    PaymentNotification,
    Refund,
    Role,
    Sku,
)
from farmgate.payments import providers, service, tasks
from farmgate.payments.simulator import SimulatorServer
from farmgate.payments.simulator.state import Delivery
from tests.support import desk
from tests.support import factories as f
from tests.support.factories import ADDRESS
from tests.support.logistics import run_jobs


@pytest.fixture(params=["v2", "v3"])
def wechat(
    request: pytest.FixtureRequest, pay_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> SimulatorServer:
    """The shop configured for the simulator through WeChat Pay API v2, then v3."""
    monkeypatch.setattr(settings, "wechat_pay_version", request.param)
    monkeypatch.setattr(settings, "wechat_appid", pay_sim.state.appid)
    monkeypatch.setattr(settings, "wechat_mch_id", pay_sim.state.mch_id)
    monkeypatch.setattr(settings, "wechat_api_base", pay_sim.url)
    monkeypatch.setattr(settings, "payment_http_timeout", 2)
    if request.param == "v2":
        monkeypatch.setattr(settings, "wechat_api_key", pay_sim.state.api_key)
    else:
        v3 = pay_sim.v3_config()
        monkeypatch.setattr(settings, "wechat_apiv3_key", v3["apiv3_key"])
        monkeypatch.setattr(settings, "wechat_private_key", v3["merchant_private_key"])
        monkeypatch.setattr(settings, "wechat_serial_no", v3["merchant_serial_no"])
        monkeypatch.setattr(settings, "wechat_platform_public_key", v3["platform_public_key"])
        monkeypatch.setattr(settings, "wechat_platform_public_key_id", v3["platform_public_key_id"])
    return pay_sim


@pytest.fixture
def order(client, session: Session, wechat):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    buyer = f.create_account(session)
    headers = f.auth_headers(session, buyer)
    client.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": 1}, headers=headers)
    data = client.post("/api/v1/checkout", json=ADDRESS, headers=headers).json()
    return {"id": data["id"], "total": data["total_fen"], "headers": headers, "sku": sku.id}


def _pay_and_notify(client, session: Session, pay_sim: SimulatorServer, order) -> Delivery:  # type: ignore[no-untyped-def]
    """Pay at the simulator; returns the notification it sent (v2 XML or v3 JSON + headers)."""
    intent = client.post(
        f"/api/v1/orders/{order['id']}/pay", json={"channel": "native"}, headers=order["headers"]
    )
    assert intent.status_code == 200, intent.text
    pay_sim.pay(intent.json()["out_trade_no"])
    return pay_sim.state.deliveries[-1]


def _notify(client, sent: Delivery | bytes):  # type: ignore[no-untyped-def]
    if isinstance(sent, bytes):
        headers, body = {"Content-Type": "text/xml"}, sent
    else:
        headers, body = {k: v for k, v in sent.headers.items() if k != "host"}, sent.body
    return client.post("/api/v1/payments/wechat/notify", content=body, headers=headers)


def test_intent_creation_is_idempotent(client, session: Session, order) -> None:  # type: ignore[no-untyped-def]
    first = client.post(
        f"/api/v1/orders/{order['id']}/pay", json={"channel": "native"}, headers=order["headers"]
    ).json()
    again = client.post(
        f"/api/v1/orders/{order['id']}/pay", json={"channel": "native"}, headers=order["headers"]
    ).json()
    assert first == again and first["amount_fen"] == order["total"]
    assert first["client"]["code_url"].startswith("http://127.0.0.1")
    assert session.query(PaymentIntent).count() == 1


def test_pay_reads_the_order_and_its_prior_intent_in_one_statement(  # type: ignore[no-untyped-def]
    client, session: Session, order, connection
) -> None:
    """POST /orders/{id}/pay: the order, locked, comes with the intent already made for the
    channel's trade number (service.order_to_pay): asked again, the same intent and no second
    one; another channel, its own; anyone but the buyer and the admin, "not found"."""
    from sqlalchemy import event

    sent: list[str] = []

    def record(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        if "SAVEPOINT" not in statement:  # the tests' own, around each unit
            sent.append(" ".join(statement.split()))

    path = f"/api/v1/orders/{order['id']}/pay"
    event.listen(connection, "before_cursor_execute", record)
    try:
        first = client.post(path, json={"channel": "native"}, headers=order["headers"])
        reads = list(sent)
        again = client.post(path, json={"channel": "native"}, headers=order["headers"])
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert first.status_code == 200 and again.json() == first.json(), again.text
    # The caller; the order with its prior intent and balance; the new intent's INSERT.
    assert len(reads) == 3, reads
    assert "FROM orders LEFT OUTER JOIN payment_intent" in reads[1], reads[1]
    assert not [s for s in sent[len(reads) :] if s.startswith("INSERT")], sent
    mweb = client.post(path, json={"channel": "mweb"}, headers=order["headers"])
    assert mweb.status_code == 200, mweb.text
    assert mweb.json()["out_trade_no"] == first.json()["out_trade_no"][:-1] + "H"
    assert session.query(PaymentIntent).count() == 2
    other = f.auth_headers(session, f.create_account(session))
    admin = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    session.commit()
    for headers, order_id in ((other, order["id"]), (order["headers"], order["id"] + 1000)):
        gone = client.post(
            f"/api/v1/orders/{order_id}/pay", json={"channel": "native"}, headers=headers
        )
        assert gone.status_code == 404 and gone.json()["error"]["message"] == "订单不存在"
    by_admin = client.post(path, json={"channel": "native"}, headers=admin)
    assert by_admin.json() == first.json()
    assert session.query(PaymentIntent).count() == 2


def test_a_notification_pays_the_order_exactly_once(
    client, session: Session, wechat, order
) -> None:  # type: ignore[no-untyped-def]
    body = _pay_and_notify(client, session, wechat, order)
    ack = _notify(client, body)
    assert ack.status_code in (200, 204) and (b"SUCCESS" in ack.content or not ack.content)
    assert _notify(client, body).status_code in (200, 204)  # a repeat is acknowledged ...
    assert session.query(PaymentNotification).count() == 1  # ... but stored once
    assert run_jobs(session, "payments.apply_notification") == []  # applied by the webhook
    session.expire_all()
    assert session.get(Order, order["id"]).status == OrderStatus.PAID
    assert session.query(PaymentNotification).one().outcome == "applied"
    paid_again = client.post(
        f"/api/v1/orders/{order['id']}/pay", json={"channel": "native"}, headers=order["headers"]
    )
    assert paid_again.status_code == 409


def test_the_order_is_paid_when_the_webhook_answers(
    client, session: Session, wechat, order
) -> None:  # type: ignore[no-untyped-def]
    """The webhook applies what it stores: the buyer's next look sees 已付款, no job needed."""
    ack = _notify(client, _pay_and_notify(client, session, wechat, order))
    assert ack.status_code in (200, 204)
    session.expire_all()
    assert session.get(Order, order["id"]).status == OrderStatus.PAID
    assert session.query(PaymentNotification).one().outcome == "applied"
    seen = client.get(f"/api/v1/orders/{order['id']}", headers=order["headers"]).json()
    assert seen["status"] == OrderStatus.PAID
    # Applied: no job was queued to apply it again.
    assert session.query(OutboxJob).filter_by(job="payments.apply_notification").count() == 0


def test_a_failed_apply_in_the_webhook_is_left_to_the_job(
    client, session: Session, wechat, order, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Applying fails half-way (the order already marked paid): only the apply is undone; the
    notification stays stored, WeChat is told "received", and the job applies it later."""
    from farmgate.notify import service as notify

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("notification store down")

    working = notify.order_paid
    monkeypatch.setattr(notify, "order_paid", broken)
    body = _pay_and_notify(client, session, wechat, order)
    ack = _notify(client, body)
    assert ack.status_code in (200, 204) and (b"SUCCESS" in ack.content or not ack.content)
    session.expire_all()
    assert session.get(Order, order["id"]).status == OrderStatus.PENDING_PAYMENT
    assert session.query(PaymentIntent).one().status == "created"
    assert session.query(PaymentNotification).one().outcome == "pending"
    assert _notify(client, body).status_code in (200, 204)  # a repeat leaves it to the job too
    session.expire_all()
    assert session.query(PaymentNotification).one().outcome == "pending"
    assert session.query(OutboxJob).filter_by(job="payments.apply_notification").count() == 1
    monkeypatch.setattr(notify, "order_paid", working)
    assert run_jobs(session, "payments.apply_notification") == ["done"]
    session.expire_all()
    assert session.get(Order, order["id"]).status == OrderStatus.PAID
    assert session.query(PaymentNotification).one().outcome == "applied"


def test_one_notification_delivered_three_times_at_once_pays_once(
    committed_db: Engine, wechat: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WeChat repeats a notification before the first delivery is answered: each delivery is
    acknowledged (none fails on the unique key), and the order is paid, recorded, posted to the
    ledger and notified once."""
    monkeypatch.setattr(settings, "public_base_url", "http://127.0.0.1:9")  # nobody answers
    with session_scope() as session:
        shop = desk.shop(session)
        order = desk.order(session, shop.sku, paid=False, channel="native")
        intent = service.create_intent(session, order, "native", client_ip="127.0.0.1")
        order_id, out_trade_no = order.id, intent.out_trade_no
    wechat.pay(out_trade_no)
    sent = wechat.state.deliveries[-1]
    headers = {k: v for k, v in sent.headers.items() if k.lower() != "host"}
    answers: list[int | str] = []

    def deliver() -> None:
        try:
            with session_scope() as session:
                answers.append(service.receive_notification(session, headers, sent.body)[0])
        except Exception as exc:  # a failed commit is the webhook answering 500
            answers.append(repr(exc))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 3 and set(answers) <= {200, 204}, answers  # v3 answers 204
    with session_scope() as session:
        assert [n.outcome for n in session.query(PaymentNotification)] == ["applied"]
        assert session.get(Order, order_id).status == OrderStatus.PAID  # type: ignore[union-attr]
        paid = session.query(OrderEvent).filter_by(order_id=order_id, to_status="paid")
        assert paid.count() == 1
        jobs = sorted(
            job
            for (job,) in session.query(OutboxJob.job).filter(
                OutboxJob.job.in_(["ledger.post", "notify.send", "payments.apply_notification"])
            )
        )
        assert jobs == ["ledger.post", "notify.send"]


def test_forged_notifications_are_refused_and_not_stored(
    client, session: Session, wechat, order
) -> None:  # type: ignore[no-untyped-def]
    wechat.inject("notify_forged")
    body = _pay_and_notify(client, session, wechat, order)
    response = _notify(client, body)
    assert response.status_code == 400 and b"FAIL" in response.content.upper()
    assert _notify(client, b"<xml><oops>").status_code == 400
    assert session.query(PaymentNotification).count() == 0
    assert session.get(Order, order["id"]).status == OrderStatus.PENDING_PAYMENT


def test_wrong_amounts_and_unknown_orders_are_rejected(
    client, session: Session, wechat, order
) -> None:  # type: ignore[no-untyped-def]
    wechat.inject("notify_wrong_amount")
    _notify(client, _pay_and_notify(client, session, wechat, order))
    run_jobs(session, "payments.apply_notification")
    note = session.query(PaymentNotification).one()
    assert note.outcome == "rejected" and "amount" in note.note
    assert session.get(Order, order["id"]).status == OrderStatus.PENDING_PAYMENT

    # A genuine notification for a trade this shop never created.
    stranger_no = f"STRANGER{len(wechat.state.orders):04d}"
    providers.wechat().create_intent(
        out_trade_no=stranger_no,
        amount_fen=500,
        description="x",
        channel="native",
        notify_url="http://127.0.0.1:9/none",
        client_ip="127.0.0.1",
    )
    wechat.pay(stranger_no)
    assert _notify(client, wechat.state.deliveries[-1]).status_code in (200, 204)
    run_jobs(session, "payments.apply_notification")
    stranger = session.query(PaymentNotification).filter_by(out_trade_no=stranger_no).one()
    assert (stranger.outcome, stranger.note) == ("rejected", "unknown out_trade_no")


def test_payment_after_cancellation_is_refunded(client, session: Session, wechat, order) -> None:  # type: ignore[no-untyped-def]
    body = _pay_and_notify(client, session, wechat, order)
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=order["headers"])
    _notify(client, body)
    run_jobs(session, "payments.apply_notification")
    assert session.query(PaymentNotification).one().outcome == "late"
    assert run_jobs(session, "payments.refund") == ["done"]
    refund = session.query(Refund).one()
    assert refund.status == "succeeded" and refund.amount_fen == order["total"]
    assert session.get(Order, order["id"]).status == OrderStatus.CANCELLED


def test_partial_then_full_refund(client, session: Session, wechat, order) -> None:  # type: ignore[no-untyped-def]
    _notify(client, _pay_and_notify(client, session, wechat, order))
    run_jobs(session, "payments.apply_notification")
    admin = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    part = client.post(
        f"/api/v1/admin/orders/{order['id']}/refund",
        json={"amount_fen": 1000, "reason": "少发"},
        headers=admin,
    )
    assert part.status_code == 200, part.text
    run_jobs(session, "payments.refund")
    assert session.get(Order, order["id"]).status == OrderStatus.PAID
    too_much = client.post(
        f"/api/v1/admin/orders/{order['id']}/refund",
        json={"amount_fen": order["total"]},
        headers=admin,
    )
    assert too_much.status_code == 409
    rest = client.post(
        f"/api/v1/admin/orders/{order['id']}/refund",
        json={"amount_fen": order["total"] - 1000},
        headers=admin,
    )
    assert rest.status_code == 200
    run_jobs(session, "payments.refund")
    session.expire_all()
    assert session.get(Order, order["id"]).status == OrderStatus.REFUNDED
    assert [r.status for r in session.query(Refund).order_by(Refund.id)] == [
        "succeeded",
        "succeeded",
    ]


def test_reconciliation_finds_a_payment_whose_notification_was_lost(
    client, session: Session, wechat, order
) -> None:  # type: ignore[no-untyped-def]
    _pay_and_notify(client, session, wechat, order)  # paid at the simulator, never notified to us
    intent = session.query(PaymentIntent).one()
    intent.created_at = utcnow() - timedelta(minutes=5)
    session.commit()
    assert tasks.reconcile(session) == 1
    session.commit()
    run_jobs(session, "payments.apply_notification")
    session.expire_all()
    assert session.get(Order, order["id"]).status == OrderStatus.PAID
    assert tasks.reconcile(session) == 0  # nothing waiting any more


def test_provider_outage_is_a_clear_503(client, session: Session, wechat, order) -> None:  # type: ignore[no-untyped-def]
    wechat.inject("error_500")
    response = client.post(
        f"/api/v1/orders/{order['id']}/pay", json={"channel": "native"}, headers=order["headers"]
    )
    assert response.status_code == 503 and response.json()["error"]["code"] == "payment_failed"
    assert session.query(PaymentIntent).count() == 0


def test_an_intent_the_provider_already_saw_paid_pays_the_order_once(
    client, session: Session, wechat, order
) -> None:  # type: ignore[no-untyped-def]
    """Our answer to the first "create" was lost and the buyer paid: asking again must not
    charge twice; the provider's ORDERPAID answer pays the order."""
    number = session.get(Order, order["id"]).number
    out_trade_no = f"{number}N"
    providers.wechat().create_intent(
        out_trade_no=out_trade_no,
        amount_fen=order["total"],
        description="lost answer",
        channel="native",
        notify_url="http://127.0.0.1:9/none",
        client_ip="127.0.0.1",
    )
    wechat.pay(out_trade_no)
    response = client.post(
        f"/api/v1/orders/{order['id']}/pay", json={"channel": "native"}, headers=order["headers"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "paid"
    session.expire_all()
    assert session.get(Order, order["id"]).status == OrderStatus.PAID
    note = session.query(PaymentNotification).one()
    assert (note.outcome, note.payload["source"]) == ("applied", "create_intent")
    assert session.query(OutboxJob).filter_by(job="payments.apply_notification").count() == 0
    assert wechat.order(out_trade_no)["state"] == "SUCCESS"


def test_a_refund_still_processing_is_asked_about_again(
    client, session: Session, wechat, order
) -> None:  # type: ignore[no-untyped-def]
    _notify(client, _pay_and_notify(client, session, wechat, order))
    run_jobs(session, "payments.apply_notification")
    admin = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    wechat.inject("refund_processing")
    client.post(f"/api/v1/admin/orders/{order['id']}/refund", json={}, headers=admin)
    assert run_jobs(session, "payments.refund") == ["retry"]
    session.expire_all()
    assert session.query(Refund).one().status == "requested"
    assert session.get(Order, order["id"]).status == OrderStatus.PAID
    assert run_jobs(session, "payments.refund") == ["done"]  # same out_refund_no: SUCCESS
    session.expire_all()
    assert session.query(Refund).one().status == "succeeded"
    assert session.get(Order, order["id"]).status == OrderStatus.REFUNDED


def test_cash_at_the_village_station(client, session: Session, order) -> None:  # type: ignore[no-untyped-def]
    pay = client.post(
        f"/api/v1/orders/{order['id']}/pay", json={"channel": "cash"}, headers=order["headers"]
    )
    assert pay.status_code == 200, pay.text
    assert pay.json()["client"]["trade_type"] == "CASH"
    session.expire_all()
    held = session.get(Order, order["id"])
    # Sent by courier, so not a neighbour's order: the shorter hold.
    hold = held.pay_by - utcnow()
    assert timedelta(hours=settings.cash_hold_hours_remote - 1) < hold
    assert hold <= timedelta(hours=settings.cash_hold_hours_remote)
    # The 30-minute release job leaves a cash order alone: its deadline moved.
    first_release = session.query(OutboxJob).filter_by(job="orders.release_unpaid").first()
    assert runner.execute(first_release.id).outcome == "done"
    session.expire_all()
    assert session.get(Order, order["id"]).status == OrderStatus.PENDING_PAYMENT
    assert session.query(OutboxJob).filter_by(job="orders.release_unpaid").count() == 2
    assert tasks.reconcile(session) == 0  # nobody but staff can say cash was paid

    url = f"/api/v1/admin/orders/{order['id']}/cash-received"
    admin = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    body = {"receipt_no": "TJC-0001", "amount_fen": order["total"]}
    assert client.post(url, json=body, headers=order["headers"]).status_code == 403
    wrong = client.post(url, json={**body, "amount_fen": order["total"] - 1}, headers=admin)
    assert wrong.status_code == 422 and "amount_fen" in wrong.json()["error"]["fields"]
    paid = client.post(url, json=body, headers=admin)
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert client.post(url, json=body, headers=admin).status_code == 200  # same receipt again
    assert session.query(PaymentNotification).count() == 1

    client.post(f"/api/v1/admin/orders/{order['id']}/refund", json={}, headers=admin)
    assert run_jobs(session, "payments.refund") == ["done"]
    session.expire_all()
    refund = session.query(Refund).one()
    assert refund.status == "pending_cash"  # staff must hand the money back first
    returned = client.post(f"/api/v1/admin/refunds/{refund.id}/cash-returned", headers=admin)
    assert returned.status_code == 200 and returned.json()["status"] == "refunded"
    again = client.post(f"/api/v1/admin/refunds/{refund.id}/cash-returned", headers=admin)
    assert again.status_code == 409
