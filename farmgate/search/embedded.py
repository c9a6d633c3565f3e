"""The embedded search engine: in-process, in memory, numpy postings and columns.

This module holds ``EmbeddedIndex``, the single writer and the search entry point; its parts
live beside it: ``embedded_state`` (the postings, columns and facet values of a ``State``),
``embedded_query`` (query tokens and their weights), ``embedded_rank`` (filtering, matching,
ranking) and ``embedded_results`` (facets, highlighted hits, suggestions and autocomplete).

Updates. The rows of new documents go to a small ``delta`` map, copied on write; replaced
and deleted rows are switched off in an ``alive`` mask, also copied on write. Past
``DELTA_MAX`` rows the delta is folded into the main map; past a quarter of dead rows the
rows are renumbered. Readers take the current ``State`` and never see half a write: the
single writer builds the next state under a lock and swaps one reference. The prefix and
typo vocabularies are shared and only grow (a stale entry only points at dead rows).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from farmgate.search import analysis as an
from farmgate.search.backend import SearchBackend, SearchDocument, SearchQuery, SearchResult
from farmgate.search.embedded_query import Lexicon, query_tokens
from farmgate.search.embedded_rank import filter_rows, matching_rows, relevance, top
from farmgate.search.embedded_results import (
    NameWords,
    facet_counts,
    highlight_terms,
    hit,
    matched_well,
    price_stats,
    suggestions,
)
from farmgate.search.embedded_state import (
    State,
    doc_keys,
    empty_state,
    ensure_capacity,
    fold,
    write_row,
)
from farmgate.search.vocabulary import Synonyms, from_file

# Read at call time from this module (tests lower it to exercise folding).
DELTA_MAX = 2000
BULK = 500


class EmbeddedIndex(SearchBackend):
    """The default backend: ``EmbeddedIndex()`` then ``index(docs)``; thread-safe readers."""

    name = "embedded"

    def __init__(self, docs: Iterable[SearchDocument] = ()) -> None:
        self._lock = threading.Lock()
        self._state = empty_state()
        self._row_of: dict[int, int] = {}
        self._lexicon = Lexicon()
        self._words = NameWords()
        self.synonyms: Synonyms = from_file()
        docs = list(docs)
        if docs:
            self.index(docs)

    # --- writing --------------------------------------------------------------------------

    def set_synonyms(self, synonyms: Synonyms) -> None:
        """Use this vocabulary from the next query on (one reference swapped: no lock needed)."""
        self.synonyms = synonyms

    def index(self, docs: Iterable[SearchDocument]) -> None:
        batch_docs = list({d.id: d for d in docs}.values())
        if not batch_docs:
            return
        with self._lock:
            st = self._state
            n0, k = st.n, len(batch_docs)
            cols = ensure_capacity(st.cols, n0 + k)
            alive = np.zeros(len(cols["ids"]), bool)
            alive[:n0] = st.alive[:n0]
            cats = dict(st.cats)
            docs_list = st.docs
            batch: dict[str, list[int]] = {}
            dead = 0
            for offset, doc in enumerate(batch_docs):
                row = n0 + offset
                old = self._row_of.get(doc.id)
                if old is not None and alive[old]:
                    alive[old] = False
                    dead += 1
                    self._words.count(docs_list[old], -1)
                self._row_of[doc.id] = row
                alive[row] = True
                name = an.field_terms(an.normalize(doc.name))
                write_row(cols, cats, row, doc, name.han_chars)
                docs_list.append(doc)
                for key in doc_keys(doc, name):
                    batch.setdefault(key, []).append(row)
                self._words.count(doc, +1, name)
            self._lexicon.learn(batch.keys(), cats)
            new_rows = {key: np.asarray(rows, np.int32) for key, rows in batch.items()}
            n = n0 + k
            if k >= BULK or st.delta_rows + k > DELTA_MAX:
                main = fold(st.main, st.delta, new_rows)
                delta, delta_rows = {}, 0
            else:
                main, delta = st.main, dict(st.delta)
                for key, rows in new_rows.items():
                    old_rows = delta.get(key)
                    delta[key] = rows if old_rows is None else np.concatenate((old_rows, rows))
                delta_rows = st.delta_rows + k
            live = st.live + k - dead
            self._state = State(n, main, delta, delta_rows, alive, cols, docs_list, cats, live)
            self._maybe_compact()

    def delete(self, ids: Iterable[int]) -> None:
        with self._lock:
            st = self._state
            alive = st.alive.copy()
            dead = 0
            for doc_id in ids:
                row = self._row_of.pop(doc_id, None)
                if row is not None and alive[row]:
                    alive[row] = False
                    dead += 1
                    self._words.count(st.docs[row], -1)
            if dead:
                self._state = replace(st, alive=alive, live=st.live - dead)
                self._maybe_compact()

    def clear(self) -> None:
        with self._lock:
            self._state = empty_state()
            self._row_of.clear()
            self._words.clear()

    def _maybe_compact(self) -> None:
        st = self._state
        dead = st.n - st.live
        if dead < 1000 or dead * 4 < st.n:
            return
        keep = np.flatnonzero(st.alive[: st.n])
        remap = np.full(st.n, -1, np.int32)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        main: dict[str, np.ndarray] = {}
        for key, rows in fold(st.main, st.delta, {}).items():
            moved = remap[rows]
            moved = moved[moved >= 0]
            if len(moved):
                main[key] = moved
        cols = ensure_capacity({k: v[keep] for k, v in st.cols.items()}, len(keep))
        alive = np.zeros(len(cols["ids"]), bool)
        alive[: len(keep)] = True
        docs = [st.docs[i] for i in keep]
        self._row_of = {doc.id: row for row, doc in enumerate(docs)}
        self._state = State(len(keep), main, {}, 0, alive, cols, docs, st.cats, len(keep))

    # --- reading --------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        st = self._state
        toks = query_tokens(st, self._lexicon, query.q, self.synonyms)
        rows, relaxed = matching_rows(toks, filter_rows(st, query))
        score = relevance(st, toks, rows, relaxed)
        hl = highlight_terms(toks)
        page = top(st, rows, score, query)
        hits = [hit(st, int(rows[i]), float(score[i]), hl) for i in page]
        facets, labels = facet_counts(st, rows)
        return SearchResult(
            query=query,
            hits=hits,
            total=len(rows),
            facets=facets,
            facet_labels=labels,
            price_stats=price_stats(st, rows),
            suggestions=(
                suggestions(st, toks, self._vocabulary())
                if relaxed or (len(rows) < 3 and not matched_well(toks, rows))
                else []
            ),
            relaxed=relaxed,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        norm = an.normalize(prefix).strip()
        if not norm:
            return []
        head, _, last = norm.rpartition(" ")
        return [f"{head} {word}".strip() for word in self._vocabulary().complete(last, limit)]

    def stats(self) -> dict[str, Any]:
        st = self._state
        postings = sum(a.nbytes for a in st.main.values()) + sum(
            a.nbytes for a in st.delta.values()
        )
        return {
            "backend": self.name,
            "documents": st.live,
            "rows": st.n,
            "delta_rows": st.delta_rows,
            "terms": len(st.main) + len(st.delta),
            "postings_bytes": postings,
            "columns_bytes": sum(a.nbytes for a in st.cols.values()),
        }

    def _vocabulary(self) -> an.Vocabulary:
        return self._words.vocabulary(self._state.cats)
