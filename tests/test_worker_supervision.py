"""``farmgate worker`` as a process: it outlives a Redis outage and drains on SIGTERM.

Each test runs its own redis-server on a free port (not the shared one's db 15, which other
test runs flush), a real ``farmgate worker`` subprocess, and a committed PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from farmgate.config import settings
from farmgate.db import session_scope
from farmgate.jobs import outbox
from farmgate.jobs.registry import queue_name
from farmgate.models import OutboxJob, OutboxStatus, Role, Sku
from farmgate.simulation import free_port
from farmgate.workers.dispatcher import arq_job_id
from farmgate.workers.health import worker_health
from tests.support import factories as f
from tests.support.live import diagnose

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.parametrize("committed_engine", ["postgresql"], indirect=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed"),
]


class RedisServer:
    """A throwaway redis-server on ``port``, stopped and started again at will."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(self.up, 10, "redis-server to start")

    def up(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=0.5).ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def own_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    monkeypatch.setattr(settings, "redis_url", server.url)
    monkeypatch.setattr(settings, "queue_prefix", f"fgsup-{uuid.uuid4().hex[:8]}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sku_id(committed_db: Engine) -> int:
    with session_scope() as session:
        township = f.create_township(session)
        coop = f.create_cooperative(session, township)
        staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
        product = f.create_product(session, staff, f.first_village(session, township))
        found = session.query(Sku).filter_by(product_id=product.id).one().id
    with session_scope() as session:
        session.query(OutboxJob).delete()  # the set-up's own jobs
    return int(found)


def _worker(log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FARMGATE_DATABASE_URL": settings.database_url,
        "FARMGATE_REDIS_URL": settings.redis_url or "",
        "FARMGATE_QUEUE_PREFIX": settings.queue_prefix,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "farmgate.cli", "worker", "--queue", "quick"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def _job(sku_id: int, **args: object) -> int:
    with session_scope() as session:
        return outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku_id, **args})


def _status(row_id: int) -> str:
    with session_scope() as session:
        return session.get(OutboxJob, row_id).status  # type: ignore[union-attr]


def _stock(sku_id: int) -> int:
    with session_scope() as session:
        return session.get(Sku, sku_id).stock  # type: ignore[union-attr]


def _stop(worker: subprocess.Popen[bytes]) -> int | None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            return worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
    return worker.returncode


def test_the_worker_waits_out_a_redis_outage_then_works(
    own_redis: RedisServer, sku_id: int, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    health_key = queue_name("quick") + ":health-check"
    worker = _worker(log)
    try:
        _wait_for(lambda: bool(own_redis.client().exists(health_key)), 30, "the worker")
        own_redis.stop()
        time.sleep(4)  # several reconnection attempts
        assert worker.poll() is None, log.read_text()[-3000:]
        down = asyncio.run(worker_health())
        assert down[queue_name("quick")].startswith("Redis unreachable")  # type: ignore[union-attr]
        assert "Redis is unreachable for the quick worker" in log.read_text()

        own_redis.start()
        row_id = _job(sku_id)
        _wait_for(lambda: _status(row_id) == OutboxStatus.DONE, 60, "the job after the outage")
        assert _stock(sku_id) == 11
        back = asyncio.run(worker_health())[queue_name("quick")]
        assert back is not None and "last Redis outage" in back, back
    except BaseException:
        print(log.read_text(errors="replace")[-4000:])  # noqa: T201
        print(diagnose(row_id))  # noqa: T201
        raise
    finally:
        _stop(worker)


def test_sigterm_lets_the_running_job_finish_and_leaves_no_lease(
    own_redis: RedisServer, sku_id: int, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    row_id = _job(sku_id, sleep=2)
    lease = "arq:in-progress:" + arq_job_id(row_id)
    worker = _worker(log)
    try:
        try:
            _wait_for(lambda: _status(row_id) == OutboxStatus.RUNNING, 30, "the job to start")
        except BaseException:
            print(log.read_text(errors="replace")[-4000:])  # noqa: T201
            print(diagnose(row_id))  # noqa: T201
            raise
        assert own_redis.client().exists(lease)  # held while it runs
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0, log.read_text()[-3000:]
    finally:
        _stop(worker)
    assert _status(row_id) == OutboxStatus.DONE and _stock(sku_id) == 11
    assert not own_redis.client().exists(lease)  # not left to expire
    assert not own_redis.client().exists(queue_name("quick") + ":health-check")
