"""Executing one outbox row: claim it, run its body, record the outcome.

Both executors (arq workers and the embedded runner) call ``execute``; only how they wait
and retry differs.
"""

from __future__ import annotations

import logging
import random
import traceback
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import session_scope, utcnow
from farmgate.jobs import registry
from farmgate.jobs.errors import PermanentJobError, TransientJobError
from farmgate.models import DeadJob, OutboxJob, OutboxStatus
from farmgate.ops import logs

log = logging.getLogger(__name__)
S = OutboxStatus
RUNNABLE = (S.PENDING, S.DISPATCHED, S.RETRYING)
TRANSIENT = (
    TransientJobError,
    httpx.TransportError,
    httpx.HTTPStatusError,
    OperationalError,
    TimeoutError,
)


class Outcome(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"  # already done, dead, or held by another executor
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    retry_in: float = 0.0
    error: str = ""


def claimable() -> ColumnElement[bool]:
    """Rows an executor may take now: waiting ones, or running ones whose lease expired."""
    now = utcnow()
    return or_(
        and_(col(OutboxJob.status).in_(RUNNABLE), col(OutboxJob.available_at) <= now),
        and_(col(OutboxJob.status) == S.RUNNING, col(OutboxJob.lease_until) < now),
    )


def _lease_seconds(job: str | None) -> float:
    # The lease only matters when an executor dies: the job's own timeout covers it, so a
    # short job is retried soon even when another kind of job may run for minutes.
    spec = registry.get(job) if job else None
    if spec is not None:
        return spec.timeout + 5
    return max((s.timeout for s in registry.all_jobs().values()), default=30) + 5


def _claim(outbox_id: int, job: str | None = None) -> tuple[str, dict[str, Any], int] | None:
    """Atomically take the row (one conditional UPDATE); None if done, dead or held.

    ``job`` is the row's job name when the caller read it already (it never changes), which
    saves reading it again for the lease."""
    now = utcnow()
    with session_scope() as session:
        if job is None:
            job = session.scalar(select(col(OutboxJob.job)).where(col(OutboxJob.id) == outbox_id))
        return session.execute(
            update(OutboxJob)
            .where(col(OutboxJob.id) == outbox_id)
            .where(
                or_(
                    col(OutboxJob.status).in_(RUNNABLE),
                    and_(col(OutboxJob.status) == S.RUNNING, col(OutboxJob.lease_until) < now),
                )
            )
            .values(
                status=S.RUNNING,
                attempts=OutboxJob.attempts + 1,
                started_at=now,
                lease_until=now + timedelta(seconds=_lease_seconds(job)),
            )
            .returning(col(OutboxJob.job), col(OutboxJob.args), col(OutboxJob.attempts))
        ).first()


def _error_text(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:4000]


def execute(outbox_id: int, job: str | None = None) -> Result:
    """Run the outbox row ``outbox_id`` once, if it still needs running (``job``: its job
    name, when the caller has it)."""
    claimed = _claim(outbox_id, job)
    if claimed is None:
        return Result(Outcome.SKIPPED)
    job, args, attempts = claimed
    spec = registry.get(job)
    if spec is None:
        return _give_up(outbox_id, f"unknown job {job!r}")

    args = dict(args)
    # The request that queued the job names the job's log lines and the jobs it queues.
    token = logs.request_id.set(args.pop("_request_id", None))
    try:
        return _run(outbox_id, spec, job, args, attempts)
    finally:
        logs.request_id.reset(token)


def _run(
    outbox_id: int, spec: registry.JobSpec, job: str, args: dict[str, Any], attempts: int
) -> Result:
    try:
        with session_scope() as session:
            spec.body(session, args)
            # Done in the same transaction as the body's effects: both or neither.
            session.execute(
                update(OutboxJob)
                .where(col(OutboxJob.id) == outbox_id)
                .values(status=S.DONE, finished_at=utcnow(), lease_until=None, last_error="")
            )
        return Result(Outcome.DONE)
    except PermanentJobError as exc:
        return _give_up(outbox_id, _error_text(exc))
    except Exception as exc:
        error = _error_text(exc)
        if not isinstance(exc, TRANSIENT):
            log.exception("job %s (outbox %s) failed", job, outbox_id)
        if attempts >= spec.max_tries:
            return _give_up(outbox_id, error)
        delay = spec.backoff(attempts) * random.uniform(0.8, 1.2)
        with session_scope() as session:
            _set(
                session,
                outbox_id,
                status=S.RETRYING,
                last_error=error,
                lease_until=None,
                available_at=utcnow() + timedelta(seconds=delay),
            )
            if spec.on_failure is not None:
                spec.on_failure(session, args, error, False)
        return Result(Outcome.RETRY, retry_in=delay, error=error)


def _set(session: Session, outbox_id: int, **values: object) -> None:
    session.execute(update(OutboxJob).where(col(OutboxJob.id) == outbox_id).values(**values))


def _give_up(outbox_id: int, error: str) -> Result:
    with session_scope() as session:
        row = session.get(OutboxJob, outbox_id, with_for_update=True)
        assert row is not None
        _set(
            session,
            outbox_id,
            status=S.DEAD,
            last_error=error,
            lease_until=None,
            finished_at=utcnow(),
        )
        session.add(
            DeadJob(
                outbox_id=outbox_id, job=row.job, args=row.args, attempts=row.attempts, error=error
            )
        )
        spec = registry.get(row.job)
        if spec is not None and spec.on_failure is not None:
            spec.on_failure(session, dict(row.args), error, True)
    log.error("job %s (outbox %s) dead-lettered: %s", row.job, outbox_id, error)
    return Result(Outcome.DEAD, error=error)


def run_periodic(spec: registry.PeriodicSpec) -> None:
    """One round of a periodic job in its own transaction; failures wait for the next round."""
    try:
        with session_scope() as session:
            spec.body(session)
    except Exception:
        log.exception("periodic job %s failed", spec.name)
