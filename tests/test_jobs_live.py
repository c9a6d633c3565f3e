"""The job machinery end to end: committed rows, the real Redis, real arq workers.

These tests commit for real (workers in other processes must see the data), so they use their
own database, emptied before each test, instead of the rolled-back transaction of the others.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, event

from farmgate.config import settings
from farmgate.db import session_scope
from farmgate.jobs import admin, outbox, runner
from farmgate.models import OutboxJob, OutboxStatus, Role, Sku
from farmgate.workers import dispatcher as dispatching
from farmgate.workers.dispatcher import ArqDispatcher, send, sweep
from farmgate.workers.embedded import EmbeddedRunner
from tests.support import factories as f
from tests.support.live import (
    REDIS_START,
    REDIS_URL,
    burst,
    diagnose,
    dispatch_once,
    on_postgresql,
    redis_up,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def live(committed_db: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """A committed database with one SKU (stock 10), and Redis for this test alone."""
    monkeypatch.setattr(settings, "redis_url", REDIS_URL)
    monkeypatch.setattr(settings, "queue_prefix", f"fgtest-{uuid.uuid4().hex[:8]}")
    if redis_up():
        redis.Redis.from_url(REDIS_URL).flushdb()
    with session_scope() as session:
        township = f.create_township(session)
        coop = f.create_cooperative(session, township)
        staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
        product = f.create_product(session, staff, f.first_village(session, township))
        sku_id = session.query(Sku).filter_by(product_id=product.id).one().id
    with session_scope() as session:
        # The set-up queued its own work (the product into the search index); each test
        # counts only the jobs it makes.
        session.query(OutboxJob).delete()
    yield {"sku_id": sku_id, "dialect": committed_db.dialect.name}
    if not redis_up():
        subprocess.run(REDIS_START, check=True)


def _needs_redis_pg(live: dict[str, object]) -> None:
    if not redis_up():
        pytest.fail(f"Redis is not answering at {REDIS_URL}")


def _commit_jobs(job: str, sku_id: object, n: int = 1, **args: object) -> list[int]:
    with session_scope() as session:
        return [outbox.enqueue(session, job, {"sku_id": sku_id, **args}) for _ in range(n)]


def _stock(sku_id: object) -> int:
    with session_scope() as session:
        return session.get(Sku, sku_id).stock  # type: ignore[union-attr]


def _statuses() -> dict[str, int]:
    """How many of this file's test jobs are in each state (a product change may also queue
    platform work, such as the search index's, which these tests do not count)."""
    with session_scope() as session:
        rows = session.query(OutboxJob.status).filter(OutboxJob.job.like("tests.%")).all()  # type: ignore[attr-defined]
    out: dict[str, int] = {}
    for (status,) in rows:
        out[status] = out.get(status, 0) + 1
    return out


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@on_postgresql
def test_a_row_dispatched_twice_runs_once(live: dict[str, object]) -> None:
    _needs_redis_pg(live)
    [row_id] = _commit_jobs("tests.bump_stock", live["sku_id"])

    async def scenario() -> int:
        assert await dispatch_once() == 1
        dispatcher = ArqDispatcher()
        try:
            # A second dispatch of the same row (another web process, a sweep): arq keeps one.
            again = await send(await dispatcher._pool(), [(row_id, "quick")])
        finally:
            await dispatcher.close()
        await burst("quick")
        return again

    assert asyncio.run(scenario()) == 0
    assert _stock(live["sku_id"]) == 11
    assert _statuses() == {"done": 1}


@on_postgresql
def test_rows_are_marked_before_they_reach_arq_and_a_failed_hand_over_gives_them_back(
    live: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatcher takes the due rows with one UPDATE (marked handed over) and only then
    sends them: a worker never runs a row still waiting for its mark. If the send fails, the
    rows are pending again and the next round hands them over."""
    _needs_redis_pg(live)
    rows = _commit_jobs("tests.bump_stock", live["sku_id"], n=3)
    with session_scope() as session:  # not due yet: not taken
        outbox.enqueue(session, "tests.bump_stock", {"sku_id": live["sku_id"]}, delay_seconds=60)
    seen: list[tuple[list[tuple[int, str]], dict[str, int]]] = []

    async def failing(pool: object, taken: list[tuple[int, str]]) -> int:
        seen.append((taken, await asyncio.to_thread(_statuses)))
        raise ConnectionError("Redis went away mid-send")

    with monkeypatch.context() as patched:
        patched.setattr(dispatching, "send", failing)
        with pytest.raises(ConnectionError):
            asyncio.run(dispatch_once())
    assert seen == [([(r, "quick") for r in rows], {"dispatched": 3, "pending": 1})]
    assert _statuses() == {"pending": 4}
    with session_scope() as session:
        assert {j.dispatched_at for j in session.query(OutboxJob).all()} == {None}

    assert asyncio.run(dispatch_once()) == 3
    assert asyncio.run(dispatch_once()) == 0  # taken once: nothing left due
    asyncio.run(burst("quick"))
    assert _statuses() == {"done": 3, "pending": 1}
    assert _stock(live["sku_id"]) == 13


@on_postgresql
def test_an_idle_dispatch_round_only_looks_and_a_woken_one_takes_at_once(
    live: dict[str, object], committed_db: Engine
) -> None:
    """A round nobody woke looks for due rows with a SELECT and writes nothing when there are
    none; a round after a commit's wake takes the rows with its UPDATE, without looking
    first; a round that took fewer than a full batch does not start the next one at once."""
    _needs_redis_pg(live)
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        if "outbox" in statement:
            sent.append(statement.lstrip().split(" ", 1)[0])

    async def scenario() -> list[tuple[int, list[str]]]:
        dispatcher = ArqDispatcher()
        rounds = []
        try:
            dispatcher.expecting()  # a new dispatcher takes at once: not what is tested here
            for commit in (False, True):
                if commit:
                    await asyncio.to_thread(_commit_jobs, "tests.bump_stock", live["sku_id"], 2)
                    dispatcher.wake()
                sent.clear()
                rounds.append((await dispatcher.tick(), list(sent)))
            assert not dispatcher.more_due()
        finally:
            await dispatcher.close()
        return rounds

    event.listen(committed_db, "before_cursor_execute", record)
    try:
        rounds = asyncio.run(scenario())
    finally:
        event.remove(committed_db, "before_cursor_execute", record)
    assert rounds == [(0, ["SELECT"]), (2, ["WITH"])]  # the take: WITH due ... UPDATE
    assert _statuses() == {"dispatched": 2}


@on_postgresql
def test_redis_down_while_orders_commit_loses_nothing_and_doubles_nothing(
    live: dict[str, object],
) -> None:
    _needs_redis_pg(live)
    sku_id = live["sku_id"]
    # Five jobs reach Redis, then Redis dies (it keeps nothing on disk, so they are gone) ...
    _commit_jobs("tests.bump_stock", sku_id, n=5)
    assert asyncio.run(dispatch_once()) == 5
    subprocess.run(
        ["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False, capture_output=True
    )
    _wait_for(lambda: not redis_up(), 10, "Redis to stop")
    try:
        # ... and twenty more commit while it is down: the commits succeed, dispatch fails.
        _commit_jobs("tests.bump_stock", sku_id, n=20)
        with pytest.raises(Exception):  # noqa: B017, PT011  (a connection error of some kind)
            asyncio.run(dispatch_once())
        assert _statuses() == {"dispatched": 5, "pending": 20}
    finally:
        subprocess.run(REDIS_START, check=True)
        _wait_for(redis_up, 10, "Redis to restart")

    async def recover() -> None:
        assert await dispatch_once() == 20
        dispatcher = ArqDispatcher()
        try:
            settings.outbox_stale_seconds = 0  # the sweep's threshold, shortened for the test
            assert await sweep(await dispatcher._pool()) == 5  # the five Redis lost
        finally:
            await dispatcher.close()
        await burst("quick")

    stale = settings.outbox_stale_seconds
    try:
        asyncio.run(recover())
    finally:
        settings.outbox_stale_seconds = stale
    assert _statuses() == {"done": 25}
    assert _stock(sku_id) == 10 + 25


_WORKER_LOG = Path(os.environ.get("FARMGATE_TEST_WORKER_LOG", "/tmp/farmgate-test-worker.log"))


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "farmgate.cli", "worker", "--queue", "quick"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("FARMGATE_TEST_WORKER_LOG", os.devnull), "ab"),
    )


@on_postgresql
def test_worker_killed_mid_job_runs_it_again_with_one_effect(live: dict[str, object]) -> None:
    _needs_redis_pg(live)
    env = {
        **os.environ,
        "FARMGATE_DATABASE_URL": settings.database_url,
        "FARMGATE_REDIS_URL": REDIS_URL,
        "FARMGATE_QUEUE_PREFIX": settings.queue_prefix,
        "PYTHONPATH": str(ROOT),
    }
    [row_id] = _commit_jobs("tests.bump_stock", live["sku_id"], sleep=2.5)
    _WORKER_LOG.write_bytes(b"")

    def status() -> str:
        with session_scope() as session:
            return session.get(OutboxJob, row_id).status  # type: ignore[union-attr]

    worker = _start_worker(env)
    try:
        try:
            _wait_for(lambda: status() == OutboxStatus.RUNNING, 30, "the job to start")
        except BaseException:
            print(_WORKER_LOG.read_text(errors="replace")[-4000:])  # noqa: T201
            print(diagnose(row_id))  # noqa: T201
            raise
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        assert (
            status() == OutboxStatus.RUNNING and _stock(live["sku_id"]) == 10
        )  # nothing half-done
    finally:
        if worker.poll() is None:
            worker.kill()

    successor = _start_worker(env)
    try:
        # arq hands the job to a new worker once the dead one's in-progress mark expires.
        _wait_for(lambda: status() == OutboxStatus.DONE, 90, "the job to run again")
    except BaseException:
        print(_WORKER_LOG.read_text(errors="replace")[-4000:])  # noqa: T201
        print(diagnose(row_id))  # noqa: T201
        raise
    finally:
        successor.send_signal(signal.SIGTERM)
        try:
            successor.wait(10)
        except subprocess.TimeoutExpired:
            successor.kill()
    assert _stock(live["sku_id"]) == 11
    with session_scope() as session:
        assert session.get(OutboxJob, row_id).attempts == 2  # type: ignore[union-attr]


@on_postgresql
def test_always_failing_job_is_dead_lettered_then_redriven(live: dict[str, object]) -> None:
    _needs_redis_pg(live)
    sku_id = live["sku_id"]
    with session_scope() as session:
        session.get(Sku, sku_id).is_active = False  # type: ignore[union-attr]
    [row_id] = _commit_jobs("tests.needs_active_sku", sku_id)

    asyncio.run(dispatch_once())
    asyncio.run(burst("slow"))  # three tries with backoff, all inside this burst
    with session_scope() as session:
        dead = admin.dead_letters(session)
        assert [d.outbox_id for d in dead] == [row_id]
        assert dead[0].attempts == 3 and "is not active" in dead[0].error
        session.get(Sku, sku_id).is_active = True  # type: ignore[union-attr]  (the fix)
    with session_scope() as session:
        admin.redrive_all(session)
    asyncio.run(dispatch_once())
    asyncio.run(burst("slow"))
    assert _statuses() == {"done": 1}
    assert _stock(sku_id) == 11


def test_embedded_mode_runs_the_same_jobs_without_redis(
    live: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(settings, "embedded_jobs", True)
    from farmgate.workers.dispatcher import make_job_queue

    queue = make_job_queue()
    assert isinstance(queue, EmbeddedRunner)

    async def scenario() -> None:
        await queue.start()
        try:
            await asyncio.to_thread(_commit_jobs, "tests.bump_stock", live["sku_id"], 3)
            for _ in range(100):
                if _statuses() == {"done": 3}:
                    break
                await asyncio.sleep(0.1)
        finally:
            await queue.stop()

    asyncio.run(scenario())
    assert _statuses() == {"done": 3}
    assert _stock(live["sku_id"]) == 13


def test_embedded_runner_waits_after_a_short_batch_and_wakes_for_the_next_commit(
    live: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch claimed short took every row due: the runner waits for the next commit's wake
    (or its poll) instead of looking again at once, and still runs what comes next."""
    from farmgate.workers import embedded

    looks: list[float] = []
    real_any_due = embedded.any_due

    def counted() -> bool:
        looks.append(time.monotonic())
        return real_any_due()

    monkeypatch.setattr(embedded, "any_due", counted)
    queue = EmbeddedRunner(poll_seconds=60)  # no poll during the test: only wakes

    async def until_done(count: int) -> None:
        for _ in range(100):
            if _statuses() == {"done": count}:
                return
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        await queue.start()
        try:
            await asyncio.to_thread(_commit_jobs, "tests.bump_stock", live["sku_id"], 2)
            await until_done(2)
            await asyncio.sleep(0.3)  # the runner is waiting now, not looking
            await asyncio.to_thread(_commit_jobs, "tests.bump_stock", live["sku_id"], 1)
            await until_done(3)
        finally:
            await queue.stop()

    asyncio.run(scenario())
    assert _statuses() == {"done": 3} and _stock(live["sku_id"]) == 13
    assert looks == []  # each round claimed at once (woken by a commit), none looked first


@pytest.mark.parametrize("claim", ["named rows", "due rows"])
def test_two_executors_claiming_at_once_never_take_the_same_row(
    live: dict[str, object], claim: str
) -> None:
    """``claim_many`` takes rows it was given; ``claim_due`` (the embedded runner's) finds
    them itself, a few at a time."""
    ids = _commit_jobs("tests.bump_stock", live["sku_id"], 40)
    rows = [(i, "tests.bump_stock") for i in ids]
    taken: list[list[runner.Claim]] = [[], [], []]
    start = threading.Barrier(3)

    def executor(n: int) -> None:
        start.wait()
        for _ in range(10):
            taken[n] += runner.claim_many(rows) if claim == "named rows" else runner.claim_due(3)

    threads = [threading.Thread(target=executor, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c.outbox_id for claims in taken for c in claims) == ids  # each once
    assert {c.attempts for claims in taken for c in claims} == {1}
    assert _statuses() == {"running": 40}


def test_embedded_runner_gives_back_what_waited_too_long_uncounted(
    live: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _commit_jobs("tests.bump_stock", live["sku_id"], 3)
    monkeypatch.setattr(runner, "CLAIM_SLACK", -1.0)  # every row after the first waited too long
    queue = EmbeddedRunner()
    assert asyncio.run(queue.tick()) == 3  # claimed three, ran one, gave two back
    assert _statuses() == {"done": 1, "retrying": 2}
    while asyncio.run(queue.tick()):
        pass
    assert _statuses() == {"done": 3} and _stock(live["sku_id"]) == 13
    with session_scope() as session:
        assert [session.get(OutboxJob, i).attempts for i in ids] == [1, 1, 1]  # type: ignore[union-attr]


async def _stop_mid_tick(queue: EmbeddedRunner, after: float) -> None:
    """Start a round of ``queue`` and stop the runner ``after`` seconds into it."""
    tick = asyncio.create_task(queue.tick())
    await asyncio.sleep(after)
    tick.cancel()
    with pytest.raises(asyncio.CancelledError):
        await tick


def test_embedded_runner_stopped_mid_claim_gives_the_rows_back(
    live: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _commit_jobs("tests.bump_stock", live["sku_id"], 3)
    claim_due = runner.claim_due

    def slow_claim(limit: int) -> list[runner.Claim]:
        claims = claim_due(limit)
        time.sleep(0.3)  # committed; the runner is stopped before it hears back
        return claims

    monkeypatch.setattr(runner, "claim_due", slow_claim)
    queue = EmbeddedRunner()
    asyncio.run(_stop_mid_tick(queue, 0.15))
    assert _statuses() == {"retrying": 3} and _stock(live["sku_id"]) == 10
    with session_scope() as session:
        assert [session.get(OutboxJob, i).attempts for i in ids] == [0, 0, 0]  # type: ignore[union-attr]
    monkeypatch.setattr(runner, "claim_due", claim_due)
    while asyncio.run(queue.tick()):
        pass
    assert _statuses() == {"done": 3} and _stock(live["sku_id"]) == 13


def test_embedded_runner_stopped_mid_body_gives_the_rest_back_at_once(
    live: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopping while the first body runs gives the two not started back before the stop
    returns, untried; the body runs on in its thread to its end."""
    ids = _commit_jobs("tests.bump_stock", live["sku_id"], 3)
    run_claimed = runner.run_claimed
    finished = threading.Event()

    def slow_body(claim: runner.Claim) -> runner.Result:
        time.sleep(0.4)  # the runner is stopped meanwhile
        try:
            return run_claimed(claim)
        finally:
            finished.set()

    monkeypatch.setattr(runner, "run_claimed", slow_body)
    queue = EmbeddedRunner()

    async def scenario() -> None:
        await _stop_mid_tick(queue, 0.2)
        assert not finished.is_set()
        assert _statuses() == {"running": 1, "retrying": 2}  # at once: the body still runs

    asyncio.run(scenario())  # which waits for the default executor's thread at its end
    assert finished.is_set()
    _wait_for(lambda: _statuses() == {"done": 1, "retrying": 2}, 5, "the first body")
    with session_scope() as session:
        attempts = [session.get(OutboxJob, i).attempts for i in ids]  # type: ignore[union-attr]
    assert attempts == [1, 0, 0]  # the two given back were never counted as tried
    monkeypatch.setattr(runner, "run_claimed", run_claimed)
    while asyncio.run(queue.tick()):
        pass
    assert _statuses() == {"done": 3} and _stock(live["sku_id"]) == 13
