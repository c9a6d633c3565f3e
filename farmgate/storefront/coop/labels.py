"""Display labels the desk shows, looked up in one place (the enums carry their words)."""

from __future__ import annotations

from farmgate.catalog.service import REVIEWED_FIELDS
from farmgate.models import CATEGORIES, UNITS, Account, ProductStatus, StorageClass

__all__ = ["CATEGORIES", "FIELD_LABELS", "STORAGE_LABELS", "UNITS", "nav", "reviewed_fields"]

FIELD_LABELS = {
    "name": "商品名称",
    "category": "类目",
    "description": "商品介绍",
    "village_id": "产地村",
    "unit": "单位",
    "shelf_life_days": "保质期",
    "storage_class": "储存方式",
}

STORAGE_LABELS = StorageClass.labels()

LOW_STOCK = 5  # at or below this (and above 0) a SKU is flagged "库存不多"


def status_label(status: str, review_note: str) -> str:
    """A draft with a review note came back from the township: show it as rejected."""
    if status == "draft" and review_note:
        return "未通过审核"
    return ProductStatus.label_of(status)


def standing(status: str, review_note: str) -> str:
    """What the desk says about the cooperative itself when the township has not approved it."""
    if status == "rejected":
        return f"乡镇未通过你们的入驻申请。原因：{review_note}。请按原因补正后联系乡镇电商办。"
    if status == "suspended":
        return f"合作社已被乡镇暂停，商品已停止销售。原因：{review_note}"
    if status == "pending":
        return "入驻申请正在等乡镇审核，通过后商品才能上架。资料可以先准备。"
    return ""


def reviewed_fields() -> list[str]:
    """Which fields send a published product back to review, in the form's order."""
    return [label for key, label in FIELD_LABELS.items() if key in REVIEWED_FIELDS]


def nav(staff: Account) -> list[tuple[str, str, str]]:
    """The desk's sections: (key, label, url). Sections not built yet point at today's pages."""
    return [
        ("products", "商品", "/coop/products"),
        ("batches", "批次与溯源", "/coop/batches"),
        ("orders", "订单", "/coop/orders"),
        ("money", "资金/销售", "/coop/money"),
        ("profile", "合作社资料", "/coop/profile"),
    ]
