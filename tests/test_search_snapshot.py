"""A new process starts searching from the index snapshot, on SQLite and PostgreSQL.

A catch-up that applied enough entries writes the snapshot; a new store loads it and answers
exactly as one built from the database (hits, scores, facets, suggestions, autocomplete);
entries written after the snapshot are caught up; entries removed wholesale (a reindex), a
database that started over, a damaged file or snapshots switched off mean a build from the
database, never a stale answer.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.models import SearchEntry, SearchVersion
from farmgate.search import embedded_snapshot, store
from farmgate.search.backend import SearchFilters, SearchQuery, SearchResult
from tests.support.search_catalogue import catalogue

QUERIES = [
    SearchQuery(q="辣椒"),
    SearchQuery(q="腊肉", sort="price_asc"),
    SearchQuery(q="lajiao"),
    SearchQuery(q="tjc"),
    SearchQuery(q="茶油 2.5L"),
    SearchQuery(q="鸡蛋", filters=SearchFilters(in_stock=True)),
    SearchQuery(q="", filters=SearchFilters(village_id=1)),
    SearchQuery(q="有机"),
    SearchQuery(q="xiangla"),  # a typo
    SearchQuery(q="稻花鱼 腊鸭"),  # nothing has both: relaxed
]


def _answers(s: store.EmbeddedStore) -> list[tuple[object, ...]]:
    out = []
    for q in QUERIES:
        r: SearchResult = s.index.search(q)
        out.append(
            (
                [(h.id, round(h.score, 4), h.name, h.snippet, h.document) for h in r.hits],
                r.total,
                r.facets,
                r.facet_labels,
                r.suggestions,
                r.relaxed,
                r.price_stats,
            )
        )
    out.append((s.index.suggest("辣"), s.index.suggest("la"), s.index.suggest("腊")))
    return out


@pytest.fixture
def snapshots(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings, "search_snapshot_min", 10)
    docs = {d.id: d for d in catalogue()}
    store.write(session, dict(list(docs.items())[: len(docs) // 2]))
    store.write(session, dict(list(docs.items())[len(docs) // 2 :]))
    session.commit()
    return tmp_path / "search.snapshot"


def test_a_new_store_answers_from_the_snapshot_as_from_the_database(
    session: Session, snapshots: Path
) -> None:
    first = store.EmbeddedStore(snapshot=snapshots)
    assert first.catch_up(session, force=True) == len(catalogue())
    assert snapshots.exists()
    built = store.EmbeddedStore(snapshot=False)
    built.catch_up(session, force=True)

    loaded = embedded_snapshot.load(snapshots)
    assert loaded is not None and loaded[1] == first.version
    second = store.EmbeddedStore(snapshot=snapshots)
    assert second.catch_up(session, force=True) == 0  # nothing read but the check
    assert second.version == built.version
    assert _answers(second) == _answers(built)
    assert second.index.stats()["documents"] == built.index.stats()["documents"]


def test_entries_written_after_the_snapshot_are_caught_up(
    session: Session, snapshots: Path
) -> None:
    store.EmbeddedStore(snapshot=snapshots).catch_up(session, force=True)
    docs = catalogue()
    renamed = dataclasses.replace(docs[0], name="谭家场新名字腊肉", sales=999)
    store.write(session, {renamed.id: renamed, docs[1].id: None})  # one edited, one gone
    session.commit()
    built = store.EmbeddedStore(snapshot=False)
    built.catch_up(session, force=True)
    second = store.EmbeddedStore(snapshot=snapshots)
    assert second.catch_up(session, force=True) == 2
    assert _answers(second) == _answers(built)
    hits = second.index.search(SearchQuery(q="新名字")).hits
    assert [h.id for h in hits] == [renamed.id]
    assert docs[1].id not in {h.id for h in second.index.search(SearchQuery(q="")).hits}

    # A snapshot written from the loaded index (its arrays and documents are views of the
    # mapped file it replaces) loads to the same answers.
    embedded_snapshot.save(second.index, second.version, second._gone, snapshots)
    third = store.EmbeddedStore(snapshot=snapshots)
    assert third.catch_up(session, force=True) == 0
    assert _answers(third) == _answers(built)


def test_a_reindex_or_a_new_database_is_not_answered_from_a_stale_snapshot(
    session: Session, snapshots: Path
) -> None:
    store.EmbeddedStore(snapshot=snapshots).catch_up(session, force=True)
    docs = catalogue()
    # A reindex: every entry deleted, the searchable ones written again (one product fewer).
    session.execute(delete(SearchEntry))
    store.write(session, {d.id: d for d in docs[1:]})
    session.commit()
    second = store.EmbeddedStore(snapshot=snapshots)
    second.catch_up(session, force=True)
    assert second.index.stats()["documents"] == len(docs) - 1
    assert docs[0].id not in {h.id for h in second.index.search(SearchQuery(q="")).hits}

    # The database started over: a version below the snapshot's.
    session.execute(delete(SearchEntry))
    session.execute(delete(SearchVersion))
    store.write(session, {docs[2].id: docs[2]})
    session.commit()
    third = store.EmbeddedStore(snapshot=snapshots)
    third.catch_up(session, force=True)
    assert third.index.stats()["documents"] == 1


def test_a_damaged_or_switched_off_snapshot_means_a_build(
    session: Session, snapshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots.write_bytes(b"not a snapshot")
    damaged = store.EmbeddedStore(snapshot=snapshots)
    assert damaged.catch_up(session, force=True) == len(catalogue())
    assert embedded_snapshot.load(snapshots) is not None  # rewritten by that build

    monkeypatch.setattr(settings, "search_snapshot_min", 0)
    snapshots.unlink()
    off = store.EmbeddedStore(snapshot=snapshots)
    assert off.catch_up(session, force=True) == len(catalogue())
    assert not snapshots.exists()


def test_the_loaded_index_keeps_what_a_build_derives(session: Session, snapshots: Path) -> None:
    """Facet terms, the typo index and the vocabulary come from the file, not recomputed, and
    equal a build's (a lost one would change answers only for some input)."""
    store.EmbeddedStore(snapshot=snapshots).catch_up(session, force=True)
    built = store.EmbeddedStore(snapshot=False)
    built.catch_up(session, force=True)
    loaded = embedded_snapshot.load(snapshots)
    assert loaded is not None
    mine, theirs = loaded[0], built.index
    assert mine._state.cats == theirs._state.cats
    assert mine._lexicon._latin_keys == theirs._lexicon._latin_keys
    assert mine._lexicon._typo_words == theirs._lexicon._typo_words
    assert {k: sorted(v) for k, v in mine._lexicon.typo._keys.items()} == {
        k: sorted(v) for k, v in theirs._lexicon.typo._keys.items()
    }
    assert mine._words._words == theirs._words._words
    assert mine._row_of == theirs._row_of


def test_a_truncated_or_foreign_snapshot_means_a_build(session: Session, snapshots: Path) -> None:
    store.EmbeddedStore(snapshot=snapshots).catch_up(session, force=True)
    whole = snapshots.read_bytes()
    for bad in (whole[: len(whole) // 2], b"PK\x03\x04 an old .npz", b""):
        snapshots.write_bytes(bad)
        assert embedded_snapshot.load(snapshots) is None
        again = store.EmbeddedStore(snapshot=snapshots)
        assert again.catch_up(session, force=True) == len(catalogue())


def test_readyz_says_not_ready_while_the_index_loads(
    session: Session, snapshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from farmgate.search import health, service

    store.EmbeddedStore(snapshot=snapshots).catch_up(session, force=True)
    loading = store.EmbeddedStore(snapshot=snapshots)
    monkeypatch.setattr(service, "_embedded", loading)
    monkeypatch.setattr(service, "session_scope", lambda: _same(session))
    monkeypatch.setattr(health, "session_scope", lambda: _same(session))
    with loading._lock:  # what the start-up thread holds while it loads the snapshot
        with pytest.raises(RuntimeError, match="loading its index"):
            health.ready()
    loading.catch_up(session, force=True)  # the load finished
    assert not loading.loading()
    assert health.ready() == {"backend": "embedded"}
    assert loading.version > 0


class _same:
    """``session_scope`` handing out the test's session (it holds the test's tables)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc: object) -> None:
        return None
