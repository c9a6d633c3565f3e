"""What station staff can put in an order for a villager (代下单): SKUs on sale and in stock,
found by a word of the product's name, one at a time, and the ones an order names."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.catalog.sellable import sku_on_sale
from farmgate.db import pk
from farmgate.errors import NotFound
from farmgate.models import Cooperative, Product, Sku

MAX_QUANTITY = 999


def skus_for_sale(session: Session, query: str = "", limit: int = 80) -> list[tuple[Sku, Product]]:
    """What staff can order for a villager: SKUs on sale and in stock, by product; ``query``
    keeps those whose product name (or spec) contains it."""
    statement = (
        select(Sku, Product)
        .join(Product, col(Product.id) == Sku.product_id)
        .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
        .where(sku_on_sale(), col(Sku.stock) > 0)
    )
    words = query.split()
    for word in words[:4]:
        pattern = f"%{word.replace('%', '').replace('_', '')}%"
        statement = statement.where(
            or_(col(Product.name).ilike(pattern), col(Sku.spec).ilike(pattern))
        )
    rows = session.execute(statement.order_by(col(Product.id), col(Sku.id)).limit(limit)).all()
    return [(s, p) for s, p in rows]


def sku_for_sale(session: Session, sku_id: int) -> tuple[Sku, Product]:
    """One SKU staff may add to a villager's order (on sale, in stock), else "not found"."""
    row = session.execute(
        select(Sku, Product)
        .join(Product, col(Product.id) == Sku.product_id)
        .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
        .where(col(Sku.id) == sku_id, sku_on_sale(), col(Sku.stock) > 0)
    ).first()
    if row is None:
        raise NotFound("这个商品已下架或卖完了，请选别的", context={"sku_id": sku_id})
    return row[0], row[1]


def skus_by_id(session: Session, sku_ids: list[int]) -> dict[int, tuple[Sku, Product]]:
    """The SKUs a villager's order names (whatever their state: the order is checked at
    checkout), with their products."""
    if not sku_ids:
        return {}
    rows = session.execute(
        select(Sku, Product)
        .join(Product, col(Product.id) == Sku.product_id)
        .where(col(Sku.id).in_(sku_ids))
    ).all()
    return {pk(s): (s, p) for s, p in rows}
