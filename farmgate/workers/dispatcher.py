"""Handing committed outbox rows to arq, and sweeping up rows Redis never confirmed."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import cast

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import READ_ONLY, session_scope, utcnow, without_transaction
from farmgate.jobs.registry import queue_name
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


def pending_rows(limit: int = 500) -> list[tuple[int, str]]:
    return _rows(
        and_(col(OutboxJob.status) == S.PENDING, col(OutboxJob.available_at) <= utcnow()), limit
    )


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


def _mark_dispatched(ids: list[int], only_pending: bool) -> None:
    with session_scope() as session:
        stmt = update(OutboxJob).where(col(OutboxJob.id).in_(ids))
        if only_pending:
            stmt = stmt.where(col(OutboxJob.status) == S.PENDING)
            stmt = stmt.values(status=S.DISPATCHED, dispatched_at=utcnow())
        else:
            stmt = stmt.where(col(OutboxJob.status) == S.DISPATCHED).values(dispatched_at=utcnow())
        session.execute(stmt)


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
    await asyncio.to_thread(_mark_dispatched, [i for i, _ in rows], False)
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
        rows = await asyncio.to_thread(pending_rows)
        if not rows:
            return 0
        try:
            await send(await self._pool(), rows)
        except Exception:
            await self.close()  # reconnect next time
            raise
        await asyncio.to_thread(_mark_dispatched, [i for i, _ in rows], True)
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
