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


def diagnose(row_id: int) -> str:
    """What a worker test prints when a job was not picked up: the outbox row, the test
    process's threads and the processes running (to see who else took the row)."""
    import subprocess
    import threading

    from farmgate.db import session_scope
    from farmgate.models import OutboxJob

    with session_scope() as session:
        row = session.get(OutboxJob, row_id)
        seen = None if row is None else row.model_dump()
    threads = [t.name for t in threading.enumerate()]
    ps = subprocess.run(
        ["ps", "-eo", "pid,ppid,etime,args"], capture_output=True, text=True, check=False
    ).stdout
    interesting = [line for line in ps.splitlines() if "farmgate" in line or "redis" in line]
    return f"row: {seen}\nthreads: {threads}\nprocesses:\n" + "\n".join(interesting)
