"""Recording work in the outbox, inside the caller's transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.orm import Session

from farmgate.db import run, table_of, utcnow
from farmgate.jobs import registry
from farmgate.models import OutboxJob, OutboxStatus
from farmgate.ops import logs

_listeners: list[Callable[[], None]] = []
_lock = threading.Lock()


_OUTBOX = table_of(OutboxJob)
# Core statements, built once: a queued job is one INSERT, without an ORM object or a flush.
_INSERT = insert(_OUTBOX).returning(_OUTBOX.c.id)
_WAITING = (
    select(_OUTBOX.c.id)
    .where(
        _OUTBOX.c.job == bindparam("job"),
        _OUTBOX.c.key == bindparam("key"),
        _OUTBOX.c.status == OutboxStatus.PENDING,
    )
    .order_by(_OUTBOX.c.id)
    .limit(1)
)


def enqueue(
    session: Session,
    job: str,
    args: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    delay_seconds: float = 0,
    coalesce: bool = False,
) -> int:
    """Record that ``job`` must run once this transaction commits; returns the row's id.

    ``key`` is the business id the job is about (``product:12``). With ``coalesce`` a job
    already waiting for the same job and key is reused (its id returned) instead of adding
    another. The row is written at once, in the caller's transaction.
    """
    spec = registry.get(job)
    if spec is None:
        raise ValueError(f"unknown job {job!r}; import its module in farmgate.bootstrap.install()")
    if coalesce and key is not None:
        waiting = run(session, _WAITING, {"job": job, "key": key}).scalar()
        if waiting is not None:
            return int(waiting)
    rid = logs.request_id.get()  # the request that caused this work, for the logs
    now = utcnow()
    row_id = run(
        session,
        _INSERT,
        {
            "job": job,
            "args": {**(args or {}), **({"_request_id": rid} if rid else {})},
            "key": key,
            "queue": spec.queue,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "created_at": now,
            "available_at": now + timedelta(seconds=delay_seconds) if delay_seconds else now,
            "last_error": "",
        },
    ).scalar_one()
    if not delay_seconds:
        # Wake the executor after the commit. A delayed row is not due yet: the executor's
        # poll finds it in time, and a wake for it was a round that claimed nothing.
        session.info["outbox_added"] = True
    return int(row_id)


def on_new_work(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` (from any thread) after a commit that added outbox rows due now."""
    with _lock:
        _listeners.append(callback)

    def remove() -> None:
        with _lock:
            if callback in _listeners:
                _listeners.remove(callback)

    return remove


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the rows are not committed yet
        return
    if session.info.pop("outbox_added", False):
        with _lock:
            listeners = list(_listeners)
        for callback in listeners:
            callback()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("outbox_added", None)
