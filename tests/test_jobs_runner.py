"""The outbox and its runner, in-process, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from farmgate.db import utcnow
from farmgate.jobs import admin, outbox, runner
from farmgate.models import DeadJob, OutboxJob, OutboxStatus, Role, Sku
from tests.support import factories as f


@pytest.fixture
def sku(session: Session) -> Sku:
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    session.commit()
    return sku


def test_rolled_back_change_queues_nothing(session: Session, sku: Sku) -> None:
    before = session.query(OutboxJob).count()
    sku.stock = 99
    outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}, key=f"sku:{sku.id}")
    session.rollback()
    assert session.query(OutboxJob).count() == before
    assert f.stock_of(session, sku.id) == 10


def test_committed_job_runs_exactly_once_even_when_run_twice(session: Session, sku: Sku) -> None:
    row_id = outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}, key=f"sku:{sku.id}")
    row = session.get(OutboxJob, row_id)
    assert row is not None
    session.commit()
    assert runner.execute(row.id).outcome == runner.Outcome.DONE
    assert runner.execute(row.id).outcome == runner.Outcome.SKIPPED
    assert f.stock_of(session, sku.id) == 11
    session.refresh(row)
    assert row.status == OutboxStatus.DONE and row.attempts == 1


def test_a_live_lease_is_respected_and_an_expired_one_is_taken_over(
    session: Session, sku: Sku
) -> None:
    row = session.get(OutboxJob, outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}))
    assert row is not None
    row.status, row.lease_until = OutboxStatus.RUNNING, utcnow() + timedelta(minutes=1)
    session.commit()
    assert runner.execute(row.id).outcome == runner.Outcome.SKIPPED  # someone holds it
    row.lease_until = utcnow() - timedelta(seconds=1)  # that someone died
    session.commit()
    assert runner.execute(row.id).outcome == runner.Outcome.DONE
    assert f.stock_of(session, sku.id) == 11


def test_transient_failures_back_off_then_dead_letter_then_redrive(
    session: Session, sku: Sku
) -> None:
    sku.is_active = False
    row = session.get(
        OutboxJob, outbox.enqueue(session, "tests.needs_active_sku", {"sku_id": sku.id})
    )
    assert row is not None
    session.commit()

    first = runner.execute(row.id)
    assert first.outcome == runner.Outcome.RETRY
    assert 0.05 <= first.retry_in <= 0.15  # backoff_base 0.1 with jitter
    session.refresh(row)
    assert row.status == OutboxStatus.RETRYING and "not active" in row.last_error
    assert row.available_at > utcnow() - timedelta(seconds=1)

    assert runner.execute(row.id).outcome == runner.Outcome.RETRY
    assert runner.execute(row.id).outcome == runner.Outcome.DEAD  # max_tries = 3
    dead = session.query(DeadJob).filter_by(outbox_id=row.id).one()
    assert dead.attempts == 3 and "TransientJobError: sku" in dead.error
    assert admin.counts(session)["dead"] == 1
    assert runner.execute(row.id).outcome == runner.Outcome.SKIPPED  # dead stays dead

    # Fix the cause, re-drive, and it completes.
    session.get(Sku, sku.id).is_active = True  # type: ignore[union-attr]
    admin.redrive(session, dead.id)
    session.commit()
    assert runner.execute(row.id).outcome == runner.Outcome.DONE
    assert f.stock_of(session, sku.id) == 11
    assert admin.counts(session)["dead"] == 0


def test_permanent_failure_dead_letters_at_once(session: Session, sku: Sku) -> None:
    row_id = outbox.enqueue(session, "tests.refused", {})
    session.commit()
    result = runner.execute(row_id)
    assert result.outcome == runner.Outcome.DEAD and "refused this address" in result.error
    assert session.query(DeadJob).filter_by(outbox_id=row_id).one().attempts == 1


def test_unknown_jobs_are_refused_at_enqueue(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown job"):
        outbox.enqueue(session, "no.such.job")


def test_only_a_commit_with_a_job_due_now_wakes_the_executors(session: Session, sku: Sku) -> None:
    """A delayed row is found by the executors' poll when it falls due; a wake for it would
    be a round that claims nothing."""
    woken: list[int] = []
    stop = outbox.on_new_work(lambda: woken.append(1))
    try:
        outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}, delay_seconds=60)
        session.commit()
        assert woken == []
        outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id})
        outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}, delay_seconds=60)
        session.commit()
        assert woken == [1]
        outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id})
        session.rollback()
        session.commit()
        assert woken == [1]
        # Queued in a savepoint: its release is no commit, the outer transaction's is.
        with session.begin_nested():
            outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id})
        assert woken == [1]
        session.commit()
        assert woken == [1, 1]
    finally:
        stop()


def test_claim_due_takes_the_oldest_due_rows_each_with_its_own_jobs_lease(
    session: Session, sku: Sku
) -> None:
    """The embedded runner's claim: one statement, oldest first, at most ``limit``, rows not
    due left alone, each lease its job's timeout plus 5 s (a short job is retried soon)."""
    from farmgate.jobs import registry

    session.commit()
    runner.claim_due(100)  # what making the SKU queued: out of the way
    quick = [outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}) for _ in range(3)]
    outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}, delay_seconds=60)
    slow = outbox.enqueue(session, "reports.refresh_day", {"day": "2026-12-01"})
    session.commit()
    first = runner.claim_due(2)
    assert [c.outbox_id for c in first] == quick[:2]
    assert {c.attempts for c in first} == {1}
    rest = runner.claim_due(10)
    assert [(c.outbox_id, c.job) for c in rest] == [
        (quick[2], "tests.bump_stock"),
        (slow, "reports.refresh_day"),
    ]
    assert runner.claim_due(10) == []  # claimed rows are held; the delayed one is not due
    session.expire_all()
    for outbox_id in [*quick, slow]:
        row = session.get(OutboxJob, outbox_id)
        assert row is not None and row.status == OutboxStatus.RUNNING
        spec = registry.get(row.job)
        assert spec is not None and row.lease_until and row.started_at
        assert row.lease_until - row.started_at == timedelta(seconds=spec.timeout + 5)


def test_coalescing_reuses_a_waiting_row(session: Session, sku: Sku) -> None:
    a = outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}, key="k", coalesce=True)
    b = outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}, key="k", coalesce=True)
    assert a == b
    other_key = outbox.enqueue(
        session, "tests.bump_stock", {"sku_id": sku.id}, key="j", coalesce=True
    )
    uncoalesced = outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}, key="k")
    assert len({a, other_key, uncoalesced}) == 3
    session.commit()
    assert runner.execute(a).outcome == runner.Outcome.DONE
    # a row that ran is no longer waiting: the next one is new (the uncoalesced row waits)
    c = outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}, key="k", coalesce=True)
    assert c == uncoalesced
    session.commit()
    assert runner.execute(uncoalesced).outcome == runner.Outcome.DONE
    d = outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}, key="k", coalesce=True)
    assert d not in (a, uncoalesced)
    row = session.get(OutboxJob, d)
    assert row is not None and row.status == OutboxStatus.PENDING and row.args == {"sku_id": sku.id}


def test_admin_api_lists_and_redrives_dead_letters(client, session: Session, sku: Sku) -> None:  # type: ignore[no-untyped-def]
    row_id = outbox.enqueue(session, "tests.refused", {"order": 7})
    session.commit()
    runner.execute(row_id)
    admin_headers = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    consumer_headers = f.auth_headers(session, f.create_account(session))
    assert client.get("/api/v1/admin/jobs").json()["error"]["code"] == "unauthenticated"
    assert client.get("/api/v1/admin/jobs", headers=consumer_headers).status_code == 403
    status = client.get("/api/v1/admin/jobs", headers=admin_headers).json()
    assert status["dead"] == 1
    dead = client.get("/api/v1/admin/jobs/dead", headers=admin_headers).json()
    assert dead[0]["job"] == "tests.refused" and dead[0]["args"] == {"order": 7}
    redriven = client.post(f"/api/v1/admin/jobs/dead/{dead[0]['id']}/retry", headers=admin_headers)
    assert redriven.json() == {"outbox_ids": [row_id]}
    again = client.post(f"/api/v1/admin/jobs/dead/{dead[0]['id']}/retry", headers=admin_headers)
    assert again.status_code == 409


def test_a_batch_is_claimed_together_and_each_claim_is_one_try(session: Session, sku: Sku) -> None:
    ids = [outbox.enqueue(session, "tests.bump_stock", {"sku_id": sku.id}) for _ in range(3)]
    slow = outbox.enqueue(session, "tests.needs_active_sku", {"sku_id": sku.id})
    held = session.get(OutboxJob, ids[1])
    assert held is not None
    held.status, held.lease_until = OutboxStatus.RUNNING, utcnow() + timedelta(minutes=1)
    session.commit()
    before = utcnow()

    claims = runner.claim_many(
        [(i, "tests.bump_stock") for i in ids] + [(slow, "tests.needs_active_sku")]
    )
    assert [c.outbox_id for c in claims] == [ids[0], ids[2], slow]  # the held row is left out
    assert {c.attempts for c in claims} == {1} and claims[0].args == {"sku_id": sku.id}
    assert runner.claim_many([(ids[0], "tests.bump_stock")]) == []  # claimed: not again
    session.expire_all()
    for claim in claims:
        row = session.get(OutboxJob, claim.outbox_id)
        assert row is not None and row.status == OutboxStatus.RUNNING and row.attempts == 1
        # each row leased for its own job's timeout (3 s) plus the slack
        assert row.lease_until is not None
        assert (row.lease_until - before).total_seconds() == pytest.approx(
            3 + runner.CLAIM_SLACK, abs=2
        )

    assert runner.run_claimed(claims[0]).outcome == runner.Outcome.DONE
    assert f.stock_of(session, sku.id) == 11
    # the rows not started are given back: runnable at once, the try not counted; a row done
    # since, or taken over by a later claim, is left alone
    runner.release(claims)
    session.expire_all()
    rows = {i: session.get(OutboxJob, i) for i in (ids[0], ids[2], slow)}
    assert rows[ids[0]].status == OutboxStatus.DONE and rows[ids[0]].attempts == 1  # type: ignore[union-attr]
    for i in (ids[2], slow):
        assert rows[i].status == OutboxStatus.RETRYING and rows[i].attempts == 0  # type: ignore[union-attr]
    first = runner.claim_many([(ids[2], "tests.bump_stock")])
    assert [c.attempts for c in first] == [1]
    row = rows[ids[2]]
    assert row is not None
    row.lease_until = utcnow() - timedelta(seconds=1)  # its executor stalled past the lease
    session.commit()
    second = runner.claim_many([(ids[2], "tests.bump_stock")])
    assert [c.attempts for c in second] == [2]
    runner.release(first)  # the stalled executor gives its claim back: too late, left alone
    session.expire_all()
    assert row.status == OutboxStatus.RUNNING and row.attempts == 2
    assert runner.run_claimed(second[0]).outcome == runner.Outcome.DONE
    assert f.stock_of(session, sku.id) == 12


@pytest.mark.parametrize("dialect_name", ["postgresql", "sqlite"])
def test_the_claims_name_lists_are_compiled_once_not_per_execution(dialect_name: str) -> None:
    """The statuses and job names a claim looks for are written into its SQL: an expanding
    (bound) list would be rendered again at every execution."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = {"postgresql": postgresql.dialect(), "sqlite": sqlite.dialect()}[dialect_name]
    statement, _ = runner._for_registered(runner._claim_due)
    for built in (runner.DUE, statement):
        compiled = built.compile(dialect=dialect)
        sql = str(compiled)
        assert "POSTCOMPILE" not in sql and not compiled.literal_execute_params
        assert "IN ('pending', 'dispatched', 'retrying')" in sql
    assert "'tests.bump_stock'" in str(statement.compile(dialect=dialect))


def test_only_plain_names_are_written_into_the_sql() -> None:
    with pytest.raises(ValueError, match="not a plain name"):
        runner._listed(runner.T.c.job, ["ok.name", "x') OR ('1'='1"])


def test_the_claims_run_without_begin_and_commit_on_postgresql(committed_db: Engine) -> None:
    """A claim is one UPDATE, whole on its own: on PostgreSQL it runs in autocommit (no BEGIN
    and COMMIT round trips), is still committed, and the connection goes back to the pool as
    it was. SQLite: as any unit of work."""
    with Session(committed_db) as s:
        ids = [outbox.enqueue(s, "tests.bump_stock", {"sku_id": 1}) for _ in range(2)]
        s.commit()
    seen: list[object] = []

    def record(conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith(("UPDATE outbox", "WITH due")):
            seen.append(getattr(conn.connection.driver_connection, "autocommit", None))

    event.listen(committed_db, "before_cursor_execute", record)
    try:
        assert [c.outbox_id for c in runner.claim_due(1)] == ids[:1]  # the embedded runner's
        assert runner._claim(ids[1]) is not None  # a worker's claim of one row
    finally:
        event.remove(committed_db, "before_cursor_execute", record)
    postgres = committed_db.dialect.name == "postgresql"
    assert seen == [True, True] if postgres else [None, None]
    with Session(committed_db) as s:  # committed: another connection sees both claims
        rows = [s.get(OutboxJob, i) for i in ids]
        assert [(r.status, r.attempts) for r in rows if r] == [(OutboxStatus.RUNNING, 1)] * 2
    if postgres:  # the pool's connections are back to transactions
        with committed_db.connect() as conn:
            assert conn.connection.driver_connection.autocommit is False  # type: ignore[union-attr]


def test_a_workers_claim_is_one_statement_with_its_own_jobs_lease(committed_db: Engine) -> None:
    """An arq worker's claim of one row (``runner.execute``): a single UPDATE, without reading
    the row's job first, leased for that job's own timeout plus 5 s."""
    from farmgate.jobs import registry

    with Session(committed_db) as s:
        quick = outbox.enqueue(s, "tests.bump_stock", {"sku_id": 1})
        slow = outbox.enqueue(s, "reports.refresh_day", {"day": "2026-12-01"})
        s.commit()
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        if "outbox" in statement:
            sent.append(statement.lstrip().split(" ", 1)[0])

    event.listen(committed_db, "before_cursor_execute", record)
    try:
        claimed = [runner._claim(quick), runner._claim(slow)]
    finally:
        event.remove(committed_db, "before_cursor_execute", record)
    assert [c and c[0] for c in claimed] == ["tests.bump_stock", "reports.refresh_day"]
    assert sent == ["UPDATE", "UPDATE"]
    with Session(committed_db) as s:
        timeouts = []
        for outbox_id in (quick, slow):
            row = s.get(OutboxJob, outbox_id)
            spec = registry.get(row.job) if row else None
            assert row and spec and row.lease_until and row.started_at
            assert row.lease_until - row.started_at == timedelta(seconds=spec.timeout + 5)
            timeouts.append(spec.timeout)
    assert timeouts[0] != timeouts[1]  # two leases: the CASE picked each row's own
