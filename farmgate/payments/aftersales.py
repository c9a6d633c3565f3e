"""After-sales (售后): a buyer asks one cooperative for money back on a paid order, saying why,
how much, with photos; a cold-chain excursion of a lot in that part is attached as evidence.

The request is a RefundRequest with its after-sales fields filled, so the cooperative answers it
on its desk's refund list, the township may step in on late ones, and accepting pays through
the existing refund machinery (payments/requests.py, payments/service.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk
from farmgate.errors import InvalidTransition, NotFound, ValidationFailed
from farmgate.media.images import process_upload
from farmgate.media.photos import save_all
from farmgate.media.storage import get_storage
from farmgate.models import (
    AFTER_SALES_REASONS,
    Account,
    Batch,
    ColdShipment,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    RefundRequest,
)
from farmgate.models import RefundRequestStatus as RS
from farmgate.orders import state
from farmgate.payments import requests, service

OS = OrderStatus
MAX_PHOTOS = 3
MAX_NOTE = 200
# Paid and not closed: the states an after-sales request may start from.
ASKABLE = {OS.PAID, OS.FULFILLING, OS.SHIPPED, OS.DELIVERED, OS.REFUND_REQUESTED}
THUMB_WIDTH = 320


def photo_url(key: str, width: int = THUMB_WIDTH) -> str:
    return get_storage().url(f"{key}-{width}.webp")


def open_after_sales(session: Session, order_id: int) -> list[RefundRequest]:
    """The order's requests (after-sales or plain refund) still waiting for an answer.

    While any is open the order's money is in question: settlement holds on it.
    """
    return list(
        session.scalars(
            select(RefundRequest)
            .where(col(RefundRequest.order_id) == order_id, col(RefundRequest.status) == RS.OPEN)
            .order_by(col(RefundRequest.id))
        )
    )


def for_order(session: Session, order_id: int) -> list[tuple[RefundRequest, Refund | None]]:
    """Every request of the order with the refund it led to (if any), oldest first."""
    rows = session.scalars(
        select(RefundRequest)
        .where(col(RefundRequest.order_id) == order_id)
        .order_by(col(RefundRequest.id))
    )
    return [(r, session.get(Refund, r.refund_id) if r.refund_id else None) for r in rows]


def parts(session: Session, order: Order) -> list[Fulfilment]:
    """The order's cooperatives' parts a request may be about (paid, not cancelled)."""
    return list(
        session.scalars(
            select(Fulfilment)
            .where(
                col(Fulfilment.order_id) == order.id,
                col(Fulfilment.status).not_in(
                    [FulfilmentStatus.PENDING, FulfilmentStatus.CANCELLED]
                ),
            )
            .order_by(col(Fulfilment.id))
        )
    )


def can_ask(order: Order) -> bool:
    return OS(order.status) in ASKABLE


def refundable(session: Session, order: Order, part: Fulfilment) -> int:
    return requests.part_refundable_fen(session, part, order)


def cold_evidence(session: Session, part: Fulfilment) -> list[dict[str, Any]]:
    """The cold-chain excursions recorded on the way for the lots packed into ``part``."""
    batch_ids = sorted(
        {
            line.batch_id
            for line in session.scalars(
                select(OrderLine).where(col(OrderLine.fulfilment_id) == part.id)
            )
            if line.batch_id is not None
        }
    )
    evidence: list[dict[str, Any]] = []
    for batch_id in batch_ids:
        batch = session.get(Batch, batch_id)
        if batch is None:
            continue
        shipments = session.scalars(
            select(ColdShipment)
            .where(col(ColdShipment.batch_id) == batch_id, col(ColdShipment.breached))
            .order_by(col(ColdShipment.id))
        ).all()
        for shipment in shipments:
            if shipment.fulfilment_id not in (None, part.id):
                continue  # another buyer's parcel of the same lot
            analysis = shipment.analysis or {}
            evidence.append(
                {
                    "lot": batch.lot_code,
                    "shipment_id": shipment.id,
                    "min_c": analysis.get("min_c"),
                    "max_c": analysis.get("max_c"),
                    "minutes_out": analysis.get("minutes_out"),
                    "excursions": analysis.get("excursions", []),
                }
            )
        if batch.excursion and not any(e["lot"] == batch.lot_code for e in evidence):
            evidence.append({"lot": batch.lot_code, "shipment_id": None, "excursions": []})
    return evidence


def _amount(raw: str, limit: int) -> tuple[int | None, str | None]:
    """Yuan as typed ("12.5") in fen, or the message saying what is wrong."""
    text = raw.strip().replace("¥", "").replace("元", "")
    try:
        whole, _, frac = text.partition(".")
        if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
            raise ValueError
        fen = int(whole) * 100 + int((frac + "00")[:2])
    except ValueError:
        return None, "请填写退款金额，例如 12.50"
    if fen <= 0:
        return None, "退款金额必须大于 0"
    if fen > limit:
        return None, f"最多可退 {limit // 100}.{limit % 100:02d} 元"
    return fen, None


def ask(
    session: Session,
    buyer: Account | None,
    order: Order,
    *,
    fulfilment_id: int,
    kind: str,
    amount: str,
    note: str = "",
    photos: Sequence[tuple[str, bytes]] = (),
) -> RefundRequest:
    """Make an after-sales request; raise ValidationFailed (nothing stored) if anything is wrong.

    ``amount`` is what the buyer typed, in yuan; ``photos`` are ``(filename, bytes)``.
    """
    order = session.get(Order, pk(order), with_for_update=True, populate_existing=True) or order
    if not can_ask(order):
        raise InvalidTransition("这个订单现在不能申请售后", code="not_askable")
    if not fulfilment_id:
        message = "请选择是哪个合作社的商品"
        raise ValidationFailed(message, fields={"part": message})
    part = session.get(Fulfilment, fulfilment_id)
    if part is None or part.order_id != order.id or part not in parts(session, order):
        raise NotFound("订单中没有这个合作社的商品")
    errors: dict[str, str] = {}
    if kind not in AFTER_SALES_REASONS:
        errors["kind"] = "请选择售后原因"
    if any(r.fulfilment_id == part.id for r in open_after_sales(session, pk(order))):
        errors["_"] = "这个合作社的商品已有处理中的售后申请，请等待答复"
    limit = refundable(session, order, part)
    fen, problem = _amount(amount, limit)
    if problem:
        errors["amount"] = problem
    note = note.strip()
    if len(note) > MAX_NOTE:
        errors["note"] = f"说明不能超过{MAX_NOTE}个字"
    files = [(name, data) for name, data in photos if data]
    processed = []
    if len(files) > MAX_PHOTOS:
        errors["photos"] = f"最多上传{MAX_PHOTOS}张照片"
    else:
        for number, (name, data) in enumerate(files, start=1):
            try:
                processed.append(process_upload(data))
            except ValidationFailed as exc:
                label = f"第{number}张（{name}）" if name else f"第{number}张"
                errors["photos"] = f"{label}：{exc.message}"
                break
    if errors:
        raise ValidationFailed(errors.get("_", "申请内容有误，请检查标红的项目"), fields=errors)
    try:
        service.paid_intent(session, order)
    except InvalidTransition as exc:
        raise InvalidTransition("这个订单还没有付款，无需退款") from exc
    label = AFTER_SALES_REASONS[kind]
    if order.status != OS.REFUND_REQUESTED:
        state.transition(
            session, order, OS.REFUND_REQUESTED, actor=buyer, note=f"买家申请售后：{label}"
        )
    stored = [photo.key for photo in save_all(session, f"after-sales/{order.id}", processed)]
    request = RefundRequest(
        order_id=pk(order),
        fulfilment_id=pk(part),
        cooperative_id=part.cooperative_id,
        account_id=buyer.id if buyer else None,
        reason=f"{label}：{note}" if note else label,
        kind=kind,
        amount_asked_fen=fen,
        photos=stored,
        evidence=cold_evidence(session, part),
    )
    session.add(request)
    session.flush()
    return request
