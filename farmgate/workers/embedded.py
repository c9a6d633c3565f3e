"""Running jobs inside the web process when there is no Redis (the demo, small installs)."""

from __future__ import annotations

import asyncio
import time
from typing import cast

from sqlalchemy import select
from sqlmodel import col

from farmgate.bootstrap import install
from farmgate.db import READ_ONLY, session_scope
from farmgate.jobs import registry, runner
from farmgate.models import OutboxJob
from farmgate.workers.base import JobQueue


def due_rows(limit: int = 100) -> list[tuple[int, str]]:
    """Rows to run now, oldest first, with their job names (the claim needs the name)."""
    with session_scope() as session:
        session.connection(execution_options=READ_ONLY)
        query = (
            select(col(OutboxJob.id), col(OutboxJob.job))
            .where(runner.claimable())
            .order_by(col(OutboxJob.id))
            .limit(limit)
        )
        return [(cast(int, i), job) for i, job in session.execute(query).all()]  # ids: NOT NULL


class EmbeddedRunner(JobQueue):
    """Polls the outbox and runs due rows one at a time in a worker thread.

    Same ``runner.execute`` as the arq workers; retries wait in the row's ``available_at``.
    """

    def __init__(self, poll_seconds: float | None = None) -> None:
        install()
        super().__init__(poll_seconds)
        self._last_periodic: dict[str, float] = {}

    async def _periodic(self) -> None:
        now = time.monotonic()
        for spec in registry.periodic_jobs().values():
            last = self._last_periodic.get(spec.name)
            if last is None:
                self._last_periodic[spec.name] = now  # first round one period after start
            elif now - last >= spec.every_seconds:
                self._last_periodic[spec.name] = now
                await asyncio.to_thread(runner.run_periodic, spec)

    async def tick(self) -> int:
        await self._periodic()
        rows = await asyncio.to_thread(due_rows)
        for outbox_id, job in rows:
            await asyncio.to_thread(runner.execute, outbox_id, job)
        return len(rows)
