"""The embedded backend across processes: documents in the database, an index in each process.

Writers (the ``search.reflect`` job, a rebuild) store each product's document as a
``SearchEntry`` with a new version, in their own transaction. Every process keeps an
in-memory ``EmbeddedIndex`` and, before answering, reads the entries above the last version it
applied (at most once per ``refresh_seconds``; one indexed query when nothing changed). The
version row is locked by each writer until it commits, so versions become visible in order and
a reader never skips one. Works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.models import SearchEntry, SearchVersion
from farmgate.search import embedded_snapshot
from farmgate.search.backend import SearchDocument
from farmgate.search.embedded import EmbeddedIndex

log = logging.getLogger(__name__)

BATCH = 5000  # entries read per query while catching up
LAST_ID = 2**31 - 1  # "after every product of the version already applied" (int4 max)


def next_version(session: Session) -> int:
    """A new version; the row stays locked until this transaction ends (ordering writers)."""
    bumped = session.execute(
        update(SearchVersion)
        .where(col(SearchVersion.id) == 1)
        .values(value=col(SearchVersion.value) + 1)
        .returning(col(SearchVersion.value))
    ).scalar()
    if bumped is None:  # the first write ever
        session.add(SearchVersion(id=1, value=1))
        session.flush()
        return 1
    return int(bumped)


def write(session: Session, docs: Mapping[int, SearchDocument | None]) -> int:
    """Store documents (None: the product must not be found); returns the version used."""
    if not docs:
        return 0
    version = next_version(session)
    existing = {
        e.product_id: e
        for e in session.scalars(
            select(SearchEntry).where(col(SearchEntry.product_id).in_(list(docs)))
        )
    }
    now = utcnow()
    for product_id, doc in docs.items():
        entry = existing.get(product_id) or SearchEntry(product_id=product_id, version=version)
        entry.version, entry.updated_at = version, now
        entry.body = doc.to_dict() if doc is not None else None
        session.add(entry)
    session.flush()
    return version


def snapshot_path() -> Path:
    """This database's snapshot file in the data directory (one per database URL)."""
    tag = hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]
    return settings.data_dir / f"search-{tag}.snapshot"


class EmbeddedStore:
    """One process's index, caught up from the database before it answers.

    Its first catch-up starts from the snapshot file when there is one (``embedded_snapshot``)
    and reads only what was written after it; a catch-up that applied at least
    ``settings.search_snapshot_min`` entries writes a new snapshot (0: never).
    """

    def __init__(
        self, refresh_seconds: float | None = None, snapshot: Path | bool | None = True
    ) -> None:
        self.index = EmbeddedIndex()
        self.refresh_seconds = (
            settings.search_refresh_seconds if refresh_seconds is None else refresh_seconds
        )
        self.version = 0
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self._gone: set[int] = set()  # tombstoned product ids applied (checks a snapshot)
        self._snapshot: Path | None = (
            (snapshot_path() if snapshot is True else snapshot or None)
            if settings.search_snapshot_min > 0
            else None
        )
        self._started = False
        self._loaded = False  # the first catch-up (a snapshot load or a build) has finished

    def loading(self) -> bool:
        """Whether another thread is loading or building this index for the first time now
        (``/readyz`` says not ready meanwhile rather than wait for it)."""
        return not self._loaded and self._lock.locked()

    def _start(self, session: Session) -> None:
        """Load the snapshot if it fits this database (called once, under the lock)."""
        self._started = True
        if self._snapshot is None:
            return
        loaded = embedded_snapshot.load(self._snapshot)
        if loaded is None:
            return
        index, version, gone = loaded
        current = session.execute(
            select(col(SearchVersion.value)).where(col(SearchVersion.id) == 1)
        ).scalar()
        if current is None or current < version:  # another database, or one started over
            return
        self.index, self.version, self._gone = index, version, gone

    def _matches_database(self, session: Session) -> bool:
        """Every product id the database has an entry for, and no other, is known here."""
        count, total = session.execute(
            select(func.count(), func.coalesce(func.sum(col(SearchEntry.product_id)), 0))
        ).one()
        known = set(self.index._row_of) | self._gone
        return int(count) == len(known) and int(total) == sum(known)

    def catch_up(self, session: Session, force: bool = False) -> int:
        """Apply what changed since the last look; returns how many entries were applied."""
        if not force and time.monotonic() - self._checked < self.refresh_seconds:
            return 0
        with self._lock:
            if not self._started:
                self._start(session)
                from_snapshot = self.version > 0
                applied = self._catch_up(session)
                if from_snapshot and not self._matches_database(session):
                    # Entries were removed wholesale (a reindex) since the snapshot: start over.
                    log.info("search snapshot does not match the database; rebuilding")
                    self.index, self.version, self._gone = EmbeddedIndex(), 0, set()
                    applied = self._catch_up(session)
                self._loaded = True
            else:
                applied = self._catch_up(session)
            if self._snapshot is not None and applied >= settings.search_snapshot_min:
                self._save()
            return applied

    def _save(self) -> None:
        assert self._snapshot is not None
        started = time.perf_counter()
        try:
            embedded_snapshot.save(self.index, self.version, self._gone, self._snapshot)
        except OSError as exc:  # a read-only data directory costs the next start, nothing more
            log.warning("could not write the search snapshot %s: %s", self._snapshot, exc)
            return
        log.info(
            "search snapshot written at version %d in %.1f s",
            self.version,
            time.perf_counter() - started,
        )

    def _catch_up(self, session: Session) -> int:
        applied = 0
        # Keyset over (version, product_id): a rebuild writes one version for every row.
        version, after = self.version, LAST_ID
        while True:
            rows = session.execute(
                select(col(SearchEntry.product_id), col(SearchEntry.version), col(SearchEntry.body))
                .where(
                    or_(
                        col(SearchEntry.version) > version,
                        and_(
                            col(SearchEntry.version) == version,
                            col(SearchEntry.product_id) > after,
                        ),
                    )
                )
                .order_by(col(SearchEntry.version), col(SearchEntry.product_id))
                .limit(BATCH)
            ).all()
            if rows:
                self._apply(rows)
                applied += len(rows)
                after, version = rows[-1][0], rows[-1][1]
            if len(rows) < BATCH:
                break
        # A version is committed whole (its writer held the version row), so everything
        # up to the last one read is here.
        self.version = version
        self._checked = time.monotonic()
        return applied

    def _apply(self, rows: Sequence[Any]) -> None:
        upserts = [SearchDocument.from_dict(body) for _, _, body in rows if body is not None]
        deletes = [product_id for product_id, _, body in rows if body is None]
        if upserts:
            self.index.index(upserts)
            self._gone.difference_update(d.id for d in upserts)
        if deletes:
            self.index.delete(deletes)
            self._gone.update(deletes)

    def reset(self) -> None:
        with self._lock:
            self.index = EmbeddedIndex()
            self.version = 0
            self._checked = float("-inf")
            self._gone = set()
            self._started = True  # a reset means "read everything again", not the old snapshot
            self._loaded = True
