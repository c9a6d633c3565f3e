"""Orders that name a station: pickup with a code, cash at the station, orders for villagers.

A pickup order's last step is "arrived at the station" (the order becomes shipped, the buyer's
order page shows it with the pickup code); the staff then hand it over when the buyer says the
code (delivered). Station staff only ever see their own station's orders: another's is a 404.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk, utcnow
from farmgate.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from farmgate.models import (
    Account,
    Cart,
    CartItem,
    DeliveryMethod,
    Fulfilment,
    FulfilmentStatus,
    IntentStatus,
    Order,
    OrderStatus,
    PaymentIntent,
    Station,
    StationOrder,
    Township,
    Village,
)
from farmgate.orders import checkout as checkouts
from farmgate.orders import state
from farmgate.orders.schemas import CheckoutIn
from farmgate.payments import service as payments
from farmgate.stations import records
from farmgate.validators import normalize_mobile

CASH_METHODS = (DeliveryMethod.PICKUP, DeliveryMethod.LOCAL)


@dataclass
class StationOrderRow:
    order: Order
    link: StationOrder
    cash: PaymentIntent | None

    @property
    def cash_due(self) -> bool:
        return self.cash is not None and self.cash.status == IntentStatus.CREATED


def open_station(session: Session, station_id: int | None, field: str = "station_id") -> Station:
    """A station a buyer may pick up at now; a closed one is refused with the reason."""
    station = session.get(Station, station_id) if station_id else None
    if station is None:
        raise ValidationFailed("请选择自提的村服务站", fields={field: "请选择服务站"})
    if station.is_closed or not station.holds_parcels:
        why = "暂停服务" if station.is_closed else "不代收包裹"
        raise ValidationFailed(
            f"「{station.name}」{why}，请选择其他服务站或送货上门",
            fields={field: f"该服务站{why}（营业时间 {records.hours_text(station)}）"},
        )
    return station


def pickup_address(session: Session, station: Station) -> dict[str, str]:
    """The address fields of a pickup order: the station's, so no street address is asked."""
    township = session.get(Township, station.township_id)
    village = session.get(Village, station.village_id)
    assert township is not None and village is not None
    return {
        "province": township.province,
        "city": township.city,
        "county": township.county,
        "township": township.name,
        "village": village.name,
        "address_detail": f"{station.name}（自提）{station.address}"[:120],
    }


def _pickup_code(session: Session, station_id: int) -> str:
    """Six digits, unique among the station's parcels not yet picked up."""
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        taken = session.scalars(
            select(StationOrder).where(
                col(StationOrder.station_id) == station_id,
                col(StationOrder.pickup_code) == code,
                col(StationOrder.picked_up_at).is_(None),
            )
        ).first()
        if taken is None:
            return code


def attach(
    session: Session,
    order: Order,
    station: Station,
    *,
    placed_by: Account | None = None,
    villager_name: str = "",
    villager_phone: str = "",
) -> StationOrder:
    """Name ``station`` on ``order``; a pickup order gets its pickup code."""
    link = StationOrder(
        order_id=pk(order),
        station_id=pk(station),
        pickup_code=_pickup_code(session, pk(station))
        if order.delivery_method == DeliveryMethod.PICKUP
        else "",
        placed_by_account_id=placed_by.id if placed_by else None,
        villager_name=villager_name,
        villager_phone=villager_phone,
    )
    session.add(link)
    session.flush()
    return link


def link_of(session: Session, order: Order) -> StationOrder | None:
    return session.get(StationOrder, order.id)


def station_view(session: Session, order: Order) -> tuple[StationOrder, Station] | None:
    """What the buyer's order page shows: the station, its hours, the pickup code."""
    link = link_of(session, order)
    station = session.get(Station, link.station_id) if link is not None else None
    return (link, station) if link is not None and station is not None else None


# --- the station's own pages -------------------------------------------------------------


def _row(session: Session, order: Order, link: StationOrder) -> StationOrderRow:
    cash = session.scalars(
        select(PaymentIntent).where(
            col(PaymentIntent.order_id) == order.id, col(PaymentIntent.provider) == "cash"
        )
    ).first()
    return StationOrderRow(order, link, cash)


def station_orders(session: Session, staff: Account, limit: int = 50) -> list[StationOrderRow]:
    """The station's orders still open (not picked up, not closed), newest first."""
    station = records.station_of(session, staff)
    rows = session.execute(
        select(Order, StationOrder)
        .join(StationOrder, col(StationOrder.order_id) == Order.id)
        .where(
            col(StationOrder.station_id) == station.id,
            col(StationOrder.picked_up_at).is_(None),
            col(Order.status).not_in([OrderStatus.CANCELLED, OrderStatus.REFUNDED]),
        )
        .order_by(col(Order.id).desc())
        .limit(limit)
    ).all()
    return [_row(session, o, link) for o, link in rows]


def order_for_staff(
    session: Session, staff: Account, number: str, *, lock: bool = False
) -> StationOrderRow:
    """One of the staff's station's orders; any other order is "not found"."""
    station = records.station_of(session, staff)
    order = session.scalars(
        select(Order).where(col(Order.number) == number).with_for_update(of=Order)
        if lock
        else select(Order).where(col(Order.number) == number)
    ).first()
    link = link_of(session, order) if order is not None else None
    if order is None or link is None or link.station_id != station.id:
        raise NotFound("订单不存在或不属于本服务站", context={"number": number})
    return _row(session, order, link)


def confirm_cash(session: Session, staff: Account, number: str, receipt_no: str) -> bool:
    """The staff took the order's cash: paid (True), or already recorded (False)."""
    row = order_for_staff(session, staff, number, lock=True)
    if row.cash is None:
        raise InvalidTransition("该订单没有选择现金付款", fields={"receipt_no": "无需收现金"})
    if row.cash.status != IntentStatus.CREATED:
        return False
    receipt_no = receipt_no.strip() or f"ST{row.order.id}"
    stored = payments.confirm_cash(
        session,
        row.order,
        receipt_no=receipt_no,
        amount_fen=row.cash.amount_fen,
        staff=staff,
    )
    return stored is not None


def mark_arrived(session: Session, staff: Account, number: str) -> StationOrder:
    """The parcel reached the station: the order is shipped, the buyer is told."""
    row = order_for_staff(session, staff, number, lock=True)
    order, link = row.order, row.link
    if order.delivery_method != DeliveryMethod.PICKUP:
        raise Conflict("该订单不是到站自提")
    if link.arrived_at is not None:
        raise Conflict("已经登记过到站")
    fulfilments = list(
        session.scalars(select(Fulfilment).where(col(Fulfilment.order_id) == order.id))
    )
    if order.status != OrderStatus.FULFILLING or any(
        f.status != FulfilmentStatus.PACKED for f in fulfilments
    ):
        raise Conflict("合作社还没有全部打包发出，暂不能登记到站")
    station = records.station_of(session, staff)
    for fulfilment in fulfilments:
        fulfilment.status = FulfilmentStatus.SHIPPED
        session.add(fulfilment)
    state.transition(
        session,
        order,
        OrderStatus.SHIPPED,
        actor=staff,
        note=f"已到达{station.name}，请凭取货码取货",
    )
    link.arrived_at = utcnow()
    session.add(link)
    from farmgate.stations.tasks import sms_parcel_arrived  # registered by bootstrap.install

    sms_parcel_arrived.enqueue(session, {"order_id": pk(order)}, key=f"order:{order.id}")
    return link


def hand_over(session: Session, staff: Account, code: str) -> Order:
    """The buyer said their pickup code: the parcel is handed over (the order delivered).

    A wrong code, or one for a parcel not at the station yet, changes nothing.
    """
    station = records.station_of(session, staff)
    code = code.strip()
    link = (
        session.scalars(
            select(StationOrder).where(
                col(StationOrder.station_id) == station.id,
                col(StationOrder.pickup_code) == code,
                col(StationOrder.picked_up_at).is_(None),
            )
        ).first()
        if code.isdigit() and len(code) == 6
        else None
    )
    if link is None:
        raise ValidationFailed(
            "取货码不正确", fields={"code": "没有这个取货码的待取包裹，请核对6位数字"}
        )
    order = session.get(Order, link.order_id, with_for_update=True)
    assert order is not None
    if link.arrived_at is None or order.status != OrderStatus.SHIPPED:
        raise ValidationFailed(
            "这个包裹还没有到站", fields={"code": "包裹还没有登记到站，不能交付"}
        )
    for fulfilment in session.scalars(
        select(Fulfilment).where(col(Fulfilment.order_id) == order.id)
    ):
        fulfilment.status = FulfilmentStatus.DELIVERED
        session.add(fulfilment)
    state.transition(
        session, order, OrderStatus.DELIVERED, actor=staff, note=f"已在{station.name}凭取货码取货"
    )
    link.picked_up_at, link.handed_over_by_account_id = utcnow(), staff.id
    session.add(link)
    return order


# --- ordering for a villager (代下单) -------------------------------------------------------


class VillagerOrderIn(BaseModel):
    """What the staff fill in for a villager without a smartphone."""

    model_config = ConfigDict(str_strip_whitespace=True)

    villager_name: str = Field(min_length=1, max_length=30)
    villager_phone: str = ""
    delivery_method: DeliveryMethod
    address_detail: str = Field(default="", max_length=100)
    items: dict[int, int]  # sku id -> quantity
    note: str = Field(default="", max_length=200)

    @field_validator("villager_phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalize_mobile(v) if v else ""


def place_for_villager(session: Session, staff: Account, data: VillagerOrderIn) -> Order:
    """An order placed by station staff for a villager, paid in cash at the station.

    Pickup at the staff's station, or township delivery to the villager's door in the county.
    """
    station = records.station_of(session, staff)
    errors: dict[str, str] = {}
    if data.delivery_method not in CASH_METHODS:
        errors["delivery_method"] = "代下单只能选择到站自提或乡镇配送上门"
    if data.delivery_method == DeliveryMethod.LOCAL and len(data.address_detail) < 2:
        errors["address_detail"] = "送货上门请填写村民的详细地址"
    if not any(q > 0 for q in data.items.values()):
        errors["items"] = "请至少选择一件商品"
    if not station.takes_cash:
        errors["_"] = "本服务站未开通现金代收，不能代下单"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    if data.delivery_method == DeliveryMethod.PICKUP:
        open_station(session, station.id, field="delivery_method")
    address = pickup_address(session, station)
    if data.delivery_method == DeliveryMethod.LOCAL:
        address["address_detail"] = data.address_detail
    cart = Cart()
    session.add(cart)
    session.flush()
    for sku_id, quantity in sorted(data.items.items()):
        if quantity > 0:
            session.add(CartItem(cart_id=pk(cart), sku_id=sku_id, quantity=quantity))
    session.flush()
    checkout = CheckoutIn(
        recipient=data.villager_name,
        # No phone: the station's staff member is the contact for the parcel.
        phone=data.villager_phone or staff.phone,
        delivery_method=data.delivery_method,
        note=data.note,
        **address,
    )
    order = checkouts.checkout(session, cart, checkout, staff)
    order.account_id = None  # the villager's, not the staff member's: found by number and phone
    session.add(order)
    session.execute(delete(Cart).where(col(Cart.id) == cart.id))
    attach(
        session,
        order,
        station,
        placed_by=staff,
        villager_name=data.villager_name,
        villager_phone=data.villager_phone,
    )
    payments.create_intent(session, order, "cash", client_ip="")
    if data.villager_phone:
        from farmgate.stations.tasks import sms_order_placed  # registered by bootstrap.install

        sms_order_placed.enqueue(session, {"order_id": pk(order)}, key=f"order:{order.id}")
    return order


def station_names(session: Session, order_ids: list[int]) -> dict[int, str]:
    """The station each order names, by order id (orders naming none are left out)."""
    if not order_ids:
        return {}
    rows = session.execute(
        select(col(StationOrder.order_id), col(Station.name))
        .join(Station, col(Station.id) == StationOrder.station_id)
        .where(col(StationOrder.order_id).in_(order_ids))
    ).all()
    return {order_id: name for order_id, name in rows}
