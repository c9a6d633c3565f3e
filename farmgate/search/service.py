"""Searching the catalogue: which backend answers, and keeping it in step with the data.

With ``FARMGATE_MEILI_URL`` set, Meilisearch answers (its index is created and configured at
start-up); otherwise the embedded backend does, its documents kept in the database
(``store.py``) so every process sees the same catalogue. Either way the documents come from
``documents.build`` and are written by the ``search.reflect`` job (``tasks.py``), queued in the
transaction that changed a product (``tracking.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import session_scope
from farmgate.models import SearchEntry
from farmgate.search import documents, store, vocabulary_store
from farmgate.search.backend import SearchBackend, SearchQuery, SearchResult

log = logging.getLogger(__name__)

_lock = threading.Lock()
_embedded: store.EmbeddedStore | None = None
_meili: SearchBackend | None = None
_meili_for: tuple[str | None, str | None] | None = None


def uses_meilisearch() -> bool:
    return bool(settings.meili_url)


def embedded_store() -> store.EmbeddedStore:
    global _embedded
    with _lock:
        if _embedded is None:
            _embedded = store.EmbeddedStore()
        return _embedded


def warm_up() -> None:
    """Load the index snapshot now, not at the first search (a large catalogue's processes).

    Run in a thread at start-up; meanwhile ``/readyz`` answers 503 at once (its search check
    sees the store loading), then ready once the index is in memory. Without a snapshot file
    it does nothing: a small catalogue builds fast enough at the first search, and tests'
    databases are left alone.
    """
    if uses_meilisearch() or settings.search_snapshot_min <= 0:
        return
    if not store.snapshot_path().exists():
        return
    try:
        with session_scope() as session:
            embedded_store().catch_up(session, force=True)
    except Exception:  # the first search will try again
        log.exception("search warm-up failed")


def meili_backend() -> SearchBackend:
    """The Meilisearch backend for the configured server, its index configured once."""
    global _meili, _meili_for
    wanted = (settings.meili_url, settings.meili_key)
    with _lock:
        if _meili is None or _meili_for != wanted:
            from farmgate.search.meili import MeiliBackend

            backend = MeiliBackend(
                settings.meili_url or "", settings.meili_key, settings.meili_index
            )
            backend.configure()
            _meili, _meili_for = backend, wanted
        return _meili


def backend(session: Session) -> SearchBackend:
    """The backend that answers now (the embedded one caught up with the database first),
    with the trade's vocabulary as the admin last left it."""
    if uses_meilisearch():
        meili = meili_backend()
        meili.set_synonyms(vocabulary_store.current(session))
        return meili
    local = embedded_store()
    local.catch_up(session)
    local.index.set_synonyms(vocabulary_store.current(session))
    return local.index


def search(session: Session, query: SearchQuery) -> SearchResult:
    return backend(session).search(query)


def suggest(session: Session, prefix: str, limit: int = 8) -> list[str]:
    return backend(session).suggest(prefix, limit)


def reflect(session: Session, product_ids: Iterable[int]) -> int:
    """Bring these products' documents up to date (published ones in, everything else out)."""
    docs = documents.build(session, product_ids)
    if uses_meilisearch():
        target = meili_backend()
        target.index([d for d in docs.values() if d is not None])
        target.delete([pid for pid, d in docs.items() if d is None])
    else:
        store.write(session, docs)
    return len(docs)


REINDEX_CHUNK = 1000


def reindex(session: Session) -> int:
    """Rebuild from the database: every searchable product, nothing else."""
    ids = documents.searchable_ids(session)
    if uses_meilisearch():
        meili_backend().clear()
    else:
        session.execute(delete(SearchEntry))
    # In chunks: one statement's bind parameters are limited (65,535 on PostgreSQL).
    for start in range(0, len(ids), REINDEX_CHUNK):
        reflect(session, ids[start : start + REINDEX_CHUNK])
    if not uses_meilisearch():
        embedded_store().reset()  # this process re-reads everything; others see the new version
    return len(ids)


def reset_for_tests() -> None:
    global _embedded, _meili, _meili_for
    with _lock:
        _embedded, _meili, _meili_for = None, None, None
