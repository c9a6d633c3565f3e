"""What a cooperative's desk lists: its orders by packing state, cash orders waiting at the
village station, one fulfilment (another cooperative's is "not found"), the day's parcels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.errors import NotFound, PermissionDenied
from farmgate.models import (
    Account,
    Fulfilment,
    FulfilmentStatus,
    IntentStatus,
    Order,
    OrderStatus,
    PaymentIntent,
    Role,
)
from farmgate.orders import presenters, service
from farmgate.orders.schemas import OrderOut
from farmgate.timeutil import LOCAL_TZ

FS = FulfilmentStatus
TABS = {
    "to_pack": ("待打包", [FS.TO_PACK]),
    "packed": ("已打包", [FS.PACKED]),
    "shipped": ("已发货", [FS.SHIPPED]),
    "delivered": ("已送达", [FS.DELIVERED]),
}
PAGE = 50


@dataclass
class DeskOrder:
    order: OrderOut
    fulfilment_id: int
    fulfilment_status: str
    payment: str  # how it is (to be) paid, said for the desk: "到站付现金：已付" and so on


def _cooperative(actor: Account) -> int:
    if actor.role != Role.COOPERATIVE or actor.cooperative_id is None:
        raise PermissionDenied("需要合作社账号")
    return actor.cooperative_id


def _payment(session: Session, order: Order) -> str:
    intents = list(
        session.scalars(select(PaymentIntent).where(col(PaymentIntent.order_id) == order.id))
    )
    cash = next((i for i in intents if i.provider == "cash"), None)
    if cash is not None:
        paid = cash.status == IntentStatus.PAID
        return "到村服务站付现金：" + ("已付款" if paid else "等待买家到站付款")
    return "微信支付" if any(i.status == IntentStatus.PAID for i in intents) else "未付款"


def _rows(session: Session, cooperative_id: int, parts: list[Fulfilment]) -> list[DeskOrder]:
    orders = {o.id: o for o in service.orders_of(session, parts)}
    return [
        DeskOrder(
            presenters.order_view(session, orders[p.order_id], cooperative_id=cooperative_id),
            p.id,  # type: ignore[arg-type]
            p.status,
            _payment(session, orders[p.order_id]),
        )
        for p in parts
    ]


def tab(session: Session, actor: Account, key: str) -> list[DeskOrder]:
    """The cooperative's orders in one tab, the oldest to pack first, else the newest first."""
    cooperative_id = _cooperative(actor)
    statuses = TABS[key][1]
    order_by = col(Fulfilment.id) if key == "to_pack" else col(Fulfilment.id).desc()
    parts = list(
        session.scalars(
            select(Fulfilment)
            .where(
                col(Fulfilment.cooperative_id) == cooperative_id,
                col(Fulfilment.status).in_(statuses),
            )
            .order_by(order_by)
            .limit(PAGE)
        )
    )
    return _rows(session, cooperative_id, parts)


def counts(session: Session, actor: Account) -> dict[str, int]:
    cooperative_id = _cooperative(actor)
    statuses = session.scalars(
        select(col(Fulfilment.status)).where(col(Fulfilment.cooperative_id) == cooperative_id)
    ).all()
    return {key: sum(1 for s in statuses if s in wanted) for key, (_, wanted) in TABS.items()}


def cash_waiting(session: Session, actor: Account) -> list[DeskOrder]:
    """Orders the buyer will pay in cash at the village station, not paid yet."""
    cooperative_id = _cooperative(actor)
    parts = list(
        session.scalars(
            select(Fulfilment)
            .join(Order, col(Order.id) == Fulfilment.order_id)
            .join(PaymentIntent, col(PaymentIntent.order_id) == Order.id)
            .where(
                col(Fulfilment.cooperative_id) == cooperative_id,
                col(Fulfilment.status) == FS.PENDING,
                col(Order.status) == OrderStatus.PENDING_PAYMENT,
                col(PaymentIntent.provider) == "cash",
                col(PaymentIntent.status) == IntentStatus.CREATED,
            )
            .order_by(col(Fulfilment.id).desc())
            .limit(PAGE)
        )
    )
    return _rows(session, cooperative_id, parts)


def fulfilment(session: Session, actor: Account, fulfilment_id: int) -> DeskOrder:
    """One of the cooperative's own fulfilments with its order; anyone else's is not found."""
    cooperative_id = _cooperative(actor)
    part = session.get(Fulfilment, fulfilment_id)
    if part is None or part.cooperative_id != cooperative_id or part.status == FS.PENDING:
        raise NotFound("订单不存在")
    return _rows(session, cooperative_id, [part])[0]


def day_parcels(session: Session, actor: Account, day: date) -> list[DeskOrder]:
    """The cooperative's parts packed on ``day`` (local time): the list handed to the courier."""
    cooperative_id = _cooperative(actor)
    start = datetime.combine(day, time(0), LOCAL_TZ)
    parts = list(
        session.scalars(
            select(Fulfilment)
            .where(
                col(Fulfilment.cooperative_id) == cooperative_id,
                col(Fulfilment.packed_at) >= start,
                col(Fulfilment.packed_at) < start + timedelta(days=1),
            )
            .order_by(col(Fulfilment.packed_at))
            .limit(500)
        )
    )
    return _rows(session, cooperative_id, parts)
