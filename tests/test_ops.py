"""Probes, metrics and logs: what operators and their tools see."""

from __future__ import annotations

import json
import logging
import sys
import time

import pytest
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.jobs import outbox
from farmgate.models import OutboxJob, Role
from farmgate.ops import logs
from farmgate.simulation import free_port
from tests.support.live import REDIS_URL


def test_healthz_and_readyz(client, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tests.support import factories as f

    admin = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    assert client.get("/healthz").json() == {"status": "ok"}
    monkeypatch.setattr(settings, "redis_url", REDIS_URL)
    ready = client.get("/readyz", headers=admin)
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert {k: v["status"] for k, v in checks.items()} == {
        "database": "ok",
        "migrations": "ok",
        "redis": "ok",
        "search": "ok",
    }
    assert checks["search"]["backend"] == "embedded"
    monkeypatch.setattr(settings, "redis_url", f"redis://127.0.0.1:{free_port()}/0")
    down = client.get("/readyz", headers=admin)
    assert down.status_code == 503 and down.json()["status"] == "fail"
    assert down.json()["checks"]["redis"]["status"] == "fail"
    assert "Error" in down.json()["checks"]["redis"]["error"]
    assert down.json()["checks"]["database"]["status"] == "ok"


def test_readyz_tells_anonymous_callers_only_ok_or_fail(  # type: ignore[no-untyped-def]
    client, session: Session, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.support import factories as f

    port = free_port()
    monkeypatch.setattr(settings, "redis_url", f"redis://127.0.0.1:{port}/0")
    buyer = f.auth_headers(session, f.create_account(session, role=Role.CONSUMER))
    for headers in ({}, buyer, {"Authorization": "Bearer forged"}):
        with caplog.at_level(logging.WARNING, logger="farmgate.api.ops"):
            down = client.get("/readyz", headers=headers)
        assert down.status_code == 503
        assert down.json() == {
            "status": "fail",
            "checks": {
                "database": {"status": "ok"},
                "migrations": {"status": "ok"},
                "redis": {"status": "fail"},
                "search": {"status": "ok"},
            },
        }
    assert str(port) in caplog.text  # the reason is in the log for the operators


def test_metrics_count_requests_by_route_and_read_the_outbox(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from farmgate.ops import metrics

    client.get("/api/v1/products/999999")  # a 404, counted under its route template
    outbox.enqueue(session, "search.reflect", {"product_ids": []})
    session.commit()
    for collector in list(metrics.REGISTRY._collector_to_names):
        if isinstance(collector, metrics.DatabaseFigures):
            collector._at = float("-inf")  # no cached figures from an earlier test
    text = client.get("/metrics").text
    assert (
        'farmgate_http_request_duration_seconds_count{method="GET",route="/api/v1/products/{product_id}",status="4xx"}'
        in text
    )
    pending = session.query(OutboxJob).filter_by(status="pending").count()
    assert f'farmgate_outbox_jobs{{status="pending"}} {float(pending)}' in text
    assert "farmgate_payment_notifications" in text and "farmgate_cold_shipments" in text


def test_requests_carry_an_id_into_their_jobs_and_logs(  # type: ignore[no-untyped-def]
    client, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.support import factories as f

    answer = client.get("/healthz", headers={"X-Request-ID": "req-abc-123"})
    assert answer.headers["x-request-id"] == "req-abc-123"
    generated = client.get("/api/v1/categories").headers["x-request-id"]
    assert len(generated) == 16
    # A request that queues work: the job remembers the request.
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    f.create_product(session, staff, f.first_village(session, township))
    admin = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    session.query(OutboxJob).delete()  # the set-up's own jobs
    session.commit()
    with caplog.at_level(logging.INFO, logger="farmgate.request"):
        changed = client.post(
            f"/api/v1/admin/cooperatives/{coop.id}/suspend",
            headers={**admin, "X-Request-ID": "req-suspend-1"},
        )
    assert changed.status_code == 200, changed.text
    session.expire_all()
    job = session.query(OutboxJob).filter_by(job="search.reflect").one()
    assert job.args["_request_id"] == "req-suspend-1"
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == "req-suspend-1"]
    assert [(r.method, r.status) for r in logged] == [("POST", 200)]  # type: ignore[attr-defined]
    assert logged[0].path == "/api/v1/admin/cooperatives/{cooperative_id}/{action}"  # type: ignore[attr-defined]


def test_json_logs_mask_personal_data() -> None:
    formatter = logs.JsonFormatter()
    record = logging.LogRecord(
        "farmgate.test",
        logging.INFO,
        __file__,
        1,
        "buyer %s id %s",
        ("13912345678", "43122319900101123X"),
        None,
    )
    token = logs.request_id.set("rid-1")
    try:
        entry = json.loads(formatter.format(record))
    finally:
        logs.request_id.reset(token)
    assert entry["message"] == "buyer 139****5678 id 431223********123X"
    assert entry["request_id"] == "rid-1" and entry["level"] == "info"


def test_log_lines_are_written_by_a_thread_of_their_own(capfd: pytest.CaptureFixture[str]) -> None:
    """The thread that logs formats the line (its request id is a context variable there) and
    queues it; the writer thread writes it, in order, and everything queued is written when
    the writer stops (at exit)."""
    import threading

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    written_by: list[str] = []

    class Spy:
        def write(self, text: str) -> None:
            written_by.append(threading.current_thread().name)
            sys.stderr.write(text)

        def flush(self) -> None:
            sys.stderr.flush()

    try:
        logs.configure(json_lines=True)
        assert logs._writer is not None
        logs._writer.stream = Spy()  # type: ignore[assignment]
        token = logs.request_id.set("rid-7")
        try:
            for n in range(50):  # info lines wait for the writer's next look; all are written
                logging.getLogger("farmgate.test").info("buyer %s line %d", "13912345678", n)
        finally:
            logs.request_id.reset(token)
        logs.stop()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == [f"buyer 139****5678 line {n}" for n in range(50)]
    assert {line["request_id"] for line in lines} == {"rid-7"}
    assert written_by and threading.current_thread().name not in written_by


def test_info_lines_wait_for_the_writer_and_a_warning_wakes_it(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Queuing a line wakes no thread (a request's line would cost the event loop a system
    call and, under load, the GIL): the writer looks every FLUSH_SECONDS, or at once for a
    warning, which takes the info lines queued before it along, in order."""
    monkeypatch.setattr(logs, "FLUSH_SECONDS", 60.0)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(json_lines=True)
        log = logging.getLogger("farmgate.test")
        log.info("first")
        time.sleep(0.3)
        assert capfd.readouterr().err == ""  # still queued: nobody was woken
        log.warning("second")
        deadline = time.monotonic() + 5
        err = ""
        while "second" not in err and time.monotonic() < deadline:
            time.sleep(0.02)
            err += capfd.readouterr().err
        assert [json.loads(line)["message"] for line in err.splitlines()] == ["first", "second"]
        log.info("third")
        logs.stop()  # what is queued is written at exit
        assert json.loads(capfd.readouterr().err)["message"] == "third"
    finally:
        logs.stop()
        root.handlers[:], level = saved
        root.setLevel(level)


def test_trace_urls_and_unknown_paths_are_one_series_each(  # type: ignore[no-untyped-def]
    client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="farmgate.request"):
        for serial in ("A1", "B2", "C3"):
            client.get(f"/01/06970000000017/10/LOT{serial}/21/{serial}")
            client.get(f"/no/such/page/{serial}")
            client.get(f"/media/missing-{serial}.jpg")
    logged = [r.path for r in caplog.records if r.name == "farmgate.request"]  # type: ignore[attr-defined]
    assert sorted(set(logged)) == ["/01/{rest}", "/media/{path}", "unmatched"]
    text = client.get("/metrics").text
    series = [
        line
        for line in text.splitlines()
        if line.startswith("farmgate_http_request_duration_seconds_count")
    ]
    assert not [line for line in series if "A1" in line or "B2" in line or "C3" in line]
    assert any('route="/01/{rest}"' in line for line in series), series
    assert any('route="unmatched"' in line for line in series), series
    assert any('route="/media/{path}"' in line for line in series), series


def test_a_forked_child_writes_its_lines() -> None:
    """A child forked after logging was set up gets a writer thread of its own."""
    import os

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    read, write = os.pipe()
    try:
        logs.configure(json_lines=True)
        pid = os.fork()
        if pid == 0:  # the child: log to the pipe and leave as a process does (atexit)
            try:
                assert logs._writer is not None
                logs._writer.stream = os.fdopen(write, "w")  # type: ignore[assignment]
                logging.getLogger("farmgate.test").info("from the child")
                logs.stop()
            finally:
                os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        with os.fdopen(read) as pipe:
            assert json.loads(pipe.read())["message"] == "from the child"
    finally:
        logs.stop()
        root.handlers[:], level = saved
        root.setLevel(level)
