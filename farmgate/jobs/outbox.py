"""Recording work in the outbox, inside the caller's transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import utcnow
from farmgate.jobs import registry
from farmgate.models import OutboxJob, OutboxStatus
from farmgate.ops import logs

_listeners: list[Callable[[], None]] = []
_lock = threading.Lock()


def enqueue(
    session: Session,
    job: str,
    args: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    delay_seconds: float = 0,
    coalesce: bool = False,
) -> OutboxJob:
    """Record that ``job`` must run once this transaction commits.

    ``key`` is the business id the job is about (``product:12``). With ``coalesce`` a job
    already waiting for the same job and key is reused instead of adding another.
    """
    spec = registry.get(job)
    if spec is None:
        raise ValueError(f"unknown job {job!r}; import its module in farmgate.bootstrap.install()")
    if coalesce and key is not None:
        waiting = session.scalars(
            select(OutboxJob).where(
                col(OutboxJob.job) == job,
                col(OutboxJob.key) == key,
                col(OutboxJob.status) == OutboxStatus.PENDING,
            )
        ).first()
        if waiting is not None:
            return waiting
    rid = logs.request_id.get()  # the request that caused this work, for the logs
    row = OutboxJob(
        job=job,
        args={**(args or {}), **({"_request_id": rid} if rid else {})},
        key=key,
        queue=spec.queue,
        available_at=utcnow() + timedelta(seconds=delay_seconds),
    )
    session.add(row)
    session.flush()
    session.info["outbox_added"] = True
    return row


def on_new_work(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` (from any thread) after a commit that added outbox rows."""
    with _lock:
        _listeners.append(callback)

    def remove() -> None:
        with _lock:
            if callback in _listeners:
                _listeners.remove(callback)

    return remove


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("outbox_added", False):
        with _lock:
            listeners = list(_listeners)
        for callback in listeners:
            callback()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("outbox_added", None)
