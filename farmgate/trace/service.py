"""Batches and their story: inputs, harvest, inspections, handling steps, transformations,
corrections and recalls. Every change that is part of the story is a hash-chained event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from farmgate.config import settings
from farmgate.cooperatives.service import ensure_public, ensure_public_status
from farmgate.db import pk, utcnow
from farmgate.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from farmgate.gs1.gtin import gtin_from_prefix, is_valid_gtin, to_gtin14
from farmgate.media.photos import store_photo
from farmgate.models import (
    Account,
    Batch,
    BatchInput,
    BatchStatus,
    Certification,
    Cooperative,
    Product,
    Role,
    ScanCount,
    TraceEvent,
)
from farmgate.timeutil import local_today
from farmgate.trace import chain, facts
from farmgate.trace.scans import StoredScans
from farmgate.trace.schemas import (
    BatchIn,
    CorrectionIn,
    HarvestIn,
    InputIn,
    StepIn,
)

STEP_LABELS = {
    "commissioning": "采收入库",
    "input": "施肥用药",
    "inspecting": "检测",
    "certifying": "认证",
    "packing": "包装",
    "storing": "仓储",
    "shipping": "发出",
    "receiving": "接收",
    "retail_selling": "销售",
    "transforming": "加工",
    "recall": "召回",
    "correction": "更正",
}


# --- access -----------------------------------------------------------------------------


def can_manage(actor: Account, cooperative_id: int) -> bool:
    return actor.role == Role.ADMIN or (
        actor.role == Role.COOPERATIVE and actor.cooperative_id == cooperative_id
    )


def get_batch(session: Session, actor: Account, batch_id: int, *, lock: bool = False) -> Batch:
    """A batch the actor may manage; others' batches do not exist for them."""
    batch = session.get(Batch, batch_id, with_for_update=lock)
    if batch is None or not can_manage(actor, batch.cooperative_id):
        raise NotFound("批次不存在", context={"batch_id": batch_id})
    return batch


def find_public(session: Session, gtin: str, lot: str) -> Batch:
    """The batch a scanned Digital Link names, if its cooperative may publish."""
    batch = session.scalars(
        select(Batch).where(col(Batch.gtin) == to_gtin14(gtin), col(Batch.lot_code) == lot)
    ).first()
    if batch is None:
        raise NotFound("没有找到这个批次，请核对包装上的二维码")
    ensure_public(session, batch.cooperative_id)
    return batch


class PublicLot(NamedTuple):
    """What the public page reads of a scanned lot on every scan: Core values, no ORM objects
    (the lot itself is loaded only when its story has to be built)."""

    id: int
    gtin: str
    lot_code: str
    product_id: int
    status: str
    excursion: bool
    recall_reason: str
    head: str | None  # the chain's head hash: the story's cache key
    scans: StoredScans | None  # the scanned code's stored counts (None: no row yet)


_HEAD = (
    select(col(TraceEvent.hash))
    .where(col(TraceEvent.batch_id) == Batch.id)
    .order_by(col(TraceEvent.seq).desc())
    .limit(1)
    .correlate(Batch)
    .scalar_subquery()
)
# Built once and only bound per request: building a statement costs more CPU than the
# database takes to answer it (the trace page is the busiest page there is).
_PUBLIC_PAGE = (
    select(
        col(Batch.id),
        col(Batch.gtin),
        col(Batch.lot_code),
        col(Batch.product_id),
        col(Batch.status),
        col(Batch.excursion),
        col(Batch.recall_reason),
        _HEAD,
        col(Cooperative.status),
        col(ScanCount.id),
        col(ScanCount.scans),
        col(ScanCount.places),
        col(ScanCount.clients),
    )
    .join(Cooperative, col(Cooperative.id) == Batch.cooperative_id)
    .outerjoin(
        ScanCount,
        (col(ScanCount.batch_id) == Batch.id) & (col(ScanCount.serial) == bindparam("serial")),
    )
    .where(col(Batch.gtin) == bindparam("gtin"), col(Batch.lot_code) == bindparam("lot"))
    .limit(1)
)


def find_public_page(session: Session, gtin: str, lot: str, serial: str) -> PublicLot:
    """:func:`find_public`, with what the public page needs next, in one statement: the chain's
    head hash (its story's cache key) and the scan counts of the code (``serial``, "" for the
    lot's own code)."""
    row = (
        session.connection()
        .execute(_PUBLIC_PAGE, {"gtin": to_gtin14(gtin), "lot": lot, "serial": serial})
        .first()
    )
    if row is None:
        raise NotFound("没有找到这个批次，请核对包装上的二维码")
    batch_id, gtin14, lot_code, product_id, status, excursion, reason, head = row[:8]
    coop_status, scan_id, scan_total, places, clients = row[8:]
    ensure_public_status(coop_status)
    stored = StoredScans(scan_total, places, clients) if scan_id is not None else None
    return PublicLot(
        batch_id, gtin14, lot_code, product_id, status, excursion, reason, head, stored
    )


# --- batches ----------------------------------------------------------------------------


def product_gtin(product: Product) -> str:
    if product.gtin:
        return to_gtin14(product.gtin)
    return gtin_from_prefix(settings.gs1_company_prefix, product.id or 0)


def create_batch(session: Session, actor: Account, data: BatchIn) -> Batch:
    product = session.get(Product, data.product_id)
    if product is None or not can_manage(actor, product.cooperative_id):
        raise NotFound("商品不存在", context={"product_id": data.product_id})
    if actor.role != Role.COOPERATIVE and actor.role != Role.ADMIN:
        raise PermissionDenied("只有合作社可以登记批次")
    if product.gtin and not is_valid_gtin(product.gtin):
        raise ValidationFailed("商品的 GTIN 校验位不正确", fields={"gtin": product.gtin})
    taken = session.scalars(
        select(col(Batch.id)).where(
            col(Batch.cooperative_id) == product.cooperative_id,
            col(Batch.lot_code) == data.lot_code,
        )
    ).first()
    if taken is not None:
        raise Conflict("本合作社已有同一批次号", fields={"lot_code": "批次号须唯一"})
    batch = Batch(
        cooperative_id=product.cooperative_id,
        product_id=pk(product),
        gtin=product_gtin(product),
        **data.model_dump(exclude={"product_id"}),
    )
    session.add(batch)
    session.flush()
    return batch


def _current_batches(product_id: Any, lot: Any = Batch) -> Any:
    return (
        select(lot)
        .where(
            lot.product_id == product_id,
            lot.status == BatchStatus.ACTIVE,
            lot.harvest_date.is_not(None),
        )
        .order_by(lot.harvest_date.desc(), lot.id.desc())
        .limit(1)
    )


def current_batch(session: Session, product_id: int) -> Batch | None:
    """The newest active, harvested lot of a product: what the product page links to."""
    return session.scalars(_current_batches(product_id)).first()


def current_batch_id_of(product_id: Any) -> Any:
    """SQL: :func:`current_batch`'s id for the product whose id is ``product_id`` (a column of
    an enclosing statement), to read it in that statement (which may join a Batch of its own:
    the subquery reads an alias)."""
    lot = aliased(Batch)
    return _current_batches(product_id, lot).with_only_columns(lot.id).scalar_subquery()


def lots_by_product(session: Session, cooperative_id: int) -> dict[int, list[Batch]]:
    """A cooperative's active, harvested lots by product, newest first (for packing)."""
    out: dict[int, list[Batch]] = {}
    for batch in session.scalars(
        select(Batch)
        .where(
            col(Batch.cooperative_id) == cooperative_id,
            col(Batch.status) == BatchStatus.ACTIVE,
            col(Batch.harvest_date).is_not(None),
        )
        .order_by(col(Batch.harvest_date).desc(), col(Batch.id).desc())
    ):
        out.setdefault(batch.product_id, []).append(batch)
    return out


def list_batches(session: Session, actor: Account, limit: int = 200) -> list[Batch]:
    query = select(Batch).order_by(col(Batch.id).desc()).limit(limit)
    if actor.role != Role.ADMIN:
        if actor.role != Role.COOPERATIVE or actor.cooperative_id is None:
            raise PermissionDenied("只有合作社和乡镇管理员可以查看批次")
        query = query.where(col(Batch.cooperative_id) == actor.cooperative_id)
    return list(session.scalars(query))


def require_active(batch: Batch) -> None:
    if batch.status == BatchStatus.RECALLED:
        raise Conflict("该批次已召回，不能再登记新的流转记录")


def events(session: Session, batch: Batch) -> Sequence[TraceEvent]:
    return session.scalars(
        select(TraceEvent).where(col(TraceEvent.batch_id) == batch.id).order_by(col(TraceEvent.seq))
    ).all()


MAX_BATCH_PHOTOS = 6


def add_photo(session: Session, actor: Account, batch: Batch, data: bytes) -> dict[str, Any]:
    """A photo of the plot, the harvest or the lot (EXIF, and with it GPS, stripped)."""
    if len(batch.photos) >= MAX_BATCH_PHOTOS:
        raise ValidationFailed(f"每个批次最多 {MAX_BATCH_PHOTOS} 张照片", code="too_many_photos")
    stored = store_photo(session, f"batches/{batch.id}", data)
    entry = {"key": stored.key, "width": stored.width, "height": stored.height}
    entry["widths"] = list(stored.widths)
    batch.photos = [*batch.photos, entry]  # a new list: JSON columns track assignment only
    session.add(batch)
    session.flush()
    return entry


# --- inputs and harvest -----------------------------------------------------------------


def add_input(session: Session, actor: Account, batch: Batch, data: InputIn) -> BatchInput:
    """Record an input and log it in the chain (event time: the day it was applied).

    An input dated on or before a harvest that is already recorded would have been part of the
    pre-harvest-interval check had it been recorded in time: it is kept as ``pending`` (not
    shown, not in the chain) until a township admin approves it (trace.late_inputs)."""
    require_active(batch)
    if batch.harvest_date and data.applied_on > batch.harvest_date:
        raise ValidationFailed(
            "施用日期不能晚于采收日期", fields={"applied_on": f"采收日期为 {batch.harvest_date}"}
        )
    harvested = batch.harvest_date is not None
    record = BatchInput(
        batch_id=pk(batch), approval="pending" if harvested else "", **data.model_dump()
    )
    session.add(record)
    session.flush()
    if not harvested:
        log_input(session, batch, record, actor_id=actor.id)
    return record


def log_input(
    session: Session,
    batch: Batch,
    record: BatchInput,
    *,
    actor_id: int | None,
    extra: dict[str, Any] | None = None,
) -> TraceEvent:
    """The chain event of an input: its fields, at the start of the day it was applied."""
    return chain.append(
        session,
        batch,
        "input",
        {"record_id": record.id, "fields": facts.input_fields(record), **(extra or {})},
        at=facts.day_time(record.applied_on),
        actor_id=actor_id,
    )


def inputs(session: Session, batch: Batch, *, pending: bool = False) -> Sequence[BatchInput]:
    """The lot's inputs in the order applied: those in its record (recorded in time, or late
    and approved); with ``pending``, also those waiting for or refused approval."""
    query = select(BatchInput).where(col(BatchInput.batch_id) == batch.id)
    if not pending:
        query = query.where(col(BatchInput.approval).in_(("", "approved")))
    return session.scalars(query.order_by(col(BatchInput.applied_on), col(BatchInput.id))).all()


def earliest_harvest(session: Session, batch: Batch) -> tuple[date, BatchInput] | None:
    """The first day a harvest respects every pre-harvest interval, and the input deciding it."""
    latest: tuple[date, BatchInput] | None = None
    for record in inputs(session, batch):
        ready = record.applied_on + timedelta(days=record.preharvest_interval_days)
        if latest is None or ready > latest[0]:
            latest = (ready, record)
    return latest


def record_harvest(
    session: Session,
    actor: Account,
    batch: Batch,
    data: HarvestIn,
    *,
    household: dict[str, str] | None = None,
) -> TraceEvent:
    """The EPCIS ``commissioning`` event: the lot comes into being (ilmd: lot, date, plot).

    ``household``: a villager's harvest listed by a village station under its cooperative
    (stations.harvest): who grew it and which station took it in, logged with the lot."""
    require_active(batch)
    if any(e.kind == "commissioning" for e in events(session, batch)):
        raise Conflict("该批次已登记采收；如有错误请提交更正")
    if data.harvest_date > local_today():
        raise ValidationFailed("采收日期不能晚于今天", fields={"harvest_date": "请核对日期"})
    gate = earliest_harvest(session, batch)
    if gate and data.harvest_date < gate[0]:
        ready, record = gate
        raise ValidationFailed(
            f"安全间隔期未满：{record.product_name} 于 {record.applied_on} 施用，"
            f"安全间隔期 {record.preharvest_interval_days} 天，最早可于 {ready} 采收",
            code="preharvest_interval",
            fields={"harvest_date": f"最早 {ready}"},
        )
    batch.harvest_date = data.harvest_date
    session.add(batch)
    event = chain.append(
        session,
        batch,
        "commissioning",
        {
            "lot": batch.lot_code,
            "harvest_date": data.harvest_date.isoformat(),
            "quantity": str(batch.quantity),
            "unit": batch.unit,
            "plot": {
                "village_code": batch.village_code,
                "name": batch.plot_name,
                "latitude": batch.latitude,
                "longitude": batch.longitude,
                "area_mu": str(batch.area_mu) if batch.area_mu is not None else None,
            },
            "producer": batch.producer,
            "inputs": [_input_summary(r) for r in inputs(session, batch)],
            "note": data.note,
            **({"household": household} if household else {}),
        },
        at=data.at or facts.day_start(data.harvest_date),
        actor_id=actor.id,
    )
    log_covering_certifications(session, batch, actor_id=actor.id)
    return event


def log_covering_certifications(
    session: Session, batch: Batch, *, actor_id: int | None = None
) -> None:
    """Log in the lot's chain the product's and cooperative's certifications it does not
    hold yet: a certification shows on a lot only when the lot's own chain logged it."""
    done = {
        e.data.get("certification_id") for e in events(session, batch) if e.kind == "inspecting"
    }
    for cert in session.scalars(
        select(Certification)
        .where(
            col(Certification.cooperative_id) == batch.cooperative_id,
            col(Certification.batch_id).is_(None),
            or_(
                col(Certification.product_id) == batch.product_id,
                col(Certification.product_id).is_(None),
            ),
        )
        .order_by(col(Certification.id))
    ):
        if cert.id not in done:
            kind, data = facts.certification_event(cert)
            chain.append(session, batch, kind, data, actor_id=actor_id)


def _input_summary(record: BatchInput) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "product": record.product_name,
        "registration_no": record.registration_no,
        "dose": record.dose,
        "applied_on": record.applied_on.isoformat(),
        "preharvest_interval_days": record.preharvest_interval_days,
    }


# --- handling ---------------------------------------------------------------------------


def record_step(session: Session, actor: Account, batch: Batch, data: StepIn) -> TraceEvent:
    """Packing, storing, shipping, receiving or retail selling, with custody when it moves."""
    require_active(batch)
    if data.at is not None and data.at > utcnow() + timedelta(minutes=5):
        raise ValidationFailed("发生时间不能晚于现在", fields={"at": "请核对时间"})
    if data.step in ("shipping", "receiving") and not (data.from_party and data.to_party):
        raise ValidationFailed(
            "发出和接收须填写交接双方",
            fields={"from_party": "必填", "to_party": "必填"},
        )
    return chain.append(
        session,
        batch,
        data.step,
        {
            "place": data.place,
            "from_party": data.from_party,
            "to_party": data.to_party,
            "note": data.note,
        },
        at=data.at,
        actor_id=actor.id,
    )


def correct(session: Session, actor: Account, batch: Batch, data: CorrectionIn) -> TraceEvent:
    """A correction is a new event naming the one it corrects; the original stays."""
    target = session.scalars(
        select(TraceEvent).where(
            col(TraceEvent.batch_id) == batch.id, col(TraceEvent.seq) == data.seq
        )
    ).first()
    if target is None:
        raise NotFound("要更正的事件不存在", fields={"seq": str(data.seq)})
    if target.kind == "correction":
        raise Conflict("不能更正一条更正记录；请更正原事件")
    if target.kind == "commissioning" and data.reason != "did_not_occur":
        _apply_batch_correction(batch, data.corrected)
        session.add(batch)
    return chain.append(
        session,
        batch,
        "correction",
        {
            "corrects_seq": target.seq,
            "corrects_hash": target.hash,
            "corrects_kind": target.kind,
            "reason": data.reason,
            "note": data.note,
            "corrected": data.corrected,
        },
        actor_id=actor.id,
    )


def _apply_batch_correction(batch: Batch, corrected: dict[str, Any]) -> None:
    """A correction of the harvest event corrects the lot's facts the page shows."""
    try:
        if "harvest_date" in corrected:
            batch.harvest_date = date.fromisoformat(str(corrected["harvest_date"]))
        if "quantity" in corrected:
            batch.quantity = Decimal(str(corrected["quantity"]))
    except (ValueError, ArithmeticError) as exc:
        raise ValidationFailed("更正内容格式不正确", fields={"corrected": str(exc)}) from exc
    if "unit" in corrected:
        batch.unit = str(corrected["unit"])[:10]
    if "producer" in corrected:
        batch.producer = str(corrected["producer"])[:60]
    plot = corrected.get("plot")
    if isinstance(plot, dict):
        batch.plot_name = str(plot.get("name", batch.plot_name))[:60]
        batch.village_code = plot.get("village_code", batch.village_code)
        batch.latitude = plot.get("latitude", batch.latitude)
        batch.longitude = plot.get("longitude", batch.longitude)
        if plot.get("area_mu") is not None:
            batch.area_mu = Decimal(str(plot["area_mu"]))
