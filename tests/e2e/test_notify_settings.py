"""Order notifications on a 360 px Chromium (zh-CN): from a guest's order link, the buyer opens
the notification settings, turns them off (recalls still sent, as the page says) and back on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import db
from farmgate.models import NotificationOptOut
from farmgate.orders import service as orders
from tests.support import desk
from tests.support.browser import NEEDS_CHROMIUM, check_phone, submit

pytestmark = NEEDS_CHROMIUM


def test_a_buyer_turns_an_orders_notifications_off_and_on(page, app_db: Path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:
        shop = desk.shop(session, "通知合作社", lot="TZ2026A")
        order = desk.order(session, shop.sku)
        session.commit()
        number, token, order_id = order.number, orders.access_token(order), order.id

    page.context.clear_cookies()
    page.goto(f"/orders/{number}?t={token}")
    submit(page, "text=订单通知（微信 / 短信）：开启或关闭")
    content = page.content()
    assert "已开启" in content and "始终发送" in content and "付款成功" in content
    check_phone(page, "notify-1-settings")
    submit(page, "button:text-is('关闭订单通知')")
    assert "已关闭订单通知" in page.content() and "开启订单通知" in page.content()
    check_phone(page, "notify-2-off")
    with Session(engine) as session:
        assert session.query(NotificationOptOut).filter_by(order_id=order_id).count() == 1
    submit(page, "button:text-is('开启订单通知')")
    assert "已开启订单通知" in page.content()
    submit(page, "text=返回订单")
    assert number in page.content()
    with Session(engine) as session:
        assert session.query(NotificationOptOut).filter_by(order_id=order_id).count() == 0
