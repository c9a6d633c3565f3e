"""What the end-to-end job tests share: the real Redis (db 15), real burst arq workers and
the dispatcher, and the mark that runs a test on the committed PostgreSQL database only."""

from __future__ import annotations

import os

import pytest
import redis

from farmgate.workers.arq_worker import make_worker
from farmgate.workers.dispatcher import ArqDispatcher

REDIS_URL = os.environ.get("FARMGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
]


def redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.exceptions.ConnectionError:
        return False


# The arq end-to-end tests run against PostgreSQL (the production pairing); the embedded
# runner's test runs on both databases.
on_postgresql = pytest.mark.parametrize("committed_engine", ["postgresql"], indirect=True)


async def burst(*queues: str) -> None:
    for queue in queues:
        worker = make_worker(queue, burst=True, dispatch=False, poll_delay=0.05)
        try:
            await worker.main()
        finally:
            await worker.close()


async def dispatch_once() -> int:
    dispatcher = ArqDispatcher()
    try:
        return await dispatcher.tick()
    finally:
        await dispatcher.close()
