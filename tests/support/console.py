"""Things the township console's trace and ops pages act on, made through domain functions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from farmgate.models import (
    Account,
    Alert,
    Batch,
    Certification,
    DeadJob,
    Fulfilment,
    Order,
    OrderLine,
    OutboxJob,
    OutboxStatus,
    Parcel,
    WaybillCreate,
)
from farmgate.orders import service as orders
from farmgate.timeutil import local_today
from farmgate.trace.alerts import raise_alert


def excursion(session: Session, lot: Batch, shipment_id: int = 7) -> Alert:
    """The alert the cold chain's excursion job raises for a shipment of ``lot``."""
    alert = raise_alert(
        session,
        f"excursion:{shipment_id}",
        "excursion",
        f"冷链温度超标：批次 {lot.lot_code}（运输 #{shipment_id}，超限累计 95 分钟）",
        cooperative_id=lot.cooperative_id,
        batch_id=lot.id,
        details={"minutes_out": 95},
    )
    assert alert is not None
    return alert


def expired_certificate(session: Session, lot: Batch) -> Certification:
    cert = Certification(
        cooperative_id=lot.cooperative_id,
        batch_id=lot.id,
        kind="green_food",
        code="LB-2024-001",
        issued_on=local_today() - timedelta(days=800),
        expires_on=local_today() - timedelta(days=3),
    )
    session.add(cert)
    session.flush()
    return cert


def waybill_to_check(session: Session, order: Order) -> Parcel:
    """A parcel whose waybill may exist at the carrier: a person must look."""
    part = session.query(Fulfilment).filter_by(order_id=order.id).first()
    assert part is not None
    parcel = Parcel(
        fulfilment_id=part.id,  # type: ignore[arg-type]
        order_id=order.id,  # type: ignore[arg-type]
        carrier="zhongtong",
        order_ref=f"FG-{order.id}-1",
        salt="s" * 16,
        create_state=WaybillCreate.CHECK,
    )
    session.add(parcel)
    session.flush()
    return parcel


def dead_job(session: Session, job: str = "sms.send", error: str = "网关超时") -> DeadJob:
    row = OutboxJob(job=job, args={"to": "13800000000"}, status=OutboxStatus.DEAD, attempts=5)
    session.add(row)
    session.flush()
    dead = DeadJob(outbox_id=row.id, job=job, args=row.args, attempts=5, error=error)  # type: ignore[arg-type]
    session.add(dead)
    session.flush()
    return dead


def packed(session: Session, staff: Account, order: Order, lot: Batch) -> None:
    """The cooperative packed ``order`` saying each line came from ``lot``."""
    part = session.query(Fulfilment).filter_by(order_id=order.id).one()
    lines = session.query(OrderLine).filter_by(fulfilment_id=part.id).all()
    orders.mark_packed(session, staff, part.id, {ln.id: lot.id for ln in lines})  # type: ignore[arg-type, misc]
