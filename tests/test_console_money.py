"""The console's orders, cash at the station and refund step-in, through HTML forms alone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from farmgate import audit
from farmgate.db import utcnow
from farmgate.models import (
    Account,
    Order,
    PaymentNotification,
    Refund,
    RefundRequest,
    Role,
)
from farmgate.orders import lookup
from farmgate.payments import requests, tasks
from farmgate.timeutil import local_today
from tests.support import desk
from tests.support import factories as f
from tests.support.web import csrf_token

LIMIT = 30 * 1024


def _get(client, url: str, status: int = 200) -> str:  # type: ignore[no-untyped-def]
    page = client.get(url)
    assert page.status_code == status, (url, page.status_code)
    assert len(page.content) <= LIMIT, (url, len(page.content))
    return page.text


def _admin(client, session: Session) -> Account:  # type: ignore[no-untyped-def]
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    return admin


def _late(session: Session, asked: RefundRequest) -> None:
    asked.created_at = utcnow() - timedelta(hours=49)
    session.add(asked)
    session.flush()


def test_orders_are_found_by_each_filter_and_show_their_story(  # type: ignore[no-untyped-def]
    client, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = desk.shop(session)
    other = desk.shop(session, "别家合作社", lot="OTHER1")
    paid = desk.order(session, s.sku)
    waiting = desk.order(session, other.sku, paid=False)
    (asked,) = requests.ask(session, None, paid, "压坏了")
    _admin(client, session)
    listing = _get(client, "/township/orders")
    assert paid.number in listing and waiting.number in listing and "共 2 个订单" in listing
    by_number = _get(client, f"/township/orders?number={paid.number[-6:]}")
    assert paid.number in by_number and waiting.number not in by_number
    by_phone = _get(client, f"/township/orders?phone={waiting.phone[-4:]}")
    assert waiting.number in by_phone
    by_coop = _get(client, f"/township/orders?cooperative={other.coop.id}")
    assert waiting.number in by_coop and paid.number not in by_coop
    by_status = _get(client, "/township/orders?status=pending_payment")
    assert waiting.number in by_status and paid.number not in by_status
    today = local_today().isoformat()  # the console's days are Shanghai days
    assert "共 2 个订单" in _get(client, f"/township/orders?date_from=2020-01-01&date_to={today}")
    assert "共 0 个订单" in _get(client, "/township/orders?date_to=2020-01-01")
    bad = client.get("/township/orders?date_from=昨天&status=nope&phone=abc")
    assert bad.status_code == 422
    assert 'id="date_from-error">日期请按' in bad.text and 'value="昨天"' in bad.text
    assert '<a href="#status">' in bad.text and '<a href="#phone">' in bad.text
    monkeypatch.setattr(lookup, "PAGE_SIZE", 1)
    second = _get(client, "/township/orders?page=2")
    assert "第 2/2 页" in second and paid.number in second and "上一页" in second
    story = _get(client, f"/township/orders/{paid.id}")
    assert s.product.name in story and paid.phone in story
    assert f"CASH-R-{paid.id}" in story and "已支付" in story
    assert f"/township/refunds/{asked.id}" in story and "压坏了" in story
    assert "退款申请中" in story  # the timeline
    _get(client, "/township/orders/999999", 404)


def test_cash_received_at_the_station_is_recorded_once(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku, paid=False)
    admin = _admin(client, session)
    page = _get(client, "/township/cash")
    assert order.number in page and "现金已收" in page
    token = csrf_token(page)
    url = f"/township/cash/{order.id}/received"
    for receipt, message in [(" ", "请填写纸质收据上的编号"), ("票 1", "1-32 位字母")]:
        bad = client.post(
            url, data={"receipt_no": receipt, "station": "谭家场", "csrf_token": token}
        )
        assert bad.status_code == 422, receipt
        assert re.search(rf'id="receipt_no-{order.id}-error">[^<]*{message}', bad.text)
        assert 'value="谭家场"' in bad.text
    no_station = client.post(url, data={"receipt_no": "A-1", "station": "", "csrf_token": token})
    assert no_station.status_code == 422 and "请填写收付现金的村服务站" in no_station.text
    session.refresh(order)
    assert order.status == "pending_payment" and session.query(PaymentNotification).count() == 0
    form = {"receipt_no": "A-1", "station": "谭家场村服务站", "csrf_token": token}
    first = client.post(url, data=form)
    assert first.status_code == 200 and "已登记收到订单" in first.text
    again = client.post(url, data=form)
    assert "已经登记过了" in again.text
    session.expire_all()
    assert session.get(Order, order.id).status == "paid"  # type: ignore[union-attr]
    assert session.query(PaymentNotification).count() == 1
    (entry,) = audit.entries(session, action="cash.received")
    assert entry.actor_id == admin.id and entry.target_id == order.id
    assert entry.before == {"order_status": "pending_payment", "intent_status": "created"}
    assert entry.after["station"] == "谭家场村服务站" and entry.after["receipt_no"] == "A-1"  # type: ignore[index]
    # The same paper receipt for another order is refused, not silently "already recorded".
    second = desk.order(session, s.sku, paid=False)
    reused = client.post(f"/township/cash/{second.id}/received", data=form)
    assert reused.status_code == 422 and "这个收据号已经用过了" in reused.text


def test_cash_refund_handed_back_is_recorded_once(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    (asked,) = requests.ask(session, None, order, "不要了")
    refund = requests.accept(session, s.owner, asked.id, 500)
    tasks.refund(session, {"refund_id": refund.id})  # type: ignore[typeddict-item]
    session.flush()
    session.refresh(refund)
    assert refund.status == "pending_cash"
    admin = _admin(client, session)
    page = _get(client, "/township/cash")
    assert "现金已退还 ¥5.00" in page
    url = f"/township/cash/refunds/{refund.id}/returned"
    token = csrf_token(page)
    empty = client.post(url, data={"station": " ", "csrf_token": token})
    assert empty.status_code == 422 and f'id="refund-station-{refund.id}-error"' in empty.text
    for _ in range(2):
        done = client.post(url, data={"station": "高坪村服务站", "csrf_token": token})
        assert done.status_code == 200
    assert "已经登记过了" in done.text
    session.expire_all()
    assert session.get(Refund, refund.id).status == "succeeded"  # type: ignore[union-attr]
    (entry,) = audit.entries(session, action="cash.returned")
    assert entry.actor_id == admin.id and entry.after["station"] == "高坪村服务站"  # type: ignore[index]


def test_the_township_steps_into_a_late_refund_request(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    (asked,) = requests.ask(session, None, order, "有两袋压坏了")
    admin = _admin(client, session)
    page = _get(client, f"/township/refunds/{asked.id}")
    token = csrf_token(page)
    early = client.post(
        f"/township/refunds/{asked.id}/accept", data={"how": "all", "csrf_token": token}
    )
    assert "还在答复期限内" in early.text and session.query(Refund).count() == 0
    _late(session, asked)
    listing = _get(client, "/township/refunds?show=late")
    assert order.number in listing and "已超时" in listing and "代合作社处理" in listing
    total = order.total_fen
    for typed, message in [
        (f"{total / 100 + 1:.2f}", "最多可退"),
        ("一百", "退款金额只能填数字"),
        ("1.234", "退款金额最多填到分"),
        ("0", "退款金额必须大于0"),
        ("", "请填写退款金额"),
    ]:
        bad = client.post(
            f"/township/refunds/{asked.id}/accept",
            data={"how": "part", "amount": typed, "csrf_token": token},
        )
        assert bad.status_code == 422, typed
        assert re.search(rf'<a href="#amount">[^<]*{message}', bad.text), typed
        assert f'value="{typed}"' in bad.text
    empty = client.post(
        f"/township/refunds/{asked.id}/refuse", data={"answer": " ", "csrf_token": token}
    )
    assert empty.status_code == 422 and 'id="answer-error">请填写拒绝的理由' in empty.text
    form = {"how": "part", "amount": "12.5", "csrf_token": token}
    check = client.post(f"/township/refunds/{asked.id}/accept", data=form)
    assert check.status_code == 200 and "确认退款 ¥12.50" in check.text
    assert session.query(Refund).count() == 0  # nothing before the check is confirmed
    for _ in range(2):  # sent twice: one refund
        done = client.post(
            f"/township/refunds/{asked.id}/accept", data={**form, "confirmed": "yes"}
        )
        assert done.status_code == 200
    assert "已经处理过了" in done.text
    session.expire_all()
    assert [r.amount_fen for r in session.query(Refund).all()] == [1250]
    answered = session.get(RefundRequest, asked.id)
    assert answered.status == "accepted" and answered.answered_by == admin.id  # type: ignore[union-attr]
    (entry,) = audit.entries(session, action="refund_request")
    assert entry.action == "refund_request.accept" and entry.after["amount_fen"] == 1250  # type: ignore[index]
    assert "乡镇管理员代合作社同意退款" in _get(client, f"/township/orders/{order.id}")


def test_the_township_refuses_a_late_request_with_a_reason(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    (asked,) = requests.ask(session, None, order, "不想要了")
    _late(session, asked)
    _admin(client, session)
    token = csrf_token(_get(client, f"/township/refunds/{asked.id}"))
    for _ in range(2):
        done = client.post(
            f"/township/refunds/{asked.id}/refuse",
            data={"answer": "生鲜已签收，不能退", "csrf_token": token},
        )
        assert done.status_code == 200
    assert "已经处理过了" in done.text and "生鲜已签收，不能退" in done.text
    session.expire_all()
    assert session.get(RefundRequest, asked.id).status == "refused"  # type: ignore[union-attr]
    assert [e.action for e in audit.entries(session, target="refund_request")] == [
        "refund_request.refuse"
    ]


@pytest.mark.parametrize("role", [Role.COOPERATIVE, Role.COURIER, Role.CONSUMER])
def test_other_roles_are_refused(client, session: Session, role: Role) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku, paid=False)
    paid = desk.order(session, s.sku)
    (asked,) = requests.ask(session, None, paid, "坏了")
    _late(session, asked)
    cooperative = s.coop if role == Role.COOPERATIVE else None
    f.login_browser(client, session, f.create_account(session, role=role, cooperative=cooperative))
    token = csrf_token(client.get("/login").text)
    for url in (
        "/township/orders",
        f"/township/orders/{order.id}",
        "/township/cash",
        "/township/refunds",
        f"/township/refunds/{asked.id}",
    ):
        assert client.get(url).status_code == 403, url
    for url, data in (
        (f"/township/cash/{order.id}/received", {"receipt_no": "X1", "station": "站"}),
        (f"/township/refunds/{asked.id}/accept", {"how": "all", "confirmed": "yes"}),
        (f"/township/refunds/{asked.id}/refuse", {"answer": "不行"}),
    ):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    session.expire_all()
    assert session.get(Order, order.id).status == "pending_payment"  # type: ignore[union-attr]
    assert session.get(RefundRequest, asked.id).status == "open"  # type: ignore[union-attr]
    assert audit.entries(session) == []


def test_anonymous_visitors_are_sent_to_sign_in(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    for url in ("/township/orders", "/township/orders/1", "/township/cash", "/township/refunds"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login?next=")
    assert client.post("/township/cash/1/received", data={}).status_code in (401, 403)


def test_forms_without_a_csrf_token_change_nothing(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku, paid=False)
    _admin(client, session)
    data = {"receipt_no": "B-2", "station": "站"}
    assert client.post(f"/township/cash/{order.id}/received", data=data).status_code == 403
    session.expire_all()
    assert session.get(Order, order.id).status == "pending_payment"  # type: ignore[union-attr]


def test_long_lists_stay_under_30_kb(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    s.sku.stock = 1000
    session.flush()
    for _ in range(14):
        desk.order(session, s.sku, paid=False)
    for _ in range(26):
        paid = desk.order(session, s.sku)
        (asked,) = requests.ask(session, None, paid, "坏了" * 50)
        _late(session, asked)
        refund = requests.accept(session, s.owner, asked.id, 100)
        tasks.refund(session, {"refund_id": refund.id})  # type: ignore[typeddict-item]
    for _ in range(26):
        requests.ask(session, None, desk.order(session, s.sku), "少了" * 90)
    session.flush()
    _admin(client, session)
    cash = _get(client, "/township/cash")
    assert "先显示最早到期的 12 个" in cash and "先显示最早的 6 笔" in cash
    for url in ("/township/orders", "/township/refunds?show=all", "/township/refunds"):
        _get(client, url)
