"""The money pages: the desk's statement and downloads, the console's balances, payouts with
a voucher photo, returned payouts, and every refusal shown beside its field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.ledger import accounts, posting, settlement
from farmgate.models import Payout, Role
from tests.support import desk
from tests.support import factories as f
from tests.support.images import jpeg
from tests.support.ledger import complete, post_pending
from tests.support.presale import buy, open_presale
from tests.support.web import csrf_token


def _settled_shop(session: Session) -> tuple[desk.Shop, int]:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    complete(session, order)
    post_pending(session)
    settlement.settle_due(session, utcnow() + timedelta(days=settings.settlement_days + 1))
    session.commit()
    return s, order.total_fen


def test_the_desk_shows_its_statement_and_downloads_it(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s, total = _settled_shop(session)
    f.login_browser(client, session, s.owner)
    page = client.get("/coop/money")
    assert page.status_code == 200
    assert "现在可打款" in page.text and f"¥{total // 100}.{total % 100:02d}" in page.text
    assert "期初余额" in page.text and "期末余额" in page.text
    bad = client.get("/coop/money", params={"month": "2026-99"})
    assert bad.status_code == 422 and "2026-11 的格式" in bad.text
    pdf = client.get("/coop/money/statement.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = client.get("/coop/money/statement.xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    assert client.get("/township/money").status_code == 403  # the desk is not the console


def test_the_township_records_a_payout_with_its_voucher_and_a_return(  # type: ignore[no-untyped-def]
    client, session: Session
) -> None:
    s, total = _settled_shop(session)
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    listing = client.get("/township/money")
    assert listing.status_code == 200 and s.coop.name in listing.text
    page = client.get(f"/township/money/{s.coop.id}")
    assert page.status_code == 200
    token = csrf_token(page.text)
    url = f"/township/money/{s.coop.id}/payouts"
    too_much = client.post(
        url,
        data={"csrf_token": token, "amount": f"{total / 100 + 1:.2f}", "bank_ref": "NX1"},
        files={"voucher": ("v.jpg", jpeg(), "image/jpeg")},
    )
    assert too_much.status_code == 422 and "最多可打款" in too_much.text
    assert 'value="NX1"' in too_much.text  # nothing typed is lost
    no_voucher = client.post(url, data={"csrf_token": token, "amount": "1", "bank_ref": "NX1"})
    assert no_voucher.status_code == 422 and "请上传转账凭证照片" in no_voucher.text
    done = client.post(
        url,
        data={"csrf_token": token, "amount": "1.50", "bank_ref": "NX1"},
        files={"voucher": ("v.jpg", jpeg(), "image/jpeg")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    session.expire_all()
    payout = session.query(Payout).one()
    assert payout.amount_fen == 150 and payout.voucher_size > 0
    # The voucher is private: never in public media, shown to the admin and that cooperative.
    assert payout.voucher_key == "" and not (Path(settings.media_dir) / "vouchers").exists()
    voucher = f"/township/money/payouts/{payout.id}/voucher"
    assert voucher in client.get(f"/township/money/{s.coop.id}").text
    shown = client.get(voucher)
    assert shown.status_code == 200 and shown.content.startswith(b"RIFF")
    assert shown.headers["content-type"] == "image/webp"
    assert shown.headers["cache-control"] == "private, no-store"
    assert client.get("/township/money/payouts/999999/voucher").status_code == 404
    other = desk.shop(session, "别家合作社", lot="OTHER1")
    session.commit()
    desk_voucher = f"/coop/money/payouts/{payout.id}/voucher"
    f.login_browser(client, session, other.owner)
    assert client.get(desk_voucher).status_code == 404  # another cooperative's: not found
    assert client.get(voucher).status_code == 403  # the console is not for the desk
    f.login_browser(client, session, s.owner)
    assert desk_voucher in client.get("/coop/money").text
    mine = client.get(desk_voucher)
    assert mine.status_code == 200 and mine.content == shown.content
    f.login_browser(client, session, admin)
    token = csrf_token(client.get(f"/township/money/{s.coop.id}").text)  # a new session's
    assert settlement.available_fen(session, s.coop.id) == total - 150
    back = f"/township/money/payouts/{payout.id}/returned"
    blank = client.post(back, data={"csrf_token": token, "note": ""})
    assert blank.status_code == 422 and "请填写银行退回的原因" in blank.text
    assert (
        client.post(
            back, data={"csrf_token": token, "note": "户名不符"}, follow_redirects=False
        ).status_code
        == 303
    )
    session.expire_all()
    assert settlement.available_fen(session, s.coop.id) == total
    assert client.get("/township/money/999999").status_code == 404
    assert (
        client.post(
            "/township/money/payouts/999999/returned", data={"csrf_token": token, "note": "x"}
        ).status_code
        == 404
    )
    pdf = client.get(f"/township/money/{s.coop.id}/statement.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_township_records_station_cash_paid_into_the_bank(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _, total = _settled_shop(session)
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    page = client.get("/township/money")
    assert f"¥{total // 100}.{total % 100:02d}" in page.text  # the station still holds it all
    token = csrf_token(page.text)
    form = {"csrf_token": token, "amount": "abc", "station": "高坪村", "slip_no": "D-1"}
    bad = client.post("/township/money/cash-handover", data=form)
    assert bad.status_code == 422 and "请填写缴存金额" in bad.text and 'value="D-1"' in bad.text
    form["amount"] = "1"
    done = client.post("/township/money/cash-handover", data=form, follow_redirects=False)
    assert done.status_code == 303
    again = client.post("/township/money/cash-handover", data=form)
    assert "已经登记过了" in again.text


def test_the_township_sees_the_pre_sale_deposits_it_holds(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    shop = desk.shop(session)
    open_presale(session, shop, cap=5, deposit_fen=1000)
    order = buy(session, shop, 2)
    post_pending(session)
    held = -posting.balance(session, accounts.PRESALE_DEPOSITS)
    assert 0 < held < order.total_fen  # the deposit, not the order's value
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    page = client.get("/township/money")
    assert f"定金共 <b>¥{held // 100}.{held % 100:02d}</b>" in page.text
