"""The catalogue: cooperatives manage products and SKUs, the township reviews, anyone browses.

Authorisation is checked here, on every object: a cooperative's staff reach only their own
cooperative's products (anything else is "not found"), the township admin reaches all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, literal_column, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.catalog import views
from farmgate.catalog.schemas import (
    ProductCreate,
    ProductSummary,
    ProductUpdate,
    SkuCreate,
    SkuUpdate,
)
from farmgate.catalog.sellable import product_on_sale
from farmgate.db import pk, utcnow
from farmgate.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from farmgate.media.photos import store_photo
from farmgate.models import (
    Account,
    Cooperative,
    CooperativeStatus,
    Product,
    ProductPhoto,
    ProductStatus,
    Role,
    Sku,
    Village,
)

MAX_PHOTOS = 9
# Editing these on a published product sends it back to the township for review.
REVIEWED_FIELDS = {"name", "category", "description", "village_id", "unit", "storage_class"}

P = ProductStatus
TRANSITIONS: dict[str, set[str]] = {
    "submit": {P.DRAFT, P.DELISTED},  # -> pending_review
    "withdraw": {P.PENDING_REVIEW},  # -> draft
    "approve": {P.PENDING_REVIEW},  # -> published
    "reject": {P.PENDING_REVIEW},  # -> draft, with a note
    "delist": {P.PUBLISHED, P.PENDING_REVIEW},  # -> delisted
}


# --- access -----------------------------------------------------------------------------


def require_staff(actor: Account) -> int:
    if actor.role != Role.COOPERATIVE or actor.cooperative_id is None:
        raise PermissionDenied("只有合作社账号可以管理商品")
    return actor.cooperative_id


def _require_admin(actor: Account) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied("只有乡镇管理员可以审核商品")


def get_owned_product(
    session: Session, actor: Account, product_id: int, *, lock: bool = False
) -> Product:
    """A product the actor may manage: their cooperative's own, or any for the admin."""
    product = session.get(Product, product_id, with_for_update=lock)
    if product is None or not (
        actor.role == Role.ADMIN
        or (actor.role == Role.COOPERATIVE and actor.cooperative_id == product.cooperative_id)
    ):
        raise NotFound("商品不存在", context={"product_id": product_id})
    return product


def _owned_sku(
    session: Session, actor: Account, product_id: int, sku_id: int
) -> tuple[Product, Sku]:
    product = get_owned_product(session, actor, product_id)
    sku = session.get(Sku, sku_id)
    if sku is None or sku.product_id != product.id:
        raise NotFound("规格不存在")
    return product, sku


def get_owned_sku(session: Session, actor: Account, product_id: int, sku_id: int) -> Sku:
    """A SKU of a product the actor may manage (else "not found")."""
    return _owned_sku(session, actor, product_id, sku_id)[1]


def _check_village(session: Session, coop: Cooperative, village_id: int) -> None:
    village = session.get(Village, village_id)
    if village is None or village.township_id != coop.township_id:
        raise ValidationFailed("产地村不存在", fields={"village_id": "村不存在"})


# --- cooperative side -------------------------------------------------------------------


def create_product(session: Session, actor: Account, data: ProductCreate) -> Product:
    coop_id = require_staff(actor)
    coop = session.get(Cooperative, coop_id)
    assert coop is not None
    if coop.status == CooperativeStatus.SUSPENDED:
        raise PermissionDenied("合作社已被暂停，不能新增商品")
    _check_village(session, coop, data.village_id)
    specs = [s.spec for s in data.skus]
    if len(specs) != len(set(specs)):
        raise ValidationFailed("同一商品的规格名称不能重复", fields={"skus": "规格重复"})
    product = Product(**data.model_dump(exclude={"skus"}), cooperative_id=coop_id)
    session.add(product)
    session.flush()
    for sku in data.skus:
        session.add(Sku(**sku.model_dump(), product_id=pk(product)))
    session.flush()
    return product


def update_product(
    session: Session, actor: Account, product_id: int, data: ProductUpdate
) -> Product:
    product = get_owned_product(session, actor, product_id, lock=True)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "village_id" in changes:
        coop = session.get(Cooperative, product.cooperative_id)
        assert coop is not None
        _check_village(session, coop, changes["village_id"])
    changed = {k for k, v in changes.items() if getattr(product, k) != v}
    for key in changed:
        setattr(product, key, changes[key])
    if changed & REVIEWED_FIELDS and product.status == P.PUBLISHED and actor.role != Role.ADMIN:
        product.status = P.PENDING_REVIEW
        product.review_note = ""
    if changed:
        product.updated_at = utcnow()
    session.add(product)
    return product


def _transition(product: Product, action: str, target: ProductStatus) -> None:
    if product.status not in TRANSITIONS[action]:
        raise InvalidTransition(
            f"商品当前为「{P(product.status).label}」，不能{_ACTION_LABELS[action]}",
            context={"from": product.status, "action": action},
        )
    product.status = target
    product.updated_at = utcnow()


_ACTION_LABELS = {
    "submit": "提交审核",
    "withdraw": "撤回审核",
    "approve": "审核通过",
    "reject": "驳回",
    "delist": "下架",
}


def submit_for_review(session: Session, actor: Account, product_id: int) -> Product:
    product = get_owned_product(session, actor, product_id, lock=True)
    coop = session.get(Cooperative, product.cooperative_id)
    if coop is None or coop.status != CooperativeStatus.APPROVED:
        raise PermissionDenied("合作社通过审核后才能提交商品上架", code="cooperative_not_approved")
    has_sku = session.scalar(
        select(exists().where(col(Sku.product_id) == product.id, col(Sku.is_active)))
    )
    if not has_sku:
        raise ValidationFailed(
            "请至少添加一个在售规格后再提交审核", fields={"skus": "至少一个规格"}
        )
    _transition(product, "submit", P.PENDING_REVIEW)
    product.review_note = ""
    session.add(product)
    return product


def withdraw(session: Session, actor: Account, product_id: int) -> Product:
    product = get_owned_product(session, actor, product_id, lock=True)
    _transition(product, "withdraw", P.DRAFT)
    session.add(product)
    return product


def delist(session: Session, actor: Account, product_id: int, note: str = "") -> Product:
    product = get_owned_product(session, actor, product_id, lock=True)
    _transition(product, "delist", P.DELISTED)
    if note:
        product.review_note = note
    session.add(product)
    return product


def add_sku(session: Session, actor: Account, product_id: int, data: SkuCreate) -> Sku:
    product = get_owned_product(session, actor, product_id, lock=True)
    if session.scalar(
        select(col(Sku.id)).where(col(Sku.product_id) == product.id, col(Sku.spec) == data.spec)
    ):
        raise Conflict("该规格已存在", fields={"spec": "规格重复"})
    sku = Sku(**data.model_dump(), product_id=pk(product))
    session.add(sku)
    session.flush()
    return sku


def update_sku(
    session: Session, actor: Account, product_id: int, sku_id: int, data: SkuUpdate
) -> Sku:
    _, sku = _owned_sku(session, actor, product_id, sku_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "spec" in changes and changes["spec"] != sku.spec:
        clash = select(col(Sku.id)).where(
            col(Sku.product_id) == sku.product_id, col(Sku.spec) == changes["spec"]
        )
        if session.scalar(clash):
            raise Conflict("该规格已存在", fields={"spec": "规格重复"})
    for key, value in changes.items():
        setattr(sku, key, value)
    session.add(sku)
    return sku


def add_photo(session: Session, actor: Account, product_id: int, data: bytes) -> ProductPhoto:
    product = get_owned_product(session, actor, product_id, lock=True)
    count = (
        session.scalar(select(func.count()).where(col(ProductPhoto.product_id) == product.id)) or 0
    )
    if count >= MAX_PHOTOS:
        raise ValidationFailed(f"每个商品最多{MAX_PHOTOS}张图片", code="too_many_photos")
    stored = store_photo(session, f"products/{product.id}", data)
    photo = ProductPhoto(
        product_id=pk(product),
        position=count,
        storage_key=stored.key,
        width=stored.width,
        height=stored.height,
        widths=",".join(str(w) for w in stored.widths),
    )
    session.add(photo)
    session.flush()
    return photo


def list_own(
    session: Session, actor: Account, status: ProductStatus | None = None
) -> list[Product]:
    coop_id = require_staff(actor)
    query = (
        select(Product)
        .where(col(Product.cooperative_id) == coop_id)
        .order_by(col(Product.id).desc())
    )
    if status is not None:
        query = query.where(col(Product.status) == status)
    return list(session.scalars(query))


# --- township side ----------------------------------------------------------------------


def review_queue(session: Session, actor: Account) -> list[Product]:
    _require_admin(actor)
    query = (
        select(Product)
        .where(col(Product.status) == P.PENDING_REVIEW)
        .order_by(col(Product.updated_at))
    )
    return list(session.scalars(query))


def approve(session: Session, actor: Account, product_id: int) -> Product:
    _require_admin(actor)
    product = get_owned_product(session, actor, product_id, lock=True)
    _transition(product, "approve", P.PUBLISHED)
    product.published_at = product.published_at or utcnow()
    product.review_note = ""
    session.add(product)
    return product


def reject(session: Session, actor: Account, product_id: int, note: str) -> Product:
    _require_admin(actor)
    if not note.strip():
        raise ValidationFailed("驳回时请填写原因", fields={"note": "必填"})
    product = get_owned_product(session, actor, product_id, lock=True)
    _transition(product, "reject", P.DRAFT)
    product.review_note = note.strip()
    session.add(product)
    return product


# --- public side ------------------------------------------------------------------------


@dataclass
class CatalogFilters:
    village_id: int | None = None
    category: str | None = None
    cooperative_id: int | None = None
    storage_class: str | None = None
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    in_stock: bool | None = None
    sort: str = "newest"  # newest | price_asc | price_desc


def _public_products() -> Select[Product]:
    return (
        select(Product)
        .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
        .where(product_on_sale())
    )


# The list's statements by the shape of the request (which filters, which sort), built once with
# bind parameters: a request only binds its values (no select() built, no cache key computed).
_list_statements: dict[tuple[object, ...], tuple[Any, Any]] = {}


def _list_statements_for(shape: tuple[object, ...]) -> tuple[Any, Any]:
    found = _list_statements.get(shape)
    if found is not None:
        return found
    sort, village, category, coop, storage, price_min, price_max, in_stock = shape
    conditions = [product_on_sale()]
    if village:
        conditions.append(col(Product.village_id) == bindparam("village_id"))
    if category:
        conditions.append(col(Product.category) == bindparam("category"))
    if coop:
        conditions.append(col(Product.cooperative_id) == bindparam("cooperative_id"))
    if storage:
        conditions.append(col(Product.storage_class) == bindparam("storage_class"))
    if price_min or price_max:
        cond = [col(Sku.product_id) == Product.id, col(Sku.is_active)]
        if price_min:
            cond.append(col(Sku.price_fen) >= bindparam("price_min_fen"))
        if price_max:
            cond.append(col(Sku.price_fen) <= bindparam("price_max_fen"))
        conditions.append(exists().where(*cond))
    if in_stock is not None:
        stocked = exists().where(
            col(Sku.product_id) == Product.id, col(Sku.is_active), col(Sku.stock) > 0
        )
        conditions.append(stocked if in_stock else ~stocked)
    filtered = (
        select(col(Product.id))
        .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
        .where(*conditions)
    )
    orders: dict[object, tuple[list[Any], list[Any]]] = {
        "price_asc": (
            [views.PRICE_MIN.asc().nulls_last(), col(Product.id).desc()],
            [literal_column("price_min_fen").asc().nulls_last(), col(Product.id).desc()],
        ),
        "price_desc": (
            [views.PRICE_MAX.desc().nulls_last(), col(Product.id).desc()],
            [literal_column("price_max_fen").desc().nulls_last(), col(Product.id).desc()],
        ),
    }
    newest = [col(Product.published_at).desc(), col(Product.id).desc()]
    inner, outer = orders.get(sort, (newest, newest))
    count = filtered.with_only_columns(func.count(col(Product.id))).order_by(None)
    # The page's ids first (SQLite would otherwise work out the per-product prices of every
    # filtered row before sorting), then their summaries and the count, in one statement.
    page_ids = (
        filtered.order_by(*inner)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
        .subquery("page_ids")
    )
    total = count.correlate(None).scalar_subquery().label("total")
    page = views.summary_select(total).join(page_ids, page_ids.c.id == Product.id).order_by(*outer)
    _list_statements[shape] = page, count
    return page, count


def list_public(
    session: Session, filters: CatalogFilters, page: int = 1, page_size: int = 20
) -> tuple[list[ProductSummary], int]:
    """Published products of approved cooperatives, filtered, sorted and paginated."""
    f = filters
    shape = (
        f.sort if f.sort in ("price_asc", "price_desc") else "newest",
        f.village_id is not None,
        bool(f.category),
        f.cooperative_id is not None,
        bool(f.storage_class),
        f.price_min_fen is not None,
        f.price_max_fen is not None,
        f.in_stock,
    )
    page_statement, count_statement = _list_statements_for(shape)
    params = {
        "village_id": f.village_id,
        "category": f.category,
        "cooperative_id": f.cooperative_id,
        "storage_class": f.storage_class,
        "price_min_fen": f.price_min_fen,
        "price_max_fen": f.price_max_fen,
        "offset": (page - 1) * page_size,
        "limit": page_size,
    }
    # Core rows (no ORM objects): executed on the session's connection, past the ORM's layer.
    conn = session.connection()
    rows = conn.execute(page_statement, params).all()
    if not rows:  # past the last page: the count alone
        return [], conn.execute(count_statement, params).scalar() or 0
    return [views.summary_from_row(row) for row in rows], rows[0].total


def get_public(session: Session, product_id: int) -> Product:
    product = session.scalars(_public_products().where(col(Product.id) == product_id)).first()
    if product is None:
        raise NotFound("商品不存在或已下架", context={"product_id": product_id})
    return product
