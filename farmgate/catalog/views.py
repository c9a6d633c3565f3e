"""Turning catalogue rows into the public and owner-facing shapes, in a few batched queries."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import JSON, bindparam, func, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from farmgate.catalog.schemas import (
    PhotoPublic,
    ProductDetail,
    ProductOwnerView,
    ProductSummary,
    SkuPublic,
)
from farmgate.catalog.sellable import product_on_sale
from farmgate.db import pk
from farmgate.errors import NotFound
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


def _photo_urls(key: str, widths: str) -> dict[int, str]:
    url = get_storage().url
    return {int(w): url(f"{key}-{w}.webp") for w in widths.split(",")}


def photo_public(photo: ProductPhoto) -> PhotoPublic:
    return PhotoPublic(
        id=pk(photo),
        position=photo.position,
        width=photo.width,
        height=photo.height,
        urls=_photo_urls(photo.storage_key, photo.widths),
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


def _cover_id() -> Any:
    """The product's first photo (by position, then id): the summary's cover."""
    return (
        select(col(ProductPhoto.id))
        .where(col(ProductPhoto.product_id) == Product.id)
        .order_by(col(ProductPhoto.position), col(ProductPhoto.id))
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )


STOCK = _per_product(func.sum(col(Sku.stock)))
# Everything a summary shows, from one statement: the product, its cooperative's and village's
# names, its active SKUs' price range and stock, and its cover photo. Core rows, no ORM objects.
# The columns _listed_fields reads (a summary's and a detail's alike).
LISTED_COLUMNS: tuple[Any, ...] = (
    col(Product.id),
    col(Product.name),
    col(Product.category),
    col(Product.unit),
    col(Product.storage_class),
    col(Product.cooperative_id),
    col(Cooperative.name).label("cooperative_name"),
    col(Product.village_id),
    col(Village.name).label("village_name"),
)
SUMMARY_COLUMNS: tuple[Any, ...] = (
    *LISTED_COLUMNS,
    PRICE_MIN.label("price_min_fen"),
    PRICE_MAX.label("price_max_fen"),
    STOCK.label("stock"),
    col(Product.published_at),
    col(ProductPhoto.id).label("cover_id"),
    col(ProductPhoto.position).label("cover_position"),
    col(ProductPhoto.width).label("cover_width"),
    col(ProductPhoto.height).label("cover_height"),
    col(ProductPhoto.storage_key).label("cover_key"),
    col(ProductPhoto.widths).label("cover_widths"),
)


def summary_select(*extra: Any) -> Any:
    """``SUMMARY_COLUMNS`` (and ``extra``) over products joined to their names and cover."""
    return (
        select(*SUMMARY_COLUMNS, *extra)
        .select_from(Product)
        .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
        .outerjoin(Village, col(Village.id) == Product.village_id)
        .outerjoin(ProductPhoto, col(ProductPhoto.id) == _cover_id())
    )


def _core(session: Session) -> Any:
    """The session's connection, for statements that load no ORM objects: executed there they
    skip the ORM's per-statement work (same transaction, same connection)."""
    return session.connection()


def _listed_fields(row: Any) -> dict[str, Any]:
    """What a summary and a detail show alike, from a row of either statement."""
    return {
        "id": row.id,
        "name": row.name,
        "category": row.category,
        "category_name": CATEGORIES.get(row.category, row.category),
        "unit": row.unit,
        "storage_class": str(row.storage_class),  # a StrEnum member or its text: the text
        "cooperative_id": row.cooperative_id,
        "cooperative_name": row.cooperative_name or "",
        "village_id": row.village_id,
        "village_name": row.village_name or "",
    }


def summary_from_row(row: Any) -> ProductSummary:
    """A summary from a row of ``summary_select`` (its values are already of the right types:
    nothing to validate)."""
    cover = None
    if row.cover_id is not None:
        cover = PhotoPublic.model_construct(
            id=row.cover_id,
            position=row.cover_position,
            width=row.cover_width,
            height=row.cover_height,
            urls=_photo_urls(row.cover_key, row.cover_widths),
        )
    return ProductSummary.model_construct(
        **_listed_fields(row),
        price_min_fen=row.price_min_fen,
        price_max_fen=row.price_max_fen,
        in_stock=bool(row.stock),
        cover=cover,
        published_at=row.published_at,
    )


_BY_IDS = summary_select().where(col(Product.id).in_(bindparam("ids", expanding=True)))


def product_rows(session: Session, ids: Sequence[int]) -> list[ProductSummary]:
    """Summaries of the products ``ids``, in that order, in one statement."""
    if not ids:
        return []
    rows = {row.id: row for row in _core(session).execute(_BY_IDS, {"ids": list(ids)})}
    return [summary_from_row(rows[i]) for i in ids if i in rows]


class _JsonRows(FunctionElement[Any]):
    """SQL: a JSON array holding one array of the given columns per row the aggregate reads,
    in no particular order (SQLite before 3.44 has no ORDER BY in an aggregate: the caller
    sorts). NULL (PostgreSQL) or ``[]`` (SQLite) without rows."""

    name = "json_rows"
    type = JSON()
    inherit_cache = True


@compiles(_JsonRows, "postgresql")
def _json_rows_pg(element: _JsonRows, compiler: Any, **kw: Any) -> str:
    return f"json_agg(json_build_array({compiler.process(element.clauses, **kw)}))"


@compiles(_JsonRows, "sqlite")
def _json_rows_sqlite(element: _JsonRows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


def _rows_of(entity: Any, *columns: Any, where: Any) -> Any:
    return (
        select(_JsonRows(*columns))
        .where(col(entity.product_id) == Product.id, where)
        .correlate(Product)
        .scalar_subquery()
    )


# The product's active SKUs and its photos, each as one JSON array read with the product.
_SKU_ROWS = _rows_of(
    Sku,
    col(Sku.id),
    col(Sku.spec),
    col(Sku.price_fen),
    col(Sku.stock),
    col(Sku.weight_g),
    where=col(Sku.is_active),
)
_PHOTO_ROWS = _rows_of(
    ProductPhoto,
    col(ProductPhoto.id),
    col(ProductPhoto.position),
    col(ProductPhoto.width),
    col(ProductPhoto.height),
    col(ProductPhoto.storage_key),
    col(ProductPhoto.widths),
    where=true(),
)
_BY_PRICE = itemgetter(2, 0)  # SKUs: cheapest first, then by id
_BY_POSITION = itemgetter(1, 0)  # photos: by position, then by id


def detail_statement(*extra: Any, outerjoin: tuple[Any, Any] | None = None) -> Any:
    """The statement of :func:`public_detail_row`: the product, its names, its active SKUs and
    its photos in one row; ``extra`` columns (and an outer join) let a page read what else it
    shows about the product in the same statement."""
    statement: Any = (
        select(
            *LISTED_COLUMNS,
            col(Product.published_at),
            col(Product.description),
            col(Product.shelf_life_days),
            col(Cooperative.service_phone),
            _SKU_ROWS.label("skus"),
            _PHOTO_ROWS.label("photos"),
            *extra,
        )
        .select_from(Product)
        .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
        .outerjoin(Village, col(Village.id) == Product.village_id)
    )
    if outerjoin is not None:
        statement = statement.outerjoin(*outerjoin)
    return statement.where(col(Product.id) == bindparam("id"), product_on_sale())


_ON_SALE_BY_ID = detail_statement()


def public_detail_row(
    session: Session, product_id: int, statement: Any = _ON_SALE_BY_ID
) -> tuple[ProductDetail, Any]:
    """A product on sale as its public page and the API show it, and the row it came from
    (its cooperative's ``service_phone``, and the extra columns of a :func:`detail_statement`),
    in one statement; NotFound when it is not on sale."""
    row = _core(session).execute(statement, {"id": product_id}).first()
    if row is None:
        raise NotFound("商品不存在或已下架", context={"product_id": product_id})
    skus = [
        SkuPublic.model_construct(
            id=sku_id, spec=spec, price_fen=price, stock=stock, weight_g=weight, is_active=True
        )
        for sku_id, spec, price, stock, weight in sorted(row.skus or (), key=_BY_PRICE)
    ]
    photos = [
        PhotoPublic.model_construct(
            id=photo_id,
            position=position,
            width=width,
            height=height,
            urls=_photo_urls(key, widths),
        )
        for photo_id, position, width, height, key, widths in sorted(
            row.photos or (), key=_BY_POSITION
        )
    ]
    prices = [s.price_fen for s in skus]
    detail = ProductDetail.model_construct(
        **_listed_fields(row),
        price_min_fen=min(prices, default=None),
        price_max_fen=max(prices, default=None),
        in_stock=bool(sum(s.stock for s in skus)),
        cover=photos[0] if photos else None,
        published_at=row.published_at,
        description=row.description,
        shelf_life_days=row.shelf_life_days,
        skus=skus,
        photos=photos,
    )
    return detail, row


def public_detail(session: Session, product_id: int) -> ProductDetail:
    """A product on sale as the API shows it (NotFound when it is not on sale)."""
    return public_detail_row(session, product_id)[0]


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
