"""The embedded engine's data: segments of postings, row columns and facet values.

Layout. Every indexed document gets a row number. Postings map a term key (a kind letter and
the term: ``w`` a jieba word of the name, ``n`` a name sub-word, ``p``/``i`` the full pinyin
and initials of a name sub-word, ``x`` a latin word or quantity in the name, ``s``/``q`` the
same for SKU specs, ``d`` a description bigram) to an int32 array of rows, in a ``main`` and
a small ``delta`` map. Rows also index columns (price, sales, publication time, stock, facet
codes). Village, cooperative, category, storage class and certifications are matched on
their values (a few hundred names at most) and spread to rows with one gather over a code
column; ``Categorical`` holds those values.

A ``State`` is immutable once published: the writer in ``embedded`` builds the next one with
the helpers here (keys of a document, a row's columns, growing and folding arrays).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from farmgate.models import CertificationKind, StorageClass
from farmgate.search import analysis as an
from farmgate.search.backend import SearchDocument

CERT_ALIASES = {"geo_indication": "地标 地理标志", "organic": "有机", "green_food": "绿色"}
_COLUMNS = {
    "ids": np.int64, "price_min": np.int64, "price_max": np.int64, "sales": np.int64,
    "published": np.int64, "in_stock": np.bool_, "category": np.intp, "village_id": np.intp,
    "cooperative_id": np.intp, "storage_class": np.intp, "certification": np.int32,
    "name_len": np.float32,
}  # fmt: skip
_CAT_FIELDS = ("category", "village_id", "cooperative_id", "storage_class", "certification")
LATIN_KINDS = frozenset("pixq")


@dataclass(frozen=True)
class Categorical:
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

    def with_value(self, value: Any, label: str) -> Categorical:
        """A copy knowing ``value`` under ``label`` (added, or relabelled)."""
        values, labels = list(self.values), list(self.labels)
        if value in values:
            labels[values.index(value)] = label
        else:
            values.append(value)
            labels.append(label)
        return Categorical.of(values, labels)

    @staticmethod
    def of(values: list[Any], labels: list[str]) -> Categorical:
        """The values with their labels, in code order."""
        terms: dict[str, set[int]] = {}
        exact = {}
        for code, text in enumerate(labels):
            norm = an.normalize(text)
            exact[norm] = code
            for key in field_keys(norm, "w", "n", "p", "i", "x"):
                terms.setdefault(key, set()).add(code)
        latin = tuple(sorted(k for k in terms if k[0] in LATIN_KINDS))
        frozen = {k: frozenset(v) for k, v in terms.items()}
        code_of = {v: c for c, v in enumerate(values)}
        return Categorical(tuple(values), tuple(labels), code_of, frozen, exact, latin)


@dataclass(frozen=True)
class State:
    """One published version of the index; readers use it without a lock."""

    n: int
    main: dict[str, np.ndarray]
    delta: dict[str, np.ndarray]
    delta_rows: int
    alive: np.ndarray
    cols: dict[str, np.ndarray]
    docs: list[SearchDocument]
    cats: dict[str, Categorical]
    live: int

    def rows(self, key: str) -> list[np.ndarray]:
        found = [a for a in (self.main.get(key), self.delta.get(key)) if a is not None]
        return found

    def has(self, key: str) -> bool:
        return key in self.main or key in self.delta


def empty_state() -> State:
    """An index with no rows, its certification values known up front."""
    cols: dict[str, np.ndarray] = {name: np.zeros(1024, dt) for name, dt in _COLUMNS.items()}
    cats = {f: Categorical() for f in _CAT_FIELDS}
    for code, label in CertificationKind.labels().items():
        cats["certification"] = cats["certification"].with_value(
            code, f"{label} {CERT_ALIASES.get(code, '')}"
        )
    return State(0, {}, {}, 0, np.zeros(1024, bool), cols, [], cats, 0)


def field_keys(norm: str, *kinds: str, max_sub: int = an.MAX_SUBWORD) -> list[str]:
    terms = an.field_terms(norm, max_sub)
    parts = {
        "w": terms.words, "n": terms.subwords, "p": terms.pinyin, "i": terms.initials,
        "x": terms.latin, "s": terms.subwords, "q": terms.latin,
    }  # fmt: skip
    return [kind + t for kind in kinds for t in parts[kind]]


def doc_keys(doc: SearchDocument, name: an.FieldTerms) -> set[str]:
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
    return tuple(field_keys(norm, "s", "q", max_sub=4))


def ensure_capacity(cols: dict[str, np.ndarray], need: int) -> dict[str, np.ndarray]:
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


def write_row(
    cols: dict[str, np.ndarray],
    cats: dict[str, Categorical],
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
        ("storage_class", doc.storage_class, StorageClass.labels().get(doc.storage_class, "")),
    ):
        cols[name][row] = _code(cats, name, value, label)
    bits = 0
    for cert in doc.certifications:
        code = _code(cats, "certification", cert, CertificationKind.label_of(cert), keep=True)
        if code < 31:
            bits |= 1 << code
    cols["certification"][row] = bits
    cols["name_len"][row] = max(1, han_chars)


def _code(
    cats: dict[str, Categorical], name: str, value: Any, label: str, keep: bool = False
) -> int:
    cat = cats[name]
    code = cat.code_of.get(value)
    if code is None or (not keep and label and cat.labels[code] != label):
        cat = cats[name] = cat.with_value(value, label or str(value))
        code = cat.code_of[value]
    return code


def fold(*maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = dict(maps[0])
    for extra in maps[1:]:
        for key, rows in extra.items():
            old = out.get(key)
            out[key] = rows if old is None else np.concatenate((old, rows))
    return out
