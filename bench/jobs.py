"""Throughput and lag of the job pipeline: outbox -> dispatcher -> executor -> no-op job.

    .venv/bin/python bench/jobs.py [--jobs 10000] [--executors arq,embedded-sqlite,embedded-pg]

For arq: a producer commits outbox rows in batches of 100 while an ArqDispatcher (in this
process) and a real ``farmgate worker --queue quick`` subprocess move and run them, on
PostgreSQL and the Redis at 127.0.0.1:6379 (database 14). For the embedded runner the same
rows are executed in-process by EmbeddedRunner, on SQLite and on PostgreSQL. Prints jobs/s
(first commit to last completion) and the lag from each row's commit to its completion.
Only 127.0.0.1 is contacted; every run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._pg import fresh_pg  # noqa: E402
from farmgate import db  # noqa: E402
from farmgate.config import settings  # noqa: E402
from farmgate.models import OutboxJob, OutboxStatus  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/14"


def use_database(url: str) -> None:
    db.upgrade_database(url)
    settings.database_url = url
    db.set_engine(db.make_engine(url))


async def produce(total: int, batch: int = 100) -> None:
    def commit_batch(n: int) -> None:
        now = db.utcnow()
        rows = [
            {
                "job": "system.noop",
                "args": {},
                "queue": "quick",
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "available_at": now,
                "last_error": "",
            }
            for _ in range(n)
        ]
        with db.session_scope() as session:
            session.execute(insert(OutboxJob), rows)
            session.info["outbox_added"] = True  # wake the executor, as enqueue() does

    sent = 0
    while sent < total:
        n = min(batch, total - sent)
        await asyncio.to_thread(commit_batch, n)
        sent += n
        await asyncio.sleep(0)


def done_count() -> int:
    with db.session_scope() as session:
        return (
            session.scalar(
                select(text("count(*)"))
                .select_from(OutboxJob)
                .where(OutboxJob.status == OutboxStatus.DONE)
            )
            or 0
        )


def figures(label: str, total: int) -> str:
    with db.session_scope() as session:
        rows = session.execute(
            select(OutboxJob.created_at, OutboxJob.finished_at).where(
                OutboxJob.status == OutboxStatus.DONE
            )
        ).all()
    assert len(rows) == total, f"{label}: {len(rows)} of {total} done"
    lags = sorted((f - c).total_seconds() * 1000 for c, f in rows)
    span = (max(f for _, f in rows) - min(c for c, _ in rows)).total_seconds()
    p99 = lags[int(len(lags) * 0.99) - 1]
    return (
        f"{label:<22} {total:>7} {total / span:>9.0f} {statistics.median(lags):>10.0f} {p99:>10.0f}"
    )


async def wait_all(total: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await asyncio.to_thread(done_count) < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done_count()} of {total} jobs done after {timeout}s")
        await asyncio.sleep(0.25)


async def run_embedded(total: int, timeout: float) -> None:
    from farmgate.workers.embedded import EmbeddedRunner

    runner = EmbeddedRunner(poll_seconds=0.05)
    await runner.start()
    try:
        await produce(total)
        await wait_all(total, timeout)
    finally:
        await runner.stop()


async def run_arq(total: int, timeout: float) -> None:
    from farmgate.workers.dispatcher import ArqDispatcher

    env = {
        **os.environ,
        "FARMGATE_DATABASE_URL": settings.database_url,
        "FARMGATE_REDIS_URL": REDIS_URL,
        "FARMGATE_QUEUE_PREFIX": settings.queue_prefix,
        "PYTHONPATH": str(ROOT),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "farmgate.cli", "worker", "--queue", "quick"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dispatcher = ArqDispatcher(poll_seconds=0.05)
    await dispatcher.start()
    try:
        await produce(total)
        await wait_all(total, timeout)
    finally:
        await dispatcher.stop()
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--executors", default="arq,embedded-sqlite,embedded-pg")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    settings.queue_prefix = f"fgbench-{uuid.uuid4().hex[:6]}"
    print(f"{'executor':<22} {'jobs':>7} {'jobs/s':>9} {'p50 ms':>10} {'p99 ms':>10}")
    for executor in args.executors.split(","):
        if executor == "arq":
            settings.redis_url = REDIS_URL
            use_database(fresh_pg("farmgate_bench_jobs"))
            asyncio.run(run_arq(args.jobs, args.timeout))
        elif executor == "embedded-sqlite":
            settings.redis_url = None
            use_database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
            asyncio.run(run_embedded(args.jobs, args.timeout))
        elif executor == "embedded-pg":
            settings.redis_url = None
            use_database(fresh_pg("farmgate_bench_jobs"))
            asyncio.run(run_embedded(args.jobs, args.timeout))
        else:
            parser.error(f"unknown executor {executor}")
        print(figures(executor, args.jobs), flush=True)


if __name__ == "__main__":
    main()
