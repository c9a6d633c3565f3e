"""Checkout: one order per cart, one fulfilment per cooperative, stock reserved atomically.

No overselling: each SKU's stock is decremented with one conditional UPDATE
(``stock = stock - q WHERE stock >= q``), SKUs in id order so two checkouts never lock in
opposite orders. Any SKU short and the whole transaction rolls back. The UPDATEs are the last
statements before the commit, so a popular SKU's row is locked for as short as possible.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from farmgate.catalog.sellable import is_on_sale
from farmgate.config import settings
from farmgate.db import insert_row, insert_rows, new_row, pk, table_of, utcnow
from farmgate.errors import Conflict, ValidationFailed
from farmgate.models import (
    Account,
    Cart,
    CartItem,
    Cooperative,
    DeliveryMethod,
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Presale,
    PresaleOrder,
    PresaleStatus,
    Product,
    Sku,
    Township,
)
from farmgate.orders import cart as carts
from farmgate.orders import guest_limits
from farmgate.orders import shipping as shipping_fees
from farmgate.orders.schemas import CheckoutIn
from farmgate.search import tracking as search_tracking
from farmgate.timeutil import to_local

# (CartItem, Sku, Product, Cooperative) rows; SQLModel's columns defeat Row's own typing.
Rows = Sequence[Any]


# The SKU's open pre-sale, if any (the oldest, should there be two), read with the cart's rows:
# most SKUs have none, and a statement per SKU to find that out was most of what it cost.
_OPEN_PRESALE = (
    select(col(Presale.id))
    .where(col(Presale.sku_id) == Sku.id, col(Presale.status) == PresaleStatus.OPEN)
    .order_by(col(Presale.id))
    .limit(1)
    .scalar_subquery()
)

# The cart's lines with all checkout needs of each, the cooperative's shipping rules in force
# included, built once (bound parameters).
_LINES = (
    select(CartItem, Sku, Product, Cooperative, _OPEN_PRESALE, *shipping_fees.RULE_COLUMNS)
    .join(Sku, col(Sku.id) == CartItem.sku_id)
    .join(Product, col(Product.id) == Sku.product_id)
    .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
    .order_by(col(Sku.id))
)
_CART_ROWS = _LINES.where(col(CartItem.cart_id) == bindparam("cart_id"))
# A signed-in buyer's own cart, found by its owner in the same statement as its lines.
_ACCOUNT_CART_ROWS = _LINES.join(Cart, col(Cart.id) == CartItem.cart_id).where(
    col(Cart.account_id) == bindparam("account_id")
)
# Reserve: ``stock = stock - q WHERE stock >= q`` (see the module's docstring). The stock left
# comes back from RETURNING and is set on the session's Sku (no evaluation of the statement).
_TAKE = (
    update(Sku)
    .execution_options(synchronize_session=False)
    .where(
        col(Sku.id) == bindparam("sku_id"),
        col(Sku.stock) >= bindparam("quantity"),
        col(Sku.is_active),
    )
    .values(stock=col(Sku.stock) - bindparam("quantity"))
    .returning(col(Sku.stock))
)


class OutOfStock(Conflict):
    code = "out_of_stock"


class QuoteChanged(Conflict):
    """The fee the buyer was shown is no longer the fee: refused, with the new one."""

    code = "shipping_changed"


def _order_number() -> str:
    # Random, not sequential (numbers must not reveal sales volumes); ten digits make a clash
    # rare, and _insert_order draws again when one happens anyway.
    return to_local(utcnow()).strftime("%Y%m%d") + f"{secrets.randbelow(10**10):010d}"


_ORDERS = table_of(Order)
# The order is inserted unless its number is taken, in one statement (no savepoint around it).
_ADD_ORDER = {
    name: dialect.insert(_ORDERS)
    .on_conflict_do_nothing(index_elements=["number"])
    .returning(_ORDERS.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _insert_order(session: Session, order: Order, tries: int = 5) -> None:
    """Insert the order, under a fresh number if its number is already taken."""
    statement = _ADD_ORDER[session.get_bind().dialect.name]
    for _ in range(tries):
        if insert_row(session, order, statement):
            return
        order.number = _order_number()
    raise Conflict("订单号生成失败，请重试", code="order_number_taken")


def release(session: Session, order: Order) -> None:
    """Give an unpaid order's stock back."""
    lines = session.scalars(
        select(OrderLine).where(col(OrderLine.order_id) == order.id).order_by(col(OrderLine.sku_id))
    )
    products = set()
    for line in lines:
        session.execute(
            update(Sku)
            .where(col(Sku.id) == line.sku_id)
            .values(stock=col(Sku.stock) + line.quantity)
        )
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


def _raise_if_short(rows: Rows, stock: dict[Any, int]) -> None:
    """Refuse the checkout if any SKU has less than the cart wants (``stock`` by SKU id)."""
    short = {
        f"sku {sku.id}": f"{product.name}（{sku.spec}）库存不足，仅剩{max(stock[sku.id], 0)}件"
        for item, sku, product, _ in rows
        if sku.id in stock and stock[sku.id] < item.quantity
    }
    if short:
        # Raising rolls the whole transaction back, returning what was already reserved.
        raise OutOfStock("库存不足，请调整购买数量", fields=short)


def _take_stock(session: Session, rows: Rows) -> None:
    """Decrement stock: the last writes before the commit, as a SKU's row stays locked from
    its UPDATE until the commit (which the session dependency does right after the endpoint,
    in the same thread: farmgate/web/unit.py)."""
    left: dict[int, int] = {}
    short: dict[int, int] = {}
    for item, sku, _, _ in rows:  # in SKU id order, so two checkouts never lock crosswise
        remaining = session.execute(_TAKE, {"sku_id": sku.id, "quantity": item.quantity}).scalar()
        if remaining is None:
            now = session.scalar(select(col(Sku.stock)).where(col(Sku.id) == sku.id))
            short[sku.id] = now or 0
        else:
            left[sku.id] = remaining
            set_committed_value(sku, "stock", remaining)  # as the database now has it
    _raise_if_short(rows, short)
    # A SKU just sold out may take its product out of "in stock" in search results.
    search_tracking.touch(session, [p.id for _, sku, p, _ in rows if left[sku.id] <= 0])


@dataclass
class Placed:
    """A new order and what checkout made for it, flushed (so with their ids): each
    fulfilment with its cooperative's name and its lines, and the order's first event."""

    order: Order
    fulfilments: list[tuple[Fulfilment, str, list[OrderLine]]]
    event: OrderEvent


def checkout(
    session: Session,
    cart: Cart,
    data: CheckoutIn,
    actor: Account | None,
    expected_shipping_fen: int | None = None,
) -> Order:
    """Place the order (see :func:`place`)."""
    return place(session, cart, data, actor, expected_shipping_fen).order


def place(
    session: Session,
    cart: Cart | None,
    data: CheckoutIn,
    actor: Account | None,
    expected_shipping_fen: int | None = None,
) -> Placed:
    """Place the order of ``cart``'s lines; ``cart`` None: the signed-in ``actor``'s own cart
    (read with its lines, one statement fewer than ``cart.get_cart`` and then the lines).
    Shipping is quoted by farmgate/orders/shipping.py; when the caller passes the total fee
    the buyer was shown and the rules have changed since, the order is refused (QuoteChanged,
    with the new fee) rather than charging a fee not shown."""
    if cart is not None:
        fetched = session.execute(_CART_ROWS, {"cart_id": cart.id}).all()
    elif actor is not None:
        fetched = session.execute(_ACCOUNT_CART_ROWS, {"account_id": actor.id}).all()
    else:
        raise ValueError("a guest's checkout needs their cart")
    rows: Rows = [row[:4] for row in fetched]
    presales = {sku.id: presale_id for _, sku, _, _, presale_id, *_ in fetched if presale_id}
    rules = {pk(coop): shipping_fees.in_force(*found) for _, _, _, coop, _, *found in fetched}
    if not rows:
        raise ValidationFailed("购物车是空的", code="empty_cart")
    gone = {
        f"sku {sku.id}": f"{product.name}（{sku.spec}）已下架"
        for _, sku, product, coop in rows
        if not is_on_sale(product, coop, sku)
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
        guest_limits.check(session, data, wanted)

    # A first look without locking: once a SKU is sold out, checkouts fail here at once,
    # without writing anything or queueing for its row lock.
    _raise_if_short(rows, {sku.id: sku.stock for _, sku, _, _ in rows})

    by_coop: dict[int, list[tuple[CartItem, Sku, Product]]] = defaultdict(list)
    for item, sku, product, coop in rows:
        by_coop[pk(coop)].append((item, sku, product))
    quotes = shipping_fees.quote_rows(
        [(item.quantity, sku, product, coop) for item, sku, product, coop in rows],
        data.delivery_method,
        data.province,
        rules,
    )
    shipping = {coop_id: quote.fen for coop_id, quote in quotes.items()}
    if expected_shipping_fen is not None and expected_shipping_fen != sum(shipping.values()):
        raise QuoteChanged(
            f"运费已按合作社最新的运费规则更新：原来是¥{expected_shipping_fen / 100:.2f}，"
            f"现在是¥{sum(shipping.values()) / 100:.2f}。请确认后再提交订单",
            fields={"shipping": "运费有变化，请确认"},
        )
    items_fen = sum(sku.price_fen * item.quantity for item, sku, _, _ in rows)
    now = utcnow()
    order = new_row(
        Order,
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
    coop_names = {pk(coop): coop.name for _, _, _, coop in rows}
    placed: list[tuple[Fulfilment, str, list[OrderLine]]] = []
    for coop_id, lines in sorted(by_coop.items()):
        fulfilment = new_row(
            Fulfilment,
            order_id=pk(order),
            cooperative_id=coop_id,
            items_fen=sum(sku.price_fen * item.quantity for item, sku, _ in lines),
            shipping_fen=shipping[coop_id],
        )
        insert_row(session, fulfilment)
        made = [
            order_line(order, fulfilment, sku, product, item.quantity)
            for item, sku, product in lines
        ]
        insert_rows(session, made)
        placed.append((fulfilment, coop_names[coop_id], made))
    event = new_row(
        OrderEvent,
        order_id=pk(order),
        to_status=OrderStatus.PENDING_PAYMENT,
        actor_account_id=actor.id if actor else None,
        actor=str(actor.role) if actor else "guest",
        created_at=now,
    )
    insert_row(session, event)
    from farmgate.orders.tasks import release_unpaid  # its body imports this module

    release_unpaid.enqueue(
        session,
        {"order_id": pk(order), "due": order.pay_by.isoformat()},
        key=f"order:{order.id}",
        delay_seconds=settings.payment_timeout_minutes * 60,
    )
    carts.clear(session, rows[0][0].cart_id, [item for item, _, _, _ in rows])
    _record_presales(session, order, [(item, sku) for item, sku, _, _ in rows], presales)
    session.flush()
    _take_stock(session, rows)
    return Placed(order, placed, event)


def order_line(
    order: Order, fulfilment: Fulfilment, sku: Sku, product: Product, quantity: int
) -> OrderLine:
    """A line of ``quantity`` of a SKU, with its name and price as they are now."""
    return new_row(
        OrderLine,
        order_id=pk(order),
        fulfilment_id=pk(fulfilment),
        sku_id=pk(sku),
        product_id=pk(product),
        product_name=product.name,
        sku_spec=sku.spec,
        unit=product.unit,
        unit_price_fen=sku.price_fen,
        quantity=quantity,
        line_total_fen=sku.price_fen * quantity,
    )


def _record_presales(
    session: Session,
    order: Order,
    rows: list[tuple[CartItem, Sku]],
    presales: dict[int | None, int],
) -> None:
    """A SKU in an open pre-sale: the order records its part and the balance still owed.
    ``presales``: the open pre-sale of each SKU that has one (read with the cart's rows)."""
    for item, sku in rows:
        presale_id = presales.get(sku.id)
        presale = None if presale_id is None else session.get(Presale, presale_id)
        if presale is None:
            continue
        balance = (
            (sku.price_fen - presale.deposit_fen) * item.quantity if presale.deposit_fen else 0
        )
        session.add(
            PresaleOrder(
                order_id=pk(order),
                presale_id=pk(presale),
                quantity=item.quantity,
                balance_fen=max(balance, 0),
            )
        )
