"""Buyers' refund requests and each cooperative's answer: accept (in full or in part) or refuse.

A request is per cooperative (its fulfilment of the order): a buyer asking about an order with
two cooperatives' goods sends each its own. Accepting creates a refund through the existing
machinery (``service.request_refund``: provider, outbox job, reports); refusing keeps the reason
for the buyer. When no request of the order is left open, the order leaves "退款申请中": back
to where it was, unless the whole order is being refunded (then the refund closes it).
The township admin may answer a request in the cooperative's place (the console's step-in for
late requests): the same functions, recorded as answered by the admin.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import pk, utcnow
from farmgate.errors import Conflict, InvalidTransition, NotFound, PermissionDenied
from farmgate.errors import ValidationFailed as Invalid
from farmgate.models import (
    Account,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderStatus,
    Refund,
    RefundRequest,
    Role,
)
from farmgate.models import RefundRequestStatus as RS
from farmgate.notify import service as notify
from farmgate.orders import state
from farmgate.payments import service

MAX_REASON = 200


def ask(
    session: Session, buyer: Account | None, order: Order, reason: str = ""
) -> list[RefundRequest]:
    """The buyer asks for money back: the order becomes "退款申请中", each cooperative asked."""
    reason = reason.strip()[:MAX_REASON]
    state.transition(
        session, order, OrderStatus.REFUND_REQUESTED, actor=buyer, note=reason or "买家申请退款"
    )
    parts = session.scalars(
        select(Fulfilment).where(
            col(Fulfilment.order_id) == order.id,
            col(Fulfilment.status).not_in([FulfilmentStatus.PENDING, FulfilmentStatus.CANCELLED]),
        )
    )
    made = []
    for part in parts:
        request = RefundRequest(
            order_id=pk(order),
            fulfilment_id=pk(part),
            cooperative_id=part.cooperative_id,
            account_id=buyer.id if buyer else None,
            reason=reason,
        )
        session.add(request)
        made.append(request)
    session.flush()
    return made


def _cooperative(actor: Account) -> int:
    if actor.role != Role.COOPERATIVE or actor.cooperative_id is None:
        raise PermissionDenied("需要合作社账号")
    return actor.cooperative_id


def list_for(session: Session, actor: Account, status: RS | None = None) -> list[RefundRequest]:
    """The cooperative's requests, open ones first, newest first."""
    query = select(RefundRequest).where(col(RefundRequest.cooperative_id) == _cooperative(actor))
    if status is not None:
        query = query.where(col(RefundRequest.status) == status)
    rows = session.scalars(query.order_by(col(RefundRequest.id).desc()).limit(200))
    return sorted(rows, key=lambda r: r.status != RS.OPEN)


def open_count(session: Session, actor: Account) -> int:
    return (
        session.scalar(
            select(func.count(col(RefundRequest.id))).where(
                col(RefundRequest.cooperative_id) == _cooperative(actor),
                col(RefundRequest.status) == RS.OPEN,
            )
        )
        or 0
    )


def get_for(
    session: Session, actor: Account, request_id: int, *, lock: bool = False
) -> RefundRequest:
    """One of the actor's cooperative's requests; another cooperative's is "not found".

    The township admin reaches every cooperative's requests.
    """
    cooperative_id = None if actor.role == Role.ADMIN else _cooperative(actor)
    request = session.get(RefundRequest, request_id, with_for_update=lock)
    if request is None or (cooperative_id is not None and request.cooperative_id != cooperative_id):
        raise NotFound("退款申请不存在")
    return request


def _who(actor: Account) -> str:
    return "乡镇管理员代合作社" if actor.role == Role.ADMIN else "合作社"


def answer_due(request: RefundRequest) -> datetime:
    """When the cooperative's answer is due; after that the request is late."""
    return request.created_at + timedelta(hours=settings.refund_answer_hours)


def is_late(request: RefundRequest, now: datetime | None = None) -> bool:
    return request.status == RS.OPEN and (now or utcnow()) >= answer_due(request)


def list_all(
    session: Session, *, status: RS | None = None, late_only: bool = False, limit: int = 200
) -> list[RefundRequest]:
    """Every cooperative's requests for the township: open ones first, oldest open first."""
    query = select(RefundRequest)
    if status is not None:
        query = query.where(col(RefundRequest.status) == status)
    if late_only:
        cutoff = utcnow() - timedelta(hours=settings.refund_answer_hours)
        query = query.where(
            col(RefundRequest.status) == RS.OPEN, col(RefundRequest.created_at) <= cutoff
        )
    rows = list(session.scalars(query.order_by(col(RefundRequest.id).desc()).limit(limit)))
    return sorted(
        rows, key=lambda r: (r.status != RS.OPEN, r.id if r.status == RS.OPEN else -(r.id or 0))
    )


def refundable_fen(session: Session, request: RefundRequest) -> int:
    """What may still go back for this cooperative's part: its total less its refunds so far,
    and never more than the order's payment has left."""
    part = session.get(Fulfilment, request.fulfilment_id)
    order = session.get(Order, request.order_id)
    assert part is not None and order is not None
    return part_refundable_fen(session, part, order)


def part_refundable_fen(session: Session, part: Fulfilment, order: Order) -> int:
    """What may still go back for one cooperative's part of ``order`` (see refundable_fen)."""
    done = select(col(RefundRequest.refund_id)).where(
        col(RefundRequest.fulfilment_id) == part.id, col(RefundRequest.refund_id).is_not(None)
    )
    refunded_part = session.scalar(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            col(Refund.id).in_(done), col(Refund.status) != "failed"
        )
    )
    refunded_order = session.scalar(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            col(Refund.order_id) == order.id, col(Refund.status) != "failed"
        )
    )
    part_left = part.items_fen + part.shipping_fen - int(refunded_part or 0)
    return max(0, min(part_left, order.total_fen - int(refunded_order or 0)))


def _open(session: Session, actor: Account, request_id: int) -> tuple[RefundRequest, Order]:
    request = get_for(session, actor, request_id, lock=True)
    if request.status != RS.OPEN:
        raise InvalidTransition("这个退款申请已经处理过了", code="already_answered")
    order = session.get(Order, request.order_id, with_for_update=True, populate_existing=True)
    assert order is not None
    return request, order


def _settle_order(session: Session, actor: Account, order: Order, note: str) -> None:
    """With no request left open, the order leaves "退款申请中" unless fully refunded."""
    left_open = session.scalar(
        select(func.count(col(RefundRequest.id))).where(
            col(RefundRequest.order_id) == order.id, col(RefundRequest.status) == RS.OPEN
        )
    )
    if left_open or order.status != OrderStatus.REFUND_REQUESTED:
        return
    refunded = session.scalar(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            col(Refund.order_id) == order.id, col(Refund.status) != "failed"
        )
    )
    if int(refunded or 0) >= order.total_fen:
        return  # the refund's completion closes the order (service.complete_refund)
    back = state.status_before_refund_request(session, order)
    state.transition(session, order, back, actor=actor, note=note)


def accept(session: Session, actor: Account, request_id: int, amount_fen: int | None) -> Refund:
    """Refund ``amount_fen`` (None: everything still refundable for this part)."""
    request, order = _open(session, actor, request_id)
    limit = refundable_fen(session, request)
    # "In full" means what the buyer asked for (an after-sales request names an amount).
    asked = min(request.amount_asked_fen, limit) if request.amount_asked_fen else limit
    amount = asked if amount_fen is None else amount_fen
    if amount <= 0:
        raise Invalid("退款金额必须大于0", fields={"amount": "退款金额必须大于0"})
    if amount > limit:
        raise Invalid(
            "退款金额超过可退金额",
            fields={"amount": f"最多可退 {limit // 100}.{limit % 100:02d} 元"},
        )
    try:
        intent = service.paid_intent(session, order)
    except InvalidTransition as exc:
        raise Conflict("这个订单还没有付款，无需退款") from exc
    refund = service.request_refund(
        session, order, intent, amount, request.reason or f"{_who(actor)}同意退款"
    )
    request.status, request.refund_id = RS.ACCEPTED, refund.id
    request.answered_at, request.answered_by = utcnow(), actor.id
    session.add(request)
    session.flush()
    notify.refund_decided(session, order, request, accepted=True)
    _settle_order(
        session, actor, order, f"{_who(actor)}同意退款 {amount // 100}.{amount % 100:02d} 元"
    )
    return refund


def refuse(session: Session, actor: Account, request_id: int, reason: str) -> RefundRequest:
    """Refuse with a reason the buyer sees."""
    reason = reason.strip()
    if not reason:
        raise Invalid("请填写拒绝的理由", fields={"answer": "请填写拒绝的理由，买家会看到"})
    if len(reason) > MAX_REASON:
        raise Invalid("理由太长", fields={"answer": f"理由不能超过{MAX_REASON}个字"})
    request, order = _open(session, actor, request_id)
    request.status, request.answer = RS.REFUSED, reason
    request.answered_at, request.answered_by = utcnow(), actor.id
    session.add(request)
    session.flush()
    notify.refund_decided(session, order, request, accepted=False)
    _settle_order(session, actor, order, f"{_who(actor)}拒绝退款：{reason}")
    return request
