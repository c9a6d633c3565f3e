"""Pre-sale helpers: a shop with a pre-sale open, and buyers paying its deposit in cash."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from farmgate.db import utcnow
from farmgate.models import Account, Order, Presale, Role
from farmgate.orders import cart as carts
from farmgate.orders import checkout
from farmgate.orders.schemas import CheckoutIn
from farmgate.payments import service as payments
from farmgate.presale import service as presale
from farmgate.timeutil import local_today
from tests.support import desk
from tests.support import factories as f
from tests.support.factories import ADDRESS


def open_presale(
    session: Session, shop: desk.Shop, *, cap: int = 5, deposit_fen: int = 1000
) -> Presale:
    today = local_today()
    return presale.open_presale(
        session,
        shop.owner,
        presale.PresaleIn(
            sku_id=shop.sku.id,  # type: ignore[arg-type]
            harvest_from=today,
            ship_from=today + timedelta(days=2),
            ship_to=today + timedelta(days=5),
            cap=cap,
            deposit_fen=deposit_fen,
            balance_due=utcnow() + timedelta(days=3) if deposit_fen else None,
        ),
    )


def buy(session: Session, shop: desk.Shop, quantity: int, *, pay: bool = True) -> Order:
    """A new buyer checks out ``quantity`` of the pre-sale SKU and pays the first part in cash."""
    buyer = f.create_account(session)
    cart = carts.get_cart(session, buyer, None, create=True)
    assert cart is not None
    carts.set_quantity(session, cart.cart, shop.sku.id, quantity)  # type: ignore[arg-type]
    order = checkout.checkout(session, cart.cart, CheckoutIn(**ADDRESS), buyer)  # type: ignore[arg-type]
    intent = payments.create_intent(session, order, "cash", client_ip="127.0.0.1")
    if pay:
        cashier(session, order, intent.amount_fen)
    session.flush()
    return order


def cashier(session: Session, order: Order, amount_fen: int) -> None:
    admin = f.create_account(session, role=Role.ADMIN)
    n = len(payments.CHANNEL_CODES) + (order.id or 0) * 10 + int(utcnow().timestamp() * 1000) % 7
    payments.confirm_cash(
        session,
        order,
        receipt_no=f"R-{order.id}-{amount_fen}-{n}",
        amount_fen=amount_fen,
        staff=admin,
    )


def account_of(session: Session, order: Order) -> Account:
    account = session.get(Account, order.account_id)
    assert account is not None
    return account
