"""Writing, reporting and moderating reviews.

A buyer reviews an order line of their own order once it is completed (receipt confirmed),
once per line. A review is final once posted: there is no editing, so what other buyers
read, report and the township moderates is what was first written. The township hides a
review (it leaves the product page and its average) or shows it again, always with a note in
the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import audit
from farmgate.db import pk, utcnow
from farmgate.errors import Conflict, FarmgateError, NotFound, ValidationFailed
from farmgate.media.images import ProcessedImage, process_upload
from farmgate.media.photos import delete_stored, save_all
from farmgate.models import (
    Account,
    Order,
    OrderLine,
    OrderStatus,
    ProductReview,
    ReportReason,
    ReviewReport,
)

MAX_PHOTOS = 3
MAX_BODY = 500
MAX_NOTE = 200
NOT_RECEIVED = "确认收货后才能评价这件商品"
ALREADY_REVIEWED = "这件商品已经评价过了，每件商品只能评价一次"


@dataclass(frozen=True)
class LineToReview:
    order: Order
    line: OrderLine
    received: bool  # the order is completed: receipt confirmed
    review: ProductReview | None  # the buyer's review of it, once written


def line_to_review(
    session: Session, buyer: Account, number: str, line_id: int, *, lock: bool = False
) -> LineToReview:
    """A line of the buyer's own order; anyone else's (or a line not in it) is not found."""
    order = session.scalars(select(Order).where(col(Order.number) == number)).first()
    if order is None or order.account_id is None or order.account_id != buyer.id:
        raise NotFound("订单不存在")
    line = session.get(OrderLine, line_id, with_for_update=lock)
    if line is None or line.order_id != order.id:
        raise NotFound("订单里没有这件商品")
    review = session.scalars(
        select(ProductReview).where(col(ProductReview.order_line_id) == line.id)
    ).first()
    return LineToReview(order, line, order.status == OrderStatus.COMPLETED, review)


def read_stars(text: str) -> int | None:
    value = (text or "").strip()
    return int(value) if value.isdigit() and 1 <= int(value) <= 5 else None


def write_review(
    session: Session,
    buyer: Account,
    number: str,
    line_id: int,
    *,
    stars: str,
    body: str,
    files: Sequence[tuple[str, bytes]] = (),
) -> ProductReview:
    """Check everything first (stars, text, every photo), then store the photos and the
    review; any refusal leaves nothing behind. Raises ValidationFailed (with ``fields``),
    Conflict (not received yet, reviewed already) or NotFound (not the buyer's)."""
    target = line_to_review(session, buyer, number, line_id, lock=True)
    if not target.received:
        raise Conflict(NOT_RECEIVED, code="not_received")
    if target.review is not None:
        raise Conflict(ALREADY_REVIEWED, code="already_reviewed")
    errors: dict[str, str] = {}
    chosen = read_stars(stars)
    if chosen is None:
        errors["stars"] = "请选择 1 到 5 颗星"
    text = (body or "").strip()
    if len(text) > MAX_BODY:
        errors["body"] = f"评价内容不能超过{MAX_BODY}个字，现在是{len(text)}个字"
    processed: list[ProcessedImage] = []
    if len(files) > MAX_PHOTOS:
        errors["photos"] = f"最多上传{MAX_PHOTOS}张照片，这次选了{len(files)}张"
    else:
        for number_, (name, data) in enumerate(files, start=1):
            try:
                processed.append(process_upload(data))
            except ValidationFailed as exc:
                label = f"第{number_}张（{name}）" if name else f"第{number_}张"
                errors["photos"] = f"{label}：{exc.message}"
                break
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    assert chosen is not None
    stored = save_all(session, f"reviews/{target.line.product_id}", processed)
    review = ProductReview(
        order_line_id=pk(target.line),
        order_id=pk(target.order),
        product_id=target.line.product_id,
        account_id=pk(buyer),
        batch_id=target.line.batch_id,
        stars=chosen,
        body=text,
        sku_spec=target.line.sku_spec,
        photos=[
            {"key": s.key, "width": s.width, "height": s.height, "widths": list(s.widths)}
            for s in stored
        ],
    )
    try:
        with session.begin_nested():
            session.add(review)
    except IntegrityError:
        # The same line reviewed at the same moment from another tab: the first one stands.
        for s in stored:
            delete_stored(s.key, s.widths)
        raise Conflict(ALREADY_REVIEWED, code="already_reviewed") from None
    return review


def _visible(session: Session, review_id: int) -> ProductReview:
    review = session.get(ProductReview, review_id)
    if review is None or review.hidden:
        raise NotFound("评价不存在或已被隐藏")
    return review


def reportable(session: Session, review_id: int) -> ProductReview:
    """A review anyone may report: one shown on the product page."""
    return _visible(session, review_id)


def report(
    session: Session, reporter: Account, review_id: int, reason: str, note: str = ""
) -> ReviewReport:
    """One report per user per review, with a reason from ReportReason (and a note for
    "other"). The review's count goes up, which puts it in the township's queue."""
    review = _visible(session, review_id)
    if review.account_id == reporter.id:
        raise Conflict("不能举报自己写的评价", code="own_review")
    errors: dict[str, str] = {}
    if reason not in ReportReason.labels():
        errors["reason"] = "请选择举报原因"
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        errors["note"] = f"补充说明不能超过{MAX_NOTE}个字"
    elif reason == ReportReason.OTHER and not text:
        errors["note"] = "选择「其他」时，请写一下是什么问题"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    taken = session.scalars(
        select(ReviewReport).where(
            col(ReviewReport.review_id) == review.id, col(ReviewReport.account_id) == reporter.id
        )
    ).first()
    if taken is not None:
        raise Conflict("你已经举报过这条评价，管理员会尽快处理", code="already_reported")
    row = ReviewReport(review_id=pk(review), account_id=pk(reporter), reason=reason, note=text)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict("你已经举报过这条评价，管理员会尽快处理", code="already_reported") from None
    session.refresh(review, with_for_update=True)
    review.report_count += 1
    session.add(review)
    session.flush()
    return row


# --- township moderation ----------------------------------------------------------------

ACTIONS = {
    "hide": "隐藏评价",
    "unhide": "恢复显示评价",
    "keep": "保留评价（举报不成立）",
}


def moderate(session: Session, admin: Account, review_id: int, action: str, note: str) -> bool:
    """Hide, show again, or keep a reported review, with a note in the audit log. False when
    the review is already in that state (a form sent twice acts once)."""
    if action not in ACTIONS:
        raise NotFound("页面不存在")
    review = session.get(ProductReview, review_id, with_for_update=True)
    if review is None:
        raise NotFound("评价不存在")
    text = (note or "").strip()
    if not text:
        raise ValidationFailed("请写明原因，它会记入操作记录", fields={"note": "请写明原因"})
    if len(text) > MAX_NOTE:
        message = f"原因不能超过{MAX_NOTE}个字"
        raise ValidationFailed(message, fields={"note": message})
    before = _state(review)
    if action == "hide":
        if review.hidden:
            return False
        review.hidden, review.hidden_at, review.hidden_note = True, utcnow(), text
    elif action == "unhide":
        if not review.hidden:
            return False
        review.hidden, review.hidden_at, review.hidden_note = False, None, ""
    elif review.hidden or review.reports_seen >= review.report_count:
        return False
    review.reports_seen = review.report_count
    session.add(review)
    audit.record(
        session,
        admin,
        f"review.{action}",
        "review",
        review.id,
        f"{ACTIONS[action]} #{review.id}（{review.stars}星）：{text}",
        before=before,
        after={**_state(review), "note": text},
    )
    return True


def _state(review: ProductReview) -> dict[str, object]:
    return {
        "hidden": review.hidden,
        "report_count": review.report_count,
        "reports_seen": review.reports_seen,
    }


def error_fields(exc: FarmgateError, fallback: str) -> dict[str, str]:
    """A refusal as the form's errors: its field messages, or one line under ``fallback``."""
    return dict(exc.fields) if exc.fields else {fallback: exc.message}
