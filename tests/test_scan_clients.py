"""Copied-code detection counts distinct clients per time window, never raw scans (issue 19)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.trace import scans


def test_one_client_never_flags_a_code(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "scan_alert_clients", 2)
    scans.buffer.reset()
    view = None
    for _ in range(500):
        view = scans.record(session, 1, "S1", "203.0.113.9")
    assert view is not None and view.scans == 500 and view.clients == 1
    assert not scans.suspicious(view)
    # An IPv6 client is one client across its /64 (privacy addresses rotate inside it).
    for host in range(1, 6):
        view = scans.record(session, 1, "S2", f"2001:db8:1:2::{host}")
    assert view.clients == 1 and not scans.suspicious(view)


def test_distinct_clients_are_counted_per_window(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "scan_alert_clients", 3)
    scans.buffer.reset()
    monkeypatch.setattr(scans, "window_of", lambda now=None: "100")
    for n in range(3):
        view = scans.record(session, 1, "S3", f"198.51.100.{n}")
    assert view.clients == 3 and not scans.suspicious(view)
    monkeypatch.setattr(scans, "window_of", lambda now=None: "101")  # the next day
    for n in range(3, 6):
        view = scans.record(session, 1, "S3", f"198.51.100.{n}")
    assert view.clients == 3 and not scans.suspicious(view)  # six people, but over two days
    view = scans.record(session, 1, "S3", "198.51.100.77")
    assert view.clients == 4 and scans.suspicious(view)
    # The lot-level code is shared by every package: never flagged.
    for n in range(10):
        lot_view = scans.record(session, 1, "", f"192.0.2.{n}")
    assert not scans.suspicious(lot_view)


def test_windows_are_kept_bounded() -> None:
    clients: dict[str, list[str]] = {}
    for window in range(20):
        clients = scans._merge_clients(clients, {str(window): [f"c{i}" for i in range(150)]})
    assert sorted(clients, key=int) == [str(w) for w in range(13, 20)]
    assert all(len(c) == scans.MAX_CLIENTS for c in clients.values())
    assert scans.client_of("203.0.113.9") != "203.0.113.9"  # hashed, never the address
    assert scans.client_of("203.0.113.9") == scans.client_of("203.0.113.9")


def test_clients_survive_the_flush(
    client, farm, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from farmgate.models import ScanCount
    from tests.support.trace import create_batch

    batch = create_batch(client, farm)
    scans.buffer.reset()
    monkeypatch.setattr(scans, "window_of", lambda now=None: "7")
    for n in range(3):
        scans.record(session, batch["id"], "S9", f"198.51.100.{n}")
    assert scans.buffer.flush() == 1
    session.expire_all()
    row = session.query(ScanCount).filter_by(batch_id=batch["id"], serial="S9").one()
    assert row.scans == 3 and len((row.clients or {})["7"]) == 3
    view = scans.record(session, batch["id"], "S9", "198.51.100.0")  # one of them again
    assert view.clients == 3 and view.scans == 4
