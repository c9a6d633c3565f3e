"""Cold-chain shipments: couriers record handoffs, loggers upload readings, excursions flag.

After each upload (readings.py) or handoff the shipment's analysis is brought up to date (single
and cumulative excursions, mean kinetic temperature, see temperature.py) from running aggregates
kept on the shipment (series.py, aggregates.py) instead of its whole series; a breach marks the
batch, alerts the cooperative and the township (a job, tasks.py), and shows on the trace page.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import submissions
from farmgate.coldchain import aggregates, temperature
from farmgate.coldchain.tasks import excursion_alert
from farmgate.config import settings
from farmgate.db import pk, utcnow
from farmgate.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from farmgate.media.photos import delete_after_commit, store_photo, variant_files
from farmgate.media.storage import get_storage
from farmgate.models import (
    Account,
    Batch,
    BatchStatus,
    ColdShipment,
    Handoff,
    Product,
    Role,
    ShipmentStatus,
    StorageClass,
    TemperatureReading,
)
from farmgate.rendering.charts import temperature_svg
from farmgate.trace import chain
from farmgate.trace.service import can_manage, get_batch, require_active

STORAGE_NAMES = {"ambient": "常温", "chilled": "冷藏", "frozen": "冷冻"}


class ShipmentIn(BaseModel):
    courier_account_id: int | None = None
    device_id: str | None = Field(default=None, min_length=1, max_length=40)
    fulfilment_id: int | None = None


class HandoffIn(BaseModel):
    client_token: submissions.FormToken = None
    from_party: str = Field(min_length=1, max_length=60)
    to_party: str = Field(min_length=1, max_length=60)
    at: AwareDatetime | None = None
    place: str = Field(default="", max_length=80)
    temperature_c: float | None = Field(default=None, ge=-60, le=60)
    delivered: bool = False


# --- access -----------------------------------------------------------------------------


def get_shipment(session: Session, actor: Account, shipment_id: int) -> ColdShipment:
    """The cooperative's own shipments, the courier's assigned ones, or any for the admin."""
    shipment = session.get(ColdShipment, shipment_id)
    allowed = shipment is not None and (
        can_manage(actor, shipment.cooperative_id)
        or (actor.role == Role.COURIER and shipment.courier_account_id == actor.id)
    )
    if not allowed or shipment is None:
        raise NotFound("运输记录不存在", context={"shipment_id": shipment_id})
    return shipment


def courier_shipments(session: Session, actor: Account) -> list[ColdShipment]:
    if actor.role != Role.COURIER:
        raise PermissionDenied("只有配送员账号可以查看派给自己的运输")
    return list(
        session.scalars(
            select(ColdShipment)
            .where(col(ColdShipment.courier_account_id) == actor.id)
            .order_by(col(ColdShipment.id).desc())
            .limit(100)
        )
    )


# --- shipments and handoffs -------------------------------------------------------------


def profile_for(product: Product) -> temperature.Profile:
    """The storage class's defaults, narrowed by the product's own limits when it has them."""
    base = temperature.default_profile(product.storage_class)
    return temperature.Profile(
        min_c=product.temp_min_c if product.temp_min_c is not None else base.min_c,
        max_c=product.temp_max_c if product.temp_max_c is not None else base.max_c,
        single_delay=base.single_delay,
        cumulative_limit=base.cumulative_limit,
    )


def create_shipment(
    session: Session, actor: Account, batch_id: int, data: ShipmentIn
) -> ColdShipment:
    batch = get_batch(session, actor, batch_id)
    product = session.get(Product, batch.product_id)
    assert product is not None
    if data.courier_account_id is not None:
        courier = session.get(Account, data.courier_account_id)
        if courier is None or courier.role != Role.COURIER:
            raise ValidationFailed(
                "配送员不存在", fields={"courier_account_id": "请选择配送员账号"}
            )
    shipment = ColdShipment(
        batch_id=pk(batch),
        cooperative_id=batch.cooperative_id,
        storage_class=str(product.storage_class),
        **data.model_dump(),
    )
    session.add(shipment)
    session.flush()
    return shipment


def add_handoff(
    session: Session, actor: Account, shipment: ColdShipment, data: HandoffIn
) -> Handoff:
    """Custody passes: a shipping event in the batch's chain, with the readings so far.

    The same ``client_token`` twice (a form resubmitted on a flaky network) returns the handoff
    recorded the first time.
    """
    first = submissions.first_record(session, "handoff", data.client_token)
    if first is not None:
        seen = session.get(Handoff, first)
        if seen is None or seen.shipment_id != shipment.id:
            raise Conflict("重复的提交编号")
        return seen
    if shipment.status == ShipmentStatus.DELIVERED:
        raise Conflict("该运输已签收，不能再登记交接")
    batch = session.get(Batch, shipment.batch_id, with_for_update=True)
    assert batch is not None
    if batch.status == BatchStatus.RECALLED:
        raise Conflict("该批次已召回")
    at = data.at or utcnow()
    previous = session.scalar(
        select(func.max(col(Handoff.at))).where(col(Handoff.shipment_id) == shipment.id)
    )
    analysis = analyse(session, shipment, since=previous, until=at)
    report = temperature.sensor_report(analysis, shipment.device_id) if analysis.count else None
    event = chain.append(
        session,
        batch,
        "receiving" if data.delivered else "shipping",
        {
            "from_party": data.from_party,
            "to_party": data.to_party,
            "place": data.place,
            "temperature_c": data.temperature_c,
            "shipment_id": shipment.id,
            "storage_class": shipment.storage_class,
            "sensor_report": _json_safe(report),
        },
        at=at,
        actor_id=actor.id,
    )
    handoff = Handoff(
        shipment_id=pk(shipment),
        from_party=data.from_party,
        to_party=data.to_party,
        at=at,
        place=data.place,
        temperature_c=data.temperature_c,
        recorded_by=actor.id,
        trace_event_id=event.id,
    )
    session.add(handoff)
    session.flush()
    submissions.remember(session, "handoff", data.client_token, pk(handoff))
    if data.delivered:
        shipment.status = ShipmentStatus.DELIVERED
    refresh(session, shipment)
    return handoff


def _json_safe(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "__dataclass_fields__"):
        value = asdict(value)
    return json.loads(json.dumps(value, default=str))


def add_handoff_photo(
    session: Session, actor: Account, shipment: ColdShipment, handoff_id: int, data: bytes
) -> Handoff:
    """The photo a courier takes at a handoff (the parcel, the thermometer)."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None or handoff.shipment_id != shipment.id:
        raise NotFound("交接记录不存在")
    if handoff.recorded_by != actor.id and not can_manage(actor, shipment.cooperative_id):
        raise NotFound("交接记录不存在")
    if handoff.photo:  # replaced: the old one's files go once this commits
        delete_after_commit(session, variant_files(handoff.photo, settings.image_widths))
    handoff.photo = store_photo(session, f"handoffs/{handoff.id}", data).key
    session.add(handoff)
    session.flush()
    return handoff


# --- analysis ---------------------------------------------------------------------------


def readings_of(
    session: Session,
    shipment: ColdShipment,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[datetime, float]]:
    if shipment.device_id is None:
        return []
    query = select(col(TemperatureReading.at), col(TemperatureReading.celsius)).where(
        col(TemperatureReading.device_id) == shipment.device_id,
        col(TemperatureReading.at) >= (since or shipment.created_at - timedelta(days=1)),
    )
    if until is not None:
        query = query.where(col(TemperatureReading.at) <= until)
    return [(at, c) for at, c in session.execute(query.order_by(col(TemperatureReading.at)))]


def profile_for_shipment(session: Session, shipment: ColdShipment) -> temperature.Profile:
    batch = session.get(Batch, shipment.batch_id)
    product = session.get(Product, batch.product_id) if batch else None
    assert product is not None
    return profile_for(product)


def analyse(
    session: Session,
    shipment: ColdShipment,
    since: datetime | None = None,
    until: datetime | None = None,
) -> temperature.Analysis:
    """The readings between two instants, read and analysed whole (a handoff's leg)."""
    points = readings_of(session, shipment, since, until)
    return temperature.analyse(
        [temperature.Reading(at, celsius) for at, celsius in points],
        profile_for_shipment(session, shipment),
    )


def current_analysis(session: Session, shipment: ColdShipment) -> temperature.Analysis:
    """The whole shipment's analysis, from its running aggregates (aggregates.py); the same
    as ``analyse(session, shipment)`` without reading the series."""
    profile = profile_for_shipment(session, shipment)
    state = aggregates.current(session, shipment, profile)
    return state.analysis(profile) if state is not None else temperature.Analysis()


def refresh(session: Session, shipment: ColdShipment) -> None:
    """Re-analyse the whole shipment; a new breach marks the batch and alerts (once)."""
    result = current_analysis(session, shipment)
    was = shipment.breached
    shipment.analysis = summary(result)
    shipment.breached = bool(result.breached)
    session.add(shipment)
    if shipment.breached and not was:
        batch = session.get(Batch, shipment.batch_id, with_for_update=True)
        assert batch is not None
        batch.excursion = True
        session.add(batch)
        excursion_alert.enqueue(
            session,
            {"shipment_id": pk(shipment)},
            key=f"excursion:{shipment.id}",
        )
    session.flush()


def summary(result: temperature.Analysis) -> dict[str, Any]:
    """The figures kept on the shipment and shown on the trace page."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "count": result.count,
        "first": result.first.isoformat() if result.first else None,
        "last": result.last.isoformat() if result.last else None,
        "min_c": rounded(result.min_c),
        "max_c": rounded(result.max_c),
        "mean_c": rounded(result.mean_c),
        "mkt_c": rounded(result.mkt_c),
        "minutes_out": round(result.time_out.total_seconds() / 60),
        "excursions": [
            {
                "start": e.start.isoformat(),
                "end": e.end.isoformat(),
                "direction": e.direction,
                "peak_c": e.peak_c,
                "minutes": round(e.duration.total_seconds() / 60),
            }
            for e in result.excursions
        ],
        "single_breach": result.single_breach,
        "cumulative_breach": result.cumulative_breach,
    }


def views(session: Session, batch: Batch) -> list[dict[str, Any]]:
    """What the trace page shows of each shipment: handoffs, figures, a chart."""
    product = session.get(Product, batch.product_id)
    assert product is not None
    profile = profile_for(product)
    out = []
    for shipment in session.scalars(
        select(ColdShipment)
        .where(col(ColdShipment.batch_id) == batch.id)
        .order_by(col(ColdShipment.id))
    ):
        points = readings_of(session, shipment)
        handoffs = session.scalars(
            select(Handoff).where(col(Handoff.shipment_id) == shipment.id).order_by(col(Handoff.at))
        ).all()
        out.append(
            {
                "id": shipment.id,
                "storage": STORAGE_NAMES.get(shipment.storage_class, shipment.storage_class),
                "cold": shipment.storage_class != StorageClass.AMBIENT,
                "status": "已签收" if shipment.status == ShipmentStatus.DELIVERED else "运输中",
                "breached": shipment.breached,
                "analysis": shipment.analysis,
                "handoffs": handoffs,
                "photos": {
                    h.id: get_storage().url(f"{h.photo}-320.webp") for h in handoffs if h.photo
                },
                "chart": temperature_svg(
                    points,
                    low=profile.min_c,
                    high=profile.max_c,
                    spots=[
                        (h.at, h.temperature_c) for h in handoffs if h.temperature_c is not None
                    ],
                ),
                # Spot readings taken at handoffs, outside the profile's range, are marked
                # even when they do not make an excursion (see ``excursion_rule``).
                "outside": {
                    h.id
                    for h in handoffs
                    if h.temperature_c is not None and profile.direction(h.temperature_c)
                },
                "range": range_text(profile),
                "rule": excursion_rule(profile),
            }
        )
    return out


def range_text(profile: temperature.Profile) -> str:
    if profile.min_c is not None and profile.max_c is not None:
        return f"{profile.min_c:g}～{profile.max_c:g} ℃"
    if profile.max_c is not None:
        return f"不高于 {profile.max_c:g} ℃"
    return f"不低于 {profile.min_c:g} ℃" if profile.min_c is not None else "不限"


def excursion_rule(profile: temperature.Profile) -> str:
    """One line telling a reader why a marked reading need not be an excursion."""
    single = int(profile.single_delay.total_seconds() // 60)
    total = int(profile.cumulative_limit.total_seconds() // 60)
    return (
        f"标红的读数超出了 {range_text(profile)} 的范围；只有连续超出 {single} 分钟以上、"
        f"或累计超出 {total} 分钟以上，才判定为“温度超标”。"
    )


def start_for_lot(session: Session, actor: Account, batch: Batch, device_id: str) -> ColdShipment:
    """A shipment watched by a temperature logger, for a chilled or frozen lot only."""
    require_active(batch)
    product = session.get(Product, batch.product_id)
    if product is None or product.storage_class == StorageClass.AMBIENT:
        message = "这个商品是常温储存，不需要冷链运输记录"
        raise ValidationFailed(message, fields={"device_id": message})
    return create_shipment(session, actor, batch.id or 0, ShipmentIn(device_id=device_id))
