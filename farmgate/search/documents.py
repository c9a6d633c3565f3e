"""What the search index holds for a product, read from the database in a few batched queries.

Only published products of approved cooperatives are documents; anything else (a draft, a
delisted or deleted product, a suspended cooperative) comes back as None: remove it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.catalog.highlights import SOLD
from farmgate.catalog.sellable import product_on_sale
from farmgate.db import pk
from farmgate.models import (
    CATEGORIES,
    Certification,
    Cooperative,
    Order,
    OrderLine,
    Product,
    Sku,
    Village,
)
from farmgate.search.backend import SearchDocument
from farmgate.timeutil import local_today
from farmgate.trace import certificates


def build(session: Session, product_ids: Iterable[int]) -> dict[int, SearchDocument | None]:
    """The document of each product, or None when it must not be found."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    found: dict[int, SearchDocument | None] = dict.fromkeys(ids)
    for chunk in _chunks(ids, 500):
        found.update(_build_chunk(session, chunk))
    return found


def searchable_ids(session: Session) -> list[int]:
    """Every product that belongs in the index (for a rebuild)."""
    return list(
        session.scalars(
            select(col(Product.id))
            .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
            .where(product_on_sale())
            .order_by(col(Product.id))
        )
    )


def _chunks(ids: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _build_chunk(session: Session, ids: Sequence[int]) -> dict[int, SearchDocument]:
    rows = session.execute(
        select(Product, col(Cooperative.name), col(Village.name))
        .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
        .join(Village, col(Village.id) == Product.village_id)
        .where(
            col(Product.id).in_(ids),
            product_on_sale(),
        )
    ).all()
    if not rows:
        return {}
    live = [product.id for product, _, _ in rows]
    skus: dict[int, list[Sku]] = defaultdict(list)
    for sku in session.scalars(
        select(Sku)
        .where(col(Sku.product_id).in_(live), col(Sku.is_active))
        .order_by(col(Sku.price_fen))
    ):
        skus[sku.product_id].append(sku)
    sales = dict(
        session.execute(
            select(col(OrderLine.product_id), func.sum(col(OrderLine.quantity)))
            .join(Order, col(Order.id) == OrderLine.order_id)
            .where(col(OrderLine.product_id).in_(live), col(Order.status).in_(SOLD))
            .group_by(col(OrderLine.product_id))
        ).all()
    )
    certs = _certifications(session, rows)
    docs = {}
    for product, coop_name, village_name in rows:
        product_id = pk(product)
        active = skus.get(product_id, [])
        prices = [s.price_fen for s in active]
        docs[product_id] = SearchDocument(
            id=product_id,
            name=product.name,
            description=product.description,
            category=product.category,
            category_label=CATEGORIES.get(product.category, product.category),
            village_id=product.village_id,
            village_name=village_name,
            cooperative_id=product.cooperative_id,
            cooperative_name=coop_name,
            certifications=certs.get(product_id, []),
            storage_class=str(product.storage_class),
            in_stock=any(s.stock > 0 for s in active),
            price_min_fen=min(prices) if prices else None,
            price_max_fen=max(prices) if prices else None,
            sales=int(sales.get(product_id, 0) or 0),
            published_at=product.published_at or product.created_at,
            specs=[s.spec for s in active],
            unit=product.unit,
            photo_url=None,  # pages show results through catalog.views, photos included
        )
    return docs


def _certifications(
    session: Session, rows: Sequence[tuple[Product, str, str]]
) -> dict[int, list[str]]:
    """Valid product or cooperative certifications (绿色食品, 有机产品, 地理标志), as codes."""
    coop_of = {pk(product): product.cooperative_id for product, _, _ in rows}
    today = local_today()
    by_product: dict[int, set[str]] = defaultdict(set)
    by_coop: dict[int, set[str]] = defaultdict(set)
    for cert in session.scalars(
        select(Certification).where(
            col(Certification.cooperative_id).in_(set(coop_of.values())),
            col(Certification.batch_id).is_(None),
        )
    ):
        if certificates.status(cert.kind, cert.issued_on, cert.expires_on, today) != "valid":
            continue
        if cert.product_id is None:
            by_coop[cert.cooperative_id].add(cert.kind)
        else:
            by_product[cert.product_id].add(cert.kind)
    return {
        pid: sorted(by_product.get(pid, set()) | by_coop.get(coop, set()))
        for pid, coop in coop_of.items()
    }
