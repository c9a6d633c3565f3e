"""The embedded search engine: in-process, in memory, numpy postings and columns.

Layout. Every indexed document gets a row number. Postings map a term key (a kind letter and
the term: ``w`` a jieba word of the name, ``n`` a name sub-word, ``p``/``i`` the full pinyin
and initials of a name sub-word, ``x`` a latin word or quantity in the name, ``s``/``q`` the
same for SKU specs, ``d`` a description bigram) to an int32 array of rows. Rows also index
columns (price, sales, publication time, stock, facet codes). Village, cooperative,
category, storage class and certifications are matched on their values (a few hundred
names at most) and spread to rows with one gather over a code column.

Updates. The rows of new documents go to a small ``delta`` map, copied on write; replaced
and deleted rows are switched off in an ``alive`` mask, also copied on write. Past
``DELTA_MAX`` rows the delta is folded into the main map; past a quarter of dead rows the
rows are renumbered. Readers take the current ``_State`` and never see half a write: the
single writer builds the next state under a lock and swaps one reference. The prefix and
typo vocabularies are shared and only grow (a stale entry only points at dead rows).

Ranking (relevance). Each query token scores a row by its best match (``W_*`` below: a word
of the name first, the description last, pinyin below Chinese, typos lowest); every token
must match (AND). When nothing matches every token the engine falls back to rows matching
some of them, more first, and marks the result ``relaxed``. Ties: the share of the name the
query covers, then sales.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np

from farmgate.models.product import STORAGE_LABELS
from farmgate.search import analysis as an
from farmgate.search.backend import (
    FACETS,
    Highlighted,
    PriceStats,
    SearchBackend,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    static_facet_label,
)
from farmgate.trace.certificates import LABELS as CERTIFICATION_LABELS

# Weights: name, then categorical values, specs, description.
W_WORD, W_SUB, W_LATIN, W_LOOSE = 100.0, 90.0, 90.0, 60.0
W_PY, W_INI, W_PY_PREFIX, W_INI_PREFIX, W_HOMOPHONE, W_TYPO = 70.0, 62.0, 55.0, 50.0, 46.0, 40.0
W_CAT_EXACT, W_CAT, W_CAT_PY, W_CAT_INI = 50.0, 45.0, 35.0, 32.0
W_CAT_PREFIX, W_CAT_TYPO = 26.0, 20.0
W_SPEC, W_SPEC_PREFIX, W_DESC = 40.0, 20.0, 15.0
# A cooperative's name says what it mostly sells (山茶油专业合作社), not what each of its
# products is, so a match there counts for less than one in the village's name.
CAT_FACTOR = {"cooperative_id": 0.6}
COVERAGE = 8.0  # bonus for the share of the name's characters the query covers
RELAXED = 200.0  # per matched token when falling back from AND
DELTA_MAX = 2000
BULK = 500
PREFIX_CAP = 24
SHORT_PREFIX_CAP = 8  # expansions of a one-letter query
MAX_TOKENS = 10
CERT_ALIASES = {"geo_indication": "地标 地理标志", "organic": "有机", "green_food": "绿色"}
_COLUMNS = {
    "ids": np.int64, "price_min": np.int64, "price_max": np.int64, "sales": np.int64,
    "published": np.int64, "in_stock": np.bool_, "category": np.intp, "village_id": np.intp,
    "cooperative_id": np.intp, "storage_class": np.intp, "certification": np.int32,
    "name_len": np.float32,
}  # fmt: skip
_CAT_FIELDS = ("category", "village_id", "cooperative_id", "storage_class", "certification")
_LATIN_KINDS = frozenset("pixq")


@dataclass(frozen=True)
class _Categorical:
    """The values of one facet field: codes, labels, and the terms that match them."""

    values: tuple[Any, ...] = ()
    labels: tuple[str, ...] = ()
    code_of: dict[Any, int] = field(default_factory=dict)
    terms: dict[str, frozenset[int]] = field(default_factory=dict)
    exact: dict[str, int] = field(default_factory=dict)
    latin: tuple[str, ...] = ()  # sorted p/i/x keys, for prefix look-ups

    def prefixed(self, prefix: str) -> set[int]:
        lo = bisect.bisect_right(self.latin, prefix)
        hi = bisect.bisect_left(self.latin, prefix + "\uffff", lo)
        return {code for key in self.latin[lo:hi] for code in self.terms[key]}

    def with_value(self, value: Any, label: str) -> _Categorical:
        """A copy knowing ``value`` under ``label`` (added, or relabelled)."""
        values, labels = list(self.values), list(self.labels)
        if value in values:
            labels[values.index(value)] = label
        else:
            values.append(value)
            labels.append(label)
        terms: dict[str, set[int]] = {}
        exact = {}
        for code, text in enumerate(labels):
            norm = an.normalize(text)
            exact[norm] = code
            for key in _field_keys(norm, "w", "n", "p", "i", "x"):
                terms.setdefault(key, set()).add(code)
        latin = tuple(sorted(k for k in terms if k[0] in _LATIN_KINDS))
        frozen = {k: frozenset(v) for k, v in terms.items()}
        code_of = {v: c for c, v in enumerate(values)}
        return _Categorical(tuple(values), tuple(labels), code_of, frozen, exact, latin)


@dataclass(frozen=True)
class _State:
    n: int
    main: dict[str, np.ndarray]
    delta: dict[str, np.ndarray]
    delta_rows: int
    alive: np.ndarray
    cols: dict[str, np.ndarray]
    docs: list[SearchDocument]
    cats: dict[str, _Categorical]
    live: int

    def rows(self, key: str) -> list[np.ndarray]:
        found = [a for a in (self.main.get(key), self.delta.get(key)) if a is not None]
        return found

    def has(self, key: str) -> bool:
        return key in self.main or key in self.delta


def _empty_state() -> _State:
    cols: dict[str, np.ndarray] = {name: np.zeros(1024, dt) for name, dt in _COLUMNS.items()}
    cats = {f: _Categorical() for f in _CAT_FIELDS}
    for code, label in CERTIFICATION_LABELS.items():
        cats["certification"] = cats["certification"].with_value(
            code, f"{label} {CERT_ALIASES.get(code, '')}"
        )
    return _State(0, {}, {}, 0, np.zeros(1024, bool), cols, [], cats, 0)


def _field_keys(norm: str, *kinds: str, max_sub: int = an.MAX_SUBWORD) -> list[str]:
    terms = an.field_terms(norm, max_sub)
    parts = {
        "w": terms.words, "n": terms.subwords, "p": terms.pinyin, "i": terms.initials,
        "x": terms.latin, "s": terms.subwords, "q": terms.latin,
    }  # fmt: skip
    return [kind + t for kind in kinds for t in parts[kind]]


def _doc_keys(doc: SearchDocument, name: an.FieldTerms) -> set[str]:
    keys = {kind + t for kind, terms in _kinds(name) for t in terms}
    for spec in (*doc.specs, doc.unit):
        keys.update(_spec_keys(an.normalize(spec)))
    keys.update("d" + t for t in an.text_terms(an.normalize(doc.description)))
    return keys


def _kinds(terms: an.FieldTerms) -> tuple[tuple[str, frozenset[str]], ...]:
    return (
        ("w", terms.words),
        ("n", terms.subwords),
        ("p", terms.pinyin),
        ("i", terms.initials),
        ("x", terms.latin),
    )


@lru_cache(maxsize=4096)
def _spec_keys(norm: str) -> tuple[str, ...]:
    """Keys of one SKU spec (specs repeat a lot: 500g 袋装)."""
    return tuple(_field_keys(norm, "s", "q", max_sub=4))


@dataclass
class _Scorer:
    """Collects (weight, rows) for one query token, then scores every row by its best."""

    st: _State
    items: list[tuple[float, str, Any]] = field(default_factory=list)
    hl: an.HighlightTerms = field(default_factory=an.HighlightTerms.empty)

    def key(self, weight: float, key: str) -> bool:
        found = self.st.rows(key)
        self.items.extend((weight, "rows", a) for a in found)
        return bool(found)

    def cat(self, weight: float, key: str, exact: str | None = None) -> bool:
        hit = False
        for name, cat in self.st.cats.items():
            factor = CAT_FACTOR.get(name, 1.0)
            codes = set(cat.terms.get(key, ()))
            if exact is not None and exact in cat.exact:
                self.items.append((W_CAT_EXACT * factor, "cat", (name, {cat.exact[exact]})))
                hit = True
            if codes:
                self.items.append((weight * factor, "cat", (name, codes)))
                hit = True
        return hit

    def cat_prefix(self, weight: float, prefix: str) -> None:
        for name, cat in self.st.cats.items():
            codes = cat.prefixed(prefix)
            if codes:
                self.items.append((weight * CAT_FACTOR.get(name, 1.0), "cat", (name, codes)))

    def mask(self, weight: float, mask: np.ndarray) -> None:
        self.items.append((weight, "mask", mask))

    def all_of(self, key_groups: list[list[str]]) -> np.ndarray | None:
        """Rows hit by at least one key of every group (None when a group hits nothing)."""
        result = None
        for keys in key_groups:
            arrays = [a for k in keys for a in self.st.rows(k)]
            if not arrays:
                return None
            hit = np.zeros(self.st.n, bool)
            for a in arrays:
                hit[a] = True
            result = hit if result is None else result & hit
        return result

    def vector(self) -> np.ndarray | None:
        if not self.items:
            return None
        st = self.st
        s = np.zeros(st.n, np.float32)
        per_field: dict[str, dict[int, float]] = {}
        for weight, kind, payload in sorted(self.items, key=lambda item: item[0]):
            if kind == "cat":
                name, codes = payload
                best = per_field.setdefault(name, {})
                for code in codes:
                    best[code] = weight  # ascending weights: the last is the best
            else:
                s[payload] = weight
        for name, best in per_field.items():
            column = st.cols[name][: st.n]
            if name == "certification":
                for code, weight in best.items():
                    np.maximum(s, np.where(column & (1 << code), weight, 0), out=s)
            else:
                lut = np.zeros(len(st.cats[name].values), np.float32)
                lut[list(best)] = list(best.values())
                np.maximum(s, lut[column], out=s)
        return s


class EmbeddedIndex(SearchBackend):
    """The default backend: ``EmbeddedIndex()`` then ``index(docs)``; thread-safe readers."""

    name = "embedded"

    def __init__(self, docs: Iterable[SearchDocument] = ()) -> None:
        self._lock = threading.Lock()
        self._state = _empty_state()
        self._row_of: dict[int, int] = {}
        self._latin_keys: list[str] = []  # sorted p/i/x/q keys, for prefix look-ups
        self._latin_set: set[str] = set()
        self._typo = an.TypoIndex()
        self._typo_words: set[str] = set()
        self._words: Counter[str] = Counter()
        self._words_version = 0
        self._vocab: an.Vocabulary | None = None
        self._vocab_version = -1
        self._vocab_at = 0.0
        self._vocab_lock = threading.Lock()
        self._prefix_cache: dict[str, list[str]] = {}
        docs = list(docs)
        if docs:
            self.index(docs)

    # --- writing --------------------------------------------------------------------------

    def index(self, docs: Iterable[SearchDocument]) -> None:
        batch_docs = list({d.id: d for d in docs}.values())
        if not batch_docs:
            return
        with self._lock:
            st = self._state
            n0, k = st.n, len(batch_docs)
            cols = _ensure_capacity(st.cols, n0 + k)
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
                    self._count_words(docs_list[old], -1)
                self._row_of[doc.id] = row
                alive[row] = True
                name = an.field_terms(an.normalize(doc.name))
                _write_row(cols, cats, row, doc, name.han_chars)
                docs_list.append(doc)
                for key in _doc_keys(doc, name):
                    batch.setdefault(key, []).append(row)
                self._count_words(doc, +1, name)
            self._learn(batch.keys(), cats)
            new_rows = {key: np.asarray(rows, np.int32) for key, rows in batch.items()}
            n = n0 + k
            if k >= BULK or st.delta_rows + k > DELTA_MAX:
                main = _fold(st.main, st.delta, new_rows)
                delta, delta_rows = {}, 0
            else:
                main, delta = st.main, dict(st.delta)
                for key, rows in new_rows.items():
                    old_rows = delta.get(key)
                    delta[key] = rows if old_rows is None else np.concatenate((old_rows, rows))
                delta_rows = st.delta_rows + k
            live = st.live + k - dead
            self._state = _State(n, main, delta, delta_rows, alive, cols, docs_list, cats, live)
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
                    self._count_words(st.docs[row], -1)
            if dead:
                self._state = replace(st, alive=alive, live=st.live - dead)
                self._maybe_compact()

    def clear(self) -> None:
        with self._lock:
            self._state = _empty_state()
            self._row_of.clear()
            self._words.clear()
            self._vocab = None

    def _count_words(
        self, doc: SearchDocument, sign: int, terms: an.FieldTerms | None = None
    ) -> None:
        terms = terms or an.field_terms(an.normalize(doc.name))
        for word in terms.known:
            self._words[word] += sign
        if terms.han_chars <= 12:
            self._words[an.normalize(doc.name)] += sign
        self._words_version += 1

    def _learn(self, keys: Iterable[str], cats: dict[str, _Categorical]) -> None:
        """Grow the shared prefix and typo vocabularies."""
        for key in keys:
            if key[0] in _LATIN_KINDS and key not in self._latin_set:
                self._latin_set.add(key)
                bisect.insort(self._latin_keys, key)
                self._prefix_cache.clear()
            elif key[0] == "w" or key[0] == "n":
                word = key[1:]
                if len(word) >= 2 and word not in self._typo_words and an.is_word(word):
                    self._typo_words.add(word)
                    self._typo.add(an.pinyin(word))
        for cat in cats.values():
            for label in cat.labels:
                for word in an.field_terms(an.normalize(label)).known:
                    if word not in self._typo_words:
                        self._typo_words.add(word)
                        self._typo.add(an.pinyin(word))

    def _maybe_compact(self) -> None:
        st = self._state
        dead = st.n - st.live
        if dead < 1000 or dead * 4 < st.n:
            return
        keep = np.flatnonzero(st.alive[: st.n])
        remap = np.full(st.n, -1, np.int32)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        main: dict[str, np.ndarray] = {}
        for key, rows in _fold(st.main, st.delta, {}).items():
            moved = remap[rows]
            moved = moved[moved >= 0]
            if len(moved):
                main[key] = moved
        cols = _ensure_capacity({k: v[keep] for k, v in st.cols.items()}, len(keep))
        alive = np.zeros(len(cols["ids"]), bool)
        alive[: len(keep)] = True
        docs = [st.docs[i] for i in keep]
        self._row_of = {doc.id: row for row, doc in enumerate(docs)}
        self._state = _State(len(keep), main, {}, 0, alive, cols, docs, st.cats, len(keep))

    # --- reading --------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        st = self._state
        toks = self._tokens(st, query.q)
        allowed = _filter(st, query)
        mask = allowed.copy()
        for tok in toks:
            if tok.vec is None:
                mask[:] = False
            else:
                mask &= tok.vec > 0
        relaxed = False
        if len(toks) > 1 and not mask.any():
            # Nothing has every word: rank what has some of them, the most first.
            matched = sum((t.vec > 0).astype(np.int8) for t in toks if t.vec is not None)
            if isinstance(matched, np.ndarray):
                mask = allowed & (matched > 0)
                relaxed = bool(mask.any())
        rows = np.flatnonzero(mask)
        score = self._score(st, toks, rows, relaxed)
        hl = an.HighlightTerms.empty()
        for tok in toks:
            for mine, theirs in zip(_hl_sets(hl), _hl_sets(tok.hl), strict=True):
                mine.update(theirs)
        page = _top(st, rows, score, query)
        hits = [self._hit(st, int(rows[i]), float(score[i]), hl) for i in page]
        facets, labels = _facets(st, rows)
        return SearchResult(
            query=query,
            hits=hits,
            total=len(rows),
            facets=facets,
            facet_labels=labels,
            price_stats=_price_stats(st, rows),
            suggestions=self._suggestions(st, toks) if len(rows) < 3 or relaxed else [],
            relaxed=relaxed,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    @staticmethod
    def _score(st: _State, toks: list[_Token], rows: np.ndarray, relaxed: bool) -> np.ndarray:
        """Relevance of the matched rows (aligned with ``rows``)."""
        score = np.zeros(len(rows), np.float32)
        name_chars = np.zeros(len(rows), np.float32)
        for tok in toks:
            if tok.vec is None:
                continue
            part = tok.vec[rows]
            score += part
            if relaxed:
                score += RELAXED * (part > 0)
            if tok.han_len:
                name_chars += (part >= W_LOOSE) * np.float32(tok.han_len)
        if toks:
            score += COVERAGE * np.minimum(1.0, name_chars / st.cols["name_len"][rows])
        return score

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

    def _hit(self, st: _State, row: int, score: float, hl: an.HighlightTerms) -> SearchHit:
        doc = st.docs[row]
        name = Highlighted(doc.name, tuple(an.match_spans(doc.name, hl)))
        description = doc.description[:600]
        text, spans = an.snippet(description, an.match_spans(description, hl, pinyin=False))
        return SearchHit(doc.id, name, Highlighted(text, tuple(spans)), score, doc)

    # --- query tokens ---------------------------------------------------------------------

    def _tokens(self, st: _State, q: str) -> list[_Token]:
        norm = an.normalize(q)
        raw = an.tokens(norm)[: MAX_TOKENS * 2]
        out: list[_Token] = []
        i = 0
        while i < len(raw):
            tok = raw[i]
            if tok.kind == "latin":
                j = self._join_latin(st, norm, raw, i)
                out.append(self._latin_token(st, "".join(t.text for t in raw[i:j])))
                i = j
                continue
            i += 1
            if tok.kind == "han":
                out.extend(self._han(st, tok.text))
            elif tok.kind == "num":
                out.append(self._number(st, tok.text))
            else:
                out.append(self._quantity(st, tok.text))
        return out[:MAX_TOKENS]

    def _join_latin(self, st: _State, norm: str, raw: list[an.Token], i: int) -> int:
        """End of the longest run of latin words from ``i`` that spells a known pinyin."""
        j = i + 1
        while j < len(raw) and raw[j].kind == "latin":
            if not norm[raw[j - 1].end : raw[j].start].isspace():
                break
            j += 1
        for end in range(j, i + 1, -1):
            joined = "".join(t.text for t in raw[i:end])
            if self._known_latin(st, joined, prefix_ok=end == len(raw)):
                return end
        return i + 1

    def _known_latin(self, st: _State, text: str, prefix_ok: bool) -> bool:
        for key in ("p" + text, "i" + text):
            if st.has(key) or any(key in cat.terms for cat in st.cats.values()):
                return True
        return prefix_ok and bool(self._prefix(st, "p" + text))

    def _han(self, st: _State, run: str) -> list[_Token]:
        if len(run) > an.MAX_SUBWORD:
            return [t for word in _chunks(an.segment(run)) for t in self._han(st, word)]
        sc = _Scorer(st)
        sc.key(W_WORD, "w" + run)
        sc.key(W_SUB, "n" + run)
        sc.cat(W_CAT, "n" + run, exact=run)
        sc.key(W_SPEC, "s" + run)
        desc = sc.all_of([["d" + b] for b in an.bigrams(run)])
        if desc is not None:
            sc.mask(W_DESC, desc)
        if not sc.items:
            # Nothing has the run itself: a wrong character that sounds right (谭家厂), or
            # several words typed without a space (谭家场鸡蛋).
            py = an.pinyin(run)
            if len(run) >= 2 and py:
                sc.key(W_HOMOPHONE, "p" + py)
                sc.cat(W_CAT_TYPO, "p" + py)
                sc.hl.pinyin.add(py)
            if sc.items:
                return [_Token(run, sc.vector(), 0, sc.hl)]
            words = an.segment(run)
            if len(words) == 1 and len(run) >= 3:
                words = tuple(an.split_word(run))
            if len(words) > 1:
                return [t for word in words for t in self._han(st, word)]
            return [_Token(run, None, 0, sc.hl)]
        sc.hl.han.add(run)
        if len(run) >= 3:
            pieces = an.split_word(run)
            loose = sc.all_of([["w" + p, "n" + p] for p in pieces]) if len(pieces) > 1 else None
            if loose is not None and loose.any():
                sc.mask(W_LOOSE, loose)
                sc.hl.han.update(pieces)
        return [_Token(run, sc.vector(), len(run), sc.hl)]

    def _latin_token(self, st: _State, text: str) -> _Token:
        sc = _Scorer(st)
        sc.hl.pinyin_prefix.add(text)
        if len(text) == 1:
            # One letter is too little to mean anything but the start of some initials.
            for key in self._prefix(st, "i" + text)[:SHORT_PREFIX_CAP]:
                sc.key(W_INI_PREFIX, key)
            sc.cat_prefix(W_CAT_PREFIX, "i" + text)
            return _Token(text, sc.vector(), 0, sc.hl)
        exact = [
            sc.key(W_LATIN, "x" + text),
            sc.key(W_PY, "p" + text),
            sc.key(W_INI, "i" + text),
            sc.cat(W_CAT, "x" + text),
            sc.cat(W_CAT_PY, "p" + text),
            sc.cat(W_CAT_INI, "i" + text),
        ]
        sc.key(W_SPEC, "q" + text)
        sc.key(W_DESC, "d" + text)
        sc.hl.latin.add(text)
        sc.hl.pinyin.add(text)
        if any(exact):
            sc.hl.pinyin_prefix.discard(text)
        else:
            # Not a whole pinyin, initials or word: the start of one (typing), or a typo.
            for kind, weight in (("p", W_PY_PREFIX), ("x", W_PY_PREFIX), ("i", W_INI_PREFIX)):
                for key in self._prefix(st, kind + text):
                    sc.key(weight, key)
                sc.cat_prefix(W_CAT_PREFIX, kind + text)
            for word in self._typo.lookup(text):
                sc.key(W_TYPO, "p" + word)
                sc.cat(W_CAT_TYPO, "p" + word)
                sc.hl.pinyin.add(word)
        return _Token(text, sc.vector(), 0, sc.hl)

    def _number(self, st: _State, text: str) -> _Token:
        sc = _Scorer(st)
        sc.key(W_LATIN, "x" + text)
        sc.key(W_SPEC, "q" + text)
        sc.key(W_DESC, "d" + text)
        for key in self._prefix(st, "x" + text):
            sc.key(W_SPEC, key)
        for key in self._prefix(st, "q" + text):
            sc.key(W_SPEC_PREFIX, key)
        sc.hl.latin.add(text)
        sc.hl.pinyin_prefix.add(text)
        return _Token(text, sc.vector(), 0, sc.hl)

    def _quantity(self, st: _State, text: str) -> _Token:
        sc = _Scorer(st)
        sc.key(W_LATIN, "x" + text)
        sc.key(W_SPEC, "q" + text)
        sc.key(W_DESC, "d" + text)
        sc.hl.latin.add(text)
        return _Token(text, sc.vector(), 0, sc.hl)

    def _prefix(self, st: _State, prefix: str) -> list[str]:
        """The most frequent keys that extend ``prefix`` (not ``prefix`` itself)."""
        cached = self._prefix_cache.get(prefix)
        if cached is not None:
            return cached
        lo = bisect.bisect_right(self._latin_keys, prefix)
        hi = bisect.bisect_left(self._latin_keys, prefix + "\uffff", lo)
        keys = self._latin_keys[lo:hi]
        if len(keys) > PREFIX_CAP:
            sizes = [sum(len(a) for a in st.rows(k)) for k in keys]
            order = np.argsort(sizes)[::-1][:PREFIX_CAP]
            keys = [keys[i] for i in order]
        if len(self._prefix_cache) > 20_000:
            self._prefix_cache.clear()
        self._prefix_cache[prefix] = keys
        return keys

    # --- help when little matched -----------------------------------------------------------

    def _suggestions(self, st: _State, toks: list[_Token]) -> list[str]:
        alive = st.alive[: st.n]
        found: list[str] = []
        useful = [t for t in toks if t.vec is not None and bool((t.vec[alive] > 0).any())]
        if len(toks) > 1:
            found += [t.text for t in useful]
        vocab = self._vocabulary()
        for tok in toks:
            if tok not in useful or len(toks) == 1:
                found += vocab.nearest(tok.text)
        query = " ".join(t.text for t in toks)
        unique = [s for i, s in enumerate(found) if s not in found[:i] and s != query]
        return unique[:5]

    def _vocabulary(self) -> an.Vocabulary:
        with self._vocab_lock:
            now = time.monotonic()
            stale = self._vocab_version != self._words_version and now - self._vocab_at > 2.0
            if self._vocab is None or stale:
                weights = {w: c for w, c in self._words.items() if c > 0}
                for name in ("village_id", "category"):
                    for label in self._state.cats[name].labels:
                        weights.setdefault(an.normalize(label), 1)
                self._vocab = an.Vocabulary(weights)
                self._vocab_version = self._words_version
                self._vocab_at = now
            return self._vocab


@dataclass(slots=True)
class _Token:
    text: str  # what the token stands for in the query (for suggestions)
    vec: np.ndarray | None  # the token's score for every row (None: matched nothing)
    han_len: int  # Chinese characters it covers in a name (for coverage ranking)
    hl: an.HighlightTerms


def _hl_sets(hl: an.HighlightTerms) -> tuple[set[str], ...]:
    return (hl.han, hl.latin, hl.pinyin, hl.pinyin_prefix)


def _chunks(words: Iterable[str]) -> list[str]:
    out = []
    for word in words:
        out += [word[i : i + an.MAX_SUBWORD] for i in range(0, len(word), an.MAX_SUBWORD)]
    return out


def _ensure_capacity(cols: dict[str, np.ndarray], need: int) -> dict[str, np.ndarray]:
    size = len(cols["ids"])
    if size >= need:
        return cols
    new_size = max(need, int(size * 1.5), 1024)
    grown = {}
    for name, arr in cols.items():
        bigger = np.zeros(new_size, arr.dtype)
        bigger[: len(arr)] = arr
        grown[name] = bigger
    return grown


def _write_row(
    cols: dict[str, np.ndarray],
    cats: dict[str, _Categorical],
    row: int,
    doc: SearchDocument,
    han_chars: int,
) -> None:
    cols["ids"][row] = doc.id
    low = -1 if doc.price_min_fen is None else doc.price_min_fen
    cols["price_min"][row] = low
    cols["price_max"][row] = low if doc.price_max_fen is None else doc.price_max_fen
    cols["sales"][row] = max(0, doc.sales)
    cols["published"][row] = max(0, int(doc.published_at.timestamp()))
    cols["in_stock"][row] = doc.in_stock
    for name, value, label in (
        ("category", doc.category, doc.category_label),
        ("village_id", doc.village_id, doc.village_name),
        ("cooperative_id", doc.cooperative_id, doc.cooperative_name),
        ("storage_class", doc.storage_class, STORAGE_LABELS.get(doc.storage_class, "")),
    ):
        cols[name][row] = _code(cats, name, value, label)
    bits = 0
    for cert in doc.certifications:
        code = _code(cats, "certification", cert, CERTIFICATION_LABELS.get(cert, cert), keep=True)
        if code < 31:
            bits |= 1 << code
    cols["certification"][row] = bits
    cols["name_len"][row] = max(1, han_chars)


def _code(
    cats: dict[str, _Categorical], name: str, value: Any, label: str, keep: bool = False
) -> int:
    cat = cats[name]
    code = cat.code_of.get(value)
    if code is None or (not keep and label and cat.labels[code] != label):
        cat = cats[name] = cat.with_value(value, label or str(value))
        code = cat.code_of[value]
    return code


def _fold(*maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = dict(maps[0])
    for extra in maps[1:]:
        for key, rows in extra.items():
            old = out.get(key)
            out[key] = rows if old is None else np.concatenate((old, rows))
    return out


def _filter(st: _State, query: SearchQuery) -> np.ndarray:
    n, f, cols = st.n, query.filters, st.cols
    mask = st.alive[:n].copy()
    for name in ("category", "village_id", "cooperative_id", "storage_class"):
        value = getattr(f, name)
        if value is not None:
            code = st.cats[name].code_of.get(value)
            mask &= cols[name][:n] == (-1 if code is None else code)
    if f.certification is not None:
        code = st.cats["certification"].code_of.get(f.certification)
        bit = 0 if code is None else 1 << code
        mask &= (cols["certification"][:n] & bit) != 0
    if f.in_stock is not None:
        mask &= cols["in_stock"][:n] == f.in_stock
    low = cols["price_min"][:n]
    if f.price_min_fen is not None:
        mask &= (low >= 0) & (low >= f.price_min_fen)
    if f.price_max_fen is not None:
        mask &= (low >= 0) & (low <= f.price_max_fen)
    return mask


def _top(st: _State, rows: np.ndarray, score: np.ndarray, query: SearchQuery) -> np.ndarray:
    """Positions (in ``rows``) of the requested page, in order; ties: the later-indexed row."""
    if not len(rows):
        return rows
    cols = st.cols
    row_bits = max(1, int(st.n).bit_length())
    room = 63 - row_bits
    sales = cols["sales"][rows]
    parts: list[tuple[np.ndarray, int]]
    if query.sort in ("price_asc", "price_desc"):
        price = cols["price_min"][rows]
        if query.sort == "price_asc":
            price = np.where(price >= 0, (1 << 27) - 1 - price, 0)
        parts = [(price, 27), (sales, room - 27)]
    elif query.sort == "newest":
        parts = [(cols["published"][rows], 31), (sales, room - 31)]
    else:
        quality = (score * 4 + 0.5).astype(np.int64)
        if query.sort == "sales":
            parts = [(sales, room - 16), (quality, 16)]
        else:
            parts = [(quality, 16), (sales, room - 16)]
    key = rows.astype(np.int64)
    shift = row_bits
    for values, bits in reversed(parts):
        key |= np.minimum(values, (1 << bits) - 1) << shift
        shift += bits
    k = min(len(rows), query.offset + query.page_size)
    top = np.argpartition(-key, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
    top = top[np.argsort(-key[top], kind="stable")]
    return top[query.offset : k]


def _facets(st: _State, rows: np.ndarray) -> tuple[dict[str, dict[Any, int]], dict[str, dict]]:
    facets: dict[str, dict[Any, int]] = {}
    labels: dict[str, dict[Any, str]] = {}
    for name in FACETS:
        counts: dict[Any, int] = {}
        if name == "in_stock":
            yes = int(np.count_nonzero(st.cols["in_stock"][rows]))
            counts = {v: c for v, c in ((True, yes), (False, len(rows) - yes)) if c}
            names = {v: static_facet_label(name, v) or "" for v in counts}
        else:
            cat = st.cats[name]
            column = st.cols[name][rows]
            if name == "certification":
                tally = [int(np.count_nonzero(column & (1 << c))) for c in range(len(cat.values))]
            else:
                tally = np.bincount(column, minlength=len(cat.values)).tolist()
            codes = sorted((c for c, k in enumerate(tally) if k), key=lambda c: -tally[c])
            counts = {cat.values[c]: tally[c] for c in codes}
            names = {cat.values[c]: _label(name, cat, c) for c in codes}
        facets[name], labels[name] = counts, names
    return facets, labels


def _label(name: str, cat: _Categorical, code: int) -> str:
    if name in ("village_id", "cooperative_id", "category"):
        return cat.labels[code]
    return static_facet_label(name, cat.values[code]) or cat.labels[code]


def _price_stats(st: _State, rows: np.ndarray) -> PriceStats | None:
    if not len(rows):
        return None
    low = st.cols["price_min"][rows]
    high = st.cols["price_max"][rows]
    if low.min() < 0:  # some have no price
        priced = low >= 0
        if not priced.any():
            return None
        low, high = low[priced], high[priced]
    return PriceStats(int(low.min()), int(high.max()))
