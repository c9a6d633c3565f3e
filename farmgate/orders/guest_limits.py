"""What a guest (a buyer without an account) may hold in unpaid orders.

Checkout reserves stock until the order is paid or its hold runs out (30 minutes online,
days for cash at the station). Without limits one anonymous visitor could hold a SKU's whole
stock for days. A guest is limited per phone and per address (unpaid orders), per SKU
(units across their unpaid orders) and all guests together to a share of each SKU's stock.
Signed-in buyers are accountable and not limited here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.errors import FarmgateError
from farmgate.models import DeliveryMethod, Order, OrderLine, OrderStatus
from farmgate.orders.schemas import CheckoutIn


class GuestLimitReached(FarmgateError):
    status = 422
    code = "guest_hold_limit"


def rule_text() -> str:
    """The rule in words, for the checkout page."""
    return (
        f"未登录购买时，同一手机号或同一收货地址最多保留 {settings.guest_max_unpaid_orders} 笔"
        f"未付款订单，每种商品最多 {settings.guest_max_units_per_sku} 件；"
        f"选择到村服务站付现金时，库存保留 {settings.cash_hold_hours} 小时"
        f"（快递、邮政订单 {settings.cash_hold_hours_remote} 小时）。登录后购买不受此限。"
    )


def _address_key(*parts: str) -> str:
    """An address compared without spaces or case: "3组 12号" and "3组12号" are one place."""
    return "".join("".join(parts).split()).lower()


def _unpaid_guest_orders() -> Any:
    return select(Order).where(
        col(Order.account_id).is_(None),
        col(Order.status) == OrderStatus.PENDING_PAYMENT,
    )


def check(session: Session, data: CheckoutIn, wanted: Sequence[tuple[int, str, int, int]]) -> None:
    """Refuse a guest checkout over the limits; ``wanted``: (sku id, name, quantity, stock)."""
    limit = settings.guest_max_unpaid_orders
    mine = list(session.scalars(_unpaid_guest_orders().where(Order.phone == data.phone)))
    if len(mine) >= limit:
        raise GuestLimitReached(
            f"该手机号已有 {len(mine)} 笔未付款订单，请先付款或取消后再下单，或登录后购买",
            fields={"phone": f"未付款订单最多 {limit} 笔"},
        )
    key = _address_key(
        data.province, data.city, data.county, data.township, data.village, data.address_detail
    )
    same_county = session.scalars(
        _unpaid_guest_orders().where(Order.county == data.county, Order.city == data.city)
    )
    at_address = [
        o
        for o in same_county
        if _address_key(o.province, o.city, o.county, o.township, o.village, o.address_detail)
        == key
    ]
    # Every buyer picking up at a station shares its address: only the phone limit applies.
    if len(at_address) >= limit and data.delivery_method != DeliveryMethod.PICKUP:
        raise GuestLimitReached(
            "该收货地址已有多笔未付款订单，请先付款或取消后再下单，或登录后购买",
            fields={"address_detail": f"未付款订单最多 {limit} 笔"},
        )
    ids = [sku_id for sku_id, _, _, _ in wanted]
    held_by_phone = _held(session, ids, phone=data.phone)
    held_by_guests = _held(session, ids)
    fields: dict[str, str] = {}
    for sku_id, name, quantity, stock in wanted:
        if quantity > stock:
            continue  # short anyway: the reservation says so with the units left
        per_buyer = settings.guest_max_units_per_sku
        if held_by_phone.get(sku_id, 0) + quantity > per_buyer:
            fields[f"sku {sku_id}"] = f"{name}：未登录每种商品最多购买 {per_buyer} 件"
            continue
        held = held_by_guests.get(sku_id, 0)
        share = max(1, math.ceil(settings.guest_max_stock_share * (stock + held)))
        if held + quantity > share:
            fields[f"sku {sku_id}"] = (
                f"{name}：未登录购买的未付款订单已占用较多库存，请减少数量或登录后购买"
            )
    if fields:
        raise GuestLimitReached("超出未登录购买的数量限制，请减少数量或登录后购买", fields=fields)


def _held(session: Session, sku_ids: list[int], phone: str | None = None) -> dict[int, int]:
    """Units of each SKU in guests' unpaid orders (one phone's, or every guest's)."""
    query = (
        select(col(OrderLine.sku_id), func.sum(col(OrderLine.quantity)))
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(
            col(Order.account_id).is_(None),
            col(Order.status) == OrderStatus.PENDING_PAYMENT,
            col(OrderLine.sku_id).in_(sku_ids),
        )
        .group_by(col(OrderLine.sku_id))
    )
    if phone is not None:
        query = query.where(col(Order.phone) == phone)
    return {int(sku_id): int(units) for sku_id, units in session.execute(query)}


def cash_hold_hours(order: Order) -> int:
    """How long cash-at-the-station holds an order's stock: shorter for far-away buyers."""
    near = order.delivery_method in (DeliveryMethod.PICKUP, DeliveryMethod.LOCAL)
    return settings.cash_hold_hours if near else settings.cash_hold_hours_remote
