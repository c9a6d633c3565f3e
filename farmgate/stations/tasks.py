"""Station jobs: text messages to villagers and pickup buyers.

Sent by SMS with the order-notice template (``FARMGATE_NOTIFY_SMS_TEMPLATE``: order number,
what happened, link), through the outbox: a provider outage retries, a refused number
dead-letters where the console shows it; with no SMS account configured the message is only
logged.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.jobs.registry import job
from farmgate.models import Order, Station, StationOrder
from farmgate.notify.messages import order_url
from farmgate.sms.sender import SmsNotConfigured, configured_sender
from farmgate.stations import records

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
        f"营业时间{records.hours_text(station)}，请凭取货码{link.pickup_code}取货。"
    )


def _send(phone: str, order: Order, news: str, whole: str) -> None:
    if not settings.sms_secret_id or not settings.notify_sms_template:
        log.info("sms (no SMS account configured) to %s: %s", phone, whole)
        return
    try:
        configured_sender().send(
            phone, settings.notify_sms_template, [order.number, news, order_url(order)]
        )
    except SmsNotConfigured:
        log.info("sms (not configured) to %s: %s", phone, whole)


@job("stations.sms_order_placed", queue="quick", max_tries=5, timeout=20)
def sms_order_placed(session: Session, args: OrderArgs) -> None:
    """Tell a villager the number of the order station staff placed for them."""
    parts = _parts(session, args["order_id"])
    if parts is not None and parts[1].villager_phone:
        order, link, station = parts
        news = f"已由{station.name}代您下单" + (
            f"，到货后凭取货码{link.pickup_code}取货" if link.pickup_code else ""
        )
        _send(link.villager_phone, order, news, placed_message(*parts))


@job("stations.sms_parcel_arrived", queue="quick", max_tries=5, timeout=20)
def sms_parcel_arrived(session: Session, args: OrderArgs) -> None:
    """Tell the buyer their pickup parcel is at the station, with the code."""
    parts = _parts(session, args["order_id"])
    if parts is not None:
        order, link, station = parts
        news = f"已到{station.name}，请凭取货码{link.pickup_code}取货"
        _send(order.phone, order, news, arrived_message(*parts))
