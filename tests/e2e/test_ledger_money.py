"""A cooperative reads its month's statement, and the township records a payout with its
voucher photo, on a 360 px Chromium: no sideways scrolling, tap targets at least 44 px."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import db
from farmgate.config import settings
from farmgate.ledger import settlement
from farmgate.models import Role
from tests.support import desk
from tests.support import factories as f
from tests.support.browser import NEEDS_CHROMIUM, check_phone, submit
from tests.support.images import jpeg
from tests.support.ledger import complete, post_pending

pytestmark = NEEDS_CHROMIUM


def _login(page, phone: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", f.PASSWORD)
    submit(page, "button[type=submit]")


def test_statement_and_payout_on_a_phone(page, app_url, app_db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:
        shop = desk.shop(session, "高坪茶叶合作社", lot="GP2026")
        for _ in range(3):
            complete(session, desk.order(session, shop.sku))
        desk.order(session, shop.sku)
        post_pending(session)
        settlement.settle_due(session, db.utcnow() + timedelta(days=settings.settlement_days + 1))
        admin = f.create_account(session, role=Role.ADMIN)
        session.commit()
        owner_phone, admin_phone, coop_id = shop.owner.phone, admin.phone, shop.coop.id

    _login(page, owner_phone)
    page.goto("/coop/money")
    assert "现在可打款" in page.content() and "期末余额" in page.content()
    check_phone(page, "80-desk-money")

    page.context.clear_cookies()
    _login(page, admin_phone)
    page.goto("/township/money")
    assert "高坪茶叶合作社" in page.content()
    check_phone(page, "81-console-money")
    page.goto(f"/township/money/{coop_id}")
    page.fill("#amount", "999999")
    page.fill("#bank_ref", "NX20261205")
    voucher = tmp_path / "voucher.jpg"
    voucher.write_bytes(jpeg())
    page.set_input_files("#voucher", str(voucher))
    submit(page, "form[action$='/payouts'] button")
    assert "最多可打款" in page.content()
    check_phone(page, "82-console-payout-error")
    page.fill("#amount", "10")
    page.set_input_files("#voucher", str(voucher))
    submit(page, "form[action$='/payouts'] button")
    assert "已登记打款" in page.content() and "NX20261205" in page.content()
    check_phone(page, "83-console-payout-done")


def test_wechat_receiver_and_shares_on_a_phone(page, app_url, app_db: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from farmgate.models import PaymentIntent, ShareStatus
    from farmgate.payments import sharing
    from farmgate.payments.wechat_sharing import ReceiverResult, SharingOrder

    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:
        shop = desk.shop(session, "板溪油茶合作社", lot="BX2026")
        orders = [desk.order(session, shop.sku) for _ in range(2)]
        for order in orders:
            complete(session, order)
        post_pending(session)
        settlement.settle_due(session, db.utcnow() + timedelta(days=settings.settlement_days + 1))
        admin = f.create_account(session, role=Role.ADMIN)
        sharing.set_receiver(session, admin, shop.coop.id, "MERCHANT_ID", "1900007777", "板溪油茶")
        # Two shares as the jobs leave them: one received, one whose receiver was closed.
        for order, result in zip(orders, ("SUCCESS", "CLOSED"), strict=True):
            intent = session.scalars(
                select(PaymentIntent).where(PaymentIntent.order_id == order.id)
            ).one()
            share = sharing._reserve(session, order, intent, shop.coop, 300)
            answer = ReceiverResult("MERCHANT_ID", "1900007777", 300, result, "ACCOUNT_ABNORMAL")
            sharing.apply(
                session, share, SharingOrder(share.out_order_no, "30X", "FINISHED", (answer,))
            )
            assert share.status in (ShareStatus.FINISHED, ShareStatus.CLOSED)
        session.commit()
        admin_phone, coop_id = admin.phone, shop.coop.id

    _login(page, admin_phone)
    page.goto(f"/township/money/{coop_id}")
    assert "已分账" in page.content() and "已关闭，金额退回余额" in page.content()
    check_phone(page, "84-console-shares")
    page.fill("#receiver_account", "19abc")
    page.fill("#receiver_name", "")
    submit(page, "form[action$='/wechat-receiver'] button")
    assert "商户号是 8 到 12 位数字" in page.content() and 'value="19abc"' in page.content()
    check_phone(page, "85-console-receiver-error")
    page.select_option("#receiver_type", "PERSONAL_OPENID")
    page.fill("#receiver_account", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    page.fill("#receiver_name", "张三")
    submit(page, "form[action$='/wechat-receiver'] button")
    assert "已保存微信分账接收方" in page.content()
    check_phone(page, "86-console-receiver-saved")
