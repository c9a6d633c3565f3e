"""The arq side: job entry point, cron sweep and worker settings (``farmgate worker``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, ClassVar

from arq import Retry, Worker, cron, func

from farmgate.bootstrap import install
from farmgate.config import settings
from farmgate.jobs import registry, runner
from farmgate.workers.dispatcher import ARQ_FUNCTION, ArqDispatcher, redis_settings, sweep

log = logging.getLogger(__name__)
ARQ_MAX_TRIES = 1000  # the outbox row counts tries (runner.execute); arq must not stop first


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

        when: dict[str, Any] = {"second": {0, 30} if spec.every_seconds == 30 else {0}}
        if spec.every_seconds > 60:
            when["minute"] = set(range(0, 60, spec.every_seconds // 60))
        # A short timeout: arq waits for the longest one before re-running a dead worker's job.
        crons.append(cron(run, name=f"cron:{spec.name}", unique=True, timeout=20, **when))
    return crons


async def _startup(ctx: dict[str, Any]) -> None:
    install()
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
        "ctx": {"dispatch": dispatch and queue == "quick"},
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
    workers = [make_worker(q, burst=burst) for q in queues]
    try:
        await asyncio.gather(*(w.main() for w in workers))
    finally:
        for w in workers:
            with contextlib.suppress(Exception):
                await w.close()


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
