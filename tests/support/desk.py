"""A cooperative with a product, a lot and buyers' orders, made through domain functions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from farmgate.models import Account, Batch, Cooperative, Order, Product, Role, Sku, Township
from farmgate.orders import cart as carts
from farmgate.orders import checkout
from farmgate.orders.schemas import CheckoutIn
from farmgate.payments import service as payments
from farmgate.timeutil import local_today
from farmgate.trace import service as trace
from farmgate.trace.schemas import BatchIn, HarvestIn
from tests.support import factories as f
from tests.support.factories import ADDRESS


@dataclass
class Shop:
    township: Township
    coop: Cooperative
    owner: Account
    product: Product
    sku: Sku
    lot: Batch


def shop(session: Session, name: str = "红辣椒合作社", lot: str = "TJC2026A") -> Shop:
    """A cooperative (its owner signed up first) selling one product, with one lot recorded."""
    township = session.query(Township).first() or f.create_township(session)
    coop = f.create_cooperative(session, township, name=name)
    owner = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, owner, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    batch = trace.create_batch(
        session,
        owner,
        BatchIn(product_id=product.id, lot_code=lot, quantity=Decimal("500"), unit="kg"),  # type: ignore[arg-type]
    )
    trace.record_harvest(session, owner, batch, HarvestIn(harvest_date=local_today()))
    return Shop(township, coop, owner, product, sku, batch)


def staff_of(session: Session, coop: Cooperative) -> Account:
    """Another (not owner) staff account of ``coop``."""
    return f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)


def order(
    session: Session,
    *skus: Sku,
    buyer: Account | None = None,
    paid: bool = True,
    channel: str = "cash",
) -> Order:
    """A buyer's order of two of each SKU; paid through the village station's cash by default."""
    buyer = buyer or f.create_account(session)
    cart = carts.get_cart(session, buyer, None, create=True)
    assert cart is not None
    for sku in skus:
        carts.set_quantity(session, cart.cart, sku.id, 2)  # type: ignore[arg-type]
    made = checkout.checkout(session, cart.cart, CheckoutIn(**ADDRESS), buyer)  # type: ignore[arg-type]
    if channel == "cash":
        payments.create_intent(session, made, "cash", client_ip="127.0.0.1")
    if paid:
        admin = f.create_account(session, role=Role.ADMIN)
        payments.confirm_cash(
            session,
            made,
            receipt_no=f"R-{made.id}",
            amount_fen=made.total_fen,
            staff=admin,
        )
    session.flush()
    return made
