"""The desk's orders, refund requests, profile and staff pages, through HTML forms alone."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from farmgate.models import Account, Cooperative, OrderLine, Refund, RefundRequest, Role
from farmgate.orders import service as orders
from farmgate.payments import requests
from tests.support import desk
from tests.support import factories as f
from tests.support.web import csrf_token

LIMIT = 30 * 1024


def _get(client, url: str, status: int = 200) -> str:  # type: ignore[no-untyped-def]
    page = client.get(url)
    assert page.status_code == status, (url, page.status_code)
    assert len(page.content) <= LIMIT, (url, len(page.content))
    return page.text


def test_orders_tabs_pack_with_a_lot_slip_and_the_days_list(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    waiting = desk.order(session, s.sku, paid=False)
    f.login_browser(client, session, s.owner)
    (part,) = orders.fulfilments_for(session, s.owner)
    html = _get(client, "/coop/orders")
    assert order.number in html and f'href="tel:{order.phone}"' in html
    assert "到村服务站付现金：已付款" in html and waiting.number not in html
    cash = _get(client, "/coop/orders?tab=cash")
    assert waiting.number in cash and "等待买家到站付款" in cash
    page = _get(client, f"/coop/orders/{part.id}")
    line = session.query(OrderLine).filter_by(fulfilment_id=part.id).one()
    assert f'<option value="{s.lot.id}" selected>' in page
    # A lot that is not in the list: the message beside the field, nothing packed.
    bad = client.post(
        f"/coop/orders/{part.id}/pack", data={f"lot_{line.id}": "x", "csrf_token": csrf_token(page)}
    )
    assert bad.status_code == 422 and f'id="lot_{line.id}-error">请从列表里选择批次' in bad.text
    form = {f"lot_{line.id}": str(s.lot.id), "csrf_token": csrf_token(page)}
    for _ in range(2):  # sent twice: packed once
        done = client.post(f"/coop/orders/{part.id}/pack", data=form)
        assert done.status_code == 200 and "已标记为已打包" in done.text
    session.expire_all()
    assert session.get(OrderLine, line.id).batch_id == s.lot.id  # type: ignore[union-attr]
    assert "已装好箱" not in done.text
    assert order.number in _get(client, "/coop/orders?tab=packed")
    slip = _get(client, f"/coop/orders/{part.id}/slip")
    assert "装箱单" in slip and s.lot.lot_code in slip and "@media print" not in slip
    day = _get(client, "/coop/orders/day")
    assert order.number in day and "共 1 个包裹" in day


def test_a_refund_is_answered_on_the_desk(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    (asked,) = requests.ask(session, None, order, "有两袋压坏了")
    f.login_browser(client, session, s.owner)
    listing = _get(client, "/coop/refunds")
    assert "有两袋压坏了" in listing and "待处理" in listing
    page = _get(client, f"/coop/refunds/{asked.id}")
    token = csrf_token(page)
    total = order.total_fen
    for typed, message in [
        (f"{total / 100 + 1:.2f}", "最多可退"),
        ("-3", "退款金额必须大于0"),
        ("一百", "退款金额只能填数字"),
        ("1.234", "退款金额最多填到分"),
    ]:
        bad = client.post(
            f"/coop/refunds/{asked.id}/accept",
            data={"how": "part", "amount": typed, "csrf_token": token},
        )
        assert bad.status_code == 422, typed
        assert re.search(rf'<a href="#amount">[^<]*{message}', bad.text), typed
        assert f'value="{typed}"' in bad.text
    empty = client.post(
        f"/coop/refunds/{asked.id}/refuse", data={"answer": " ", "csrf_token": token}
    )
    assert empty.status_code == 422 and 'id="answer-error">请填写拒绝的理由' in empty.text
    assert session.query(Refund).count() == 0
    for _ in range(2):  # sent twice: one refund
        done = client.post(
            f"/coop/refunds/{asked.id}/accept",
            data={"how": "part", "amount": "12.5", "csrf_token": token},
        )
        assert done.status_code == 200
    assert "已同意退款" in done.text
    session.expire_all()
    assert [r.amount_fen for r in session.query(Refund).all()] == [1250]


def test_refusing_keeps_the_reason_for_the_buyer(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    (asked,) = requests.ask(session, None, order, "不想要了")
    f.login_browser(client, session, s.owner)
    token = csrf_token(_get(client, f"/coop/refunds/{asked.id}"))
    for _ in range(2):
        done = client.post(
            f"/coop/refunds/{asked.id}/refuse",
            data={"answer": "生鲜已发出，不能退", "csrf_token": token},
        )
        assert done.status_code == 200 and "生鲜已发出，不能退" in done.text
    session.expire_all()
    assert session.get(RefundRequest, asked.id).status == "refused"  # type: ignore[union-attr]


def test_another_cooperatives_ids_are_not_found_everywhere(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    mine = desk.shop(session)
    theirs = desk.shop(session, "别家合作社", lot="OTHER1")
    order = desk.order(session, theirs.sku)
    (asked,) = requests.ask(session, None, order, "坏了")
    (part,) = orders.fulfilments_for(session, theirs.owner)
    helper = desk.staff_of(session, theirs.coop)
    f.login_browser(client, session, mine.owner)
    token = csrf_token(_get(client, "/coop/orders"))
    for url in (
        f"/coop/orders/{part.id}",
        f"/coop/orders/{part.id}/slip",
        f"/coop/refunds/{asked.id}",
        f"/coop/staff/{helper.id}/remove",
    ):
        _get(client, url, 404)
    for url, data in (
        (f"/coop/orders/{part.id}/pack", {}),
        (f"/coop/orders/{part.id}/courier", {"courier_account_id": "1"}),
        (f"/coop/refunds/{asked.id}/accept", {"how": "all"}),
        (f"/coop/refunds/{asked.id}/refuse", {"answer": "不行"}),
        (f"/coop/staff/{helper.id}/remove", {}),
    ):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 404, url
    session.expire_all()
    assert session.get(RefundRequest, asked.id).status == "open"  # type: ignore[union-attr]
    assert session.get(Account, helper.id).cooperative_id == theirs.coop.id  # type: ignore[union-attr]
    # Not a cooperative at all: refused.
    f.login_browser(client, session, f.create_account(session))
    for url in ("/coop/orders", "/coop/refunds", "/coop/profile", "/coop/staff"):
        assert client.get(url).status_code == 403, url


def test_profile_name_waits_for_review_and_contacts_are_checked(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    f.login_browser(client, session, s.owner)
    page = _get(client, "/coop/profile")
    sent = {"name": "红辣椒合作社", "service_phone": "打我电话", "pickup_address": "村委会旁"}
    bad = client.post("/coop/profile", data={**sent, "csrf_token": csrf_token(page)})
    assert bad.status_code == 422 and 'id="service_phone-error"' in bad.text
    assert 'value="打我电话"' in bad.text and "村委会旁</textarea>" in bad.text
    sent = {
        "name": "谭家场红辣椒合作社",
        "service_phone": "0745-1234567",
        "pickup_address": "村委会旁",
    }
    for _ in range(2):
        done = client.post("/coop/profile", data={**sent, "csrf_token": csrf_token(page)})
        assert done.status_code == 200
    assert "待乡镇审核" in done.text
    session.expire_all()
    coop = session.get(Cooperative, s.coop.id)
    assert coop.name == "红辣椒合作社" and coop.pending_name == "谭家场红辣椒合作社"  # type: ignore[union-attr]
    assert coop.service_phone == "0745-1234567"  # type: ignore[union-attr]
    public = client.get(f"/cooperatives/{s.coop.id}").text
    assert "红辣椒合作社" in public and "谭家场红辣椒合作社" not in public


def test_the_owner_invites_with_a_link_and_removes_staff(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    helper = desk.staff_of(session, s.coop)
    f.login_browser(client, session, helper)
    assert client.get("/coop/staff/invite").status_code == 403
    token = csrf_token(_get(client, "/coop/staff"))
    assert (
        client.post(
            "/coop/staff/invite", data={"phone": "13966660001", "csrf_token": token}
        ).status_code
        == 403
    )
    assert (
        client.post(f"/coop/staff/{s.owner.id}/remove", data={"csrf_token": token}).status_code
        == 403
    )

    f.login_browser(client, session, s.owner)
    page = _get(client, "/coop/staff/invite")
    bad = client.post(
        "/coop/staff/invite",
        data={"phone": "1234", "display_name": "李会计", "csrf_token": csrf_token(page)},
    )
    assert bad.status_code == 422 and 'id="phone-error">请输入11位中国大陆手机号码' in bad.text
    assert 'value="李会计"' in bad.text
    made = client.post(
        "/coop/staff/invite",
        data={"phone": "13966660001", "display_name": "李会计", "csrf_token": csrf_token(page)},
    )
    assert made.status_code == 200 and "只显示这一次" in made.text
    link = re.search(r'href="http://testserver(/coop/welcome/[^"]+)"', made.text)
    assert link
    again = client.post(
        "/coop/staff/invite", data={"phone": "13966660001", "csrf_token": csrf_token(page)}
    )
    assert again.status_code == 422 and "已经是本社工作人员" in again.text
    assert session.query(Account).filter_by(phone="13966660001").count() == 1

    client.cookies.clear()
    welcome = client.get(link.group(1))
    assert welcome.status_code == 200 and "13966660001" in welcome.text
    set_pw = {
        "password": "li kuaiji 2026",
        "password_again": "li kuaiji 2026",
        "csrf_token": csrf_token(welcome.text),
    }
    assert client.post(link.group(1), data=set_pw, follow_redirects=False).status_code == 303
    assert client.post(link.group(1), data=set_pw).status_code == 404  # used once

    f.login_browser(client, session, s.owner)
    listing = _get(client, "/coop/staff")
    assert "李会计" in listing and "负责人" in listing
    new = session.query(Account).filter_by(phone="13966660001").one()
    check = _get(client, f"/coop/staff/{new.id}/remove")
    for _ in range(2):
        gone = client.post(f"/coop/staff/{new.id}/remove", data={"csrf_token": csrf_token(check)})
    assert gone.status_code == 404  # the second time it is no longer ours
    session.expire_all()
    assert session.get(Account, new.id).role == Role.CONSUMER  # type: ignore[union-attr]
    own = client.post(f"/coop/staff/{s.owner.id}/remove", data={"csrf_token": csrf_token(check)})
    assert own.status_code == 409 and "不能移除自己" in own.text
