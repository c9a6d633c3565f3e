"""Running jobs inside the web process when there is no Redis (the demo, small installs)."""

from __future__ import annotations

import asyncio
import logging
import time

from farmgate.bootstrap import install
from farmgate.db import READ_ONLY, session_scope, utcnow, without_transaction
from farmgate.jobs import registry, runner
from farmgate.workers.base import JobQueue

log = logging.getLogger(__name__)
BATCH = 20  # rows claimed together: one claim transaction instead of one per row


def any_due() -> bool:
    """Whether a row is due now: an idle round's look, outside any transaction (the claim,
    ``runner.claim_due``, writes)."""
    with session_scope() as session:
        session.connection(execution_options=READ_ONLY)
        with without_transaction(session):  # one read: no BEGIN and COMMIT round trips
            return session.execute(runner.DUE, {"now": utcnow(), "limit": 1}).first() is not None


class EmbeddedRunner(JobQueue):
    """Polls the outbox, claims the due rows together, and runs them one at a time in a
    worker thread.

    Claims, leases, tries and retries are those of ``runner.execute`` (which the arq workers
    call per row): only the claim of a batch is one transaction. Retries wait in the row's
    ``available_at``.
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
        if not self.expecting() and not await asyncio.to_thread(any_due):
            return 0
        claiming = asyncio.ensure_future(asyncio.to_thread(runner.claim_due, BATCH))
        try:
            claims = await asyncio.shield(claiming)
        except asyncio.CancelledError:
            # Stopping while the claim commits in its thread: give back what it took.
            _give_back(await claiming)
            raise
        if not claims:
            return 0
        # A full batch may have left more behind; and a commit that queued rows while this
        # round ran (a job body's own, say) woke it: claim at once next round, either way.
        claimed_all = len(claims) < BATCH
        started = time.monotonic()
        for n, claim in enumerate(claims):
            if n and time.monotonic() - started > runner.CLAIM_SLACK:
                # The rest waited past their leases' slack: give them back for the next
                # round, which claims them afresh.
                await asyncio.to_thread(runner.release, claims[n:])
                claimed_all = False  # those are due still
                break
            try:
                await asyncio.to_thread(runner.run_claimed, claim)
            except asyncio.CancelledError:
                # Stopping: this body runs on in its thread; the rest were never started.
                _give_back(claims[n + 1 :])
                raise
        if not claimed_all:
            self.expect_more()
        return len(claims)


def _give_back(claims: list[runner.Claim]) -> None:
    """Release claims on the way out (the runner is stopping): their rows run at the next
    start instead of when their leases run out."""
    try:
        runner.release(claims)
    except Exception:  # their leases run out instead
        log.warning("could not give back claimed outbox rows", exc_info=True)
