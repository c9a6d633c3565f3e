"""The report facts follow orders and refunds the way the search index follows products
(``farmgate/search/tracking.py``): a listener on every session, registered by
``farmgate.bootstrap.install()``, sees an order change status or a refund succeed and queues
the recomputation of the days they touch (``tasks.queue_refresh``) in the same transaction.
A status written by a Core UPDATE, which no flush shows, is listed in ``session.info`` under
``STATUS_WRITTEN`` by the code that wrote it (``orders.state.transition``).

So no domain calls the reports: a status written by checkout, payments, logistics or a person
at a desk is counted alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from farmgate.db import listen_on_sessions, listening_on_sessions
from farmgate.models import STATUS_WRITTEN, Order, Refund, RefundStatus
from farmgate.reports import tasks

PENDING = "reports_pending"


def _status_changed(obj: Any) -> bool:
    return bool(inspect(obj).attrs["status"].history.has_changes())


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    # Read before the flush: the attribute history is gone after it.
    moments: list[datetime | None] = []
    for obj in session.dirty:
        if isinstance(obj, Order) and _status_changed(obj):
            moments += [obj.created_at, obj.paid_at]  # its day of purchase and of payment
        elif (
            isinstance(obj, Refund)
            and obj.status == RefundStatus.SUCCEEDED
            and _status_changed(obj)
        ):
            moments.append(obj.completed_at)  # it counts on the day the money went back
    if any(m is not None for m in moments):
        session.info.setdefault(PENDING, set()).update(m for m in moments if m is not None)


def _before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: see its changes now
    moments = session.info.pop(PENDING, set())
    for order in session.info.pop(STATUS_WRITTEN, []):  # statuses no flush showed
        moments.update(m for m in (order.created_at, order.paid_at) if m is not None)
    if moments:
        tasks.queue_refresh(session, *moments)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(STATUS_WRITTEN, None)


LISTENERS = (
    ("before_flush", _before_flush),
    ("before_commit", _before_commit),
    ("after_rollback", _after_rollback),
)


def register() -> None:
    """Listen on every session (idempotent); called by ``farmgate.bootstrap.install()``."""
    listen_on_sessions(LISTENERS)


def registered() -> bool:
    return listening_on_sessions(LISTENERS)
