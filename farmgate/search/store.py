"""The embedded backend across processes: documents in the database, an index in each process.

Writers (the ``search.reflect`` job, a rebuild) store each product's document as a
``SearchEntry`` with a new version, in their own transaction. Every process keeps an
in-memory ``EmbeddedIndex`` and, before answering, reads the entries above the last version it
applied (at most once per ``refresh_seconds``; one indexed query when nothing changed). The
version row is locked by each writer until it commits, so versions become visible in order and
a reader never skips one. Works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.models import SearchEntry, SearchVersion
from farmgate.search.backend import SearchDocument
from farmgate.search.embedded import EmbeddedIndex

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


class EmbeddedStore:
    """One process's index, caught up from the database before it answers."""

    def __init__(self, refresh_seconds: float | None = None) -> None:
        self.index = EmbeddedIndex()
        self.refresh_seconds = (
            settings.search_refresh_seconds if refresh_seconds is None else refresh_seconds
        )
        self.version = 0
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def catch_up(self, session: Session, force: bool = False) -> int:
        """Apply what changed since the last look; returns how many entries were applied."""
        if not force and time.monotonic() - self._checked < self.refresh_seconds:
            return 0
        with self._lock:
            applied = 0
            # Keyset over (version, product_id): a rebuild writes one version for every row.
            version, after = self.version, LAST_ID
            while True:
                rows = session.execute(
                    select(
                        col(SearchEntry.product_id), col(SearchEntry.version), col(SearchEntry.body)
                    )
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
        if deletes:
            self.index.delete(deletes)

    def reset(self) -> None:
        with self._lock:
            self.index = EmbeddedIndex()
            self.version = 0
            self._checked = float("-inf")
