"""Executing one outbox row: claim it, run its body, record the outcome.

Both executors (arq workers and the embedded runner) call ``execute``; only how they wait
and retry differs.
"""

from __future__ import annotations

import logging
import random
import re
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    String,
    and_,
    bindparam,
    case,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.selectable import CTE
from sqlmodel import col

from farmgate.db import AwareDateTime, run, session_scope, table_of, utcnow, without_transaction
from farmgate.jobs import registry
from farmgate.jobs.errors import PermanentJobError, TransientJobError
from farmgate.models import DeadJob, OutboxJob, OutboxStatus
from farmgate.ops import logs

log = logging.getLogger(__name__)
S = OutboxStatus
T = table_of(OutboxJob)
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


_NAME = re.compile(r"[A-Za-z0-9_.:-]+")


def _listed(column: ColumnElement[str], names: Iterable[str]) -> ColumnElement[bool]:
    """``column IN (names)``, the names written into the SQL: compiled once with a statement
    built once. A list of bound values is an "expanding" parameter, which SQLAlchemy renders
    into the SQL again at every execution (for the claim, its statuses and ~30 job names:
    about 450 Python calls a claim). Only for the executors' own names, never for input."""
    listed = []
    for name in names:
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a plain name: {name!r}")
        listed.append(literal_column(f"'{name}'", String))
    return column.in_(listed)


def claimable(now: datetime | ColumnElement[datetime] | None = None) -> ColumnElement[bool]:
    """Rows an executor may take now: waiting ones, or running ones whose lease expired
    (``now``: a time, or a bound parameter in a statement built once)."""
    if now is None:
        now = utcnow()
    return or_(
        and_(_listed(T.c.status, RUNNABLE), T.c.available_at <= now),
        and_(T.c.status == S.RUNNING, T.c.lease_until < now),
    )


def _at(name: str) -> BindParameter[datetime]:
    return bindparam(name, type_=AwareDateTime())


# The executors' statements, built once (Core on the table: no ORM work per row).
DUE = (
    select(T.c.id, T.c.job).where(claimable(_at("now"))).order_by(T.c.id).limit(bindparam("limit"))
)


def _taken(lease_until: ColumnElement[datetime]) -> dict[str, Any]:
    """What a claim writes on the row it takes: running, one more try, leased."""
    return {
        "status": S.RUNNING,
        "attempts": T.c.attempts + 1,
        "started_at": _at("now"),
        "lease_until": lease_until,
    }


_CLAIM_MANY = (
    update(T)
    .where(
        T.c.id.in_(
            # On PostgreSQL rows another executor is claiming right now are skipped, not
            # waited for (SQLite has one writer at a time anyway).
            select(T.c.id)
            .where(T.c.id.in_(bindparam("ids", expanding=True)), claimable(_at("now")))
            .with_for_update(skip_locked=True)
        ),
        claimable(_at("now")),
    )
    .values(_taken(_at("new_lease")))
    .returning(T.c.id, T.c.job, T.c.args, T.c.attempts)
)
_RELEASE = (
    update(T)
    .where(
        T.c.id == bindparam("claimed_id"),
        T.c.attempts == bindparam("claimed_try"),
        T.c.status == S.RUNNING,
    )
    .values(status=S.RETRYING, attempts=T.c.attempts - 1, lease_until=None)
)
_DONE = (
    update(T)
    .where(T.c.id == bindparam("outbox_id"))
    .values(status=S.DONE, finished_at=_at("now"), lease_until=None, last_error="")
)


def _lease_seconds(job: str | None) -> float:
    # The lease only matters when an executor dies: the job's own timeout covers it, so a
    # short job is retried soon even when another kind of job may run for minutes.
    spec = registry.get(job) if job else None
    if spec is not None:
        return spec.timeout + 5
    return max((s.timeout for s in registry.all_jobs().values()), default=30) + 5


Jobs = tuple[tuple[str, float], ...]  # the registered jobs' names and timeouts


def _registered() -> Jobs:
    """What the claims' statements are built for: a job registered later builds them anew."""
    return tuple(sorted((name, spec.timeout) for name, spec in registry.all_jobs().items()))


def _lease_by_job(jobs: Jobs) -> tuple[ColumnElement[datetime], list[float]]:
    """A row's lease in SQL by its job (``_lease_seconds``): a CASE over the jobs grouped by
    lease, with bound parameters ``lease_0``, ``lease_1``, ... (``lease_other`` for a job not
    registered); and the seconds of those parameters (``_lease_params``)."""
    by_lease: dict[float, list[str]] = {}
    for name, _ in jobs:
        by_lease.setdefault(_lease_seconds(name), []).append(name)
    leases = sorted(by_lease)
    lease_until = case(
        *((_listed(T.c.job, by_lease[s]), _at(f"lease_{n}")) for n, s in enumerate(leases)),
        else_=_at("lease_other"),
    )
    return lease_until, leases


def _lease_params(now: datetime, leases: list[float]) -> dict[str, datetime]:
    return {
        "lease_other": now + timedelta(seconds=_lease_seconds(None)),
        **{f"lease_{n}": now + timedelta(seconds=s) for n, s in enumerate(leases)},
    }


# The claims' statements for the registered jobs, each built once (by its builder).
_BUILT: dict[tuple[Callable[..., Update], Jobs], tuple[Update, list[float]]] = {}


def _for_registered(
    build: Callable[[ColumnElement[datetime]], Update],
) -> tuple[Update, list[float]]:
    """``build``'s claim, each row leased by its job, for the jobs registered now; and the
    lease seconds of its bound parameters (``_lease_params``)."""
    jobs = _registered()
    found = _BUILT.get((build, jobs))
    if found is None:
        lease_until, leases = _lease_by_job(jobs)
        found = _BUILT[(build, jobs)] = (build(lease_until), leases)
    return found


def _claim_one(lease_until: ColumnElement[datetime]) -> Update:
    """One row, due or not (an arq worker runs what was handed to it when it fell due), in
    one statement, without reading the row's job first."""
    return (
        update(T)
        .where(
            T.c.id == bindparam("outbox_id"),
            or_(
                _listed(T.c.status, RUNNABLE),
                and_(T.c.status == S.RUNNING, T.c.lease_until < _at("now")),
            ),
        )
        .values(_taken(lease_until))
        .returning(T.c.job, T.c.args, T.c.attempts)
    )


def _claim(outbox_id: int) -> tuple[str, dict[str, Any], int] | None:
    """Atomically take the row (one conditional UPDATE); None if done, dead or held."""
    statement, leases = _for_registered(_claim_one)
    now = utcnow()
    # One statement, whole on its own: no BEGIN and COMMIT round trips on PostgreSQL.
    with session_scope() as session, without_transaction(session):
        found = run(
            session, statement, {"outbox_id": outbox_id, "now": now, **_lease_params(now, leases)}
        ).first()
        return None if found is None else (found.job, found.args, found.attempts)


def _error_text(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:4000]


@dataclass(frozen=True)
class Claim:
    """A row this executor took: what its body needs, and its try number (which also tells
    this claim from a later one of the same row)."""

    outbox_id: int
    job: str
    args: dict[str, Any]
    attempts: int


def execute(outbox_id: int) -> Result:
    """Run the outbox row ``outbox_id`` once, if it still needs running."""
    claimed = _claim(outbox_id)
    if claimed is None:
        return Result(Outcome.SKIPPED)
    return run_claimed(Claim(outbox_id, *claimed))


def run_claimed(claim: Claim) -> Result:
    """Run the body of a row claimed (and committed as claimed) by this executor."""
    spec = registry.get(claim.job)
    if spec is None:
        return _give_up(claim.outbox_id, f"unknown job {claim.job!r}")

    args = dict(claim.args)
    # The request that queued the job names the job's log lines and the jobs it queues.
    token = logs.request_id.set(args.pop("_request_id", None))
    try:
        return _run(claim.outbox_id, spec, claim.job, args, claim.attempts)
    finally:
        logs.request_id.reset(token)


# How long a claimed row may wait for its turn in a batch: its lease is its job's timeout
# plus this (``_lease_seconds``), so a body started within it still has its whole timeout.
CLAIM_SLACK = 5.0


def claim_many(rows: Sequence[tuple[int, str]]) -> list[Claim]:
    """Take several rows (id, job name) in one transaction, committed before any body runs;
    oldest first. A row done, dead or held meanwhile is left out. On PostgreSQL a row another
    executor is claiming at this moment is skipped rather than waited for."""
    if not rows:
        return []
    now = utcnow()
    by_lease: dict[float, list[int]] = {}
    for outbox_id, job in rows:
        by_lease.setdefault(_lease_seconds(job), []).append(outbox_id)
    claims: list[Claim] = []
    with session_scope() as session:
        for lease, ids in by_lease.items():
            claims += (
                Claim(i, job, args, attempts)
                for i, job, args, attempts in session.execute(
                    _CLAIM_MANY,
                    {"ids": ids, "now": now, "new_lease": now + timedelta(seconds=lease)},
                )
            )
    return sorted(claims, key=lambda c: c.outbox_id)


def oldest(where: ColumnElement[bool]) -> CTE:
    """The ids of the oldest rows ``where`` holds, at most ``limit`` (a bound parameter), as
    the CTE ``due`` for an UPDATE that takes them. On PostgreSQL rows another executor is
    taking right now are skipped, not waited for (SQLite has one writer at a time anyway).
    MATERIALIZED: read once. As a subquery PostgreSQL ran it again per row, skipped the rows
    the UPDATE had just changed, and so took every row ``where`` held, whatever the limit."""
    return (
        select(T.c.id)
        .where(where)
        .order_by(T.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED")
    )


def _claim_due(lease_until: ColumnElement[datetime]) -> Update:
    """The rows due now, oldest first, at most ``limit``, in one statement."""
    due = oldest(claimable(_at("now")))
    return (
        update(T)
        .where(T.c.id.in_(select(due.c.id)), claimable(_at("now")))
        .values(_taken(lease_until))
        .returning(T.c.id, T.c.job, T.c.args, T.c.attempts)
    )


def claim_due(limit: int) -> list[Claim]:
    """Take up to ``limit`` rows due now, oldest first, in one statement and transaction,
    committed before any body runs (``claim_many`` without reading the rows first)."""
    statement, leases = _for_registered(_claim_due)
    now = utcnow()
    params: dict[str, Any] = {"now": now, "limit": limit, **_lease_params(now, leases)}
    # One statement, a transaction of its own: no BEGIN and COMMIT round trips on PostgreSQL.
    with session_scope() as session, without_transaction(session):
        claims = [
            Claim(i, job, args, tries) for i, job, args, tries in run(session, statement, params)
        ]
    return sorted(claims, key=lambda c: c.outbox_id)


def release(claims: Sequence[Claim]) -> None:
    """Give back claimed rows whose bodies did not start (the executor is stopping, or they
    waited too long for their turn): runnable again at once, the try not counted. A row
    taken over by another executor since (its try number moved on) is left alone."""
    if not claims:
        return
    with session_scope() as session:
        session.execute(
            _RELEASE, [{"claimed_id": c.outbox_id, "claimed_try": c.attempts} for c in claims]
        )


def _run(
    outbox_id: int, spec: registry.JobSpec, job: str, args: dict[str, Any], attempts: int
) -> Result:
    try:
        with session_scope() as session:
            spec.body(session, args)
            # Done in the same transaction as the body's effects: both or neither.
            run(session, _DONE, {"outbox_id": outbox_id, "now": utcnow()})
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
