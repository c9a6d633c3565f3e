"""What a notification says: short plain Chinese with the order number and a link to it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.models import (
    Batch,
    Notification,
    NotificationKind,
    Order,
    Recall,
    Refund,
    RefundRequest,
)
from farmgate.tokens import order_link_secret

K = NotificationKind


@dataclass(frozen=True)
class Message:
    headline: str  # the template's "first" line
    news: str  # what happened, after the order number ("已发货")
    remark: str  # what to do next
    url: str

    def sms_params(self, number: str) -> list[str]:
        """The SMS template's {1}, {2}, {3}: the order number, what happened, the link."""
        return [number, self.news, self.url]

    def text(self, number: str) -> str:
        """The whole message as one line (the record shown to the buyer, the logs)."""
        return f"您的订单{number}{self.news}。{self.remark}"


def order_url(order: Order) -> str:
    """The order's page, openable without signing in (a guest's link secret)."""
    base = settings.public_base_url.rstrip("/")
    return f"{base}/orders/{order.number}?t={order_link_secret(order.number)}"


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _short(text: str, limit: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compose(session: Session, note: Notification, order: Order) -> Message:
    """The message for ``note`` about ``order``."""
    url = order_url(order)
    kind = K(note.kind)
    if kind == K.PAID:
        return Message("付款成功", "已付款成功", "合作社正在备货，发货后会再通知您。", url)
    if kind == K.SHIPPED:
        return Message("订单已发货", "已发货", "点开可查看物流进度。", url)
    if kind == K.DELIVERED:
        return Message("订单已送达", "已送达", "收到后请确认收货，有问题可申请售后。", url)
    request = session.get(RefundRequest, int(note.ref)) if note.ref.isdigit() else None
    if kind == K.REFUND_ACCEPTED:
        refund = session.get(Refund, request.refund_id) if request and request.refund_id else None
        amount = f"{_yuan(refund.amount_fen)}元" if refund else "退款"
        return Message("退款申请已同意", f"的退款已同意，{amount}将原路退回", "请留意到账。", url)
    if kind == K.REFUND_REFUSED:
        reason = _short(request.answer) if request and request.answer else "详见订单页"
        return Message(
            "退款申请未通过", f"的退款申请未通过：{reason}", "可在订单页查看或联系合作社。", url
        )
    recall = session.get(Recall, int(note.ref)) if note.ref.isdigit() else None
    batch = session.get(Batch, recall.batch_id) if recall else None
    lot = f"（批次{batch.lot_code}）" if batch else ""
    return Message(
        "重要：产品召回",
        f"中的产品{lot}正在召回",
        "请立即停止食用，退款或换货请联系合作社。",
        url,
    )
