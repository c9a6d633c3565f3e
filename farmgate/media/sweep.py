"""Removing media files that no row names: what a process that died between writing a file and
committing its row left behind, or between committing a deletion and deleting the files.

``farmgate.media.photos`` keeps files in step with their transaction as it goes; this is the
pass that catches the rest (daily, ``media.sweep``; by hand, ``farmgate media sweep``).

Every column that names a stored file is listed in ``SOURCES`` (a test checks the models have
no other). A file is kept when a row names it, when it is a variant of a photo a row names
(``{key}-{width}.webp``, whatever widths were made), or when it is younger than the grace
period: an upload whose transaction has not committed yet is named by nothing. The media
directory must belong to this database alone; as a guard against pointing at the wrong
database, a pass that would remove more than half of the old files removes none unless forced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import utcnow
from farmgate.media.photos import delete_files
from farmgate.media.storage import MediaStorage, get_storage
from farmgate.models import (
    Batch,
    Handoff,
    Inspection,
    Payout,
    ProductPhoto,
    ProductReview,
    RefundRequest,
)

log = logging.getLogger(__name__)

GRACE = timedelta(days=1)
# Above this share of the old files, a pass removes nothing unless forced.
MAX_SHARE = 0.5

# What each column holds: the prefix of a photo's variants ("key"), a list of them ("keys"),
# a list of {"key": ...} entries ("entries"), or one whole file ("file").
SOURCES: tuple[tuple[Any, str], ...] = (
    (ProductPhoto.storage_key, "key"),
    (Handoff.photo, "key"),
    (RefundRequest.photos, "keys"),
    (Batch.photos, "entries"),
    (ProductReview.photos, "entries"),
    (Inspection.report_file, "file"),
    (Payout.voucher_key, "file"),
)

_VARIANT = re.compile(r"(?P<key>.+)-\d+\.webp")


@dataclass
class Named:
    photos: set[str] = field(default_factory=set)  # keys of photos: their variants are named
    files: set[str] = field(default_factory=set)  # whole files

    def names(self, key: str) -> bool:
        if key in self.files:
            return True
        variant = _VARIANT.fullmatch(key)
        return variant is not None and variant["key"] in self.photos


@dataclass
class SweepReport:
    files: int = 0  # files looked at
    young: int = 0  # kept: newer than the grace period
    named: int = 0  # kept: a row names them
    unnamed: list[str] = field(default_factory=list)  # old and named by nothing
    unnamed_bytes: int = 0
    removed: int = 0
    refused: bool = False  # too many to remove without --force


def named_files(session: Session) -> Named:
    """Every file or photo key that a row names, read in batches."""
    named = Named()
    for column, kind in SOURCES:
        rows = session.execute(
            select(column).where(col(column).is_not(None)).execution_options(yield_per=2000)
        )
        for (value,) in rows:
            if kind == "file":
                named.files.add(value)
            else:
                named.photos.update(_photo_keys(value, kind))
    return named


def _photo_keys(value: Any, kind: str) -> Iterable[str]:
    if kind == "key":
        return [value] if value else []
    if kind == "keys":
        return [k for k in value or [] if isinstance(k, str)]
    return [e["key"] for e in value or [] if isinstance(e, dict) and e.get("key")]  # entries


def sweep(
    session: Session,
    *,
    storage: MediaStorage | None = None,
    now: datetime | None = None,
    grace: timedelta = GRACE,
    dry_run: bool = False,
    force: bool = False,
) -> SweepReport:
    """Remove the files older than ``grace`` that no row names (only count them if
    ``dry_run``)."""
    storage = storage or get_storage()
    cutoff = (now or utcnow()) - grace
    named = named_files(session)
    report = SweepReport()
    for stored in storage.files():
        report.files += 1
        if named.names(stored.key):
            report.named += 1
        elif stored.modified > cutoff:
            report.young += 1
        else:
            report.unnamed.append(stored.key)
            report.unnamed_bytes += stored.size
    old = report.named + len(report.unnamed)
    if not force and len(report.unnamed) > MAX_SHARE * old and len(report.unnamed) > 20:
        report.refused = True
        log.error(
            "media sweep refused: %d of %d old files are named by no row; is this the right "
            "database for this media directory? (farmgate media sweep --force removes them)",
            len(report.unnamed),
            old,
        )
        return report
    if dry_run:
        return report
    report.removed = delete_files(report.unnamed, storage)
    if report.removed:
        log.info("media sweep removed %d unnamed files", report.removed)
    return report
