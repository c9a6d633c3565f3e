"""What an order looks like to its buyer, a cooperative or the admin (delivery layers only).

Parcels are read from their table and described with the words on their enums, so building
the view needs nothing from the logistics service.
"""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk
from farmgate.models import (
    Account,
    Cooperative,
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Parcel,
    ParcelStatus,
    WaybillCreate,
    carrier_label,
)
from farmgate.orders.schemas import (
    FulfilmentOut,
    OrderEventOut,
    OrderLineOut,
    OrderOut,
    ParcelOut,
)


def _mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


# What a fulfilment and each of its lines show: read as plain rows in one statement (an order
# is read on every poll of its page; ORM objects and a statement per table cost more).
_FULFILMENT_COLUMNS = (
    col(Fulfilment.id),
    col(Fulfilment.cooperative_id),
    col(Fulfilment.status),
    col(Fulfilment.items_fen),
    col(Fulfilment.shipping_fen),
)
_LINE_FIELDS = tuple(OrderLineOut.model_fields)
_LINE_COLUMNS = tuple(getattr(OrderLine, name) for name in _LINE_FIELDS)
_EVENT_COLUMNS = tuple(getattr(OrderEvent, name) for name in OrderEventOut.model_fields)


def _fulfilments(
    session: Session, order_id: int, cooperative_id: int | None
) -> list[FulfilmentOut]:
    """The order's fulfilments (one cooperative's, when given), each with its lines."""
    query = (
        select(*_FULFILMENT_COLUMNS, col(Cooperative.name), *_LINE_COLUMNS)
        .outerjoin(Cooperative, col(Cooperative.id) == Fulfilment.cooperative_id)
        .outerjoin(
            OrderLine,
            and_(
                col(OrderLine.fulfilment_id) == Fulfilment.id,
                col(OrderLine.order_id) == order_id,
            ),
        )
        .where(col(Fulfilment.order_id) == order_id)
        .order_by(col(Fulfilment.id), col(OrderLine.id))
    )
    if cooperative_id is not None:
        query = query.where(col(Fulfilment.cooperative_id) == cooperative_id)
    found: dict[int, FulfilmentOut] = {}
    for row in session.execute(query):
        fid, coop_id, status, items_fen, shipping_fen, name, *line = row
        out = found.get(fid)
        if out is None:
            out = found[fid] = FulfilmentOut(
                id=fid,
                cooperative_id=coop_id,
                cooperative_name="" if name is None else name,
                status=status,
                items_fen=items_fen,
                shipping_fen=shipping_fen,
                lines=[],
            )
        if line[0] is not None:  # the outer join's row for a fulfilment without lines
            out.lines.append(
                OrderLineOut.model_validate(dict(zip(_LINE_FIELDS, line, strict=True)))
            )
    return list(found.values())


def _parcels(session: Session, order_id: int, fulfilment_ids: set[int]) -> list[ParcelOut]:
    """The parcels of these fulfilments, each with its township courier's name."""
    query = (
        select(
            col(Parcel.id),
            col(Parcel.fulfilment_id),
            col(Parcel.carrier),
            col(Parcel.waybill_no),
            col(Parcel.status),
            col(Parcel.events),
            col(Parcel.create_state),
            col(Account.id),
            col(Account.display_name),
        )
        .outerjoin(Account, col(Account.id) == Parcel.courier_account_id)
        .where(col(Parcel.order_id) == order_id)
        .order_by(col(Parcel.id))
    )
    return [
        ParcelOut(
            id=pid,
            carrier=carrier,
            carrier_label=carrier_label(carrier),
            waybill_no=waybill_no,
            status=status,
            status_label=ParcelStatus.label_of(status),
            events=list(reversed(events)),  # newest first
            courier_name=None if courier_id is None else (courier_name or "配送员"),
            needs_check=create_state == WaybillCreate.CHECK,
        )
        for (
            pid,
            fulfilment_id,
            carrier,
            waybill_no,
            status,
            events,
            create_state,
            courier_id,
            courier_name,
        ) in session.execute(query)
        if fulfilment_id in fulfilment_ids  # a cooperative sees its own
    ]


def order_view(session: Session, order: Order, *, cooperative_id: int | None = None) -> OrderOut:
    """The order as its buyer (or, with ``cooperative_id``, one cooperative) sees it."""
    order_id = pk(order)
    fulfilments = _fulfilments(session, order_id, cooperative_id)
    parcels = _parcels(session, order_id, {f.id for f in fulfilments})
    events = session.execute(
        select(*_EVENT_COLUMNS)
        .where(col(OrderEvent.order_id) == order_id)
        .order_by(col(OrderEvent.id))
    )
    return OrderOut(
        id=order_id,
        number=order.number,
        status=order.status,
        status_label=OrderStatus(order.status).label,
        recipient=order.recipient,
        phone_masked=_mask(order.phone),
        delivery_phone=order.phone if cooperative_id is not None else None,
        address=" ".join(
            p
            for p in (
                order.province,
                order.city,
                order.county,
                order.township,
                order.village,
                order.address_detail,
            )
            if p
        ),
        delivery_method=order.delivery_method,
        items_fen=order.items_fen,
        shipping_fen=order.shipping_fen,
        total_fen=order.total_fen,
        created_at=order.created_at,
        pay_by=order.pay_by,
        paid_at=order.paid_at,
        parcels=parcels,
        fulfilments=fulfilments,
        events=[OrderEventOut.model_validate(e, from_attributes=True) for e in events],
    )
