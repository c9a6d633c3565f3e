"""The buyer turns order notifications off and on: for one order from its page (a guest, by
the order's link), or for the account; forms without JavaScript, CSRF-checked, sent twice act
once; someone without the link sees nothing. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.models import NotificationOptOut
from farmgate.notify import service as notify
from farmgate.orders import service as orders
from tests.support import desk
from tests.support import factories as f
from tests.support.web import csrf_token


def test_a_guest_turns_one_orders_notifications_off_from_its_page(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    session.commit()
    link = f"/orders/{order.number}?t={orders.access_token(order)}"
    page = client.get(link)
    settings_link = f"/orders/{order.number}/notifications?t={orders.access_token(order)}"
    assert settings_link.replace("&", "&amp;") in page.text or settings_link in page.text
    form = client.get(settings_link)
    assert form.status_code == 200 and "已开启" in form.text and "始终发送" in form.text
    assert "付款成功" in form.text  # what was sent (or queued) so far
    data = {"csrf_token": csrf_token(form.text), "t": orders.access_token(order)}
    for _ in range(2):  # sent twice: off once
        done = client.post(
            f"/orders/{order.number}/notifications",
            data={**data, "notifications": "off"},
            follow_redirects=False,
        )
        assert done.status_code == 303
    assert session.query(NotificationOptOut).filter_by(order_id=order.id).count() == 1
    after = client.get(done.headers["location"])
    assert "已关闭订单通知" in after.text and "开启订单通知" in after.text
    session.expire_all()
    assert notify.opted_out(session, order)
    client.post(f"/orders/{order.number}/notifications", data={**data, "notifications": "on"})
    session.expire_all()
    assert not notify.opted_out(session, order)


def test_without_the_link_or_a_token_nothing_changes(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    session.commit()
    assert client.get(f"/orders/{order.number}/notifications?t=wrong").status_code == 404
    form = client.get(f"/orders/{order.number}/notifications?t={orders.access_token(order)}")
    token = csrf_token(form.text)
    wrong = client.post(
        f"/orders/{order.number}/notifications",
        data={"csrf_token": token, "t": "wrong", "notifications": "off"},
    )
    forged = client.post(
        f"/orders/{order.number}/notifications",
        data={"csrf_token": "forged", "t": orders.access_token(order), "notifications": "off"},
    )
    assert wrong.status_code == 404 and forged.status_code == 403
    assert session.query(NotificationOptOut).count() == 0


def test_a_signed_in_buyer_turns_them_off_for_the_account(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/account/notifications", follow_redirects=False).status_code in (
        302,
        303,
        401,
    )
    buyer = f.create_account(session)
    f.login_browser(client, session, buyer)
    form = client.get("/account/notifications")
    assert form.status_code == 200 and "您账号下的所有订单" in form.text
    done = client.post(
        "/account/notifications",
        data={"csrf_token": csrf_token(form.text), "notifications": "off"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    session.expire_all()
    assert notify.account_opted_out(session, buyer)
    s = desk.shop(session)
    order = desk.order(session, s.sku, buyer=buyer)
    session.commit()
    page = client.get(f"/orders/{order.number}/notifications")
    assert "您已在账号里关闭了所有订单的通知" in page.text and "未发送" in page.text


def test_the_api_turns_the_accounts_notifications_off_and_on(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/me/notifications").status_code == 401
    buyer = f.create_account(session)
    headers = f.auth_headers(session, buyer)
    assert client.get("/api/v1/me/notifications", headers=headers).json() == {"off": False}
    off = client.put("/api/v1/me/notifications", json={"off": True}, headers=headers)
    assert off.status_code == 200 and off.json() == {"off": True}
    session.expire_all()
    assert notify.account_opted_out(session, buyer)
    assert (
        client.put("/api/v1/me/notifications", json={"off": "maybe"}, headers=headers).status_code
        == 422
    )
    client.put("/api/v1/me/notifications", json={"off": False}, headers=headers)
    assert client.get("/api/v1/me/notifications", headers=headers).json() == {"off": False}
