"""The township's own couriers (village delivery staff): no carrier API, a phone page instead.

A parcel for an order delivered by the township (``DeliveryMethod.LOCAL``) is numbered by us
when the order is paid. The cooperative (or the township) assigns it to a courier account; the
courier records each step from the phone (picked up, on the way, out for delivery, delivered,
a problem, refused) with time, place, an optional temperature and note. Each step becomes a
tracking event and goes through the same ``apply_snapshot`` as a carrier's push, so the
fulfilment, the order and the lots' chains follow exactly as they do for the post office.
A form sent twice (a flaky network) carries the same token and is recorded once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import submissions
from farmgate.db import pk, utcnow
from farmgate.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from farmgate.logistics import service
from farmgate.logistics.adapter import (
    FINAL_STATUSES,
    TrackingEvent,
    TrackingSnapshot,
    TrackingStatus,
)
from farmgate.models import (
    Account,
    ColdShipment,
    OrderLine,
    Parcel,
    Product,
    Role,
    StorageClass,
)
from farmgate.places import current_township
from farmgate.timeutil import to_local

STEP_LABELS = {
    "picked_up": "配送员已取件",
    "in_transit": "转运途中",
    "out_for_delivery": "正在派送",
    "delivered": "已送达签收",
    "problem": "配送异常",
    "rejected": "收件人拒收",
}


Step = Literal["picked_up", "in_transit", "out_for_delivery", "delivered", "problem", "rejected"]


class ParcelStepIn(BaseModel):
    status: Step
    at: AwareDatetime | None = Field(default=None, description="默认为提交时间")
    place: str = Field(default="", max_length=80)
    temperature_c: float | None = Field(default=None, ge=-60, le=60)
    note: str = Field(default="", max_length=200)
    client_token: submissions.FormToken = None


def couriers(session: Session, actor: Account) -> list[Account]:
    """Active courier accounts, for the assignment form of cooperatives and the township."""
    if actor.role not in (Role.COOPERATIVE, Role.ADMIN):
        raise PermissionDenied("只有合作社和乡镇管理员可以指派配送员")
    return list(
        session.scalars(
            select(Account)
            .where(col(Account.role) == Role.COURIER, col(Account.is_active).is_(True))
            .order_by(Account.display_name, col(Account.id))
        )
    )


def assign(session: Session, actor: Account, parcel_id: int, courier_id: int) -> Parcel:
    """Give a township parcel to a courier (again, to hand it to another one)."""
    parcel = service.staff_parcel(session, actor, parcel_id)
    if parcel.carrier != service.TOWNSHIP:
        raise Conflict("该包裹由快递公司承运，无需指派配送员", context={"parcel_id": parcel_id})
    if parcel.is_final:
        raise Conflict("该包裹已签收", context={"parcel_id": parcel_id})
    courier = session.get(Account, courier_id)
    if courier is None or courier.role != Role.COURIER or not courier.is_active:
        raise ValidationFailed("配送员不存在", fields={"courier_account_id": "请选择配送员"})
    parcel.courier_account_id = courier.id
    parcel.updated_at = utcnow()
    session.add(parcel)
    # The same person carries the fulfilment's cold-chain shipments nobody carries yet, so the
    # temperature handoffs show on the same phone page.
    for shipment in session.scalars(
        select(ColdShipment).where(
            col(ColdShipment.fulfilment_id) == parcel.fulfilment_id,
            col(ColdShipment.courier_account_id).is_(None),
        )
    ):
        shipment.courier_account_id = courier.id
        session.add(shipment)
    return parcel


def courier_parcels(session: Session, courier: Account) -> list[Parcel]:
    """What the courier carries now, and what they delivered in the last day."""
    if courier.role != Role.COURIER:
        raise PermissionDenied("只有配送员账号可以查看派给自己的包裹")
    recent = utcnow() - timedelta(days=1)
    return list(
        session.scalars(
            select(Parcel)
            .where(
                col(Parcel.courier_account_id) == courier.id,
                col(Parcel.is_final).is_(False) | (Parcel.updated_at > recent),
            )
            .order_by(col(Parcel.is_final), col(Parcel.id).desc())
            .limit(100)
        )
    )


def courier_parcel(session: Session, courier: Account, parcel_id: int) -> Parcel:
    parcel = session.get(Parcel, parcel_id, with_for_update=True)
    if parcel is None or courier.role != Role.COURIER or parcel.courier_account_id != courier.id:
        raise NotFound("包裹不存在或未派给你", context={"parcel_id": parcel_id})
    return parcel


def _carries_cold(session: Session, parcel: Parcel) -> bool:
    return (
        session.scalars(
            select(col(Product.id))
            .join(OrderLine, col(OrderLine.product_id) == col(Product.id))
            .where(
                col(OrderLine.fulfilment_id) == parcel.fulfilment_id,
                col(Product.storage_class) != StorageClass.AMBIENT,
            )
        ).first()
        is not None
    )


def record_step(session: Session, courier: Account, parcel_id: int, data: ParcelStepIn) -> Parcel:
    """One step of the parcel's way, recorded once per ``client_token``."""
    parcel = courier_parcel(session, courier, parcel_id)
    first = submissions.first_record(session, "parcel_step", data.client_token)
    if first is not None:
        if first != parcel.id:
            raise Conflict("重复的提交编号", context={"parcel_id": parcel_id})
        return parcel
    if parcel.is_final:
        raise Conflict("该包裹已签收，不能再登记", context={"parcel_id": parcel_id})
    if data.status == "problem" and not data.note.strip():
        raise ValidationFailed("请说明异常情况", fields={"note": "配送异常需要填写说明"})
    if (
        data.status in ("picked_up", "delivered")
        and data.temperature_c is None
        and _carries_cold(session, parcel)
    ):
        raise ValidationFailed(
            "冷藏冷冻包裹取件和签收时须记录温度", fields={"temperature_c": "请填写温度"}
        )
    now = utcnow()
    at = to_local(data.at or now)  # pages show event times as they are stored
    if at > now + timedelta(minutes=5):
        raise ValidationFailed("时间不能晚于现在", fields={"at": "时间不能晚于现在"})
    if parcel.last_event_at is not None and at < parcel.last_event_at:
        raise ValidationFailed("时间早于上一条记录", fields={"at": "不能早于上一条记录的时间"})

    status = TrackingStatus(data.status)
    words = [STEP_LABELS[data.status], f"（{courier.display_name or '配送员'}）"]
    if data.temperature_c is not None:
        words.append(f"，温度 {data.temperature_c:g}℃")
    if data.note.strip():
        words.append(f"，{data.note.strip()}")
    context = (f"【{data.place}】" if data.place else "") + "".join(words)
    stored = service.snapshot_from(
        {"carrier": parcel.carrier, "waybill": parcel.waybill_no, "status": "created"}
        | {"events": parcel.events}
    )
    snapshot = TrackingSnapshot(
        carrier=parcel.carrier,
        waybill=parcel.waybill_no or parcel.order_ref,
        status=status,
        raw_state="",  # no carrier, no raw state of its own
        events=(*stored.events, TrackingEvent(at, context, data.place, status)),
        is_final=status in FINAL_STATUSES,
    )
    # The lots' chain (public on the trace page, and in EPCIS exports) gets the township, never
    # the courier's free-text place: that may be a buyer's street address. The parcel's own
    # tracking, which only its buyer and the township see, keeps it.
    township = current_township(session)
    extra = {
        "note": "乡镇配送",
        "public_place": township.name if township is not None else "",
        "temperature_c": data.temperature_c,
        "at": at,
    }
    if not service.apply_snapshot(session, parcel, snapshot, trace_extra=extra):
        raise Conflict("与上一条记录同一时刻，请稍后再提交", context={"parcel_id": parcel_id})
    session.add(parcel)
    submissions.remember(session, "parcel_step", data.client_token, pk(parcel))
    return parcel
