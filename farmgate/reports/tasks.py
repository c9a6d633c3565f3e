"""Report jobs (rules in farmgate/jobs/__init__.py): keep the daily facts behind the dashboard.

A session listener (``tracking.py``) calls ``order_changed`` whenever an order changes status
and ``refund_completed`` when money has gone back, inside that transaction; after the commit the
days they touch are recomputed whole (keyed by the day, so a burst of orders makes one run,
and a second run changes nothing). A periodic sweep recomputes today and yesterday, and the
days of parcels that moved, in case a change slipped past (a parcel signed for while its
order waits for another cooperative's).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import utcnow
from farmgate.jobs.registry import job, periodic
from farmgate.models import Order, Parcel, Refund
from farmgate.reports import summary
from farmgate.timeutil import local_today

# Changes within this many seconds share one recomputation of their day.
REFRESH_DELAY_SECONDS = 10
SWEEP_SECONDS = 600


def queue_refresh(session: Session, *moments: datetime | None) -> None:
    """Recompute the Asia/Shanghai days of ``moments`` once this transaction commits."""
    for day in sorted({summary.local_day(m) for m in moments if m is not None}):
        refresh_day.enqueue(
            session,
            {"day": day.isoformat()},
            key=f"report-day:{day.isoformat()}",
            delay_seconds=REFRESH_DELAY_SECONDS,
            coalesce=True,
        )


def order_changed(session: Session, order: Order) -> None:
    """Call after an order's status changes: its day of purchase and of payment move."""
    queue_refresh(session, order.created_at, order.paid_at)


def refund_completed(session: Session, refund: Refund) -> None:
    """Call when a refund has succeeded: it counts on the day the money went back."""
    queue_refresh(session, refund.completed_at)


class DayArgs(TypedDict):
    day: str  # ISO date, Asia/Shanghai


@job("reports.refresh_day", queue="slow", max_tries=8, timeout=60, backoff_base=10)
def refresh_day(session: Session, args: DayArgs) -> None:
    """Keyed by the day; recomputes it whole, so running it again changes nothing."""
    summary.refresh_day(session, date.fromisoformat(args["day"]))


@periodic("reports.refresh_recent", every_seconds=SWEEP_SECONDS)
def refresh_recent(session: Session) -> int:
    """Today, yesterday, and the payment days of parcels that moved since the last sweep."""
    today = local_today()
    since = utcnow() - timedelta(seconds=2 * SWEEP_SECONDS)
    paid = session.scalars(
        select(col(Order.paid_at))
        .join(Parcel, col(Parcel.order_id) == col(Order.id))
        .where(col(Parcel.updated_at) >= since, col(Order.paid_at).is_not(None))
        .distinct()
    )
    days = {today, today - timedelta(days=1)} | {
        summary.local_day(p) for p in paid if p is not None
    }
    return sum(summary.refresh_day(session, day) for day in sorted(days))
