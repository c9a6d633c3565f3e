"""What an order looks like to its buyer, a cooperative or the admin (delivery layers only).

Parcels are read from their table and described with the words on their enums, so building
the view needs nothing from the logistics service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, select
from sqlalchemy.orm import Session

from farmgate.db import new_row, pk, run, table_of
from farmgate.errors import NotFound
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
from farmgate.orders import service
from farmgate.orders.schemas import (
    FulfilmentOut,
    OrderEventOut,
    OrderLineOut,
    OrderOut,
    ParcelOut,
)


def _mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


# An order is read on every poll of its page: its parts are read as plain rows by statements
# built once (Core, so no ORM objects and no per-call statement building or cache keys).
_F = table_of(Fulfilment)
_C = table_of(Cooperative)
_L = table_of(OrderLine)
_P = table_of(Parcel)
_A = table_of(Account)
_E = table_of(OrderEvent)
_LINE_FIELDS = tuple(OrderLineOut.model_fields)
_ORDER_ID: BindParameter[int] = bindparam("order_id")
_FULFILMENT_COLUMNS = (
    _F.c.id,
    _F.c.cooperative_id,
    _F.c.status,
    _F.c.items_fen,
    _F.c.shipping_fen,
    _C.c.name,
    *(_L.c[name] for name in _LINE_FIELDS),
)
_FULFILMENTS = (
    select(*_FULFILMENT_COLUMNS)
    .select_from(_F)
    .outerjoin(_C, _C.c.id == _F.c.cooperative_id)
    .outerjoin(_L, and_(_L.c.fulfilment_id == _F.c.id, _L.c.order_id == _ORDER_ID))
    .where(_F.c.order_id == _ORDER_ID)
    .order_by(_F.c.id, _L.c.id)
)
_COOPERATIVE_FULFILMENTS = _FULFILMENTS.where(_F.c.cooperative_id == bindparam("cooperative_id"))
_PARCEL_COLUMNS = (
    _P.c.id,
    _P.c.fulfilment_id,
    _P.c.carrier,
    _P.c.waybill_no,
    _P.c.status,
    _P.c.events,
    _P.c.create_state,
    _A.c.id,
    _A.c.display_name,
)
_PARCELS = (
    select(*_PARCEL_COLUMNS)
    .select_from(_P)
    .outerjoin(_A, _A.c.id == _P.c.courier_account_id)
    .where(_P.c.order_id == _ORDER_ID)
    .order_by(_P.c.id)
)
# The order's row, read with its fulfilments, their lines and their parcels (a fulfilment has
# one at most: its lines' rows are not multiplied) for visible_order_view.
_O = table_of(Order)
_ORDER_KEYS = tuple(column.key for column in _O.c)
_BUYER = _ORDER_KEYS.index("account_id")
_ORDER_WITH_PARTS = (
    select(*_O.c, *_FULFILMENT_COLUMNS, *_PARCEL_COLUMNS)
    .select_from(_O)
    .outerjoin(_F, _F.c.order_id == _O.c.id)
    .outerjoin(_C, _C.c.id == _F.c.cooperative_id)
    .outerjoin(_L, and_(_L.c.fulfilment_id == _F.c.id, _L.c.order_id == _O.c.id))
    .outerjoin(_P, and_(_P.c.fulfilment_id == _F.c.id, _P.c.order_id == _O.c.id))
    .outerjoin(_A, _A.c.id == _P.c.courier_account_id)
    .where(_O.c.id == _ORDER_ID)
    .order_by(_F.c.id, _L.c.id)
)
_EVENTS = (
    select(*(_E.c[name] for name in OrderEventOut.model_fields))
    .where(_E.c.order_id == _ORDER_ID)
    .order_by(_E.c.id)
)


def _fulfilments(
    session: Session, order_id: int, cooperative_id: int | None
) -> list[FulfilmentOut]:
    """The order's fulfilments (one cooperative's, when given), each with its lines."""
    if cooperative_id is None:
        rows = session.execute(_FULFILMENTS, {"order_id": order_id})
    else:
        rows = session.execute(
            _COOPERATIVE_FULFILMENTS, {"order_id": order_id, "cooperative_id": cooperative_id}
        )
    return _grouped(rows)


def _grouped(rows: Iterable[Sequence[Any]]) -> list[FulfilmentOut]:
    """Fulfilments with their lines, from rows of ``_FULFILMENT_COLUMNS`` in their order."""
    found: dict[int, FulfilmentOut] = {}
    for fid, coop_id, status, items_fen, shipping_fen, name, *line in rows:
        if fid is None:  # the outer join's row for an order without fulfilments
            continue
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
    return [
        _parcel_out(*row)
        for row in session.execute(_PARCELS, {"order_id": order_id})
        if row[1] in fulfilment_ids  # a cooperative sees its own
    ]


def _parcel_out(
    pid: int,
    _fulfilment_id: int,
    carrier: str,
    waybill_no: str | None,
    status: str,
    events: list[dict[str, Any]],
    create_state: str,
    courier_id: int | None,
    courier_name: str | None,
) -> ParcelOut:
    """A parcel from a row of ``_PARCEL_COLUMNS``."""
    return ParcelOut(
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


def order_view(session: Session, order: Order, *, cooperative_id: int | None = None) -> OrderOut:
    """The order as its buyer (or, with ``cooperative_id``, one cooperative) sees it."""
    order_id = pk(order)
    # Plain statements do not flush the session as ORM queries do: what the caller changed
    # must be in the rows read.
    session.flush()
    fulfilments = _fulfilments(session, order_id, cooperative_id)
    return _with_parcels_and_events(session, order, fulfilments, cooperative_id)


def _with_parcels_and_events(
    session: Session,
    order: Order,
    fulfilments: list[FulfilmentOut],
    cooperative_id: int | None,
    parcels: list[ParcelOut] | None = None,
) -> OrderOut:
    """``parcels``: when read already (None: read here)."""
    order_id = pk(order)
    if parcels is None:
        parcels = _parcels(session, order_id, {f.id for f in fulfilments})
    events = [
        OrderEventOut.model_validate(e, from_attributes=True)
        for e in run(session, _EVENTS, {"order_id": order_id})
    ]
    return _order_out(order, fulfilments, parcels, events, cooperative_id)


def visible_order_view(session: Session, actor: Account, order_id: int) -> OrderOut:
    """``order_view`` of the order ``service.get_for`` gives ``actor`` (the same "not found"
    for an order not theirs), with two statements fewer: the order's row is read with its
    fulfilments, lines and parcels. What a buyer polls while the payment goes through."""
    session.flush()
    rows = run(session, _ORDER_WITH_PARTS, {"order_id": order_id}).all()
    if not rows or not service.may_see(actor, rows[0][_BUYER]):
        raise NotFound("订单不存在")
    order = new_row(Order, **dict(zip(_ORDER_KEYS, rows[0][:_PARTS], strict=True)))
    parcels = {row[_PARCEL]: row[_PARCEL:] for row in rows if row[_PARCEL] is not None}
    return _with_parcels_and_events(
        session,
        order,
        _grouped(row[_PARTS:_PARCEL] for row in rows),
        None,
        [_parcel_out(*parcels[pid]) for pid in sorted(parcels)],
    )


_PARTS = len(_ORDER_KEYS)  # where a row of _ORDER_WITH_PARTS has its fulfilment's columns
_PARCEL = _PARTS + len(_FULFILMENT_COLUMNS)  # and its parcel's


def placed_view(
    order: Order,
    fulfilments: Sequence[tuple[Fulfilment, str, Sequence[OrderLine]]],
    events: Sequence[OrderEvent],
) -> OrderOut:
    """An order just placed, as its buyer sees it, built from what checkout made (flushed: with
    their ids) instead of read back: the same as :func:`order_view` then, without its three
    statements. A new order has no parcels."""
    return _order_out(
        order,
        [
            FulfilmentOut(
                id=pk(fulfilment),
                cooperative_id=fulfilment.cooperative_id,
                cooperative_name=name,
                status=fulfilment.status,
                items_fen=fulfilment.items_fen,
                shipping_fen=fulfilment.shipping_fen,
                lines=[OrderLineOut.model_validate(line, from_attributes=True) for line in lines],
            )
            for fulfilment, name, lines in fulfilments
        ],
        [],
        [OrderEventOut.model_validate(e, from_attributes=True) for e in events],
        None,
    )


def _order_out(
    order: Order,
    fulfilments: list[FulfilmentOut],
    parcels: list[ParcelOut],
    events: list[OrderEventOut],
    cooperative_id: int | None,
) -> OrderOut:
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
        parcels=parcels,
        fulfilments=fulfilments,
        events=events,
    )
