"""A cooperative's own data: its record, products, SKUs, photos and bulk import."""

from __future__ import annotations

from fastapi import APIRouter, UploadFile
from pydantic import BaseModel, Field

from farmgate.api.uploads import read_upload
from farmgate.callbacks import API_PREFIX
from farmgate.catalog import importer, service, views
from farmgate.catalog import photos as album
from farmgate.catalog.schemas import (
    PhotoPublic,
    ProductCreate,
    ProductOwnerView,
    ProductUpdate,
    SkuCreate,
    SkuPublic,
    SkuUpdate,
)
from farmgate.cooperatives import service as cooperatives
from farmgate.cooperatives.schemas import CooperativeApply, CooperativePrivate, CooperativeUpdate
from farmgate.db import pk
from farmgate.errors import ValidationFailed
from farmgate.models import ProductStatus
from farmgate.web.auth import CurrentAccount, CurrentCooperativeStaff
from farmgate.web.session import SessionDep

router = APIRouter(prefix=API_PREFIX, tags=["合作社后台"])


@router.post(
    "/cooperatives/apply",
    response_model=CooperativePrivate,
    status_code=201,
    summary="合作社入驻申请",
)
def apply(
    data: CooperativeApply, session: SessionDep, account: CurrentAccount
) -> CooperativePrivate:
    return cooperatives.private_view(session, cooperatives.apply(session, account, data))


@router.get("/my/cooperative", response_model=CooperativePrivate, summary="本合作社资料")
def my_cooperative(session: SessionDep, staff: CurrentCooperativeStaff) -> CooperativePrivate:
    coop = cooperatives.get_for(session, staff, staff.cooperative_id)  # type: ignore[arg-type]
    return cooperatives.private_view(session, coop)


@router.patch("/my/cooperative", response_model=CooperativePrivate, summary="修改本合作社资料")
def update_my_cooperative(
    data: CooperativeUpdate, session: SessionDep, staff: CurrentCooperativeStaff
) -> CooperativePrivate:
    coop = cooperatives.update(session, staff, staff.cooperative_id, data)  # type: ignore[arg-type]
    return cooperatives.private_view(session, coop)


@router.get("/my/products", response_model=list[ProductOwnerView], summary="本合作社的商品")
def my_products(
    session: SessionDep, staff: CurrentCooperativeStaff, status: ProductStatus | None = None
) -> list[ProductOwnerView]:
    return [views.product_owner_view(session, p) for p in service.list_own(session, staff, status)]


@router.post(
    "/my/products", response_model=ProductOwnerView, status_code=201, summary="新增商品（草稿）"
)
def create_product(
    data: ProductCreate, session: SessionDep, staff: CurrentCooperativeStaff
) -> ProductOwnerView:
    return views.product_owner_view(session, service.create_product(session, staff, data))


@router.get(
    "/my/products/{product_id}", response_model=ProductOwnerView, summary="商品详情（后台）"
)
def get_my_product(
    product_id: int, session: SessionDep, staff: CurrentCooperativeStaff
) -> ProductOwnerView:
    return views.product_owner_view(session, service.get_owned_product(session, staff, product_id))


@router.patch("/my/products/{product_id}", response_model=ProductOwnerView, summary="修改商品")
def update_product(
    product_id: int, data: ProductUpdate, session: SessionDep, staff: CurrentCooperativeStaff
) -> ProductOwnerView:
    return views.product_owner_view(
        session, service.update_product(session, staff, product_id, data)
    )


@router.post(
    "/my/products/{product_id}/skus", response_model=SkuPublic, status_code=201, summary="新增规格"
)
def add_sku(
    product_id: int, data: SkuCreate, session: SessionDep, staff: CurrentCooperativeStaff
) -> SkuPublic:
    sku = service.add_sku(session, staff, product_id, data)
    return SkuPublic.model_validate(sku, from_attributes=True)


@router.patch(
    "/my/products/{product_id}/skus/{sku_id}",
    response_model=SkuPublic,
    summary="修改规格、价格或库存",
)
def update_sku(
    product_id: int,
    sku_id: int,
    data: SkuUpdate,
    session: SessionDep,
    staff: CurrentCooperativeStaff,
) -> SkuPublic:
    sku = service.update_sku(session, staff, product_id, sku_id, data)
    return SkuPublic.model_validate(sku, from_attributes=True)


@router.post(
    "/my/products/{product_id}/photos",
    response_model=PhotoPublic,
    status_code=201,
    summary="上传商品图片",
)
def upload_photo(
    product_id: int, file: UploadFile, session: SessionDep, staff: CurrentCooperativeStaff
) -> PhotoPublic:
    photo = service.add_photo(session, staff, product_id, read_upload(file))
    return views.photo_public(photo)


@router.delete(
    "/my/products/{product_id}/photos/{photo_id}", status_code=204, summary="删除商品图片"
)
def delete_photo(
    product_id: int, photo_id: int, session: SessionDep, staff: CurrentCooperativeStaff
) -> None:
    album.remove_photo(session, staff, product_id, photo_id)


class ImportResult(BaseModel):
    products_created: int
    skus_created: int
    product_ids: list[int] = Field(default_factory=list)


@router.post(
    "/my/products/import", response_model=ImportResult, status_code=201, summary="CSV 批量导入商品"
)
def import_products(
    file: UploadFile, session: SessionDep, staff: CurrentCooperativeStaff
) -> ImportResult:
    result = importer.import_products(session, staff, read_upload(file))
    return ImportResult(
        products_created=len(result.products),
        skus_created=result.skus,
        product_ids=[pk(p) for p in result.products],
    )


_ACTIONS = {
    "submit": service.submit_for_review,
    "withdraw": service.withdraw,
    "delist": service.delist,
}


@router.post(
    # Declared last: this pattern would shadow /skus and /photos.
    "/my/products/{product_id}/{action}",
    response_model=ProductOwnerView,
    summary="提交审核（submit）、撤回（withdraw）或下架（delist）",
)
def product_action(
    product_id: int, action: str, session: SessionDep, staff: CurrentCooperativeStaff
) -> ProductOwnerView:
    if action not in _ACTIONS:
        raise ValidationFailed("不支持的操作", fields={"action": "可选 submit、withdraw、delist"})
    return views.product_owner_view(session, _ACTIONS[action](session, staff, product_id))
