"""Turning catalogue rows into the public and owner-facing shapes, in a few batched queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.catalog.schemas import (
    PhotoPublic,
    ProductDetail,
    ProductOwnerView,
    ProductSummary,
    SkuPublic,
)
from farmgate.db import pk
from farmgate.media.storage import get_storage
from farmgate.models import CATEGORIES, Cooperative, Product, ProductPhoto, Sku, Village


def _per_product(column: Any) -> Any:
    """A correlated scalar subquery over the product's active SKUs (evaluated per row)."""
    return (
        select(column)
        .where(col(Sku.product_id) == Product.id, col(Sku.is_active))
        .correlate(Product)
        .scalar_subquery()
    )


PRICE_MIN = _per_product(func.min(col(Sku.price_fen)))
PRICE_MAX = _per_product(func.max(col(Sku.price_fen)))


def photo_public(photo: ProductPhoto) -> PhotoPublic:
    storage = get_storage()
    return PhotoPublic(
        id=pk(photo),
        position=photo.position,
        width=photo.width,
        height=photo.height,
        urls={
            int(w): storage.url(f"{photo.storage_key}-{w}.webp") for w in photo.widths.split(",")
        },
    )


def _names(session: Session, products: Sequence[Product]) -> tuple[dict[int, str], dict[int, str]]:
    coop_ids = {p.cooperative_id for p in products}
    village_ids = {p.village_id for p in products}
    coops = dict(
        session.execute(
            select(col(Cooperative.id), col(Cooperative.name)).where(
                col(Cooperative.id).in_(coop_ids)
            )
        ).all()
    )
    villages = dict(
        session.execute(
            select(col(Village.id), col(Village.name)).where(col(Village.id).in_(village_ids))
        ).all()
    )
    # Primary keys are never NULL; mypy types SQLModel ids ``int | None``.
    return cast("dict[int, str]", coops), cast("dict[int, str]", villages)


def _photos(session: Session, product_ids: Sequence[int]) -> dict[int, list[ProductPhoto]]:
    by_product: dict[int, list[ProductPhoto]] = {pid: [] for pid in product_ids}
    query = (
        select(ProductPhoto)
        .where(col(ProductPhoto.product_id).in_(product_ids))
        .order_by(col(ProductPhoto.position), col(ProductPhoto.id))
    )
    for photo in session.scalars(query):
        by_product[photo.product_id].append(photo)
    return by_product


def _summary_fields(
    product: Product,
    coops: dict[int, str],
    villages: dict[int, str],
    prices: Sequence[Any],
    photos: list[ProductPhoto],
) -> dict[str, Any]:
    price_min, price_max, stock = prices
    return {
        "id": product.id,
        "name": product.name,
        "category": product.category,
        "category_name": CATEGORIES.get(product.category, product.category),
        "unit": product.unit,
        "storage_class": product.storage_class,
        "cooperative_id": product.cooperative_id,
        "cooperative_name": coops.get(product.cooperative_id, ""),
        "village_id": product.village_id,
        "village_name": villages.get(product.village_id, ""),
        "price_min_fen": price_min,
        "price_max_fen": price_max,
        "in_stock": bool(stock),
        "cover": photo_public(photos[0]) if photos else None,
        "published_at": product.published_at,
    }


def product_rows(session: Session, ids: Sequence[int]) -> list[ProductSummary]:
    """Summaries of the products ``ids``, in that order, in four batched queries."""
    if not ids:
        return []
    products = {p.id: p for p in session.scalars(select(Product).where(col(Product.id).in_(ids)))}
    prices = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                col(Sku.product_id),
                func.min(col(Sku.price_fen)),
                func.max(col(Sku.price_fen)),
                func.sum(col(Sku.stock)),
            )
            .where(col(Sku.product_id).in_(ids), col(Sku.is_active))
            .group_by(col(Sku.product_id))
        )
    }
    ordered = [products[i] for i in ids if i in products]
    coops, villages = _names(session, ordered)
    photos = _photos(session, ids)
    return [
        ProductSummary(
            **_summary_fields(p, coops, villages, prices.get(pk(p), (None, None, 0)), photos[pk(p)])
        )
        for p in ordered
    ]


def _detail_fields(session: Session, product: Product, active_only: bool) -> dict[str, Any]:
    query = (
        select(Sku)
        .where(col(Sku.product_id) == product.id)
        .order_by(col(Sku.price_fen), col(Sku.id))
    )
    skus = [s for s in session.scalars(query) if s.is_active or not active_only]
    active = [s for s in skus if s.is_active]
    prices = (
        min((s.price_fen for s in active), default=None),
        max((s.price_fen for s in active), default=None),
        sum(s.stock for s in active),
    )
    coops, villages = _names(session, [product])
    photos = _photos(session, [pk(product)])[pk(product)]
    fields = _summary_fields(product, coops, villages, prices, photos)
    fields.update(
        description=product.description,
        shelf_life_days=product.shelf_life_days,
        skus=[SkuPublic.model_validate(s, from_attributes=True) for s in skus],
        photos=[photo_public(p) for p in photos],
    )
    return fields


def product_detail(session: Session, product: Product) -> ProductDetail:
    return ProductDetail(**_detail_fields(session, product, active_only=True))


def product_owner_view(session: Session, product: Product) -> ProductOwnerView:
    return ProductOwnerView(
        **_detail_fields(session, product, active_only=False),
        status=product.status,
        review_note=product.review_note,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )
