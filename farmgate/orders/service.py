"""Orders after checkout: who may see them, cancelling, paying, fulfilling."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from farmgate import tokens
from farmgate.db import pk, run, table_of, utcnow
from farmgate.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from farmgate.models import (
    Account,
    Batch,
    BatchStatus,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    Role,
)
from farmgate.orders import parcels, state
from farmgate.orders.checkout import release
from farmgate.trace import chain

OS = OrderStatus
FS = FulfilmentStatus


# The order locked and read afresh, whatever the session holds: built once (``Session.get``
# with a lock builds its query on every call).
_LOCKED = (
    select(Order)
    .where(col(Order.id) == bindparam("locked_order"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def _lock(session: Session, order_id: int) -> Order | None:
    return session.scalars(_LOCKED, {"locked_order": order_id}).first()


def get_for(session: Session, actor: Account, order_id: int, *, lock: bool = False) -> Order:
    """An order its buyer or the township admin may see; anyone else gets "not found"."""
    order = _lock(session, order_id) if lock else session.get(Order, order_id)
    if order is None or not may_see(actor, order.account_id):
        raise NotFound("订单不存在")
    return order


def may_see(actor: Account, buyer_id: int | None) -> bool:
    """Whether ``actor`` may see an order its buyer ``buyer_id`` placed (``get_for``'s rule)."""
    return actor.role == Role.ADMIN or buyer_id == actor.id


def find_for_guest(session: Session, number: str, phone: str) -> Order:
    """A guest finds an order by its number and the phone number given at checkout."""
    order = session.scalars(select(Order).where(col(Order.number) == number.strip())).first()
    if order is None or order.phone != phone:
        raise NotFound("未找到该订单，请核对订单号和手机号")
    return order


def list_for(
    session: Session, actor: Account, status: OrderStatus | None = None, limit: int = 100
) -> list[Order]:
    query = select(Order).order_by(col(Order.id).desc()).limit(limit)
    if actor.role != Role.ADMIN:
        query = query.where(col(Order.account_id) == actor.id)
    if status is not None:
        query = query.where(col(Order.status) == status)
    return list(session.scalars(query))


def cancel(session: Session, order: Order, actor: Account | None, note: str = "") -> Order:
    """Cancel an unpaid order and give its stock back."""
    order = _lock(session, pk(order)) or order
    if order.status != OS.PENDING_PAYMENT:
        raise InvalidTransition("只有待付款的订单可以取消；已付款的订单请申请退款")
    state.transition(
        session, order, OS.CANCELLED, actor=actor, actor_name=None if actor else "system", note=note
    )
    release(session, order)
    for fulfilment in session.scalars(
        select(Fulfilment).where(col(Fulfilment.order_id) == order.id)
    ):
        fulfilment.status = FS.CANCELLED
        session.add(fulfilment)
    return order


def mark_paid(
    session: Session, order: Order, *, note: str = "", presale: bool | None = None
) -> Order:
    """The payment arrived: the order is paid and each cooperative may pack.

    ``presale``: whether the order has pre-sale parts, when the caller read it already."""
    state.transition(session, order, OS.PAID, actor_name="payment", note=note)
    if presale is not False and _presale_waits(session, order):
        return order  # packed once the harvest is in and any balance paid (farmgate/presale)
    # One UPDATE (Core, built once), no rows read; fulfilments loaded in this session see the
    # new status too.
    order_id = pk(order)
    run(session, _TO_PACK, {"paid_order": order_id})
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Fulfilment) and obj.order_id == order_id:
            set_committed_value(obj, "status", FS.TO_PACK)
    parcels.desk().open_parcels(session, order)
    return order


_TO_PACK = (
    update(table_of(Fulfilment))
    .where(table_of(Fulfilment).c.order_id == bindparam("paid_order"))
    .values(status=FS.TO_PACK.value)
)


def _presale_waits(session: Session, order: Order) -> bool:
    """A pre-sale order is not packed at payment: record when its deposit came, and wait."""
    from farmgate.models import PresaleOrder

    parts = list(
        session.scalars(select(PresaleOrder).where(col(PresaleOrder.order_id) == order.id))
    )
    for part in parts:
        part.deposit_paid_at = order.paid_at
        session.add(part)
    return bool(parts)


# --- cooperatives -----------------------------------------------------------------------


def fulfilments_for(
    session: Session, staff: Account, status: FulfilmentStatus | None = None
) -> list[Fulfilment]:
    if staff.role != Role.COOPERATIVE or staff.cooperative_id is None:
        raise PermissionDenied("需要合作社账号")
    query = (
        select(Fulfilment)
        .where(
            col(Fulfilment.cooperative_id) == staff.cooperative_id,
            col(Fulfilment.status) != FS.PENDING,
        )
        .order_by(col(Fulfilment.id).desc())
    )
    if status is not None:
        query = query.where(col(Fulfilment.status) == status)
    return list(session.scalars(query))


def orders_of(session: Session, fulfilments: list[Fulfilment]) -> list[Order]:
    ids = sorted({f.order_id for f in fulfilments}, reverse=True)
    return (
        list(
            session.scalars(
                select(Order).where(col(Order.id).in_(ids)).order_by(col(Order.id).desc())
            )
        )
        if ids
        else []
    )


def get_order(session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound("订单不存在")
    return order


def mark_packed(
    session: Session, staff: Account, fulfilment_id: int, lots: Mapping[int, int] | None = None
) -> Fulfilment:
    """Packed, optionally saying which lot went into each line (``{order_line_id: batch_id}``):
    then a recall finds exactly these orders, and the lot's story shows the parcel's way."""
    fulfilment = session.get(Fulfilment, fulfilment_id, with_for_update=True)
    if (
        fulfilment is None
        or staff.role != Role.COOPERATIVE
        or fulfilment.cooperative_id != staff.cooperative_id
    ):
        raise NotFound("发货单不存在")
    if fulfilment.status != FS.TO_PACK:
        raise InvalidTransition("只有待打包的发货单可以标记为已打包")
    order = _lock(session, fulfilment.order_id)
    assert order is not None
    fulfilment.status = FS.PACKED
    fulfilment.packed_at = utcnow()
    session.add(fulfilment)
    _assign_lots(session, staff, fulfilment, lots or {})
    if order.status == OS.PAID:
        state.transition(
            session, order, OS.FULFILLING, actor=staff, note=f"发货单 {fulfilment.id} 已打包"
        )
    return fulfilment


def _assign_lots(
    session: Session, staff: Account, fulfilment: Fulfilment, lots: Mapping[int, int]
) -> None:
    lines = {
        line.id: line
        for line in session.scalars(
            select(OrderLine).where(col(OrderLine.fulfilment_id) == fulfilment.id)
        )
    }
    errors: dict[str, str] = {}
    for line_id, batch_id in lots.items():
        line = lines.get(line_id)
        batch = session.get(Batch, batch_id)
        if line is None:
            errors[f"lots.{line_id}"] = "该发货单没有这一行"
        elif batch is None or batch.cooperative_id != fulfilment.cooperative_id:
            errors[f"lots.{line_id}"] = "批次不存在"
        elif batch.product_id != line.product_id:
            errors[f"lots.{line_id}"] = "批次与商品不符"
        elif batch.status == BatchStatus.RECALLED:
            errors[f"lots.{line_id}"] = "该批次已召回，不能发货"
        else:
            line.batch_id = batch.id
            session.add(line)
    if errors:
        raise ValidationFailed("批次信息有误", fields=errors)
    for batch_id in sorted(set(lots.values())):
        batch = session.get(Batch, batch_id)
        assert batch is not None
        packed = [line for line in lines.values() if line.batch_id == batch_id]
        chain.append(
            session,
            batch,
            "packing",
            {
                "note": "订单发货打包",
                "quantity": str(sum(line.quantity for line in packed)),
                "unit": "件",  # SKUs packed (each of its own spec), not the lot's unit
            },
            actor_id=staff.id,
        )


def access_token(order: Order) -> str:
    """A link secret for a guest's order page (the confirmation page links to it)."""
    return tokens.order_link_secret(order.number)


def get_by_number(session: Session, number: str, actor: Account | None, token: str | None) -> Order:
    """An order page: its buyer, the admin, or anyone holding the order's link secret."""
    order = session.scalars(select(Order).where(col(Order.number) == number)).first()
    allowed = order is not None and (
        (actor is not None and (actor.role == Role.ADMIN or order.account_id == actor.id))
        or (token is not None and hmac.compare_digest(token, access_token(order)))
    )
    if not allowed:
        raise NotFound("订单不存在")
    return order  # type: ignore[return-value]
