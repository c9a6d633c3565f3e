"""Station jobs: text messages to villagers and pickup buyers.

The SMS sender (farmgate/sms/) is not on main yet: these jobs build the message and log it.
When it lands, each body hands ``message(...)`` to it; the job names and arguments stay.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from sqlalchemy.orm import Session

from farmgate.jobs.registry import job
from farmgate.models import Order, Station, StationOrder

log = logging.getLogger(__name__)


class OrderArgs(TypedDict):
    order_id: int


def _parts(session: Session, order_id: int) -> tuple[Order, StationOrder, Station] | None:
    order = session.get(Order, order_id)
    link = session.get(StationOrder, order_id)
    station = session.get(Station, link.station_id) if link is not None else None
    if order is None or link is None or station is None:
        return None
    return order, link, station


def placed_message(order: Order, link: StationOrder, station: Station) -> str:
    text = f"【乡村好物】{link.villager_name}，{station.name}已为您下单，订单号{order.number}"
    if link.pickup_code:
        text += f"，到货后凭取货码{link.pickup_code}到站取货"
    return text + "。"


def arrived_message(order: Order, link: StationOrder, station: Station) -> str:
    return (
        f"【乡村好物】您的订单{order.number}已到达{station.name}（{station.address}），"
        f"营业时间{station.opens_at}-{station.closes_at}，请凭取货码{link.pickup_code}取货。"
    )


@job("stations.sms_order_placed", queue="quick", max_tries=5, timeout=20)
def sms_order_placed(session: Session, args: OrderArgs) -> None:
    """Tell a villager the number of the order station staff placed for them."""
    parts = _parts(session, args["order_id"])
    if parts is not None and parts[1].villager_phone:
        log.info("sms to %s: %s", parts[1].villager_phone, placed_message(*parts))


@job("stations.sms_parcel_arrived", queue="quick", max_tries=5, timeout=20)
def sms_parcel_arrived(session: Session, args: OrderArgs) -> None:
    """Tell the buyer their pickup parcel is at the station, with the code."""
    parts = _parts(session, args["order_id"])
    if parts is not None:
        log.info("sms to %s: %s", parts[0].phone, arrived_message(*parts))
