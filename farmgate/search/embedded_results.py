"""What an embedded-engine result carries besides its ordered rows.

Facet counts and labels and the price range of the matched rows; hits with the query's
matches highlighted; and, when little matched, suggestions. ``NameWords`` counts the words of
live product names; the autocomplete and "did you mean" vocabulary is rebuilt from those
counts (at most every two seconds while they change) plus the village and category names.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import numpy as np

from farmgate.search import analysis as an
from farmgate.search.backend import (
    FACETS,
    Highlighted,
    PriceStats,
    SearchDocument,
    SearchHit,
    static_facet_label,
)
from farmgate.search.embedded_query import W_PY_PREFIX, QueryToken
from farmgate.search.embedded_state import Categorical, State


class NameWords:
    """Live product names' words with their counts, and the vocabulary built from them."""

    def __init__(self) -> None:
        self._words: Counter[str] = Counter()
        self._words_version = 0
        self._vocab: an.Vocabulary | None = None
        self._vocab_version = -1
        self._vocab_at = 0.0
        self._vocab_lock = threading.Lock()

    def count(self, doc: SearchDocument, sign: int, terms: an.FieldTerms | None = None) -> None:
        """Add (``sign`` +1) or remove (-1) a document's name words."""
        terms = terms or an.field_terms(an.normalize(doc.name))
        for word in terms.known:
            self._words[word] += sign
        if terms.han_chars <= 12:
            self._words[an.normalize(doc.name)] += sign
        self._words_version += 1

    def clear(self) -> None:
        self._words.clear()
        self._vocab = None

    def vocabulary(self, cats: dict[str, Categorical]) -> an.Vocabulary:
        """The vocabulary, rebuilt when the words changed (the village and category names too)."""
        with self._vocab_lock:
            now = time.monotonic()
            stale = self._vocab_version != self._words_version and now - self._vocab_at > 2.0
            if self._vocab is None or stale:
                weights = {w: c for w, c in self._words.items() if c > 0}
                for name in ("village_id", "category"):
                    for label in cats[name].labels:
                        weights.setdefault(an.normalize(label), 1)
                self._vocab = an.Vocabulary(weights)
                self._vocab_version = self._words_version
                self._vocab_at = now
            return self._vocab


def facet_counts(
    st: State, rows: np.ndarray
) -> tuple[dict[str, dict[Any, int]], dict[str, dict[Any, str]]]:
    """Per facet, the matched rows' count for each value, and each value's label."""
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


def _label(name: str, cat: Categorical, code: int) -> str:
    if name in ("village_id", "cooperative_id", "category"):
        return cat.labels[code]
    return static_facet_label(name, cat.values[code]) or cat.labels[code]


def price_stats(st: State, rows: np.ndarray) -> PriceStats | None:
    """The lowest and highest price of the matched rows (None when none has a price)."""
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


def highlight_terms(toks: list[QueryToken]) -> an.HighlightTerms:
    """Everything the query's tokens matched, for highlighting every hit."""
    hl = an.HighlightTerms.empty()
    for tok in toks:
        for mine, theirs in zip(_hl_sets(hl), _hl_sets(tok.hl), strict=True):
            mine.update(theirs)
    return hl


def _hl_sets(hl: an.HighlightTerms) -> tuple[set[str], ...]:
    return (hl.han, hl.latin, hl.pinyin, hl.pinyin_prefix)


def hit(st: State, row: int, score: float, hl: an.HighlightTerms) -> SearchHit:
    """One result: the name and a description snippet with the matches marked."""
    doc = st.docs[row]
    name = Highlighted(doc.name, tuple(an.match_spans(doc.name, hl)))
    description = doc.description[:600]
    text, spans = an.snippet(description, an.match_spans(description, hl, pinyin=False))
    return SearchHit(doc.id, name, Highlighted(text, tuple(spans)), score, doc)


def matched_well(toks: list[QueryToken], rows: np.ndarray) -> bool:
    """Whether some product matched every token as typed: by a name, a facet value or exact
    pinyin, not only through a typo, a homophone or its description. "Did you mean" is then
    noise, even when that product is the only one (手工布鞋)."""
    if not len(rows) or not toks:
        return False
    best = np.ones(len(rows), bool)
    for tok in toks:
        if tok.vec is None:
            return False
        best &= tok.vec[rows] > W_PY_PREFIX
    return bool(best.any())


def suggestions(st: State, toks: list[QueryToken], vocab: an.Vocabulary) -> list[str]:
    """Other queries to try: the tokens that matched alone, known words near the others."""
    alive = st.alive[: st.n]
    found: list[str] = []
    useful = [t for t in toks if t.vec is not None and bool((t.vec[alive] > 0).any())]
    if len(toks) > 1:
        found += [t.text for t in useful]
    for tok in toks:
        if tok not in useful or len(toks) == 1:
            found += vocab.nearest(tok.text)
    query = " ".join(t.text for t in toks)
    unique = [s for i, s in enumerate(found) if s not in found[:i] and s != query]
    return unique[:5]
