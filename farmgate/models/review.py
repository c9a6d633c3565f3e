"""Buyers' reviews of what they received, and reports of reviews by other users."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled(
    {
        "fake": "虚假或刷单评价",
        "abuse": "辱骂、人身攻击",
        "privacy": "泄露他人隐私",
        "ad": "广告或无关内容",
        "other": "其他",
    }
)
class ReportReason(Labelled):
    FAKE = "fake"
    ABUSE = "abuse"
    PRIVACY = "privacy"
    AD = "ad"
    OTHER = "other"


class ProductReview(SQLModel, table=True):
    """One buyer's review of one order line, written after receipt; final once posted.

    ``batch_id`` is the lot packed for that line (copied when the review is written), so the
    product page can say which lot the buyer actually received.
    """

    __tablename__ = "product_review"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
        # The product page: its visible reviews, newest first.
        Index("ix_product_review_product_hidden_id", "product_id", "hidden", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_line_id: int = Field(foreign_key="order_line.id", unique=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    account_id: int = Field(foreign_key="account.id", index=True)
    batch_id: int | None = Field(default=None, foreign_key="batch.id")
    stars: int = Field(ge=1, le=5)
    body: str = Field(default="", max_length=500)
    sku_spec: str = Field(default="", max_length=40)
    # Each stored photo: {key, width, height, widths} (see farmgate/media/photos.py).
    photos: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    hidden: bool = Field(default=False)
    hidden_note: str = Field(default="", max_length=200)
    hidden_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    report_count: int = Field(default=0, index=True)
    # Reports the township has already decided on: more than this puts it in the queue.
    reports_seen: int = Field(default=0)


class ReviewReport(SQLModel, table=True):
    """A signed-in user says a review breaks the rules; one report per user per review."""

    __tablename__ = "review_report"
    __table_args__ = (UniqueConstraint("review_id", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="product_review.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    reason: str = Field(max_length=10)
    note: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
