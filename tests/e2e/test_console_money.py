"""The township admin confirms a cash order paid at the station, then steps into a refund
request its cooperative left unanswered too long and refunds part of it, on a 360 px Chromium;
every page without sideways scrolling and with tap targets at least 44 px high."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import audit, db
from farmgate.models import Order, Refund, RefundRequest, Role
from farmgate.payments import requests
from tests.support import desk
from tests.support import factories as f
from tests.support.browser import NEEDS_CHROMIUM, check_phone, submit

pytestmark = NEEDS_CHROMIUM


def test_the_admin_takes_cash_and_steps_into_a_late_refund(page, app_url, app_db: Path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:
        shop = desk.shop(session, "高坪茶叶合作社", lot="GP2026")
        cash_order = desk.order(session, shop.sku, paid=False)
        paid = desk.order(session, shop.sku)
        (asked,) = requests.ask(session, None, paid, "茶叶受潮结块了")
        asked.created_at -= timedelta(hours=49)  # the cooperative let it wait too long
        admin = f.create_account(session, role=Role.ADMIN)
        session.commit()
        phone, cash_id, cash_number = admin.phone, cash_order.id, cash_order.number
        asked_id, paid_id, paid_number, admin_id = asked.id, paid.id, paid.number, admin.id

    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", f.PASSWORD)
    submit(page, "button[type=submit]")

    page.goto("/township/cash")
    assert cash_number in page.content()
    check_phone(page, "60-console-cash")
    page.fill(f"#receipt_no-{cash_id}", "")
    submit(page, f"form[action='/township/cash/{cash_id}/received'] button")
    assert "请填写纸质收据上的编号" in page.content()
    check_phone(page, "61-console-cash-error")
    page.fill(f"#receipt_no-{cash_id}", "GP-0042")
    page.fill(f"#station-{cash_id}", "高坪村服务站")
    submit(page, f"form[action='/township/cash/{cash_id}/received'] button")
    assert f"已登记收到订单 {cash_number} 的现金" in page.content()
    check_phone(page, "62-console-cash-done")

    page.goto("/township/orders")
    page.fill("#number", cash_number)
    submit(page, "text=查找订单")
    assert "共 1 个订单" in page.content()
    check_phone(page, "63-console-orders")
    submit(page, f"text={cash_number}")
    assert "CASH-GP-0042" in page.content() and "高坪村服务站" in page.content()
    check_phone(page, "64-console-order-story")

    page.goto("/township/refunds?show=late")
    assert paid_number in page.content() and "已超时" in page.content()
    check_phone(page, "65-console-refunds-late")
    submit(page, "text=代合作社处理")
    page.check("input[name=how][value=part]")
    page.fill("#amount", "一百")
    submit(page, "text=检查退款金额")
    assert "退款金额只能填数字" in page.content()
    check_phone(page, "66-console-refund-error")
    page.check("input[name=how][value=part]")
    page.fill("#amount", "8.8")
    submit(page, "text=检查退款金额")
    assert "确认退款 ¥8.80" in page.content()
    check_phone(page, "67-console-refund-check")
    submit(page, "text=确认退款 ¥8.80")
    assert "已代合作社同意退款" in page.content()
    assert "乡镇管理员代合作社已同意退款" in page.content()
    check_phone(page, "68-console-refund-done")

    with Session(engine) as session:
        assert session.get(Order, cash_id).status == "paid"  # type: ignore[union-attr]
        assert [r.amount_fen for r in session.query(Refund).filter_by(order_id=paid_id)] == [880]
        answered = session.get(RefundRequest, asked_id)
        assert answered.status == "accepted" and answered.answered_by == admin_id  # type: ignore[union-attr]
        actions = {(e.action, e.actor_id) for e in audit.entries(session)}
        assert ("cash.received", admin_id) in actions
        assert ("refund_request.accept", admin_id) in actions
