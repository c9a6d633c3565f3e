"""Pre-sale pages: the desk opens one (bad input refused), buyers see the ship window and terms,
the balance after the deadline is refused on the order page, the dashboard counts volumes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import utcnow
from farmgate.models import PaymentIntent, Presale, Role
from farmgate.orders import service as orders
from farmgate.presale import service as presale
from farmgate.timeutil import local_today
from tests.support import desk
from tests.support import factories as f
from tests.support.presale import account_of, buy, open_presale
from tests.support.web import SAME_ORIGIN, csrf_token


def test_the_desk_refuses_a_ship_window_before_the_harvest_then_opens_one(  # type: ignore[no-untyped-def]
    client, session: Session
) -> None:
    shop = desk.shop(session)
    f.login_browser(client, session, shop.owner)
    page = client.get("/coop/presales")
    assert page.status_code == 200
    today = local_today()
    form = {
        "csrf_token": csrf_token(page.text),
        "sku_id": str(shop.sku.id),
        "harvest_from": str(today + timedelta(days=10)),
        "ship_from": str(today + timedelta(days=2)),
        "ship_to": str(today + timedelta(days=12)),
        "cap": "50",
        "deposit": "5",
        "balance_due": str(today + timedelta(days=11)),
    }
    bad = client.post("/coop/presales", data=form, headers=SAME_ORIGIN)
    assert bad.status_code == 422
    assert "发货日期不能早于预计采收日期" in bad.text
    assert 'value="50"' in bad.text  # nothing typed is lost
    assert session.scalars(select(Presale)).first() is None
    form["ship_from"] = str(today + timedelta(days=10))
    good = client.post("/coop/presales", data=form, headers=SAME_ORIGIN, follow_redirects=False)
    assert good.status_code == 303, good.text
    sale = session.scalars(select(Presale)).one()
    assert sale.cap == 50 and sale.deposit_fen == 500
    product = client.get(f"/products/{shop.product.id}")
    assert "预售" in product.text and "定金原路退回" in product.text
    assert "定金 5.00 元/件" in product.text


def test_the_order_page_shows_the_window_and_refuses_a_late_balance(  # type: ignore[no-untyped-def]
    client, session: Session
) -> None:
    shop = desk.shop(session)
    sale = open_presale(session, shop, cap=5, deposit_fen=1000)
    order = buy(session, shop, 1)
    path = f"/orders/{order.number}?t={orders.access_token(order)}"
    f.login_browser(client, session, account_of(session, order))
    page = client.get(path)
    assert presale.ship_window(sale) in page.text
    assert "还未采收" in page.text and "支付尾款" not in page.text
    presale.record_harvest(session, shop.owner, sale.id, shop.lot.id, 5)  # type: ignore[arg-type]
    sale.balance_due = utcnow() - timedelta(minutes=1)
    session.add(sale)
    session.commit()
    page = client.get(path)
    assert "尾款支付已截止" in page.text
    late = client.post(
        f"/orders/{order.number}/balance",
        data={"csrf_token": csrf_token(page.text), "t": orders.access_token(order)},
        headers=SAME_ORIGIN,
    )
    assert late.status_code == 409
    assert "尾款支付已截止，不能再付尾款" in late.text
    intents = session.scalars(select(PaymentIntent).where(col(PaymentIntent.order_id) == order.id))
    assert len(list(intents)) == 1  # nothing changed


def test_the_township_dashboard_counts_presale_volumes(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    shop = desk.shop(session)
    open_presale(session, shop, cap=7, deposit_fen=0)
    buy(session, shop, 3)
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    page = client.get("/township/dashboard")
    assert page.status_code == 200
    section = page.text.split('id="presales"')[1]
    assert '<td class="num">7</td><td class="num">3</td>' in section
