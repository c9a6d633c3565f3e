"""What reviews look like on the product page, the full list and the township's queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.media.storage import get_storage
from farmgate.models import Account, Batch, Product, ProductReview

PER_PAGE = 10
ON_PRODUCT_PAGE = 3
QUEUES = {
    "reported": "被举报待处理",
    "recent": "最新评价",
    "hidden": "已隐藏",
}


@dataclass(frozen=True)
class ReviewPhoto:
    thumb: str  # the smallest variant
    full: str  # the largest variant
    width: int
    height: int


@dataclass(frozen=True)
class ReviewView:
    id: int
    product_id: int
    stars: int
    body: str
    sku_spec: str
    buyer: str  # masked: 138****5678, or the first character of a nickname
    lot_code: str | None  # the lot packed for the buyer's order line
    created_at: datetime
    photos: list[ReviewPhoto] = field(default_factory=list)
    hidden: bool = False
    hidden_note: str = ""
    report_count: int = 0
    reports_new: int = 0
    product_name: str = ""


@dataclass(frozen=True)
class Summary:
    count: int
    average: float | None  # one decimal, None without reviews
    latest: list[ReviewView]

    @property
    def rounded(self) -> int:
        """Whole stars to draw for the average."""
        return round(self.average or 0)


def mask_buyer(account: Account | None) -> str:
    if account is None:
        return "买家"
    name = account.display_name.strip()
    if name:
        return name[0] + "**"
    phone = account.phone
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "买家"


def _photos(stored: list[dict[str, Any]]) -> list[ReviewPhoto]:
    storage = get_storage()
    out = []
    for photo in stored:
        widths = sorted(int(w) for w in photo.get("widths", []))
        if not widths:
            continue
        out.append(
            ReviewPhoto(
                thumb=storage.url(f"{photo['key']}-{widths[0]}.webp"),
                full=storage.url(f"{photo['key']}-{widths[-1]}.webp"),
                width=int(photo.get("width", 0)),
                height=int(photo.get("height", 0)),
            )
        )
    return out


def _views(session: Session, rows: list[ProductReview]) -> list[ReviewView]:
    account_ids = {r.account_id for r in rows}
    batch_ids = {r.batch_id for r in rows if r.batch_id is not None}
    product_ids = {r.product_id for r in rows}
    accounts = (
        {a.id: a for a in session.scalars(select(Account).where(col(Account.id).in_(account_ids)))}
        if rows
        else {}
    )
    lots = (
        dict(
            session.execute(
                select(col(Batch.id), col(Batch.lot_code)).where(col(Batch.id).in_(batch_ids))
            ).all()
        )
        if batch_ids
        else {}
    )
    names = (
        dict(
            session.execute(
                select(col(Product.id), col(Product.name)).where(col(Product.id).in_(product_ids))
            ).all()
        )
        if rows
        else {}
    )
    return [
        ReviewView(
            id=r.id,  # type: ignore[arg-type]
            product_id=r.product_id,
            stars=r.stars,
            body=r.body,
            sku_spec=r.sku_spec,
            buyer=mask_buyer(accounts.get(r.account_id)),
            lot_code=lots.get(r.batch_id) if r.batch_id is not None else None,
            created_at=r.created_at,
            photos=_photos(r.photos),
            hidden=r.hidden,
            hidden_note=r.hidden_note,
            report_count=r.report_count,
            reports_new=max(0, r.report_count - r.reports_seen),
            product_name=names.get(r.product_id, ""),
        )
        for r in rows
    ]


def _shown(product_id: int) -> Any:
    return (col(ProductReview.product_id) == product_id) & (col(ProductReview.hidden).is_(False))


def counts_of(product_id: Any) -> tuple[Any, Any]:
    """SQL: how many visible reviews and their average, for the product whose id is
    ``product_id`` (a column of an enclosing statement); give them to :func:`summary`."""
    shown = select(func.count()).where(_shown(product_id))
    return (
        shown.scalar_subquery(),
        shown.with_only_columns(func.avg(col(ProductReview.stars))).scalar_subquery(),
    )


def summary(
    session: Session,
    product_id: int,
    latest: int = ON_PRODUCT_PAGE,
    counts: tuple[Any, Any] | None = None,
) -> Summary:
    """The product page's part: how many visible reviews, their average, the newest few.
    ``counts``: the two values of :func:`counts_of`, when the caller read them already."""
    if counts is None:
        counts = session.execute(
            select(func.count(), func.avg(col(ProductReview.stars))).where(_shown(product_id))
        ).one()
    count, average = counts
    if not count:  # most products: no second query
        return Summary(count=0, average=None, latest=[])
    rows = list(
        session.scalars(
            select(ProductReview)
            .where(_shown(product_id))
            .order_by(col(ProductReview.id).desc())
            .limit(latest)
        )
    )
    return Summary(
        count=int(count or 0),
        average=round(float(average), 1) if count else None,
        latest=_views(session, rows),
    )


def page_of(session: Session, product_id: int, page: int) -> tuple[list[ReviewView], int]:
    """One page of a product's visible reviews, newest first, and how many pages there are."""
    total = session.scalar(select(func.count()).where(_shown(product_id))) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    rows = list(
        session.scalars(
            select(ProductReview)
            .where(_shown(product_id))
            .order_by(col(ProductReview.id).desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
    )
    return _views(session, rows), pages


def one(session: Session, review: ProductReview) -> ReviewView:
    return _views(session, [review])[0]


def queue(session: Session, show: str, page: int) -> tuple[list[ReviewView], int, dict[str, int]]:
    """The console's list: reported (not yet decided), recent, or hidden; with counts."""
    reported = col(ProductReview.report_count) > col(ProductReview.reports_seen)
    conditions = {
        "reported": reported & col(ProductReview.hidden).is_(False),
        "recent": col(ProductReview.hidden).is_(False),
        "hidden": col(ProductReview.hidden).is_(True),
    }
    where = conditions.get(show, conditions["reported"])
    counts = {
        key: int(session.scalar(select(func.count()).where(cond)) or 0)
        for key, cond in conditions.items()
    }
    total = counts.get(show, counts["reported"])
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    order = (
        [col(ProductReview.report_count).desc(), col(ProductReview.id)]
        if show == "reported"
        else [col(ProductReview.id).desc()]
    )
    rows = list(
        session.scalars(
            select(ProductReview)
            .where(where)
            .order_by(*order)
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
    )
    return _views(session, rows), pages, counts


def lot_code(session: Session, batch_id: int | None) -> str | None:
    """The code of the lot packed for a line (None when packing did not say)."""
    if batch_id is None:
        return None
    batch = session.get(Batch, batch_id)
    return batch.lot_code if batch else None
