"""arq's own health check, read back for ``farmgate jobs status``."""

from __future__ import annotations

from arq import create_pool

from farmgate.jobs.registry import queue_name
from farmgate.workers.dispatcher import redis_settings


async def worker_health() -> dict[str, str | None]:
    """Per queue, the line the worker last recorded (None: no worker alive recently)."""
    pool = await create_pool(redis_settings())
    try:
        out: dict[str, str | None] = {}
        for queue in ("quick", "slow"):
            name = queue_name(queue)
            raw = await pool.get(name + ":health-check")
            out[name] = raw.decode() if raw else None
        return out
    finally:
        await pool.aclose()
