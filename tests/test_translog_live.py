"""The log against a live server, on committed databases: the verifier and a witness run in
clean processes that know only the site's URL and the log's public key; concurrent writers
leave one gapless sequence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import col

from farmgate import db
from farmgate.models import Batch, Role, TraceEvent, TranslogLeaf
from farmgate.trace import chain
from farmgate.translog import keys, log
from tests.support import factories as f
from tests.support.translog import AppServer, record_lot

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def site(committed_db: Engine) -> Iterator[dict[str, object]]:
    """The app served on a free port over a committed database with one cooperative."""
    with db.session_scope() as session:
        township = f.create_township(session)
        coop = f.create_cooperative(session, township)
        staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
        village = f.first_village(session, township)
        fresh = f.create_product(session, staff, village, name="鲜红辣椒")
        farm: dict[str, object] = {"staff": f.auth_headers(session, staff), "fresh": fresh.id}
    server = AppServer().start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            yield {"url": server.url, "farm": farm, "http": http}
    finally:
        server.stop()


def clean_run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m farmgate.verifier ...`` with no farmgate settings, database or home."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "HOME": str(tmp)}
    return subprocess.run(
        [sys.executable, "-m", "farmgate.verifier", *args],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_verifier_and_a_witness_in_clean_processes_with_only_the_public_key(
    site: dict[str, object], tmp_path: Path
) -> None:
    http, url = site["http"], str(site["url"])
    assert isinstance(http, httpx.Client)
    lot = record_lot(http, site["farm"], "LIVE-1")
    with db.session_scope() as session:
        log.integrate_all(session)
        log.publish(session)
    vkey = http.get("/api/v1/translog/key").json()["vkey"]
    assert vkey == keys.public_key().vkey
    state = str(tmp_path / "state.json")
    verify = ("verify", url, "--lot", "LIVE-1", "--key", vkey, "--state", state, "--json")

    first = clean_run(tmp_path, *verify)
    assert first.returncode == 0, first.stdout + first.stderr
    report = json.loads(first.stdout)
    assert report["ok"] and report["events"] == 4 and report["size"] == 4
    store = str(tmp_path / "county")
    pulled = clean_run(tmp_path, "witness", "pull", url, "--store", store, "--key", vkey)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr

    with db.session_scope() as session:  # an edit behind the application's back
        event = session.scalars(
            select(TraceEvent).where(
                col(TraceEvent.batch_id) == lot["id"], col(TraceEvent.kind) == "commissioning"
            )
        ).one()
        data = {**event.data, "harvest_date": "2020-01-01"}
        session.execute(update(TraceEvent).where(col(TraceEvent.id) == event.id).values(data=data))
    second = clean_run(tmp_path, *verify)
    assert second.returncode == 1
    problems = json.loads(second.stdout)["problems"]
    assert any("event 1 (leaf 0)" in p and "altered" in p for p in problems), problems
    checked = clean_run(tmp_path, "witness", "check", url, "--store", store, "--key", vkey)
    assert checked.returncode == 0, checked.stdout  # the log itself was not rewritten

    wrong = clean_run(tmp_path, "verify", url, "--lot", "LIVE-1", "--key", "x+1+AA==")
    assert wrong.returncode == 2 and "bad --key" in wrong.stderr


def test_the_verifier_imports_no_database_web_or_settings(tmp_path: Path) -> None:
    probe = (
        "import sys, farmgate.verifier, farmgate.verifier.commands, farmgate.verifier.witness\n"
        "bad = [m for m in ('sqlalchemy', 'sqlmodel', 'fastapi', 'starlette', 'farmgate.config',"
        " 'farmgate.db', 'farmgate.models') if m in sys.modules]\n"
        "print(bad)\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_concurrent_writers_leave_one_gapless_sequence(site: dict[str, object]) -> None:
    http = site["http"]
    assert isinstance(http, httpx.Client)
    ids = [record_lot(http, site["farm"], f"CC-{n}")["id"] for n in range(4)]
    errors: list[BaseException] = []

    def writer(batch_id: int) -> None:
        try:
            for i in range(8):
                with db.session_scope() as session:
                    batch = session.get(Batch, batch_id)
                    assert batch is not None
                    chain.append(session, batch, "storing", {"round": i})
                    log.integrate(session, limit=3)  # logging races appending and itself
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    with db.session_scope() as session:
        log.integrate_all(session)
        leaves = session.execute(
            select(col(TranslogLeaf.idx), col(TranslogLeaf.event_id)).order_by(
                col(TranslogLeaf.idx)
            )
        ).all()
        events = session.scalars(select(col(TraceEvent.id))).all()
        assert [idx for idx, _ in leaves] == list(range(len(events))) == list(range(4 * 4 + 32))
        assert sorted(e for _, e in leaves) == sorted(events)
        assert log.size(session) == len(events)


def test_the_verifier_passes_every_demo_lot_from_a_clean_process(
    committed_db: Engine, tmp_path: Path
) -> None:
    from farmgate.cooperatives.service import can_publish
    from farmgate.demo.seed import seed
    from farmgate.models import Cooperative

    with db.session_scope() as session:
        seed(session)
    with db.session_scope() as session:
        log.integrate_all(session)
        log.publish(session)
        lots = [
            b.lot_code
            for b in session.scalars(select(Batch))
            if can_publish(session.get(Cooperative, b.cooperative_id))
        ]
    assert lots
    server = AppServer().start()
    try:
        vkey = httpx.get(f"{server.url}/api/v1/translog/key").json()["vkey"]
        state = str(tmp_path / "state.json")
        for lot in lots:
            ran = clean_run(
                tmp_path, "verify", server.url, "--lot", lot, "--key", vkey, "--state", state
            )
            assert ran.returncode == 0, ran.stdout + ran.stderr
    finally:
        server.stop()
