"""Query understanding for the embedded engine: a query to one score vector per token.

Each query token scores a row by its best match (``W_*`` below: a word of the name first,
the description last, pinyin below Chinese, typos lowest); ``Scorer`` collects the (weight,
rows) a token hits and keeps each row's best. Han runs try the run itself, then a homophone
(谭家厂), then their words; latin runs are joined while they spell a known pinyin, then tried
as words, pinyin, initials, prefixes being typed and typos. ``Lexicon`` holds the sorted
latin keys and the typo index those look-ups need; it is shared by every ``State`` and only
grows (a stale entry only points at dead rows).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from farmgate.search import analysis as an
from farmgate.search.embedded_state import LATIN_KINDS, Categorical, State
from farmgate.search.vocabulary import Synonyms

NO_SYNONYMS = Synonyms()

# Weights: name, then categorical values, specs, description.
W_WORD, W_SUB, W_LATIN, W_LOOSE = 100.0, 90.0, 90.0, 60.0
W_PY, W_INI, W_PY_PREFIX, W_INI_PREFIX, W_HOMOPHONE, W_TYPO = 70.0, 62.0, 55.0, 50.0, 46.0, 40.0
W_CAT_EXACT, W_CAT, W_CAT_PY, W_CAT_INI = 50.0, 45.0, 35.0, 32.0
W_CAT_PREFIX, W_CAT_TYPO = 26.0, 20.0
W_SPEC, W_SPEC_PREFIX, W_DESC = 40.0, 20.0, 15.0
# A product found through the trade's vocabulary (稻米 -> 香米) ranks below one whose name has
# the word typed, above one that only has it in a facet value or the description.
W_SYN_WORD, W_SYN_SUB = 80.0, 75.0
# A cooperative's name says what it mostly sells (山茶油专业合作社), not what each of its
# products is, so a match there counts for less than one in the village's name.
CAT_FACTOR = {"cooperative_id": 0.6}
PREFIX_CAP = 24
SHORT_PREFIX_CAP = 8  # expansions of a one-letter query
MAX_TOKENS = 10


# eq=False: tokens compare by identity; the generated __eq__ would compare the numpy vectors
# and raise "truth value of an array is ambiguous" (a 500 for any query with a repeated word).
@dataclass(slots=True, eq=False)
class QueryToken:
    """One token of a query: its score for every row, and what it highlights."""

    text: str  # what the token stands for in the query (for suggestions)
    vec: np.ndarray | None  # the token's score for every row (None: matched nothing)
    han_len: int  # Chinese characters it covers in a name (for coverage ranking)
    hl: an.HighlightTerms


@dataclass
class Scorer:
    """Collects (weight, rows) for one query token, then scores every row by its best."""

    st: State
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


class Lexicon:
    """The latin keys (for prefix look-ups) and name words' pinyin (for typos) ever indexed."""

    def __init__(self) -> None:
        self._latin_keys: list[str] = []  # sorted p/i/x/q keys, for prefix look-ups
        self._latin_set: set[str] = set()
        self.typo = an.TypoIndex()
        self._typo_words: set[str] = set()
        self._prefix_cache: dict[str, list[str]] = {}

    def learn(self, keys: Iterable[str], cats: dict[str, Categorical]) -> None:
        """Grow the shared prefix and typo vocabularies."""
        for key in keys:
            if key[0] in LATIN_KINDS and key not in self._latin_set:
                self._latin_set.add(key)
                bisect.insort(self._latin_keys, key)
                self._prefix_cache.clear()
            elif key[0] == "w" or key[0] == "n":
                word = key[1:]
                if len(word) >= 2 and word not in self._typo_words and an.is_word(word):
                    self._typo_words.add(word)
                    self.typo.add(an.pinyin(word))
        for cat in cats.values():
            for label in cat.labels:
                for word in an.field_terms(an.normalize(label)).known:
                    if word not in self._typo_words:
                        self._typo_words.add(word)
                        self.typo.add(an.pinyin(word))

    def prefix(self, st: State, prefix: str) -> list[str]:
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


# --- query tokens ---------------------------------------------------------------------------


def query_tokens(
    st: State, lex: Lexicon, q: str, synonyms: Synonyms = NO_SYNONYMS
) -> list[QueryToken]:
    """The scored tokens of a query (at most ``MAX_TOKENS``); a word of ``synonyms`` also
    finds its expansions."""
    norm = an.normalize(q)
    raw = an.tokens(norm)[: MAX_TOKENS * 2]
    out: list[QueryToken] = []
    i = 0
    while i < len(raw):
        tok = raw[i]
        if tok.kind == "latin":
            j = _join_latin(st, lex, norm, raw, i)
            out.append(_latin_token(st, lex, "".join(t.text for t in raw[i:j])))
            i = j
            continue
        i += 1
        if tok.kind == "han":
            out.extend(_han(st, lex, tok.text, synonyms))
        elif tok.kind == "num":
            out.append(_number(st, lex, tok.text))
        else:
            out.append(_quantity(st, tok.text))
    # A word typed twice ("1 1", "500g 500g") is one condition: keep its first token only.
    seen: set[str] = set()
    unique = [t for t in out if not (t.text in seen or seen.add(t.text))]  # type: ignore[func-returns-value]
    return unique[:MAX_TOKENS]


def _join_latin(st: State, lex: Lexicon, norm: str, raw: list[an.Token], i: int) -> int:
    """End of the longest run of latin words from ``i`` that spells a known pinyin."""
    j = i + 1
    while j < len(raw) and raw[j].kind == "latin":
        if not norm[raw[j - 1].end : raw[j].start].isspace():
            break
        j += 1
    for end in range(j, i + 1, -1):
        joined = "".join(t.text for t in raw[i:end])
        if _known_latin(st, lex, joined, prefix_ok=end == len(raw)):
            return end
    return i + 1


def _known_latin(st: State, lex: Lexicon, text: str, prefix_ok: bool) -> bool:
    for key in ("p" + text, "i" + text):
        if st.has(key) or any(key in cat.terms for cat in st.cats.values()):
            return True
    return prefix_ok and bool(lex.prefix(st, "p" + text))


def _han(st: State, lex: Lexicon, run: str, synonyms: Synonyms) -> list[QueryToken]:
    if len(run) > an.MAX_SUBWORD and not synonyms.expand(run):
        return [t for word in _chunks(an.segment(run)) for t in _han(st, lex, word, synonyms)]
    sc = Scorer(st)
    sc.key(W_WORD, "w" + run)
    sc.key(W_SUB, "n" + run)
    sc.cat(W_CAT, "n" + run, exact=run)
    sc.key(W_SPEC, "s" + run)
    desc = sc.all_of([["d" + b] for b in an.bigrams(run)])
    if desc is not None:
        sc.mask(W_DESC, desc)
    for word in synonyms.expand(run):
        # Names only: an expansion in a description (腊肉 in "炖腊肉一绝") is too loose.
        if sc.key(W_SYN_WORD, "w" + word) | sc.key(W_SYN_SUB, "n" + word):
            sc.hl.han.add(word)
    if not sc.items:
        # Nothing has the run itself: a wrong character that sounds right (谭家厂), or
        # several words typed without a space (谭家场鸡蛋).
        py = an.pinyin(run)
        if len(run) >= 2 and py:
            sc.key(W_HOMOPHONE, "p" + py)
            sc.cat(W_CAT_TYPO, "p" + py)
            sc.hl.pinyin.add(py)
        if sc.items:
            return [QueryToken(run, sc.vector(), 0, sc.hl)]
        words = an.segment(run)
        if len(words) == 1 and len(run) >= 3:
            words = tuple(an.split_word(run))
        if len(words) > 1:
            return [t for word in words for t in _han(st, lex, word, synonyms)]
        return [QueryToken(run, None, 0, sc.hl)]
    sc.hl.han.add(run)
    if len(run) >= 3:
        pieces = an.split_word(run)
        loose = sc.all_of([["w" + p, "n" + p] for p in pieces]) if len(pieces) > 1 else None
        if loose is not None and loose.any():
            sc.mask(W_LOOSE, loose)
            sc.hl.han.update(pieces)
    return [QueryToken(run, sc.vector(), len(run), sc.hl)]


def _latin_token(st: State, lex: Lexicon, text: str) -> QueryToken:
    sc = Scorer(st)
    sc.hl.pinyin_prefix.add(text)
    if len(text) == 1:
        # One letter is too little to mean anything but the start of some initials.
        for key in lex.prefix(st, "i" + text)[:SHORT_PREFIX_CAP]:
            sc.key(W_INI_PREFIX, key)
        sc.cat_prefix(W_CAT_PREFIX, "i" + text)
        return QueryToken(text, sc.vector(), 0, sc.hl)
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
            for key in lex.prefix(st, kind + text):
                sc.key(weight, key)
            sc.cat_prefix(W_CAT_PREFIX, kind + text)
        for word in lex.typo.lookup(text):
            sc.key(W_TYPO, "p" + word)
            sc.cat(W_CAT_TYPO, "p" + word)
            sc.hl.pinyin.add(word)
    return QueryToken(text, sc.vector(), 0, sc.hl)


def _number(st: State, lex: Lexicon, text: str) -> QueryToken:
    sc = Scorer(st)
    sc.key(W_LATIN, "x" + text)
    sc.key(W_SPEC, "q" + text)
    sc.key(W_DESC, "d" + text)
    for key in lex.prefix(st, "x" + text):
        sc.key(W_SPEC, key)
    for key in lex.prefix(st, "q" + text):
        sc.key(W_SPEC_PREFIX, key)
    sc.hl.latin.add(text)
    sc.hl.pinyin_prefix.add(text)
    return QueryToken(text, sc.vector(), 0, sc.hl)


def _quantity(st: State, text: str) -> QueryToken:
    sc = Scorer(st)
    sc.key(W_LATIN, "x" + text)
    sc.key(W_SPEC, "q" + text)
    sc.key(W_DESC, "d" + text)
    sc.hl.latin.add(text)
    return QueryToken(text, sc.vector(), 0, sc.hl)


def _chunks(words: Iterable[str]) -> list[str]:
    out = []
    for word in words:
        out += [word[i : i + an.MAX_SUBWORD] for i in range(0, len(word), an.MAX_SUBWORD)]
    return out
