"""Public catalogue: anyone may browse published products of approved cooperatives."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from farmgate import places
from farmgate.callbacks import API_PREFIX
from farmgate.catalog import service, views
from farmgate.catalog.schemas import Page, ProductDetail, ProductSummary
from farmgate.cooperatives import service as cooperatives
from farmgate.cooperatives.schemas import CooperativePublic
from farmgate.db import pk
from farmgate.errors import ValidationFailed
from farmgate.models import CATEGORIES, StorageClass
from farmgate.web.session import SessionDep
from farmgate.web.unit import opens_own_read

# With its prefix: farmgate/app.py puts these routes on the app's own router.
router = APIRouter(prefix=API_PREFIX, tags=["商品目录"])

# The hot reads answer their bytes themselves, written as FastAPI would write the response model.
# Returned as a model, FastAPI would validate it again (in one more thread-pool call, for a sync
# endpoint) before writing it; these values are built from typed rows and need no second look.
_PAGE = TypeAdapter(Page[ProductSummary])
_DETAIL = TypeAdapter(ProductDetail)


def _json(adapter: TypeAdapter[Any], value: Any) -> Response:
    return Response(adapter.dump_json(value), media_type="application/json")


# The two hot reads make their session in their own thread-pool call (no dependency to solve
# per request) and, only reading, send no BEGIN/COMMIT (farmgate/web/unit.py, opens_own_read);
# every other endpoint takes SessionDep.
@router.get("/products", response_model=Page[ProductSummary], summary="商品列表")
@opens_own_read
def list_products(
    request: Request,
    session: Session,
    village_id: int | None = None,
    category: str | None = None,
    cooperative_id: int | None = None,
    storage_class: StorageClass | None = None,
    price_min_fen: Annotated[int | None, Query(ge=0)] = None,
    price_max_fen: Annotated[int | None, Query(ge=0)] = None,
    in_stock: bool | None = None,
    sort: Literal["newest", "price_asc", "price_desc"] = "newest",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    if category is not None and category not in CATEGORIES:
        raise ValidationFailed("类目无效", fields={"category": "类目不存在"})
    if price_min_fen is not None and price_max_fen is not None and price_min_fen > price_max_fen:
        raise ValidationFailed("最低价不能高于最高价", fields={"price_min_fen": "高于最高价"})
    filters = service.CatalogFilters(
        village_id=village_id,
        category=category,
        cooperative_id=cooperative_id,
        storage_class=storage_class,
        price_min_fen=price_min_fen,
        price_max_fen=price_max_fen,
        in_stock=in_stock,
        sort=sort,
    )
    items, total = service.list_public(session, filters, page, page_size)
    return _json(_PAGE, Page(items=items, total=total, page=page, page_size=page_size))


@router.get("/products/{product_id}", response_model=ProductDetail, summary="商品详情")
@opens_own_read
def get_product(product_id: int, request: Request, session: Session) -> Response:
    return _json(_DETAIL, views.public_detail(session, product_id))


@router.get("/categories", summary="商品类目")
def categories() -> list[dict[str, str]]:
    return [{"code": k, "name": v} for k, v in CATEGORIES.items()]


@router.get("/storage-classes", summary="储运方式")
def storage_classes() -> list[dict[str, str]]:
    return [{"code": k, "name": v} for k, v in StorageClass.labels().items()]


@router.get("/villages", summary="本乡的村")
def villages(session: SessionDep) -> list[dict[str, int | str]]:
    return [{"id": pk(v), "name": v.name} for v in places.list_villages(session)]


@router.get("/cooperatives", response_model=list[CooperativePublic], summary="合作社列表")
def list_cooperatives(session: SessionDep) -> list[CooperativePublic]:
    return [cooperatives.public_view(session, c) for c in cooperatives.list_public(session)]


@router.get("/cooperatives/{cooperative_id}", response_model=CooperativePublic, summary="合作社")
def get_cooperative(cooperative_id: int, session: SessionDep) -> CooperativePublic:
    return cooperatives.public_view(session, cooperatives.get_public(session, cooperative_id))
