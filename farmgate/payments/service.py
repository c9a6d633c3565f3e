"""Collecting money for orders: intents, notifications (applied once), reconciliation, refunds."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.errors import Conflict, FarmgateError, InvalidTransition, ValidationFailed
from farmgate.jobs import outbox
from farmgate.models import (
    IntentStatus,
    Order,
    OrderStatus,
    PaymentIntent,
    PaymentNotification,
    Refund,
)
from farmgate.orders import service as orders
from farmgate.orders import state
from farmgate.payments.provider import (
    Channel,
    Notification,
    PaymentError,
    PaymentProvider,
    PaymentUnavailable,
)
from farmgate.payments.wechat_v2 import WeChatPayV2

log = logging.getLogger(__name__)
CHANNEL_CODES = {"native": "N", "jsapi": "J", "mweb": "H"}
NOTIFY_PATH = "/api/v1/payments/wechat/notify"


class PaymentFailed(FarmgateError):
    status = 502
    code = "payment_failed"


def wechat() -> PaymentProvider:
    if not (settings.wechat_appid and settings.wechat_mch_id and settings.wechat_api_key):
        raise PaymentFailed("微信支付尚未配置", code="payment_not_configured", status=503)
    return WeChatPayV2(
        appid=settings.wechat_appid,
        mch_id=settings.wechat_mch_id,
        api_key=settings.wechat_api_key,
        base_url=settings.wechat_api_base,
        timeout=settings.payment_http_timeout,
    )


def create_intent(
    session: Session, order: Order, channel: Channel, *, client_ip: str, openid: str | None = None
) -> PaymentIntent:
    """An intent to pay ``order`` by WeChat Pay; asking again returns the same one."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise InvalidTransition("该订单不是待付款状态")
    if utcnow() >= order.pay_by:
        raise InvalidTransition("订单已超过支付期限")
    if channel not in CHANNEL_CODES:
        raise ValidationFailed("不支持的支付方式", fields={"channel": "可选 native、jsapi、mweb"})
    if channel == "jsapi" and not openid:
        raise ValidationFailed("微信内支付需要 openid", fields={"openid": "必填"})
    # Deterministic: a retry after a timeout reaches the provider with the same key.
    out_trade_no = f"{order.number}{CHANNEL_CODES[channel]}"
    intent = session.scalars(
        select(PaymentIntent).where(PaymentIntent.out_trade_no == out_trade_no)
    ).first()
    if intent is not None and intent.client:
        return intent
    try:
        created = wechat().create_intent(
            out_trade_no=out_trade_no,
            amount_fen=order.total_fen,
            description=f"乡村好物订单 {order.number}",
            channel=channel,
            notify_url=settings.public_base_url.rstrip("/") + NOTIFY_PATH,
            client_ip=client_ip,
            openid=openid,
        )
    except PaymentUnavailable as exc:
        raise PaymentFailed("微信支付暂时无法连接，请稍后重试", status=503) from exc
    except PaymentError as exc:
        raise PaymentFailed(f"微信支付下单失败：{exc}") from exc
    if intent is None:
        intent = PaymentIntent(
            order_id=order.id,  # type: ignore[arg-type]
            provider="wechat_v2",
            channel=channel,
            out_trade_no=out_trade_no,
            amount_fen=order.total_fen,
        )
    intent.provider_ref = created.provider_ref
    intent.client = created.client
    session.add(intent)
    session.flush()
    return intent


def open_intent(session: Session, order: Order) -> PaymentIntent | None:
    """The order's latest intent still waiting for the payer, if any."""
    return session.scalars(
        select(PaymentIntent)
        .where(PaymentIntent.order_id == order.id, PaymentIntent.status == IntentStatus.CREATED)
        .order_by(PaymentIntent.id.desc())  # type: ignore[union-attr]
    ).first()


def receive_notification(
    session: Session, headers: Mapping[str, str], body: bytes
) -> tuple[int, str, bytes]:
    """verify -> store (keyed by transaction id) -> acknowledge; the applying is a job."""
    provider = wechat()
    try:
        note = provider.parse_notification(headers, body)
    except PaymentError as exc:
        log.warning("payment notification refused: %s", exc)
        _, ctype, payload = provider.ack(False, "签名或格式错误")
        return 400, ctype, payload
    if store_notification(session, "wechat_v2", note) is None:
        log.info("duplicate notification %s ignored", note.transaction_id)
    return provider.ack(True)


def store_notification(
    session: Session, provider: str, note: Notification
) -> PaymentNotification | None:
    """Store a verified notification once; None when this transaction id was already stored."""
    seen = session.scalars(
        select(PaymentNotification).where(
            PaymentNotification.provider == provider,
            PaymentNotification.transaction_id == note.transaction_id,
        )
    ).first()
    if seen is not None:
        return None
    row = PaymentNotification(
        provider=provider,
        transaction_id=note.transaction_id,
        out_trade_no=note.out_trade_no,
        amount_fen=note.amount_fen,
        currency=note.currency,
        paid=note.paid,
        payload=note.raw,
    )
    session.add(row)
    session.flush()
    outbox.enqueue(
        session,
        "payments.apply_notification",
        {"notification_id": row.id},
        key=f"payment:{row.transaction_id}",
    )
    return row


def apply_notification(session: Session, notification_id: int) -> str:
    """Apply a stored notification at most once; returns its outcome."""
    note = session.get(PaymentNotification, notification_id, with_for_update=True)
    if note is None or note.outcome != "pending":
        return "skipped"
    intent = session.scalars(
        select(PaymentIntent)
        .where(PaymentIntent.out_trade_no == note.out_trade_no)
        .with_for_update()
    ).first()

    def outcome(value: str, why: str = "") -> str:
        note.outcome, note.note = value, why[:200]
        session.add(note)
        if value == "rejected":
            log.warning("payment notification %s rejected: %s", note.transaction_id, why)
        return value

    if intent is None:
        return outcome("rejected", "unknown out_trade_no")
    if not note.paid:
        return outcome("rejected", "notification does not report success")
    if note.amount_fen != intent.amount_fen or note.currency != intent.currency:
        return outcome(
            "rejected",
            f"amount {note.amount_fen} {note.currency} != {intent.amount_fen} {intent.currency}",
        )
    if intent.status == IntentStatus.PAID:
        return outcome("duplicate", "intent already paid")
    order = session.get(Order, intent.order_id, with_for_update=True)
    assert order is not None
    intent.status, intent.transaction_id, intent.paid_at = (
        IntentStatus.PAID,
        note.transaction_id,
        utcnow(),
    )
    session.add(intent)
    if order.status != OrderStatus.PENDING_PAYMENT:
        # Paid after the order was cancelled (stock released): the money goes back.
        request_refund(session, order, intent, intent.amount_fen, "订单已取消，自动退款")
        return outcome("late", f"order was {order.status}; refund requested")
    orders.mark_paid(session, order, note=f"微信支付 {note.transaction_id}")
    return outcome("applied")


def request_refund(
    session: Session, order: Order, intent: PaymentIntent, amount_fen: int, reason: str
) -> Refund:
    refunded = sum(
        r.amount_fen
        for r in session.scalars(
            select(Refund).where(Refund.intent_id == intent.id, Refund.status != "failed")
        )
    )
    if amount_fen <= 0 or refunded + amount_fen > intent.amount_fen:
        raise Conflict(f"退款金额超过可退金额（还可退 {intent.amount_fen - refunded} 分）")
    count = session.scalars(select(Refund.id).where(Refund.order_id == order.id)).all()
    refund = Refund(
        order_id=order.id,  # type: ignore[arg-type]
        intent_id=intent.id,  # type: ignore[arg-type]
        out_refund_no=f"{order.number}R{len(count) + 1}",
        amount_fen=amount_fen,
        reason=reason[:80],
    )
    session.add(refund)
    session.flush()
    outbox.enqueue(
        session, "payments.refund", {"refund_id": refund.id}, key=f"refund:{refund.out_refund_no}"
    )
    return refund


def paid_intent(session: Session, order: Order) -> PaymentIntent:
    intent = session.scalars(
        select(PaymentIntent).where(
            PaymentIntent.order_id == order.id, PaymentIntent.status == IntentStatus.PAID
        )
    ).first()
    if intent is None:
        raise InvalidTransition("该订单没有已完成的支付")
    return intent


def approve_refund(session: Session, order: Order, amount_fen: int | None, reason: str) -> Refund:
    """The township admin refunds a paid order in full or in part."""
    intent = paid_intent(session, order)
    return request_refund(session, order, intent, amount_fen or intent.amount_fen, reason)


def complete_refund(session: Session, refund: Refund, refund_id: str) -> None:
    refund.status, refund.refund_id, refund.completed_at = "succeeded", refund_id, utcnow()
    session.add(refund)
    order = session.get(Order, refund.order_id, with_for_update=True)
    assert order is not None
    done = sum(
        r.amount_fen
        for r in session.scalars(
            select(Refund).where(Refund.order_id == order.id, Refund.status == "succeeded")
        )
    )
    if done >= order.total_fen and order.status not in state.CLOSED:
        if order.status != OrderStatus.REFUND_REQUESTED:
            state.transition(
                session, order, OrderStatus.REFUND_REQUESTED, actor_name="admin", note=refund.reason
            )
        state.transition(
            session, order, OrderStatus.REFUNDED, actor_name="payment", note=f"退款 {refund_id}"
        )
