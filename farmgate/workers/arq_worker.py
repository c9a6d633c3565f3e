"""The arq side: job entry point, cron sweep and worker settings (``farmgate worker``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import datetime
from typing import Any, ClassVar

import redis.exceptions
from arq import Retry, Worker, cron, func

from farmgate.bootstrap import install
from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.jobs import registry, runner
from farmgate.workers import health
from farmgate.workers.dispatcher import ARQ_FUNCTION, ArqDispatcher, redis_settings, sweep

log = logging.getLogger(__name__)
ARQ_MAX_TRIES = 1000  # the outbox row counts tries (runner.execute); arq must not stop first
RECONNECT_FIRST_SECONDS = 1.0  # then doubling, up to:
RECONNECT_MAX_SECONDS = 30.0


async def run_outbox(ctx: dict[str, Any], outbox_id: int) -> str:
    """arq's entry point for every job: run the outbox row in a thread (the DB code is sync)."""
    result = await asyncio.to_thread(runner.execute, outbox_id)
    if result.outcome == runner.Outcome.RETRY:
        raise Retry(defer=result.retry_in)
    return result.outcome.value


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    return await sweep(ctx["redis"])


def _periodic_crons() -> list[Any]:
    """Each registered periodic job as an arq cron (run on the quick worker only)."""
    install()  # the periodic jobs are known once their modules are imported
    crons = []
    for spec in registry.periodic_jobs().values():

        async def run(ctx: dict[str, Any], _spec: registry.PeriodicSpec = spec) -> None:
            await asyncio.to_thread(runner.run_periodic, _spec)

        # A short timeout: arq waits for the longest one before re-running a dead worker's job.
        crons.append(cron(run, name=f"cron:{spec.name}", unique=True, timeout=20, **_when(spec)))
    return crons


def _when(spec: registry.PeriodicSpec) -> dict[str, Any]:
    """arq's cron fields for a period: every 30 s, every n minutes (n divides 60), or every n
    hours (n divides 24), on the hour."""
    when: dict[str, Any] = {"second": {0, 30} if spec.every_seconds == 30 else {0}}
    minutes = spec.every_seconds // 60
    if minutes >= 60:
        when["minute"] = {0}
        when["hour"] = set(range(0, 24, minutes // 60))
    elif minutes > 1:
        when["minute"] = set(range(0, 60, minutes))
    return when


async def _startup(ctx: dict[str, Any]) -> None:
    install()
    ctx["connected"] = True
    outage = ctx.pop("outage", None)
    if outage is not None:  # back after an outage: say so where `jobs status` looks
        since, attempts = outage
        log.warning("Redis is back after %d reconnection attempts", attempts)
        with contextlib.suppress(Exception):
            await health.record_outage(ctx["redis"], ctx["queue_name"], since, attempts)
    if ctx.get("dispatch"):
        dispatcher = ArqDispatcher()
        await dispatcher.start()
        ctx["dispatcher"] = dispatcher


async def _shutdown(ctx: dict[str, Any]) -> None:
    dispatcher = ctx.get("dispatcher")
    if dispatcher is not None:
        await dispatcher.stop()


def _timeout(queue: str) -> float:
    specs = [s for s in registry.all_jobs().values() if s.queue == queue]
    # arq re-runs a job whose worker died once this plus 10 s has passed.
    return max((s.timeout for s in specs), default=30) + 2


def make_worker(
    queue: str, *, burst: bool = False, dispatch: bool = True, **overrides: Any
) -> Worker:
    """One arq worker for the ``quick`` or ``slow`` queue. The quick one also sweeps."""
    install()
    options: dict[str, Any] = {
        "functions": [
            func(
                run_outbox,
                name=ARQ_FUNCTION,
                max_tries=ARQ_MAX_TRIES,
                timeout=_timeout(queue),
                keep_result=0,
            )
        ],
        "queue_name": registry.queue_name(queue),
        "redis_settings": redis_settings(),
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "ctx": {
            "dispatch": dispatch and queue == "quick",
            "queue_name": registry.queue_name(queue),
        },
        "burst": burst,
        "keep_result": 0,
        # arq re-runs the job of a killed worker after its longest timeout + 10 s; keep every
        # timeout (cron jobs included) explicit so that wait stays short.
        "job_timeout": _timeout(queue),
        "max_jobs": 10 if queue == "quick" else 4,
        "handle_signals": False,
        "poll_delay": 0.2,
        "cron_jobs": [
            cron(sweep_outbox, second={0, 30}, run_at_startup=True, unique=True, timeout=5),
            *_periodic_crons(),
        ]
        if queue == "quick"
        else [],
    }
    options.update(overrides)
    return Worker(**options)


async def run_workers(queues: list[str], *, burst: bool = False) -> None:
    """``farmgate worker``: one supervised arq worker per queue. A Redis that goes away is
    waited for (reconnecting with backoff); SIGTERM or SIGINT drains: no new jobs are taken,
    the running ones finish (or, past their timeout, go back to the queue) before exiting."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await asyncio.gather(*(_supervise(q, burst=burst, stopping=stopping) for q in queues))
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _redis_outage(error: BaseException) -> bool:
    return isinstance(
        error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
    )


async def _supervise(queue: str, *, burst: bool, stopping: asyncio.Event) -> None:
    delay = RECONNECT_FIRST_SECONDS
    outage: tuple[datetime, int] | None = None  # (since, attempts) while Redis is away
    while not stopping.is_set():
        worker = make_worker(queue, burst=burst)
        if outage is not None:
            worker.ctx["outage"] = outage
        main = asyncio.create_task(worker.main())
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not main.done():
            await _drain(worker, main, queue)
            return
        stop.cancel()
        error = main.exception()
        if error is None:  # a burst worker that emptied its queue
            await worker.close()
            return
        if not _redis_outage(error):
            await _abandon(worker)
            raise error
        if worker.ctx.get("connected"):  # it had been working: a new outage starts now
            outage, delay = None, RECONNECT_FIRST_SECONDS
        since, attempts = outage or (utcnow(), 0)
        outage = (since, attempts + 1)
        await _abandon(worker)
        log.warning(
            "Redis is unreachable for the %s worker (%s: %s), down since %s; retrying in %.0f s",
            queue,
            type(error).__name__,
            error,
            since.isoformat(timespec="seconds"),
            delay,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)
        delay = min(delay * 2, RECONNECT_MAX_SECONDS)


async def _drain(worker: Worker, main: asyncio.Task[None], queue: str) -> None:
    """Take no new jobs; let the running ones finish within their timeout, then hand back
    any still running (arq re-queues a cancelled job and drops its in-progress lease)."""
    worker.allow_pick_jobs = False
    running = len(worker.tasks)
    log.info("%s worker stopping: waiting for %d running job(s)", queue, running)
    deadline = time.monotonic() + _timeout(queue)
    while any(not t.done() for t in worker.tasks.values()) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for task in worker.tasks.values():
        if not task.done():
            task.cancel()
    main.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await main
    try:
        await worker.close()  # waits for the job tasks, clears the health key, on_shutdown
    except Exception as exc:  # Redis away at the same moment: the leases expire on their own
        log.warning("%s worker could not close cleanly: %s", queue, exc)
        await _abandon(worker)


async def _abandon(worker: Worker) -> None:
    """Drop a worker whose Redis went away: its jobs' leases expire in Redis, and their
    outbox rows are finished by the threads already running them or re-run later."""
    for task in worker.tasks.values():
        task.cancel()
    with contextlib.suppress(Exception):
        await _shutdown(worker.ctx)  # stop its dispatcher: the next worker starts its own
    pool = worker._pool
    worker._pool = None
    if pool is not None:
        with contextlib.suppress(Exception):
            await pool.close(close_connection_pool=True)


class WorkerSettings:
    """For ``arq farmgate.workers.arq_worker.WorkerSettings`` (quick queue) if preferred."""

    functions: ClassVar = [
        func(run_outbox, name=ARQ_FUNCTION, max_tries=ARQ_MAX_TRIES, keep_result=0)
    ]
    queue_name = registry.queue_name("quick")
    on_startup = _startup
    on_shutdown = _shutdown
    keep_result = 0
    ctx: ClassVar = {"dispatch": True}
    cron_jobs: ClassVar = [
        cron(sweep_outbox, second={0, 30}, run_at_startup=True, unique=True, timeout=5),
        *_periodic_crons(),
    ]
    redis_settings = redis_settings() if settings.redis_url else None
