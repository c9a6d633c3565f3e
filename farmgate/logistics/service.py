"""Parcels for paid orders: waybills, subscriptions, tracking pushes and polls.

Order paid -> a parcel per fulfilment sent by a carrier (pickup at the village station needs
none) -> a job asks the carrier for a waybill, looking first for one it may already have made
for the same ``order_ref`` (a timeout after the carrier created it must not make a second) ->
a job subscribes to tracking -> pushes are verified, stored once, acknowledged and applied by a
job; a cron polls parcels whose pushes stopped. Snapshots are full and may repeat or arrive out
of order: the newest (by its latest event, then by how far the parcel got) wins. The fulfilment
and the order follow: shipped when the carrier has it, delivered when it is signed for.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.errors import FarmgateError
from farmgate.jobs import outbox
from farmgate.logistics.adapter import (
    CourierAdapter,
    CourierError,
    TrackingEvent,
    TrackingSnapshot,
    TrackingStatus,
    WaybillRequest,
    newer,
)
from farmgate.logistics.kuaidi100 import Kuaidi100Adapter
from farmgate.models import (
    Batch,
    Cooperative,
    CourierPush,
    DeliveryMethod,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    Parcel,
    Township,
)
from farmgate.orders import state
from farmgate.trace import chain

PUSH_PATH = "/api/v1/logistics/kuaidi100/push"
STATUS_LABELS = {
    "pending": "待揽收",
    "created": "已下单",
    "picked_up": "已揽收",
    "in_transit": "运输中",
    "out_for_delivery": "派送中",
    "delivered": "已签收",
    "problem": "异常",
    "rejected": "拒收",
    "returning": "退回中",
    "returned": "已退回",
}
CARRIER_LABELS = {"youzhengguonei": "中国邮政", "ems": "EMS", "zhongtong": "中通快递"}
MOVING = {"picked_up", "in_transit", "out_for_delivery", "problem"}


class LogisticsUnavailable(FarmgateError):
    status = 503
    code = "logistics_not_configured"


def adapter() -> CourierAdapter:
    if not (settings.kuaidi100_customer and settings.kuaidi100_key):
        raise LogisticsUnavailable("物流接口尚未配置")
    kwargs: dict[str, Any] = {"timeout": settings.courier_http_timeout}
    if settings.kuaidi100_base:
        kwargs["base_url"] = settings.kuaidi100_base
    if settings.kuaidi100_label_base:
        kwargs["label_base_url"] = settings.kuaidi100_label_base
    return Kuaidi100Adapter(
        settings.kuaidi100_customer,
        settings.kuaidi100_key,
        settings.kuaidi100_secret or None,
        **kwargs,
    )


# --- parcels for a paid order -------------------------------------------------------------


def open_parcels(session: Session, order: Order) -> list[Parcel]:
    """One parcel per fulfilment, and a job to get its waybill (called when the order is paid)."""
    if order.delivery_method == DeliveryMethod.PICKUP:
        return []
    carrier = (
        settings.post_company
        if order.delivery_method == DeliveryMethod.POST
        else settings.courier_company
    )
    parcels = []
    for fulfilment in session.scalars(select(Fulfilment).where(Fulfilment.order_id == order.id)):
        exists = session.scalars(
            select(Parcel).where(Parcel.fulfilment_id == fulfilment.id)
        ).first()
        if exists is not None:
            continue
        parcel = Parcel(
            fulfilment_id=fulfilment.id,  # type: ignore[arg-type]
            order_id=order.id,  # type: ignore[arg-type]
            carrier=carrier,
            order_ref=f"{order.number}-{fulfilment.id}",
            salt=secrets.token_hex(16),
        )
        session.add(parcel)
        session.flush()
        outbox.enqueue(
            session, "logistics.create_waybill", {"parcel_id": parcel.id}, key=f"parcel:{parcel.id}"
        )
        parcels.append(parcel)
    return parcels


def waybill_request(session: Session, parcel: Parcel) -> WaybillRequest:
    order = session.get(Order, parcel.order_id)
    fulfilment = session.get(Fulfilment, parcel.fulfilment_id)
    assert order is not None and fulfilment is not None
    coop = session.get(Cooperative, fulfilment.cooperative_id)
    assert coop is not None
    township = session.get(Township, coop.township_id)
    lines = session.scalars(select(OrderLine).where(OrderLine.fulfilment_id == fulfilment.id)).all()
    place = (
        f"{township.province}{township.city}{township.county}{township.name}" if township else ""
    )
    return WaybillRequest(
        order_ref=parcel.order_ref,
        carrier=parcel.carrier,
        sender_name=coop.name[:30],
        sender_phone=coop.contact_phone,
        sender_address=place or coop.name,
        recipient_name=order.recipient,
        recipient_phone=order.phone,
        recipient_province=order.province,
        recipient_city=order.city,
        recipient_county=order.county,
        recipient_address=f"{order.township}{order.village}{order.address_detail}",
        weight_g=max(1, sum(line.quantity for line in lines) * 500),
        item_name="、".join(dict.fromkeys(line.product_name for line in lines))[:40] or "农产品",
    )


def create_waybill(session: Session, parcel: Parcel) -> Parcel:
    """Get the parcel its waybill, never two: look for one made earlier, then create."""
    if parcel.waybill_no:
        return parcel
    carrier = adapter()
    found = carrier.find_waybill(parcel.order_ref) or carrier.create_waybill(
        waybill_request(session, parcel)
    )
    parcel.waybill_no, parcel.label_url = found.waybill_no, found.label_url
    parcel.status, parcel.updated_at = TrackingStatus.CREATED, utcnow()
    session.add(parcel)
    outbox.enqueue(
        session, "logistics.subscribe", {"parcel_id": parcel.id}, key=f"parcel:{parcel.id}"
    )
    return parcel


def subscribe(session: Session, parcel: Parcel) -> None:
    if parcel.subscribed or not parcel.waybill_no:
        return
    callback = settings.public_base_url.rstrip("/") + PUSH_PATH
    adapter().subscribe(parcel.carrier, parcel.waybill_no, callback, parcel.salt)
    parcel.subscribed = True
    session.add(parcel)


# --- tracking ------------------------------------------------------------------------------


def snapshot_json(snapshot: TrackingSnapshot) -> dict[str, Any]:
    return {
        "carrier": snapshot.carrier,
        "waybill": snapshot.waybill,
        "status": str(snapshot.status),
        "raw_state": snapshot.raw_state,
        "is_final": snapshot.is_final,
        "events": [
            {
                "time": e.time.isoformat(),
                "context": e.context,
                "location": e.location,
                "status": str(e.status) if e.status else None,
            }
            for e in snapshot.events
        ],
    }


def snapshot_from(data: Mapping[str, Any]) -> TrackingSnapshot:
    return TrackingSnapshot(
        carrier=data["carrier"],
        waybill=data["waybill"],
        status=TrackingStatus(data["status"]),
        raw_state=data.get("raw_state", ""),
        events=tuple(
            TrackingEvent(
                time=datetime.fromisoformat(e["time"]),
                context=e["context"],
                location=e.get("location", ""),
                status=TrackingStatus(e["status"]) if e.get("status") else None,
            )
            for e in data.get("events", [])
        ),
        is_final=bool(data.get("is_final")),
    )


def receive_push(
    session: Session, headers: Mapping[str, str], body: bytes
) -> tuple[int, str, bytes]:
    """verify (with the parcel's own salt) -> store once -> acknowledge; applying is a job."""
    carrier = adapter()
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
        unverified = json.loads(fields["param"][0])
        number = str(unverified["lastResult"]["nu"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        return _refuse(carrier)
    parcel = session.scalars(select(Parcel).where(Parcel.waybill_no == number)).first()
    if parcel is None:
        return _refuse(carrier)
    try:
        snapshot = carrier.parse_push(headers, body, parcel.salt)
    except CourierError:
        return _refuse(carrier)
    digest = hashlib.sha256(body).hexdigest()
    if session.scalars(select(CourierPush.id).where(CourierPush.digest == digest)).first() is None:
        push = CourierPush(parcel_id=parcel.id, digest=digest, snapshot=snapshot_json(snapshot))  # type: ignore[arg-type]
        session.add(push)
        session.flush()
        outbox.enqueue(
            session, "logistics.apply_push", {"push_id": push.id}, key=f"parcel:{parcel.id}"
        )
    return carrier.ack(True)


def _refuse(carrier: CourierAdapter) -> tuple[int, str, bytes]:
    _, content_type, body = carrier.ack(False)
    return 400, content_type, body


def apply_snapshot(session: Session, parcel: Parcel, snapshot: TrackingSnapshot) -> bool:
    """Keep the newer of the stored and the given snapshot; False when the given one is stale."""
    if parcel.events:
        current = snapshot_from(
            {
                "carrier": parcel.carrier,
                "waybill": parcel.waybill_no,
                "status": parcel.status if parcel.status != "pending" else "created",
                "raw_state": parcel.raw_state,
                "is_final": parcel.is_final,
                "events": parcel.events,
            }
        )
        if newer(current, snapshot) is current and current != snapshot:
            return False
    data = snapshot_json(snapshot)
    parcel.status, parcel.raw_state = data["status"], data["raw_state"]
    parcel.events, parcel.is_final = data["events"], data["is_final"]
    parcel.last_event_at = snapshot.latest_time
    parcel.updated_at = utcnow()
    session.add(parcel)
    _follow(session, parcel)
    return True


def _follow(session: Session, parcel: Parcel) -> None:
    """The fulfilment and the order move with the parcel."""
    fulfilment = session.get(Fulfilment, parcel.fulfilment_id, with_for_update=True)
    order = session.get(Order, parcel.order_id, with_for_update=True)
    assert fulfilment is not None and order is not None
    carrier = CARRIER_LABELS.get(parcel.carrier, parcel.carrier)
    if parcel.status in MOVING and fulfilment.status in (
        FulfilmentStatus.TO_PACK,
        FulfilmentStatus.PACKED,
    ):
        fulfilment.status = FulfilmentStatus.SHIPPED
        _trace(session, fulfilment, "shipping", fulfilment_party(session, fulfilment), carrier)
    elif parcel.status == "delivered" and fulfilment.status not in (
        FulfilmentStatus.CANCELLED,
        FulfilmentStatus.DELIVERED,
    ):
        if fulfilment.status != FulfilmentStatus.SHIPPED:
            _trace(session, fulfilment, "shipping", fulfilment_party(session, fulfilment), carrier)
        fulfilment.status = FulfilmentStatus.DELIVERED
        _trace(session, fulfilment, "receiving", carrier, "收货人（消费者）")
    session.add(fulfilment)
    session.flush()
    siblings = [
        f.status
        for f in session.scalars(select(Fulfilment).where(Fulfilment.order_id == order.id))
        if f.status != FulfilmentStatus.CANCELLED
    ]
    gone = {FulfilmentStatus.SHIPPED, FulfilmentStatus.DELIVERED}
    note = f"{CARRIER_LABELS.get(parcel.carrier, parcel.carrier)} {parcel.waybill_no}"
    if all(s in gone for s in siblings) and order.status in (
        OrderStatus.PAID,
        OrderStatus.FULFILLING,
    ):
        if order.status == OrderStatus.PAID:
            state.transition(session, order, OrderStatus.FULFILLING, actor_name="logistics")
        state.transition(session, order, OrderStatus.SHIPPED, actor_name="logistics", note=note)
    if (
        all(s == FulfilmentStatus.DELIVERED for s in siblings)
        and order.status == OrderStatus.SHIPPED
    ):
        state.transition(session, order, OrderStatus.DELIVERED, actor_name="logistics", note=note)


def fulfilment_party(session: Session, fulfilment: Fulfilment) -> str:
    coop = session.get(Cooperative, fulfilment.cooperative_id)
    return coop.name if coop else "合作社"


def _trace(session: Session, fulfilment: Fulfilment, step: str, giver: str, taker: str) -> None:
    """The lots packed into this parcel (chosen at packing) record the handoff in their chain.

    No waybill number or address goes into the public story: only who handed it to whom.
    """
    batch_ids = sorted(
        {
            line.batch_id
            for line in session.scalars(
                select(OrderLine).where(OrderLine.fulfilment_id == fulfilment.id)
            )
            if line.batch_id is not None
        }
    )
    for batch_id in batch_ids:
        batch = session.get(Batch, batch_id)
        if batch is not None and batch.status == "active":
            chain.append(
                session,
                batch,
                step,
                {"from_party": giver, "to_party": taker, "note": "快递包裹"},
            )


def parcels_of(session: Session, order: Order) -> list[Parcel]:
    return list(
        session.scalars(select(Parcel).where(Parcel.order_id == order.id).order_by(Parcel.id))  # type: ignore[arg-type]
    )
