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
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import callbacks
from farmgate.config import settings
from farmgate.db import pk, utcnow
from farmgate.errors import Conflict, FarmgateError, NotFound, ValidationFailed
from farmgate.logistics.adapter import (
    CourierAdapter,
    CourierError,
    TrackingEvent,
    TrackingSnapshot,
    TrackingStatus,
    Waybill,
    WaybillRequest,
    newer,
)
from farmgate.logistics.kuaidi100 import Kuaidi100Adapter
from farmgate.models import (
    Account,
    Batch,
    BatchStatus,
    Cooperative,
    CourierPush,
    DeliveryMethod,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    Parcel,
    ParcelStatus,
    Role,
    Township,
    WaybillCreate,
    carrier_label,
)
from farmgate.models.parcel import TOWNSHIP_CARRIER
from farmgate.notify import service as notify
from farmgate.orders import state
from farmgate.trace import chain

TOWNSHIP = TOWNSHIP_CARRIER  # the township's own couriers: no carrier API, no waybill
# Parcel.create_state: see the model. SENT: asked, answer not stored; CHECK: a person looks.
SENT, CHECK = WaybillCreate.SENT, WaybillCreate.CHECK
WAYBILL_NO = re.compile(r"^[A-Za-z0-9-]{6,40}$")
MOVING = {
    ParcelStatus.PICKED_UP,
    ParcelStatus.IN_TRANSIT,
    ParcelStatus.OUT_FOR_DELIVERY,
    ParcelStatus.PROBLEM,
}


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
        waybill_lookup=settings.kuaidi100_waybill_lookup,
        **kwargs,
    )


# --- parcels for a paid order -------------------------------------------------------------


def open_parcels(session: Session, order: Order) -> list[Parcel]:
    """One parcel per fulfilment (called when the order is paid): a job gets a carrier's
    waybill; the township's own couriers need none, the parcel waits to be assigned."""
    from farmgate.logistics import tasks  # the job bodies import this module

    if order.delivery_method == DeliveryMethod.PICKUP:
        return []
    carrier = {
        DeliveryMethod.POST: settings.post_company,
        DeliveryMethod.LOCAL: TOWNSHIP,
    }.get(DeliveryMethod(order.delivery_method), settings.courier_company)
    if carrier != TOWNSHIP and not settings.kuaidi100_key:
        return []  # no carrier account: cooperatives ship by hand
    parcels = []
    for fulfilment in session.scalars(
        select(Fulfilment).where(col(Fulfilment.order_id) == order.id)
    ):
        exists = session.scalars(
            select(Parcel).where(col(Parcel.fulfilment_id) == fulfilment.id)
        ).first()
        if exists is not None:
            continue
        parcel = Parcel(
            fulfilment_id=pk(fulfilment),
            order_id=pk(order),
            carrier=carrier,
            order_ref=f"{order.number}-{fulfilment.id}",
            salt=secrets.token_hex(16),
        )
        if carrier == TOWNSHIP:  # our own number: what the courier scans or types
            parcel.waybill_no, parcel.status = parcel.order_ref, ParcelStatus.CREATED
        session.add(parcel)
        session.flush()
        if carrier != TOWNSHIP:
            tasks.create_waybill.enqueue(
                session,
                {"parcel_id": pk(parcel)},
                key=f"parcel:{parcel.id}",
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
    lines = session.scalars(
        select(OrderLine).where(col(OrderLine.fulfilment_id) == fulfilment.id)
    ).all()
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


def record_waybill(session: Session, parcel: Parcel, waybill: Waybill) -> Parcel:
    """The carrier's answer, kept the moment it is known; then subscribe to its tracking."""
    from farmgate.logistics import tasks  # the job bodies import this module

    parcel.waybill_no, parcel.label_url = waybill.waybill_no, waybill.label_url
    parcel.status, parcel.updated_at = ParcelStatus.CREATED, utcnow()
    parcel.create_state = ""
    session.add(parcel)
    tasks.subscribe.enqueue(
        session,
        {"parcel_id": pk(parcel)},
        key=f"parcel:{parcel.id}",
    )
    return parcel


def needs_check(session: Session, parcel: Parcel) -> None:
    """An earlier create got no answer and the carrier cannot be asked: a person must look in
    the carrier's portal, then enter the number or ask for a new waybill (``resolve_check``)."""
    from farmgate.trace.alerts import raise_alert  # trace jobs import this module's callers

    parcel.create_state = CHECK
    session.add(parcel)
    fulfilment = session.get(Fulfilment, parcel.fulfilment_id)
    raise_alert(
        session,
        f"waybill-check:{parcel.id}",
        "waybill",
        f"包裹 {parcel.order_ref} 下单时承运商未应答，可能已生成运单："
        "请在承运商后台核对后补录单号或重新下单",
        cooperative_id=fulfilment.cooperative_id if fulfilment else None,
        batch_id=None,
        details={"parcel_id": parcel.id, "carrier": parcel.carrier},
    )


def staff_parcel(session: Session, actor: Account, parcel_id: int) -> Parcel:
    """A parcel of the actor's own cooperative (any, for the township admin), locked."""
    parcel = session.get(Parcel, parcel_id, with_for_update=True)
    fulfilment = session.get(Fulfilment, parcel.fulfilment_id) if parcel else None
    allowed = fulfilment is not None and (
        actor.role == Role.ADMIN
        or (actor.role == Role.COOPERATIVE and actor.cooperative_id == fulfilment.cooperative_id)
    )
    if parcel is None or not allowed:
        raise NotFound("包裹不存在", context={"parcel_id": parcel_id})
    return parcel


def resolve_check(
    session: Session, actor: Account, parcel_id: int, waybill_no: str | None
) -> Parcel:
    """After looking in the carrier's portal: the waybill it made, or none (create again)."""
    from farmgate.logistics import tasks  # the job bodies import this module

    parcel = staff_parcel(session, actor, parcel_id)
    if parcel.create_state != CHECK:
        raise Conflict("该包裹的运单无需核对", context={"parcel_id": parcel_id})
    if waybill_no:
        if not WAYBILL_NO.match(waybill_no):
            raise ValidationFailed("运单号格式不对", fields={"waybill_no": "6–40位字母或数字"})
        taken = session.scalars(
            select(col(Parcel.id)).where(
                col(Parcel.waybill_no) == waybill_no, col(Parcel.id) != parcel.id
            )
        ).first()
        if taken is not None:
            raise Conflict("该运单号已属于另一个包裹", fields={"waybill_no": "运单号重复"})
        return record_waybill(
            session,
            parcel,
            Waybill(carrier=parcel.carrier, waybill_no=waybill_no, order_ref=parcel.order_ref),
        )
    parcel.create_state = ""
    session.add(parcel)
    tasks.create_waybill.enqueue(
        session,
        {"parcel_id": pk(parcel)},
        key=f"parcel:{parcel.id}",
    )
    return parcel


def subscribe(session: Session, parcel: Parcel) -> None:
    if parcel.subscribed or not parcel.waybill_no:
        return
    callback = callbacks.public_url(callbacks.KUAIDI100_PUSH)
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
        "resubscribe": snapshot.resubscribe,
        "corrected_carrier": snapshot.corrected_carrier,
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
        resubscribe=bool(data.get("resubscribe")),
        corrected_carrier=data.get("corrected_carrier"),
    )


def resubscribe_if_asked(session: Session, parcel: Parcel, snapshot: TrackingSnapshot) -> bool:
    """After an "abort" or a corrected carrier code: a new subscription (under the corrected
    code), through the outbox like the first one. True when one was queued."""
    from farmgate.logistics import tasks  # the job bodies import this module

    if not snapshot.resubscribe or parcel.is_final or not parcel.waybill_no:
        return False
    if snapshot.corrected_carrier:
        parcel.carrier = snapshot.corrected_carrier
    parcel.subscribed = False
    session.add(parcel)
    session.flush()
    tasks.subscribe.enqueue(session, {"parcel_id": pk(parcel)}, key=f"parcel:{parcel.id}")
    return True


def receive_push(
    session: Session, headers: Mapping[str, str], body: bytes
) -> tuple[int, str, bytes]:
    """verify (with the parcel's own salt) -> store once -> acknowledge; applying is a job."""
    from farmgate.logistics import tasks  # the job bodies import this module

    carrier = adapter()
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
        unverified = json.loads(fields["param"][0])
        number = str(unverified["lastResult"]["nu"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        return _refuse(carrier)
    parcel = session.scalars(
        select(Parcel).where(col(Parcel.waybill_no) == number, col(Parcel.carrier) != TOWNSHIP)
    ).first()
    if parcel is None:
        return _refuse(carrier)
    try:
        snapshot = carrier.parse_push(headers, body, parcel.salt)
    except CourierError:
        return _refuse(carrier)
    digest = hashlib.sha256(body).hexdigest()
    if (
        session.scalars(
            select(col(CourierPush.id)).where(col(CourierPush.digest) == digest)
        ).first()
        is None
    ):
        push = CourierPush(parcel_id=pk(parcel), digest=digest, snapshot=snapshot_json(snapshot))
        session.add(push)
        session.flush()
        tasks.apply_push.enqueue(
            session,
            {"push_id": pk(push)},
            key=f"parcel:{parcel.id}",
        )
    return carrier.ack(True)


def _refuse(carrier: CourierAdapter) -> tuple[int, str, bytes]:
    _, content_type, body = carrier.ack(False)
    return 400, content_type, body


def apply_snapshot(
    session: Session,
    parcel: Parcel,
    snapshot: TrackingSnapshot,
    trace_extra: Mapping[str, Any] | None = None,
) -> bool:
    """Keep the newer of the stored and the given snapshot; False when the given one is stale.

    ``trace_extra`` goes into the lots' chain events this move causes (place, temperature)."""
    if parcel.events:
        current = snapshot_from(
            {
                "carrier": parcel.carrier,
                "waybill": parcel.waybill_no,
                "status": parcel.status if parcel.status != ParcelStatus.PENDING else "created",
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
    _follow(session, parcel, trace_extra)
    return True


def _follow(session: Session, parcel: Parcel, extra: Mapping[str, Any] | None = None) -> None:
    """The fulfilment and the order move with the parcel."""
    fulfilment = session.get(Fulfilment, parcel.fulfilment_id, with_for_update=True)
    order = session.get(Order, parcel.order_id, with_for_update=True)
    assert fulfilment is not None and order is not None
    carrier = carrier_label(parcel.carrier)
    if parcel.status in MOVING and fulfilment.status in (
        FulfilmentStatus.TO_PACK,
        FulfilmentStatus.PACKED,
    ):
        fulfilment.status = FulfilmentStatus.SHIPPED
        _trace(
            session, fulfilment, "shipping", fulfilment_party(session, fulfilment), carrier, extra
        )
    elif parcel.status == ParcelStatus.DELIVERED and fulfilment.status not in (
        FulfilmentStatus.CANCELLED,
        FulfilmentStatus.DELIVERED,
    ):
        if fulfilment.status != FulfilmentStatus.SHIPPED:
            _trace(session, fulfilment, "shipping", fulfilment_party(session, fulfilment), carrier)
        fulfilment.status = FulfilmentStatus.DELIVERED
        _trace(session, fulfilment, "receiving", carrier, "收货人（消费者）", extra)
    session.add(fulfilment)
    session.flush()
    siblings = [
        f.status
        for f in session.scalars(select(Fulfilment).where(col(Fulfilment.order_id) == order.id))
        if f.status != FulfilmentStatus.CANCELLED
    ]
    gone = {FulfilmentStatus.SHIPPED, FulfilmentStatus.DELIVERED}
    note = f"{carrier_label(parcel.carrier)} {parcel.waybill_no}"
    if all(s in gone for s in siblings) and order.status in (
        OrderStatus.PAID,
        OrderStatus.FULFILLING,
    ):
        if order.status == OrderStatus.PAID:
            state.transition(session, order, OrderStatus.FULFILLING, actor_name="logistics")
        state.transition(session, order, OrderStatus.SHIPPED, actor_name="logistics", note=note)
        notify.order_shipped(session, order)
    if (
        all(s == FulfilmentStatus.DELIVERED for s in siblings)
        and order.status == OrderStatus.SHIPPED
    ):
        state.transition(session, order, OrderStatus.DELIVERED, actor_name="logistics", note=note)
        notify.order_delivered(session, order)


def fulfilment_party(session: Session, fulfilment: Fulfilment) -> str:
    coop = session.get(Cooperative, fulfilment.cooperative_id)
    return coop.name if coop else "合作社"


def _trace(
    session: Session,
    fulfilment: Fulfilment,
    step: str,
    giver: str,
    taker: str,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """The lots packed into this parcel (chosen at packing) record the handoff in their chain.

    No waybill number or address goes into the public story: only who handed it to whom (and,
    from the township's couriers, the place and the temperature they read).
    """
    batch_ids = sorted(
        {
            line.batch_id
            for line in session.scalars(
                select(OrderLine).where(col(OrderLine.fulfilment_id) == fulfilment.id)
            )
            if line.batch_id is not None
        }
    )
    data = dict(extra or {})
    when = data.pop("at", None)  # the event time the courier entered (else: now)
    for batch_id in batch_ids:
        batch = session.get(Batch, batch_id)
        if batch is not None and batch.status == BatchStatus.ACTIVE:
            chain.append(
                session,
                batch,
                step,
                {"from_party": giver, "to_party": taker, "note": "快递包裹", **data},
                at=when,
            )


def courier_name(session: Session, parcel: Parcel) -> str | None:
    if parcel.courier_account_id is None:
        return None
    courier = session.get(Account, parcel.courier_account_id)
    return (courier.display_name or "配送员") if courier else None


def parcels_of(session: Session, order: Order) -> list[Parcel]:
    return list(
        session.scalars(
            select(Parcel).where(col(Parcel.order_id) == order.id).order_by(col(Parcel.id))
        )
    )
