"""Logistics jobs (rules in farmgate/jobs/__init__.py). Every job is keyed by the parcel and
safe to run twice: a waybill is looked for before one is created, a subscription is recorded,
and a stored push is applied once (a stale one changes nothing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.jobs.errors import PermanentJobError, TransientJobError
from farmgate.jobs.registry import job, periodic
from farmgate.logistics import service
from farmgate.logistics.adapter import CourierError, CourierNotReached, CourierUnavailable
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


class ParcelArgs(TypedDict):
    parcel_id: int


class PushArgs(TypedDict):
    push_id: int


@job("logistics.create_waybill", queue="slow", max_tries=10, timeout=40, backoff_base=15)
def create_waybill(session: Session, args: ParcelArgs) -> None:
    """Get the parcel its waybill, never two.

    Before asking, the attempt is committed (``create_state = "sent"``): if the answer is then
    lost (a timeout, a 5xx, this process killed), the next run knows the carrier may have made
    one. It asks the carrier when the carrier can be asked (``find_waybill``); otherwise the
    parcel waits for a person (``service.needs_check``) instead of risking a second waybill.
    Only one run at a time: the outbox lease outlasts this job's timeout.
    """
    parcel = session.get(Parcel, args["parcel_id"], with_for_update=True)
    if parcel is None or parcel.waybill_no or parcel.create_state == service.CHECK:
        return
    carrier = _carrier_call(service.adapter)
    if parcel.create_state == service.SENT:
        if not carrier.can_find_waybill:
            service.needs_check(session, parcel)
            return
        found = _carrier_call(lambda: carrier.find_waybill(parcel.order_ref))
        if found is not None:
            service.record_waybill(session, parcel, found)
            return
    request = service.waybill_request(session, parcel)
    parcel_id = parcel.id
    parcel.create_state, parcel.create_sent_at = service.SENT, utcnow()
    session.add(parcel)
    session.commit()  # the mark must outlive whatever happens to the call

    def create() -> Any:
        try:
            return carrier.create_waybill(request)
        except CourierError as exc:
            # Nothing was made when the request never left or the carrier said no; after a
            # timeout or a 5xx it may exist, and the "sent" mark stays.
            if isinstance(exc, CourierNotReached) or not isinstance(exc, CourierUnavailable):
                _forget_attempt(session, parcel_id)
            raise

    made = _carrier_call(create)
    parcel = session.get(Parcel, parcel_id, with_for_update=True)
    assert parcel is not None
    service.record_waybill(session, parcel, made)


def _forget_attempt(session: Session, parcel_id: int | None) -> None:
    session.rollback()
    parcel = session.get(Parcel, parcel_id, with_for_update=True)
    if parcel is not None and not parcel.waybill_no:
        parcel.create_state = ""
        session.add(parcel)
        session.commit()


@job("logistics.subscribe", queue="slow", max_tries=10, timeout=40, backoff_base=15)
def subscribe(session: Session, args: ParcelArgs) -> None:
    parcel = session.get(Parcel, args["parcel_id"], with_for_update=True)
    if parcel is None:
        return
    _carrier_call(lambda: service.subscribe(session, parcel))


@job("logistics.apply_push", queue="quick", max_tries=8, timeout=20)
def apply_push(session: Session, args: PushArgs) -> None:
    push = session.get(CourierPush, args["push_id"], with_for_update=True)
    if push is None or push.outcome != "pending":
        return
    parcel = session.get(Parcel, push.parcel_id, with_for_update=True)
    assert parcel is not None
    snapshot = service.snapshot_from(push.snapshot)
    applied = service.apply_snapshot(session, parcel, snapshot)
    service.resubscribe_if_asked(session, parcel, snapshot)  # even when the events are stale
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
            col(Parcel.waybill_no).is_not(None),
            col(Parcel.is_final).is_(False),
            col(Parcel.carrier) != service.TOWNSHIP,
            col(Parcel.updated_at) < quiet,
        )
        .order_by(col(Parcel.updated_at))
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
