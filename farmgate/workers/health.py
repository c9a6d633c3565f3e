"""arq's own health check, and the Redis outages a worker went through, for
``farmgate jobs status``."""

from __future__ import annotations

from datetime import datetime

from arq import ArqRedis, create_pool

from farmgate.db import utcnow
from farmgate.jobs.registry import queue_name
from farmgate.workers.dispatcher import redis_settings

OUTAGE_SUFFIX = ":redis-outage"
OUTAGE_KEPT_SECONDS = 7 * 24 * 3600


async def record_outage(pool: ArqRedis, name: str, since: datetime, attempts: int) -> None:
    """Written by a worker once it is back: when Redis went away, and for how long."""
    seconds = (utcnow() - since).total_seconds()
    line = (
        f"last Redis outage: from {since.isoformat(timespec='seconds')} for {seconds:.0f} s "
        f"({attempts} reconnection attempts)"
    )
    await pool.set(name + OUTAGE_SUFFIX, line.encode(), ex=OUTAGE_KEPT_SECONDS)


async def worker_health() -> dict[str, str | None]:
    """Per queue, the line the worker last recorded (None: no worker alive recently), with
    its last Redis outage if any; "Redis unreachable" while Redis does not answer."""
    names = [queue_name(queue) for queue in ("quick", "slow")]
    try:
        pool = await create_pool(redis_settings())
    except Exception as exc:  # the workers are waiting for it too
        return {name: f"Redis unreachable ({type(exc).__name__}: {exc})" for name in names}
    try:
        out: dict[str, str | None] = {}
        for name in names:
            raw = await pool.get(name + ":health-check")
            outage = await pool.get(name + OUTAGE_SUFFIX)
            parts = [p.decode() for p in (raw, outage) if p]
            out[name] = "; ".join(parts) if parts else None
        return out
    finally:
        await pool.aclose()
