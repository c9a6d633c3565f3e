"""Filtering and ranking for the embedded engine: which rows match, in what order.

Every query token must match (AND); when nothing matches every token, ``matching_rows``
falls back to rows matching some of them and ``relevance`` puts those with more first
(``RELAXED`` per token). Ties in relevance: the share of the name the query covers
(``COVERAGE``), then sales. ``top`` packs a row's sort keys into one int64, so a page is one
partial sort.
"""

from __future__ import annotations

import numpy as np

from farmgate.search.backend import SearchQuery
from farmgate.search.embedded_query import W_LOOSE, QueryToken
from farmgate.search.embedded_state import State

COVERAGE = 8.0  # bonus for the share of the name's characters the query covers
RELAXED = 200.0  # per matched token when falling back from AND


def filter_rows(st: State, query: SearchQuery) -> np.ndarray:
    """The live rows the query's filters allow (a mask over every row)."""
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


def matching_rows(toks: list[QueryToken], allowed: np.ndarray) -> tuple[np.ndarray, bool]:
    """Rows matching every token, else (``relaxed``) the allowed rows matching some."""
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
    return np.flatnonzero(mask), relaxed


def relevance(st: State, toks: list[QueryToken], rows: np.ndarray, relaxed: bool) -> np.ndarray:
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


def top(st: State, rows: np.ndarray, score: np.ndarray, query: SearchQuery) -> np.ndarray:
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
