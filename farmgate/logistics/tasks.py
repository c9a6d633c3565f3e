"""Logistics jobs (rules in farmgate/jobs/__init__.py). Every job is keyed by the parcel and
safe to run twice: a waybill is looked for before one is created, a subscription is recorded,
and a stored push is applied once (a stale one changes nothing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.jobs.errors import PermanentJobError, TransientJobError
from farmgate.jobs.registry import job, periodic
from farmgate.logistics import service
from farmgate.logistics.adapter import CourierError, CourierUnavailable
from farmgate.models import CourierPush, Parcel


def _carrier_call(action: Any) -> Any:
    try:
        return action()
    except CourierUnavailable as exc:
        raise TransientJobError(str(exc)) from exc
    except service.LogisticsUnavailable as exc:
        raise PermanentJobError(exc.message) from exc
    except CourierError as exc:
        raise PermanentJobError(f"carrier refused: {exc}") from exc


@job("logistics.create_waybill", queue="slow", max_tries=10, timeout=40, backoff_base=15)
def create_waybill(session: Session, args: dict[str, Any]) -> None:
    parcel = session.get(Parcel, args["parcel_id"], with_for_update=True)
    if parcel is None or parcel.waybill_no:
        return
    _carrier_call(lambda: service.create_waybill(session, parcel))


@job("logistics.subscribe", queue="slow", max_tries=10, timeout=40, backoff_base=15)
def subscribe(session: Session, args: dict[str, Any]) -> None:
    parcel = session.get(Parcel, args["parcel_id"], with_for_update=True)
    if parcel is None:
        return
    _carrier_call(lambda: service.subscribe(session, parcel))


@job("logistics.apply_push", queue="quick", max_tries=8, timeout=20)
def apply_push(session: Session, args: dict[str, Any]) -> None:
    push = session.get(CourierPush, args["push_id"], with_for_update=True)
    if push is None or push.outcome != "pending":
        return
    parcel = session.get(Parcel, push.parcel_id, with_for_update=True)
    assert parcel is not None
    applied = service.apply_snapshot(session, parcel, service.snapshot_from(push.snapshot))
    push.outcome = "applied" if applied else "stale"
    session.add(push)


@periodic("logistics.poll", every_seconds=600)
def poll(session: Session) -> int:
    """Ask the carrier about parcels whose pushes stopped (none for ``tracking_poll_minutes``)."""
    if not settings.kuaidi100_key:
        return 0
    quiet = utcnow() - timedelta(minutes=settings.tracking_poll_minutes)
    parcels = session.scalars(
        select(Parcel)
        .where(
            Parcel.waybill_no.is_not(None),  # type: ignore[union-attr]
            Parcel.is_final.is_(False),  # type: ignore[attr-defined]
            Parcel.updated_at < quiet,
        )
        .order_by(Parcel.updated_at)
        .limit(100)
    ).all()
    carrier = service.adapter()
    changed = 0
    for parcel in parcels:
        try:
            snapshot = carrier.query(parcel.carrier, parcel.waybill_no or "", None)
        except CourierError:
            continue  # this round; the next poll asks again
        changed += service.apply_snapshot(session, parcel, snapshot)
        parcel.updated_at = utcnow()  # asked: wait another interval even if nothing moved
        session.add(parcel)
    return changed
