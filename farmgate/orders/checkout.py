"""Checkout: one order per cart, one fulfilment per cooperative, stock reserved atomically.

No overselling: each SKU's stock is decremented with one conditional UPDATE
(``stock = stock - q WHERE stock >= q``), SKUs in id order so two checkouts never lock in
opposite orders. Any SKU short and the whole transaction rolls back.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.errors import Conflict, ValidationFailed
from farmgate.jobs import outbox
from farmgate.models import (
    Account,
    Cart,
    CartItem,
    Cooperative,
    CooperativeStatus,
    DeliveryMethod,
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Product,
    ProductStatus,
    Sku,
    StorageClass,
    Township,
)
from farmgate.orders import cart as carts
from farmgate.orders import guest_limits
from farmgate.orders.schemas import CheckoutIn
from farmgate.search import tracking as search_tracking
from farmgate.timeutil import to_local

# Flat shipping per cooperative parcel, in fen; cold-chain parcels cost more.
# Township couriers deliver within the county at one price, chilled or not.
SHIPPING_FEN = {"ambient": 1000, "cold": 2500, "local": 500}


class OutOfStock(Conflict):
    code = "out_of_stock"


def _order_number() -> str:
    # Random, not sequential (numbers must not reveal sales volumes); ten digits make a clash
    # rare, and _insert_order draws again when one happens anyway.
    return to_local(utcnow()).strftime("%Y%m%d") + f"{secrets.randbelow(10**10):010d}"


def _insert_order(session: Session, order: Order, tries: int = 5) -> None:
    """Insert the order under a fresh number if its number is already taken (a savepoint
    keeps the rest of checkout's work)."""
    for attempt in range(tries):
        try:
            with session.begin_nested():
                session.add(order)
                session.flush()
            return
        except IntegrityError:
            if attempt == tries - 1:
                raise
            order.number = _order_number()


def reserve(session: Session, sku_id: int, quantity: int) -> bool:
    """Take ``quantity`` from a SKU's stock if (and only if) that much is there."""
    taken = session.execute(
        update(Sku)
        .where(Sku.id == sku_id, Sku.stock >= quantity, Sku.is_active)  # type: ignore[arg-type]
        .values(stock=Sku.stock - quantity)
    ).rowcount
    return taken == 1


def release(session: Session, order: Order) -> None:
    """Give an unpaid order's stock back."""
    lines = session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.sku_id)
    )
    products = set()
    for line in lines:
        session.execute(
            update(Sku).where(Sku.id == line.sku_id).values(stock=Sku.stock + line.quantity)
        )  # type: ignore[arg-type]
        products.add(line.product_id)
    search_tracking.touch(session, products)  # back in stock, perhaps


def _check_local(session: Session, township_ids: set[int], data: CheckoutIn) -> None:
    """Township couriers carry parcels only within the county their township belongs to."""
    for township_id in township_ids:
        township = session.get(Township, township_id)
        if township is None or (data.city, data.county) != (township.city, township.county):
            area = f"{township.city}{township.county}" if township else "本县"
            raise ValidationFailed(
                f"乡镇配送员只送{area}内的地址，请选择快递或邮政",
                fields={"delivery_method": f"仅限{area}内的地址"},
            )


def checkout(session: Session, cart: Cart, data: CheckoutIn, actor: Account | None) -> Order:
    rows = session.execute(
        select(CartItem, Sku, Product, Cooperative)
        .join(Sku, Sku.id == CartItem.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .join(Cooperative, Cooperative.id == Product.cooperative_id)
        .where(CartItem.cart_id == cart.id)
        .order_by(Sku.id)
    ).all()
    if not rows:
        raise ValidationFailed("购物车是空的", code="empty_cart")
    gone = {
        f"sku {sku.id}": f"{product.name}（{sku.spec}）已下架"
        for _, sku, product, coop in rows
        if not (
            sku.is_active
            and product.status == ProductStatus.PUBLISHED
            and coop.status == CooperativeStatus.APPROVED
        )
    }
    if gone:
        raise ValidationFailed(
            "部分商品已下架，请从购物车移除后再结算", code="unavailable", fields=gone
        )

    if data.delivery_method == DeliveryMethod.LOCAL:
        _check_local(session, {coop.township_id for _, _, _, coop in rows}, data)
    if actor is None:  # a guest may not hold a SKU's whole stock (orders/guest_limits.py)
        wanted = [
            (sku.id, f"{p.name}（{sku.spec}）", i.quantity, sku.stock) for i, sku, p, _ in rows
        ]
        guest_limits.check(session, data, wanted)  # type: ignore[arg-type]

    short = {}
    for item, sku, product, _ in rows:  # in SKU id order
        if not reserve(session, sku.id, item.quantity):  # type: ignore[arg-type]
            session.refresh(sku)
            short[f"sku {sku.id}"] = f"{product.name}（{sku.spec}）库存不足，仅剩{sku.stock}件"
    if short:
        # Raising rolls the whole transaction back, returning what was already reserved.
        raise OutOfStock("库存不足，请调整购买数量", fields=short)
    # A SKU just sold out may take its product out of "in stock" in search results.
    search_tracking.touch(
        session,
        [p.id for item, sku, p, _ in rows if sku.stock - item.quantity <= 0],  # type: ignore[misc]
    )

    by_coop: dict[int, list[tuple[CartItem, Sku, Product]]] = defaultdict(list)
    for item, sku, product, coop in rows:
        by_coop[coop.id].append((item, sku, product))  # type: ignore[index]
    shipping = {
        coop_id: 0
        if data.delivery_method == DeliveryMethod.PICKUP
        else SHIPPING_FEN["local"]
        if data.delivery_method == DeliveryMethod.LOCAL
        else SHIPPING_FEN[
            "cold"
            if any(p.storage_class != StorageClass.AMBIENT for _, _, p in lines)
            else "ambient"
        ]
        for coop_id, lines in by_coop.items()
    }
    items_fen = sum(sku.price_fen * item.quantity for item, sku, _, _ in rows)
    now = utcnow()
    order = Order(
        number=_order_number(),
        account_id=actor.id if actor else None,
        **data.model_dump(),
        items_fen=items_fen,
        shipping_fen=sum(shipping.values()),
        total_fen=items_fen + sum(shipping.values()),
        created_at=now,
        pay_by=now + timedelta(minutes=settings.payment_timeout_minutes),
    )
    _insert_order(session, order)
    for coop_id, lines in sorted(by_coop.items()):
        fulfilment = Fulfilment(
            order_id=order.id,  # type: ignore[arg-type]
            cooperative_id=coop_id,
            items_fen=sum(sku.price_fen * item.quantity for item, sku, _ in lines),
            shipping_fen=shipping[coop_id],
        )
        session.add(fulfilment)
        session.flush()
        for item, sku, product in lines:
            session.add(
                OrderLine(
                    order_id=order.id,  # type: ignore[arg-type]
                    fulfilment_id=fulfilment.id,  # type: ignore[arg-type]
                    sku_id=sku.id,  # type: ignore[arg-type]
                    product_id=product.id,  # type: ignore[arg-type]
                    product_name=product.name,
                    sku_spec=sku.spec,
                    unit=product.unit,
                    unit_price_fen=sku.price_fen,
                    quantity=item.quantity,
                    line_total_fen=sku.price_fen * item.quantity,
                )
            )
    session.add(
        OrderEvent(
            order_id=order.id,  # type: ignore[arg-type]
            to_status=OrderStatus.PENDING_PAYMENT,
            actor_account_id=actor.id if actor else None,
            actor=str(actor.role) if actor else "guest",
            created_at=now,
        )
    )
    outbox.enqueue(
        session,
        "orders.release_unpaid",
        {"order_id": order.id, "due": order.pay_by.isoformat()},
        key=f"order:{order.id}",
        delay_seconds=settings.payment_timeout_minutes * 60,
    )
    carts.clear(session, cart)
    session.flush()
    return order
