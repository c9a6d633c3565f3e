from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled(
    {"draft": "草稿", "pending_review": "待审核", "published": "已上架", "delisted": "已下架"}
)
class ProductStatus(Labelled):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    PUBLISHED = "published"
    DELISTED = "delisted"


@labelled({"ambient": "常温", "chilled": "冷藏", "frozen": "冷冻"})
class StorageClass(Labelled):
    AMBIENT = "ambient"
    CHILLED = "chilled"
    FROZEN = "frozen"


CATEGORIES: dict[str, str] = {
    "dried_goods": "干货调味",
    "grain_oil": "粮油米面",
    "meat_eggs": "肉禽蛋品",
    "aquatic": "水产",
    "fruit_veg": "新鲜蔬果",
    "tea_drinks": "茶饮",
    "handicraft": "手工艺品",
    "other": "其他",
}

UNITS = ("斤", "kg", "g", "箱", "瓶", "桶", "袋", "盒", "枚", "只", "条", "件")


class ProductBase(SQLModel):
    """Fields a cooperative edits; limits here bind both the table and the API."""

    village_id: int = Field(foreign_key="village.id", index=True, description="产地村")
    name: str = Field(min_length=1, max_length=60)
    category: str = Field(max_length=20, index=True)
    description: str = Field(default="", max_length=5000)
    unit: str = Field(max_length=4)
    shelf_life_days: int = Field(ge=1, le=3650, description="保质期（天）")
    storage_class: StorageClass = Field(
        default=StorageClass.AMBIENT, sa_type=String(10), index=True
    )
    gtin: str | None = Field(
        default=None, max_length=14, description="GTIN（无则由平台按厂商识别代码生成）"
    )
    temp_min_c: float | None = Field(default=None, ge=-60, le=60, description="最低温度（℃）")
    temp_max_c: float | None = Field(default=None, ge=-60, le=60, description="最高温度（℃）")


class Product(ProductBase, table=True):
    # The public list: published products, newest first.
    __table_args__ = (Index("ix_product_status_published_at", "status", "published_at"),)

    id: int | None = Field(default=None, primary_key=True)
    cooperative_id: int = Field(foreign_key="cooperative.id", index=True)
    status: str = Field(default=ProductStatus.DRAFT, sa_type=String(20), index=True)
    review_note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    published_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # What the township last approved (name, SKUs, description ...), to show what changed.
    approved_snapshot: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class SkuBase(SQLModel):
    spec: str = Field(min_length=1, max_length=40, description="规格，如 500g 袋装")
    price_fen: int = Field(gt=0, le=100_000_000, description="售价（分）")
    stock: int = Field(default=0, ge=0, le=10_000_000, description="库存（按商品单位计）")
    weight_g: int = Field(gt=0, le=100_000, description="发货重量（克）")
    is_active: bool = Field(default=True)


class Sku(SkuBase, table=True):
    """A sellable variant: a spec (e.g. 500g 袋装) with its price in fen and its stock."""

    __table_args__ = (
        UniqueConstraint("product_id", "spec"),
        CheckConstraint("price_fen > 0", name="price_positive"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("weight_g > 0", name="weight_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class ProductPhoto(SQLModel, table=True):
    """A processed photo; ``storage_key`` is the prefix of its WebP variants."""

    __tablename__ = "product_photo"

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    position: int = Field(default=0)
    storage_key: str = Field(max_length=200)
    width: int
    height: int
    widths: str = Field(max_length=60, description="comma-separated variant widths")
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
