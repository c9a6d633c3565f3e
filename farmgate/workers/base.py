"""The small interface both executors share, and the loop they both run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

from farmgate.config import settings
from farmgate.jobs.outbox import on_new_work

log = logging.getLogger(__name__)


class JobQueue(ABC):
    """Moves committed outbox rows to execution. ``start`` in a lifespan, ``stop`` at exit."""

    def __init__(self, poll_seconds: float | None = None) -> None:
        self.poll_seconds = poll_seconds or settings.dispatch_poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe = lambda: None
        self.failures = 0
        # Rows are likely due: a commit queued some, or the last round left some behind. The
        # round then takes them at once; otherwise it looks first (``expecting``), outside
        # any transaction, so an idle poll writes nothing.
        self._expecting = True

    @abstractmethod
    async def tick(self) -> int:
        """Do one round of work; return how many rows were handled."""

    def expecting(self) -> bool:
        """For ``tick``: whether rows are likely due (then take them without looking first).
        Reset by the call; a wake, or ``expect_more``, sets it again."""
        expecting, self._expecting = self._expecting, False
        return expecting

    def expect_more(self) -> None:
        """For ``tick``: this round left rows due (a full batch): the next starts at once."""
        self._expecting = True

    def more_due(self) -> bool:
        """After a round that handled rows: whether to start the next round at once. A round
        that took fewer than a full batch took every row due then: the next rows come with a
        commit's wake, or fall due by the poll."""
        return self._expecting

    async def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections."""

    def wake(self) -> None:
        """Thread-safe nudge: new rows were committed."""
        self._expecting = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = on_new_work(self.wake)
        self._task = asyncio.create_task(self._run(), name=type(self).__name__)

    async def stop(self) -> None:
        self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.close()

    async def _run(self) -> None:
        while True:
            # The round sees every commit made before it starts: only a wake after this
            # (a commit during the round) makes the next one start without waiting.
            self._wake.clear()
            try:
                handled = await self.tick()
                self.failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database or Redis is away: nothing is lost (rows stay in the outbox),
                # so wait a little longer each time and try again.
                self.failures += 1
                log.warning(
                    "%s tick failed (%d in a row)",
                    type(self).__name__,
                    self.failures,
                    exc_info=True,
                )
                handled = 0
                await asyncio.sleep(min(30.0, self.poll_seconds * 2**self.failures))
            if handled == 0 or not self.more_due():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
