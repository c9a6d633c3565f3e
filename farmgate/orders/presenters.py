"""What an order looks like to its buyer, a cooperative or the admin (delivery layers only).

Parcels are read from their table and described with the words on their enums, so building
the view needs nothing from the logistics service.
"""

from __future__ import annotations

from sqlalchemy import select
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


def _courier_name(session: Session, parcel: Parcel) -> str | None:
    if parcel.courier_account_id is None:
        return None
    courier = session.get(Account, parcel.courier_account_id)
    return (courier.display_name or "配送员") if courier else None


def _parcels(session: Session, order: Order) -> list[Parcel]:
    return list(
        session.scalars(
            select(Parcel).where(col(Parcel.order_id) == order.id).order_by(col(Parcel.id))
        )
    )


def _mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def order_view(session: Session, order: Order, *, cooperative_id: int | None = None) -> OrderOut:
    """The order as its buyer (or, with ``cooperative_id``, one cooperative) sees it."""
    fulfilments = list(
        session.scalars(
            select(Fulfilment)
            .where(col(Fulfilment.order_id) == order.id)
            .order_by(col(Fulfilment.id))
        )
    )
    if cooperative_id is not None:
        fulfilments = [f for f in fulfilments if f.cooperative_id == cooperative_id]
    names = dict(
        session.execute(
            select(col(Cooperative.id), col(Cooperative.name)).where(
                col(Cooperative.id).in_([f.cooperative_id for f in fulfilments])
            )
        ).all()
    )
    lines = list(
        session.scalars(
            select(OrderLine).where(col(OrderLine.order_id) == order.id).order_by(col(OrderLine.id))
        )
    )
    events = session.scalars(
        select(OrderEvent).where(col(OrderEvent.order_id) == order.id).order_by(col(OrderEvent.id))
    )
    return OrderOut(
        id=pk(order),
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
        parcels=[
            ParcelOut(
                id=pk(p),
                carrier=p.carrier,
                carrier_label=carrier_label(p.carrier),
                waybill_no=p.waybill_no,
                status=p.status,
                status_label=ParcelStatus.label_of(p.status),
                events=list(reversed(p.events)),  # newest first
                courier_name=_courier_name(session, p),
                needs_check=p.create_state == WaybillCreate.CHECK,
            )
            for p in _parcels(session, order)
            if p.fulfilment_id in {f.id for f in fulfilments}  # a cooperative sees its own
        ],
        fulfilments=[
            FulfilmentOut(
                id=pk(f),
                cooperative_id=f.cooperative_id,
                cooperative_name=names.get(f.cooperative_id, ""),
                status=f.status,
                items_fen=f.items_fen,
                shipping_fen=f.shipping_fen,
                lines=[
                    OrderLineOut.model_validate(x, from_attributes=True)
                    for x in lines
                    if x.fulfilment_id == f.id
                ],
            )
            for f in fulfilments
        ],
        events=[OrderEventOut.model_validate(e, from_attributes=True) for e in events],
    )
