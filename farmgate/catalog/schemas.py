from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, Field, field_validator

from farmgate.models import CATEGORIES, UNITS, ProductBase, SkuBase, StorageClass


def _check_category(v: str) -> str:
    if v not in CATEGORIES:
        raise ValueError(
            "类目无效，可选：" + "、".join(f"{k}（{n}）" for k, n in CATEGORIES.items())
        )
    return v


def _check_unit(v: str) -> str:
    if v not in UNITS:
        raise ValueError("单位无效，可选：" + "、".join(UNITS))
    return v


class ProductCreate(ProductBase):
    skus: list[SkuCreate] = Field(default_factory=list, max_length=50)

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        return _check_category(v)

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        return _check_unit(v)


class ProductUpdate(BaseModel):
    village_id: int | None = None
    name: str | None = Field(default=None, min_length=1, max_length=60)
    category: str | None = None
    description: str | None = Field(default=None, max_length=5000)
    unit: str | None = None
    shelf_life_days: int | None = Field(default=None, ge=1, le=3650)
    storage_class: StorageClass | None = None

    @field_validator("category")
    @classmethod
    def _category(cls, v: str | None) -> str | None:
        return None if v is None else _check_category(v)

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str | None) -> str | None:
        return None if v is None else _check_unit(v)


class SkuCreate(SkuBase):
    pass


class SkuUpdate(BaseModel):
    spec: str | None = Field(default=None, min_length=1, max_length=40)
    price_fen: int | None = Field(default=None, gt=0, le=100_000_000)
    stock: int | None = Field(default=None, ge=0, le=10_000_000)
    weight_g: int | None = Field(default=None, gt=0, le=100_000)
    is_active: bool | None = None


ProductCreate.model_rebuild()

T = TypeVar("T")


class SkuPublic(BaseModel):
    id: int
    spec: str
    price_fen: int
    stock: int
    weight_g: int
    is_active: bool


class PhotoPublic(BaseModel):
    id: int
    position: int
    width: int
    height: int
    urls: dict[int, str] = Field(description="WebP variant URL by width")


class ProductSummary(BaseModel):
    id: int
    name: str
    category: str
    category_name: str
    unit: str
    storage_class: str
    cooperative_id: int
    cooperative_name: str
    village_id: int
    village_name: str
    price_min_fen: int | None
    price_max_fen: int | None
    in_stock: bool
    cover: PhotoPublic | None
    published_at: datetime | None


class ProductDetail(ProductSummary):
    description: str
    shelf_life_days: int
    skus: list[SkuPublic]
    photos: list[PhotoPublic]


class ProductOwnerView(ProductDetail):
    """A cooperative's view of its own product, including status and review notes."""

    status: str
    review_note: str
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
