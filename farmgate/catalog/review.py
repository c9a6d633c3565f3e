"""The township reviews products: what the buyer will see, what changed since the last
approval, and the decision (audited, acting once).

Kept apart from service.py (already ~400 lines); the transitions themselves stay there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from farmgate import audit
from farmgate.catalog import service, views
from farmgate.catalog.schemas import ProductDetail
from farmgate.errors import Conflict
from farmgate.models import Account, Product, ProductStatus, StorageClass

# The fields a reviewer compares, in the order shown, with their labels.
SNAPSHOT_LABELS: dict[str, str] = {
    "name": "商品名称",
    "category": "类目",
    "village": "产地",
    "unit": "单位",
    "shelf_life_days": "保质期",
    "storage_class": "储存方式",
    "description": "商品介绍",
    "skus": "规格与价格",
    "photos": "图片",
}


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def snapshot(detail: ProductDetail) -> dict[str, Any]:
    """The product as the buyer sees it, in plain words (stored on approval, compared later)."""
    return {
        "name": detail.name,
        "category": detail.category_name,
        "village": detail.village_name,
        "unit": detail.unit,
        "shelf_life_days": f"{detail.shelf_life_days}天",
        "storage_class": StorageClass.label_of(detail.storage_class),
        "description": detail.description,
        "skus": [
            f"{s.spec} {_yuan(s.price_fen)}" + ("" if s.is_active else "（停售）")
            for s in detail.skus
        ],
        "photos": [p.id for p in detail.photos],
    }


@dataclass
class Change:
    label: str
    before: Any
    after: Any


@dataclass
class Submission:
    """One product in the review queue."""

    product: Product
    detail: ProductDetail
    first: bool  # never approved before: "首次提交"
    changes: list[Change]
    version: str


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    if old is None:
        return []
    return [
        Change(label, old.get(key), new.get(key))
        for key, label in SNAPSHOT_LABELS.items()
        if old.get(key) != new.get(key)
    ]


def submission(session: Session, product: Product) -> Submission:
    detail = views.product_owner_view(session, product)
    now = snapshot(detail)
    return Submission(
        product,
        detail,
        product.approved_snapshot is None,
        changes(product.approved_snapshot, now),
        version(product),
    )


def queue(session: Session, actor: Account, limit: int = 10) -> tuple[list[Submission], int]:
    """The first ``limit`` products waiting (longest waiting first), and how many wait."""
    waiting = service.review_queue(session, actor)
    return [submission(session, p) for p in waiting[:limit]], len(waiting)


def version(product: Product) -> str:
    """Which edit of the product a reviewer looked at (sent back with the decision)."""
    return product.updated_at.isoformat()


def approve(session: Session, actor: Account, product_id: int, seen: str = "") -> bool:
    """Publish a product waiting for review and keep what was approved; False if already.

    ``seen`` (from :func:`version`) refuses to publish an edit the reviewer has not looked at.
    """
    product = service.get_owned_product(session, actor, product_id, lock=True)
    if product.status == ProductStatus.PUBLISHED:
        return False
    if seen and seen != version(product):
        raise Conflict("合作社在你查看后又修改了这个商品，请看过最新内容后再决定", code="stale")
    before = {"status": product.status}
    service.approve(session, actor, product_id)
    product.approved_snapshot = snapshot(views.product_owner_view(session, product))
    session.add(product)
    audit.record(
        session,
        actor,
        "product.approve",
        "product",
        product.id,
        f"批准上架商品 {product.name}",
        before=before,
        after={"status": product.status},
    )
    return True


def reject(session: Session, actor: Account, product_id: int, reason: str) -> bool:
    """Send a product back to its cooperative with a reason; False if already sent back."""
    product = service.get_owned_product(session, actor, product_id, lock=True)
    if (
        product.status == ProductStatus.DRAFT
        and product.review_note
        and product.review_note == reason.strip()
    ):
        return False
    before = {"status": product.status, "review_note": product.review_note}
    service.reject(session, actor, product_id, reason)
    audit.record(
        session,
        actor,
        "product.reject",
        "product",
        product.id,
        f"退回商品 {product.name}：{product.review_note}",
        before=before,
        after={"status": product.status, "review_note": product.review_note},
    )
    return True
