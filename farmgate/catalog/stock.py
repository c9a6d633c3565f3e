"""Restocking: several SKUs' stock set at once, without overwriting what orders sold meanwhile."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.catalog.service import require_staff
from farmgate.errors import NotFound, ValidationFailed
from farmgate.models import Account, Product, Sku


def set_stocks(
    session: Session,
    actor: Account,
    stocks: dict[int, int],
    expected: dict[int, int] | None = None,
) -> int:
    """Set the stock of several of the actor's SKUs at once; return how many changed.

    Any SKU of another cooperative makes the whole call "not found" (nothing is changed).
    ``expected`` holds the stock the person saw: if orders have changed it since, that SKU is
    refused (its key in the error's fields is the SKU id) rather than overwritten.
    """
    coop_id = require_staff(actor)
    if not stocks:
        return 0
    if any(value < 0 or value > 10_000_000 for value in stocks.values()):
        raise ValidationFailed("库存应在 0 到 10000000 之间")
    query = (
        select(Sku)
        .join(Product, col(Product.id) == Sku.product_id)
        .where(col(Sku.id).in_(stocks), col(Product.cooperative_id) == coop_id)
        .with_for_update()
    )
    skus = list(session.scalars(query))
    if len(skus) != len(stocks):
        raise NotFound("规格不存在")
    moved = {
        str(sku.id): f"刚才有订单，库存已变为 {sku.stock}，请核对后重新填写"
        for sku in skus
        if expected is not None
        and sku.id in expected
        and expected[sku.id] != sku.stock
        and stocks[sku.id] != sku.stock  # a form sent twice: already done, not a conflict
    }
    if moved:
        raise ValidationFailed("库存在你填写时有变化，请核对后重新保存", fields=moved)
    changed = 0
    for sku in skus:
        if sku.stock != stocks[sku.id]:  # type: ignore[index]
            sku.stock = stocks[sku.id]  # type: ignore[index]
            session.add(sku)
            changed += 1
    return changed
