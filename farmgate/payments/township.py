"""The township's money desk: cash at the village station and stepping into refund requests.

Each action goes through the same functions the JSON API and the cooperative desk use
(``service.confirm_cash``, ``service.cash_returned``, ``requests.accept``/``refuse``) and writes
one audit entry in the same transaction. Each is idempotent: asked again, it reports "already
done" (``False``) and changes nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import audit
from farmgate.errors import NotFound
from farmgate.errors import ValidationFailed as Invalid
from farmgate.models import (
    Account,
    IntentStatus,
    Order,
    OrderStatus,
    PaymentIntent,
    Refund,
    RefundRequest,
    RefundStatus,
)
from farmgate.models import RefundRequestStatus as RS
from farmgate.payments import requests, service

MAX_STATION = 30


def _station(station: str) -> str:
    station = station.strip()
    if not station:
        raise Invalid("请填写服务站", fields={"station": "请填写收付现金的村服务站"})
    if len(station) > MAX_STATION:
        raise Invalid("服务站名称太长", fields={"station": f"不能超过{MAX_STATION}个字"})
    return station


def cash_intent(session: Session, order: Order) -> PaymentIntent | None:
    """The order's cash-at-the-station intent, if the buyer chose to pay that way."""
    return session.scalars(
        select(PaymentIntent).where(
            col(PaymentIntent.order_id) == order.id, col(PaymentIntent.provider) == "cash"
        )
    ).first()


def cash_waiting(session: Session, limit: int = 200) -> list[tuple[Order, PaymentIntent]]:
    """Orders waiting for the buyer's cash at the station, oldest first (they expire first)."""
    rows = session.execute(
        select(Order, PaymentIntent)
        .join(PaymentIntent, col(PaymentIntent.order_id) == Order.id)
        .where(
            col(Order.status) == OrderStatus.PENDING_PAYMENT,
            col(PaymentIntent.provider) == "cash",
            col(PaymentIntent.status) == IntentStatus.CREATED,
        )
        .order_by(col(Order.pay_by))
        .limit(limit)
    ).all()
    return [(o, i) for o, i in rows]


def cash_to_return(session: Session, limit: int = 200) -> list[tuple[Refund, Order]]:
    """Cash refunds station staff still have to hand back to the buyer, oldest first."""
    rows = session.execute(
        select(Refund, Order)
        .join(Order, col(Order.id) == Refund.order_id)
        .where(col(Refund.status) == RefundStatus.PENDING_CASH)
        .order_by(col(Refund.id))
        .limit(limit)
    ).all()
    return [(r, o) for r, o in rows]


def receive_cash(
    session: Session, admin: Account, order_id: int, *, receipt_no: str, station: str
) -> bool:
    """Staff at ``station`` received the order's cash against paper receipt ``receipt_no``.

    False when it was already recorded (this receipt, or the order is paid already).
    """
    receipt_no = receipt_no.strip()
    if not receipt_no:
        raise Invalid("请填写收据号", fields={"receipt_no": "请填写纸质收据上的编号"})
    station = _station(station)
    order = session.get(Order, order_id, with_for_update=True)
    if order is None:
        raise NotFound("订单不存在")
    intent = cash_intent(session, order)
    if intent is not None and intent.status == IntentStatus.PAID:
        return False
    before = {"order_status": str(order.status), "intent_status": "created"}
    row = service.confirm_cash(
        session, order, receipt_no=receipt_no, amount_fen=order.total_fen, staff=admin
    )
    if row is None:
        session.refresh(intent)
        if intent is not None and intent.status == IntentStatus.PAID:
            return False
        raise Invalid(
            "这个收据号已经登记在别的订单上",
            fields={"receipt_no": "这个收据号已经用过了，请核对纸质收据上的编号"},
        )
    session.refresh(order)
    audit.record(
        session,
        admin,
        "cash.received",
        "order",
        order.id,
        f"{station} 收到订单 {order.number} 现金 {order.total_fen / 100:.2f} 元，收据 {receipt_no}",
        before=before,
        after={
            "order_status": str(order.status),
            "intent_status": "paid",
            "receipt_no": receipt_no,
            "station": station,
        },
    )
    return True


def return_cash(session: Session, admin: Account, refund_id: int, *, station: str) -> bool:
    """Staff at ``station`` handed a cash refund back; False when already recorded."""
    station = _station(station)
    refund = session.get(Refund, refund_id, with_for_update=True)
    if refund is None:
        raise NotFound("退款记录不存在")
    if refund.status != RefundStatus.PENDING_CASH:
        return False
    service.cash_returned(session, refund, admin)
    audit.record(
        session,
        admin,
        "cash.returned",
        "refund",
        refund.id,
        f"{station} 退还现金 {refund.amount_fen / 100:.2f} 元（{refund.out_refund_no}）",
        before={"status": "pending_cash"},
        after={"status": str(refund.status), "station": station},
    )
    return True


def get_request(session: Session, admin: Account, request_id: int) -> RefundRequest:
    return requests.get_for(session, admin, request_id)


def step_in_accept(
    session: Session, admin: Account, request_id: int, amount_fen: int | None
) -> Refund | None:
    """The township accepts a request in the cooperative's place; None if already answered."""
    if requests.get_for(session, admin, request_id).status != RS.OPEN:
        return None
    refund = requests.accept(session, admin, request_id, amount_fen)
    audit.record(
        session,
        admin,
        "refund_request.accept",
        "refund_request",
        request_id,
        f"乡镇代合作社同意退款 {refund.amount_fen / 100:.2f} 元（{refund.out_refund_no}）",
        before={"status": "open"},
        after={"status": "accepted", "refund_id": refund.id, "amount_fen": refund.amount_fen},
    )
    return refund


def step_in_refuse(
    session: Session, admin: Account, request_id: int, reason: str
) -> RefundRequest | None:
    """The township refuses a request in the cooperative's place; None if already answered."""
    if requests.get_for(session, admin, request_id).status != RS.OPEN:
        return None
    asked = requests.refuse(session, admin, request_id, reason)
    audit.record(
        session,
        admin,
        "refund_request.refuse",
        "refund_request",
        request_id,
        f"乡镇代合作社拒绝退款：{asked.answer}",
        before={"status": "open"},
        after={"status": "refused", "answer": asked.answer},
    )
    return asked


def refunds(session: Session, limit: int = 100) -> list[tuple[Refund, Order]]:
    """The newest refunds with their orders."""
    rows = session.execute(
        select(Refund, Order)
        .join(Order, col(Order.id) == Refund.order_id)
        .order_by(col(Refund.id).desc())
        .limit(limit)
    ).all()
    return [(r, o) for r, o in rows]


def order_money(
    session: Session, order: Order
) -> tuple[list[PaymentIntent], list[Refund], list[RefundRequest]]:
    """An order's intents, refunds and refund requests, oldest first."""
    intents = session.scalars(
        select(PaymentIntent)
        .where(col(PaymentIntent.order_id) == order.id)
        .order_by(col(PaymentIntent.id))
    )
    made = session.scalars(
        select(Refund).where(col(Refund.order_id) == order.id).order_by(col(Refund.id))
    )
    asked = session.scalars(
        select(RefundRequest)
        .where(col(RefundRequest.order_id) == order.id)
        .order_by(col(RefundRequest.id))
    )
    return list(intents), list(made), list(asked)
