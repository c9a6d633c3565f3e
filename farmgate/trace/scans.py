"""Counting scans of a code, and flagging per-unit codes that behave like copies.

A real package is scanned a handful of times, from one or two places. A serial that is scanned
far more often, or from many network areas, has probably been copied onto other packages.
Lot-level codes are shared by every package of the lot, so they are counted but never flagged.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import session_scope, utcnow
from farmgate.models import ScanCount

log = logging.getLogger(__name__)
MAX_PLACES = 50


def place_of(client_ip: str | None) -> str:
    """A coarse network area: the /16 of an IPv4 address, the /32 of an IPv6 one."""
    try:
        address = ipaddress.ip_address(client_ip or "")
    except ValueError:
        return "unknown"
    prefix = 16 if address.version == 4 else 32
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def record(batch_id: int, serial: str, client_ip: str | None) -> ScanCount | None:
    """Count one scan in its own short transaction; never fails the page that shows it."""
    place = place_of(client_ip)
    try:
        with session_scope() as session:
            return _count(session, batch_id, serial, place)
    except (OperationalError, IntegrityError) as exc:  # busy database, racing first scans
        log.warning("scan of batch %s not counted: %s", batch_id, exc.__class__.__name__)
        return None


def _count(session: Session, batch_id: int, serial: str, place: str) -> ScanCount:
    row = session.scalars(
        select(ScanCount)
        .where(ScanCount.batch_id == batch_id, ScanCount.serial == serial)
        .with_for_update()
    ).first()
    if row is None:
        row = ScanCount(batch_id=batch_id, serial=serial, scans=1, places=[place])
        session.add(row)
        session.flush()
        return row
    places = list(row.places)
    if place not in places and len(places) < MAX_PLACES:
        places.append(place)
    session.execute(
        update(ScanCount)
        .where(ScanCount.id == row.id)  # type: ignore[arg-type]
        .values(scans=ScanCount.scans + 1, places=places, last_at=utcnow())
    )
    session.flush()
    session.refresh(row)
    return row


@dataclass(frozen=True)
class ScanView:
    """A code's counts including the scan being served (recorded after the response)."""

    serial: str
    scans: int
    places: tuple[str, ...]


def current(session: Session, batch_id: int, serial: str, place: str) -> ScanView:
    """Read the counts in the page's own session; the write happens after the response, so a
    page view never holds one pooled connection while waiting for a second."""
    row = session.scalars(
        select(ScanCount).where(ScanCount.batch_id == batch_id, ScanCount.serial == serial)
    ).first()
    places = tuple(row.places) if row else ()
    if place not in places:
        places = (*places, place)
    return ScanView(serial, (row.scans if row else 0) + 1, places)


def suspicious(view: ScanView | ScanCount | None) -> bool:
    """Whether a per-unit code looks copied."""
    if view is None or not view.serial:
        return False
    return view.scans > settings.scan_alert_count or len(view.places) > settings.scan_alert_places
