"""Handing committed outbox rows to arq, and sweeping up rows Redis never confirmed."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import cast

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from sqlalchemy import ColumnElement, and_, bindparam, or_, select, update
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import (
    READ_ONLY,
    AwareDateTime,
    session_scope,
    table_of,
    utcnow,
    without_transaction,
)
from farmgate.jobs.registry import queue_name
from farmgate.jobs.runner import oldest
from farmgate.models import OutboxJob, OutboxStatus
from farmgate.workers.base import JobQueue

log = logging.getLogger(__name__)
S = OutboxStatus
ARQ_FUNCTION = "run_outbox"


def arq_job_id(outbox_id: int) -> str:
    """The outbox id IS the arq job id: arq refuses a second copy while one is queued.

    arq's job keys are global to the Redis database, so the id carries the queue prefix too:
    two installations sharing a Redis never collide.
    """
    return f"{settings.queue_prefix}:outbox:{outbox_id}"


def redis_settings() -> RedisSettings:
    assert settings.redis_url, "FARMGATE_REDIS_URL is not set"
    rs = RedisSettings.from_dsn(settings.redis_url)
    rs.conn_timeout = 2
    rs.conn_retries = 0
    return rs


def _rows(where: ColumnElement[bool], limit: int) -> list[tuple[int, str]]:
    query = (
        select(col(OutboxJob.id), col(OutboxJob.queue))
        .where(where)
        .order_by(col(OutboxJob.id))
        .limit(limit)
    )
    with session_scope() as session:
        session.connection(execution_options=READ_ONLY)
        with without_transaction(session):  # one read: no BEGIN and COMMIT round trips
            return [(cast(int, i), q) for i, q in session.execute(query).all()]  # ids: NOT NULL


T = table_of(OutboxJob)
BATCH = 500  # rows handed over together
_NOW = bindparam("now", type_=AwareDateTime())
_UNSENT = and_(T.c.status == S.PENDING, T.c.available_at <= _NOW)
# The rows due and not yet handed to arq, oldest first, marked handed over and returned, in
# one statement built once; rows another web process is taking right now are skipped.
_DUE = oldest(_UNSENT)
_TAKE = (
    update(T)
    .where(T.c.id.in_(select(_DUE.c.id)), T.c.status == S.PENDING)
    .values(status=S.DISPATCHED, dispatched_at=_NOW)
    .returning(T.c.id, T.c.queue)
)
_PENDING = select(T.c.id).where(_UNSENT).limit(1)
# Rows taken whose hand-over failed: pending again, for the next round. A row a worker has
# started meanwhile (handed over before the failure) is left alone.
_GIVE_BACK = (
    update(T)
    .where(T.c.id.in_(bindparam("ids", expanding=True)), T.c.status == S.DISPATCHED)
    .values(status=S.PENDING, dispatched_at=None)
)


def any_pending() -> bool:
    """Whether a row is due and not yet handed over: an idle round's look, which writes
    nothing (``take_pending`` is an UPDATE)."""
    with session_scope() as session:
        session.connection(execution_options=READ_ONLY)
        with without_transaction(session):  # one read: no BEGIN and COMMIT round trips
            return session.execute(_PENDING, {"now": utcnow()}).first() is not None


def take_pending(limit: int = BATCH) -> list[tuple[int, str]]:
    """Mark the rows due now as handed to arq, and return them (id, queue), oldest first.

    One statement and, on PostgreSQL, no BEGIN and COMMIT around it. The rows are marked
    before they are sent, so a worker never runs a row whose mark is still to come; a send
    that fails gives them back (:func:`give_back`), and a row left marked but unsent (the
    process died in between) is re-sent by the sweep (:func:`stale_rows`)."""
    with session_scope() as session, without_transaction(session):
        taken = session.execute(_TAKE, {"now": utcnow(), "limit": limit}).all()
    return sorted((int(i), q) for i, q in taken)


def give_back(ids: list[int]) -> None:
    """Rows taken by :func:`take_pending` that did not reach arq: pending again."""
    with session_scope() as session:
        session.execute(_GIVE_BACK, {"ids": ids})


def stale_rows(limit: int = 1000) -> list[tuple[int, str]]:
    """Rows handed over long ago that never finished: Redis may have lost them."""
    cutoff = utcnow() - timedelta(seconds=settings.outbox_stale_seconds)
    return _rows(
        or_(
            and_(col(OutboxJob.status) == S.DISPATCHED, col(OutboxJob.dispatched_at) < cutoff),
            and_(col(OutboxJob.status) == S.RETRYING, col(OutboxJob.available_at) < cutoff),
            and_(col(OutboxJob.status) == S.RUNNING, col(OutboxJob.lease_until) < utcnow()),
        ),
        limit,
    )


def _mark_resent(ids: list[int]) -> None:
    """The sweep re-sent these rows: they count as handed over from now."""
    with session_scope() as session:
        session.execute(
            update(OutboxJob)
            .where(col(OutboxJob.id).in_(ids), col(OutboxJob.status) == S.DISPATCHED)
            .values(dispatched_at=utcnow())
        )


async def send(pool: ArqRedis, rows: list[tuple[int, str]]) -> int:
    """Enqueue rows in arq; returns how many were new to Redis."""
    fresh = 0
    for outbox_id, queue in rows:
        job = await pool.enqueue_job(
            ARQ_FUNCTION, outbox_id, _job_id=arq_job_id(outbox_id), _queue_name=queue_name(queue)
        )
        fresh += job is not None
    return fresh


async def sweep(pool: ArqRedis) -> int:
    """Re-dispatch stale rows (arq cron). Harmless when arq still has them: same job id."""
    rows = await asyncio.to_thread(stale_rows)
    if not rows:
        return 0
    fresh = await send(pool, rows)
    await asyncio.to_thread(_mark_resent, [i for i, _ in rows])
    if fresh:
        log.warning("sweep re-dispatched %d outbox rows Redis did not have", fresh)
    return fresh


class ArqDispatcher(JobQueue):
    """Moves pending rows into arq as soon as they commit (woken by the commit hook)."""

    def __init__(self, poll_seconds: float | None = None) -> None:
        super().__init__(poll_seconds)
        self.pool: ArqRedis | None = None

    async def _pool(self) -> ArqRedis:
        if self.pool is None:
            self.pool = await create_pool(redis_settings())
        return self.pool

    async def tick(self) -> int:
        if not self.expecting() and not await asyncio.to_thread(any_pending):
            return 0
        pool = await self._pool()  # Redis away: fail before taking any row
        rows = await asyncio.to_thread(take_pending)
        if not rows:
            return 0
        if len(rows) == BATCH:
            self.expect_more()
        try:
            await send(pool, rows)
        except Exception:
            await self.close()  # reconnect next time
            try:
                await asyncio.to_thread(give_back, [i for i, _ in rows])
            except Exception:  # the database too: the sweep re-sends them once stale
                log.warning("could not give back %d outbox rows", len(rows), exc_info=True)
            raise
        return len(rows)

    async def close(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            try:
                await pool.aclose()
            except Exception:
                log.debug("closing arq pool failed", exc_info=True)


def make_job_queue() -> JobQueue | None:
    """The executor for this process: arq dispatch with Redis, the embedded runner without."""
    if settings.redis_url:
        return ArqDispatcher()
    if settings.embedded_jobs:
        from farmgate.workers.embedded import EmbeddedRunner

        return EmbeddedRunner()
    return None
