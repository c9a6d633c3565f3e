"""Carts: one per signed-in account, or per anonymous browser (identified by a token)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.catalog.sellable import is_on_sale, sku_on_sale
from farmgate.db import insert_row, new_row, pk, update_row, utcnow
from farmgate.errors import NotFound, ValidationFailed
from farmgate.models import (
    Account,
    Cart,
    CartItem,
    Cooperative,
    Product,
    Sku,
)
from farmgate.orders.schemas import CartGroup, CartLine, CartView
from farmgate.tokens import new_token, token_digest

MAX_LINES = 50
# A cart's updated_at says when it was last used, to the hour: enough to tell an abandoned
# cart from a live one, without a write of the cart's row on every change of a line.
TOUCH_EVERY = timedelta(hours=1)
MAX_QUANTITY = 999  # of one SKU in a cart
# A cart's goods at most 1,000,000 yuan: orders keep fen in 32-bit INTEGER columns (PostgreSQL
# refuses more than 2,147,483,647), and no village shop sells this much in one order.
MAX_TOTAL_FEN = 100_000_000


# Every cart request runs these: built once (bound parameters), not per call.
_CART_OF_TOKEN = select(Cart).where(col(Cart.token_hash) == bindparam("token_hash"))
_CART_OF_ACCOUNT = select(Cart).where(col(Cart.account_id) == bindparam("account_id"))
_SELLABLE_SKU = (
    select(Sku, Product, Cooperative)
    .join(Product, col(Product.id) == Sku.product_id)
    .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
    .where(col(Sku.id) == bindparam("sku_id"), sku_on_sale())
)
# Not evaluated against the session's objects: clear() takes its lines out of the session.
_CLEAR = (
    delete(CartItem)
    .where(col(CartItem.cart_id) == bindparam("cart_id"))
    .execution_options(synchronize_session=False)
)
_VIEW = (
    select(CartItem, Sku, Product, Cooperative)
    .join(Sku, col(Sku.id) == CartItem.sku_id)
    .join(Product, col(Product.id) == Sku.product_id)
    .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
    .where(col(CartItem.cart_id) == bindparam("cart_id"))
    .order_by(col(Cooperative.id), col(CartItem.id))
)
# An account's cart and _VIEW's lines of it in one statement (one row, lines None, if empty).
_ACCOUNT_VIEW = (
    select(Cart, CartItem, Sku, Product, Cooperative)
    .outerjoin(CartItem, col(CartItem.cart_id) == Cart.id)
    .outerjoin(Sku, col(Sku.id) == CartItem.sku_id)
    .outerjoin(Product, col(Product.id) == Sku.product_id)
    .outerjoin(Cooperative, col(Cooperative.id) == Product.cooperative_id)
    .where(col(Cart.account_id) == bindparam("account_id"))
    .order_by(col(Cooperative.id), col(CartItem.id))
)


@dataclass
class CartRef:
    cart: Cart
    new_token: str | None = None  # set when an anonymous cart was just created


def get_cart(
    session: Session, account: Account | None, token: str | None, *, create: bool
) -> CartRef | None:
    """The caller's cart. A guest's cart moves to their account when they sign in."""
    guest = None
    if token:
        guest = session.scalars(_CART_OF_TOKEN, {"token_hash": token_digest(token)}).first()
    if account is not None:
        cart = session.scalars(_CART_OF_ACCOUNT, {"account_id": account.id}).first()
        if cart is None and (create or guest is not None):
            cart = Cart(account_id=account.id)
            session.add(cart)
            session.flush()
        if cart is not None and guest is not None and guest.id != cart.id:
            _merge(session, guest, cart)
        return CartRef(cart) if cart else None
    if guest is not None:
        return CartRef(guest)
    if not create:
        return None
    fresh = new_token()
    cart = Cart(token_hash=token_digest(fresh))
    session.add(cart)
    session.flush()
    return CartRef(cart, new_token=fresh)


def account_cart(session: Session, account: Account) -> tuple[Cart, list[Line]]:
    """A signed-in buyer's cart (made if they have none) and its lines as ``set_quantity``
    reads them, in one statement: for a change of a line when there is no guest cart to
    merge (``get_cart`` then the lines would be two)."""
    # Any: the outer joins' entities are None on the one row of an empty cart.
    rows: Sequence[Any] = session.execute(_ACCOUNT_VIEW, {"account_id": account.id}).all()
    if not rows:
        cart = Cart(account_id=account.id)
        session.add(cart)
        session.flush()
        return cart, []
    lines = [(item, sku, product, coop) for _, item, sku, product, coop in rows if item is not None]
    return rows[0][0], lines


def _merge(session: Session, source: Cart, target: Cart) -> None:
    """Move a guest's lines into the account's cart; never refuses.

    A line that is delisted, sold out or short since it was added moves too: the cart page
    shows it as unavailable with a way to remove it. Checking it here made every page that
    loads the cart fail after sign-in, until the guest cookie expired.
    """
    have = {
        item.sku_id: item
        for item in session.scalars(select(CartItem).where(col(CartItem.cart_id) == target.id))
    }
    for item in list(session.scalars(select(CartItem).where(col(CartItem.cart_id) == source.id))):
        mine = have.get(item.sku_id)
        if mine is not None:
            mine.quantity = min(MAX_QUANTITY, mine.quantity + item.quantity)
            session.add(mine)
        elif len(have) < MAX_LINES:
            moved = CartItem(cart_id=pk(target), sku_id=item.sku_id, quantity=item.quantity)
            session.add(moved)
            have[item.sku_id] = moved
    session.flush()
    session.execute(delete(CartItem).where(col(CartItem.cart_id) == source.id))
    session.delete(source)
    target.updated_at = utcnow()
    session.add(target)


def problem(sellable: bool, stock: int, quantity: int) -> tuple[str | None, str | None]:
    """Why a cart line cannot be bought now, as a code and in words (None, None if it can)."""
    if not sellable:
        return "delisted", "已下架，不能购买，请移除"
    if stock <= 0:
        return "sold_out", "已售罄，请移除"
    if stock < quantity:
        return "short", f"库存不足，仅剩{stock}件，请减少数量"
    return None, None


# (CartItem, Sku, Product, Cooperative): a cart line with what showing it needs.
Line = tuple[CartItem, Sku, Product, Cooperative]


def _sellable_sku(session: Session, sku_id: int) -> tuple[Sku, Product, Cooperative]:
    row = session.execute(_SELLABLE_SKU, {"sku_id": sku_id}).first()
    if row is None:
        raise NotFound("该商品规格不存在或已下架", fields={"sku_id": "不可购买"})
    return row[0], row[1], row[2]


def set_quantity(
    session: Session,
    cart: Cart,
    sku_id: int,
    quantity: int,
    *,
    add: bool = False,
    lines: list[Line] | None = None,
) -> list[Line] | None:
    """Put ``quantity`` of a SKU in the cart (or add to what is there); 0 removes it.
    ``lines``: the cart's lines as ``account_cart`` read them just now (else they are read).

    Returns the cart's lines as they now are, in the view's order (``view`` shows them
    without reading them again), or None when it did not read them (a removal, without
    ``lines``)."""
    if quantity <= 0 and not add:
        if lines is not None:
            item = next((line for line, *_ in lines if line.sku_id == sku_id), None)
        else:
            item = session.scalars(
                select(CartItem).where(
                    col(CartItem.cart_id) == cart.id, col(CartItem.sku_id) == sku_id
                )
            ).first()
        if item is not None:
            session.delete(item)
        if lines is None:
            return None
        return [line for line in lines if line[0] is not item]  # the others, as they were
    sku, product, coop = _sellable_sku(session, sku_id)
    # The cart's lines (at most MAX_LINES) with all the view needs, in one statement: the
    # line for this SKU, the others' total, how many lines there are, and the answer.
    if lines is None:
        lines = [
            (row[0], row[1], row[2], row[3])
            for row in session.execute(_VIEW, {"cart_id": cart.id}).all()
        ]
    item = next((line for line, *_ in lines if line.sku_id == sku_id), None)
    total = quantity + (item.quantity if item is not None and add else 0)
    if total > MAX_QUANTITY:
        raise ValidationFailed(
            f"单个商品最多购买{MAX_QUANTITY}件", fields={"quantity": f"不能超过{MAX_QUANTITY}"}
        )
    # Summed here: price x quantity can pass 32 bits in SQL.
    others = sum(s.price_fen * line.quantity for line, s, *_ in lines if line.sku_id != sku_id)
    if others + sku.price_fen * total > MAX_TOTAL_FEN:
        raise ValidationFailed(
            f"购物车商品合计不能超过{MAX_TOTAL_FEN // 100:,}元，请减少数量或分开下单",
            code="cart_total_too_large",
            fields={"quantity": "合计超出上限"},
        )
    if total > sku.stock:
        raise ValidationFailed(
            f"库存不足，仅剩{sku.stock}件",
            code="insufficient_stock",
            fields={"quantity": f"最多{sku.stock}"},
        )
    # Written by Core statements, not by a flush: no unit of work per line.
    if item is None:
        if len(lines) >= MAX_LINES:
            raise ValidationFailed(f"购物车最多放{MAX_LINES}种商品")
        item = new_row(CartItem, cart_id=pk(cart), sku_id=sku_id, quantity=total)
        insert_row(session, item)
        # Last of its cooperative's lines: its id is the cart's highest (_VIEW's order).
        at = next((n for n, (*_, c) in enumerate(lines) if pk(c) > pk(coop)), len(lines))
        lines.insert(at, (item, sku, product, coop))
    else:
        update_row(session, item, {"quantity": total})
    now = utcnow()
    if now - cart.updated_at >= TOUCH_EVERY:
        update_row(session, cart, {"updated_at": now})
    return lines


def view(session: Session, cart: Cart | None, lines: list[Line] | None = None) -> CartView:
    """The cart as the buyer sees it; ``lines``: its lines as ``set_quantity`` returned them
    (else they are read)."""
    if cart is None:
        return CartView(groups=[], items_fen=0, count=0)
    rows = lines if lines is not None else session.execute(_VIEW, {"cart_id": cart.id}).all()
    groups: dict[int, CartGroup] = {}
    for item, sku, product, coop in rows:
        sellable = is_on_sale(product, coop, sku)
        code, message = problem(sellable, sku.stock, item.quantity)
        line = CartLine(
            sku_id=pk(sku),
            product_id=pk(product),
            product_name=product.name,
            sku_spec=sku.spec,
            unit=product.unit,
            unit_price_fen=sku.price_fen,
            quantity=item.quantity,
            line_total_fen=sku.price_fen * item.quantity,
            available=code is None,
            stock=sku.stock,
            problem=code,  # type: ignore[arg-type]
            problem_message=message,
        )
        group = groups.setdefault(
            pk(coop),
            CartGroup(cooperative_id=pk(coop), cooperative_name=coop.name, lines=[], items_fen=0),
        )
        group.lines.append(line)
        group.items_fen += line.line_total_fen
    items = sum(g.items_fen for g in groups.values())
    count = sum(line.quantity for g in groups.values() for line in g.lines)
    unavailable = sum(1 for g in groups.values() for line in g.lines if not line.available)
    return CartView(
        groups=list(groups.values()), items_fen=items, count=count, unavailable=unavailable
    )


def clear(session: Session, cart_id: int, items: list[CartItem]) -> None:
    """Empty the cart; ``items``: all its lines, as loaded in this session (checkout's rows)."""
    session.execute(_CLEAR, {"cart_id": cart_id})
    for item in items:  # gone from the database: gone from the session too
        session.expunge(item)
