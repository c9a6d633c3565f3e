"""Counting scans of a code, and flagging per-unit codes that behave like copies.

A real package is scanned a handful of times, by one or two people, from one or two places. A
serial that many different clients scan within one time window, or that is scanned from many
network areas, has probably been copied onto other packages. What counts is *distinct
clients*, never the number of scans: one phone (or one script) reloading the page a thousand
times is still one client, so nobody can get a genuine code marked "possibly copied" alone.
Clients are kept as salted hashes of their address (an IPv6 address by its /64), per window of
``settings.scan_window_hours``, the last ``KEEP_WINDOWS`` windows only. Lot-level codes are
shared by every package of the lot, so they are counted but never flagged.

Scans are counted in memory and written in batches (every couple of seconds, in one short
transaction) rather than one write per page view: the trace page is the busiest page there is,
and a write per view serialises every scan behind the database's write lock (on SQLite, one
writer at a time). The page adds the counts still waiting in memory to those stored, so what it
shows is current for this process; a process that dies loses at most its last few seconds of
counts, which only affects a statistic.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import session_scope, utcnow
from farmgate.models import ScanCount

log = logging.getLogger(__name__)
MAX_PLACES = 50
MAX_CLIENTS = 100  # per window: far above any alert threshold
KEEP_WINDOWS = 7
FLUSH_SECONDS = 2.0


def client_of(client_ip: str | None) -> str:
    """A client, as a salted hash of its address (an IPv6 address by its /64)."""
    try:
        address = ipaddress.ip_address(client_ip or "")
    except ValueError:
        text = client_ip or "unknown"
    else:
        text = (
            str(ipaddress.ip_network(f"{address}/64", strict=False))
            if address.version == 6
            else str(address)
        )
    salted = f"farmgate-scan-client:{settings.secret_key}:{text}".encode()
    return hashlib.sha256(salted).hexdigest()[:16]


def window_of(now: float | None = None) -> str:
    """The time window a scan falls in (a number, as text: JSON keys are strings)."""
    span = settings.scan_window_hours * 3600
    return str(int((time.time() if now is None else now) // span))


def _merge_clients(into: dict[str, list[str]], more: dict[str, list[str]]) -> dict[str, list[str]]:
    merged = {w: list(c) for w, c in into.items()}
    for window, clients in more.items():
        known = merged.setdefault(window, [])
        known.extend(c for c in clients if c not in known)
        del known[MAX_CLIENTS:]
    newest = sorted(merged, key=int)[-KEEP_WINDOWS:]
    return {w: merged[w] for w in newest}


def place_of(client_ip: str | None) -> str:
    """A coarse network area: the /16 of an IPv4 address, the /32 of an IPv6 one."""
    try:
        address = ipaddress.ip_address(client_ip or "")
    except ValueError:
        return "unknown"
    prefix = 16 if address.version == 4 else 32
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@dataclass
class _Pending:
    scans: int = 0
    places: list[str] = field(default_factory=list)
    clients: dict[str, list[str]] = field(default_factory=dict)


class ScanBuffer:
    """Scans not yet written, per (batch, serial); flushed by a daemon timer.

    A flush takes the waiting scans out of ``_pending`` but keeps them in ``_writing`` until its
    transaction has committed, so a page served meanwhile (while the flush waits for SQLite's
    write lock, say) still counts them: they are in the database or in memory, never in
    neither. The only overlap left is the instant between the commit and their removal from
    ``_writing``, when a page may count them twice."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, str], _Pending] = defaultdict(_Pending)
        self._writing: list[dict[tuple[int, str], _Pending]] = []
        self._timer: threading.Timer | None = None

    def add(
        self, batch_id: int, serial: str, place: str, client: str = "", window: str = "0"
    ) -> None:
        with self._lock:
            entry = self._pending[(batch_id, serial)]
            entry.scans += 1
            if place not in entry.places:
                entry.places.append(place)
            if client:
                entry.clients = _merge_clients(entry.clients, {window: [client]})
            if self._timer is None:
                self._timer = threading.Timer(FLUSH_SECONDS, self._on_timer)
                self._timer.daemon = True
                self._timer.start()

    def _drop_timer(self) -> None:
        # Under the lock. A timer that has already fired finds it is no longer the current one
        # and leaves the flush to whoever comes next.
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None

    def _on_timer(self) -> None:
        with self._lock:
            if self._timer is not threading.current_thread():
                return  # reset or flushed since this timer was set
        self.flush()

    def reset(self) -> None:
        """Forget everything waiting (tests: each one starts with an empty buffer)."""
        with self._lock:
            self._drop_timer()
            self._pending = defaultdict(_Pending)
            self._writing = []

    def pending(self, batch_id: int, serial: str) -> _Pending:
        """What is waiting for a code, including what a flush is writing but has not committed."""
        key = (batch_id, serial)
        total = _Pending()
        with self._lock:  # a copy: the entries change under the lock
            for entry in (b[key] for b in (*self._writing, self._pending) if key in b):
                _add_into(total, entry)
        return total

    def flush(self) -> int:
        """Write everything waiting in one transaction; returns the codes written."""
        with self._lock:
            self._drop_timer()
            batch, self._pending = self._pending, defaultdict(_Pending)
            if not batch:
                return 0
            self._writing.append(batch)
        put_back = False
        try:
            with session_scope() as session:
                for (batch_id, serial), entry in batch.items():
                    _write(session, batch_id, serial, entry)
        except (OperationalError, IntegrityError) as exc:
            log.warning("%d scan counts not written: %s", len(batch), exc.__class__.__name__)
            put_back = True
        finally:
            with self._lock:  # written, put back for the next flush, or (a bug) lost
                self._writing = [b for b in self._writing if b is not batch]
                if put_back:
                    for key, entry in batch.items():
                        _add_into(self._pending[key], entry)
        return 0 if put_back else len(batch)


def _add_into(total: _Pending, entry: _Pending) -> None:
    total.scans += entry.scans
    total.places.extend(p for p in entry.places if p not in total.places)
    total.clients = _merge_clients(total.clients, entry.clients)


def _write(session: Session, batch_id: int, serial: str, entry: _Pending) -> None:
    row = session.scalars(
        select(ScanCount)
        .where(col(ScanCount.batch_id) == batch_id, col(ScanCount.serial) == serial)
        .with_for_update()
    ).first()
    if row is None:
        session.add(
            ScanCount(
                batch_id=batch_id,
                serial=serial,
                scans=entry.scans,
                places=entry.places[:MAX_PLACES],
                clients=_merge_clients({}, entry.clients),
            )
        )
        session.flush()
        return
    places = list(row.places)
    places.extend(p for p in entry.places if p not in places)
    row.scans += entry.scans
    row.places = places[:MAX_PLACES]
    row.clients = _merge_clients(row.clients or {}, entry.clients)
    row.last_at = utcnow()
    session.add(row)
    session.flush()


buffer = ScanBuffer()


@dataclass(frozen=True)
class ScanView:
    """A code's counts including the scan being served."""

    serial: str
    scans: int
    places: tuple[str, ...]
    clients: int = 1  # the most distinct clients in one time window


_UNREAD: Any = object()


class StoredScans(NamedTuple):
    """A code's stored counts, read with its lot (farmgate/trace/service.find_public_page)."""

    scans: int
    places: list[str]
    clients: dict[str, list[str]] | None


def record(
    session: Session,
    batch_id: int,
    serial: str,
    client_ip: str | None,
    stored: ScanCount | StoredScans | None = _UNREAD,
) -> ScanView:
    """Count this scan and return the code's counts (stored + waiting + this one). ``stored``:
    the code's row (or None: no row yet) when the caller read it already."""
    place = place_of(client_ip)
    buffer.add(batch_id, serial, place, client_of(client_ip), window_of())
    row = stored
    if row is _UNREAD:
        row = session.scalars(
            select(ScanCount).where(
                col(ScanCount.batch_id) == batch_id, col(ScanCount.serial) == serial
            )
        ).first()
    waiting = buffer.pending(batch_id, serial)
    places = list(row.places) if row else []
    places.extend(p for p in waiting.places if p not in places)
    clients = _merge_clients((row.clients or {}) if row else {}, waiting.clients)
    most = max((len(c) for c in clients.values()), default=1)
    return ScanView(serial, (row.scans if row else 0) + waiting.scans, tuple(places), most)


def suspicious(view: ScanView | None) -> bool:
    """Whether a per-unit code looks copied: scanned by more distinct clients in one window,
    or from more network areas, than a real package is (never by the number of scans)."""
    if view is None or not view.serial:
        return False
    return (
        view.clients > settings.scan_alert_clients or len(view.places) > settings.scan_alert_places
    )
