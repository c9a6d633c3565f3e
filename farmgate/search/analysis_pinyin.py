"""Pinyin and typo tolerance, and the word vocabulary built on them.

Holds ``syllables``/``pinyin``/``initials`` (toneless readings of a Han run), the
symmetric-delete ``TypoIndex`` for latin input one edit away, and ``Vocabulary``: the
weighted words that autocomplete completes from a Chinese, pinyin or initials prefix and that
"did you mean" searches when a query found nothing. Both backends use these.
"""

from __future__ import annotations

import bisect
from collections import Counter
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin

from farmgate.search.analysis_normalize import HAN_RE


def _no_reading(chars: str) -> Any:
    return [""] * len(chars)  # one entry per character keeps the syllables aligned


@lru_cache(maxsize=100_000)
def syllables(run: str) -> tuple[str, ...]:
    """Toneless pinyin of each character of a Han run (ü as v); '' where unknown."""
    return tuple(lazy_pinyin(run, style=Style.NORMAL, errors=_no_reading))


def pinyin(run: str) -> str:
    return "".join(syllables(run))


def initials(run: str) -> str:
    return "".join(s[:1] for s in syllables(run))


# --- typo tolerance -----------------------------------------------------------------------


def deletes(word: str) -> set[str]:
    """Every string one deletion away from ``word``."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """Damerau (optimal string alignment) distance of at most 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # one substitution
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    if la > lb:
        return a[i + 1 :] == b[i:]
    return a[i:] == b[i + 1 :]


class TypoIndex:
    """Symmetric-delete lookup of words within one edit (incl. a swap of adjacent letters)."""

    MIN_LENGTH = 5  # shorter latin input gets no typo tolerance (as Meilisearch's default)

    def __init__(self, words: set[str] | frozenset[str] = frozenset()) -> None:
        self._keys: dict[str, list[str]] = {}
        for word in words:
            self.add(word)

    def add(self, word: str) -> None:
        for key in {word, *deletes(word)}:
            self._keys.setdefault(key, []).append(word)

    def copy(self) -> TypoIndex:
        clone = TypoIndex()
        clone._keys = {k: list(v) for k, v in self._keys.items()}
        return clone

    def lookup(self, word: str) -> list[str]:
        """Known words within one edit of ``word`` (not ``word`` itself)."""
        if len(word) < self.MIN_LENGTH:
            return []
        found: set[str] = set()
        for key in {word, *deletes(word)}:
            for candidate in self._keys.get(key, ()):
                if candidate != word and within_one_edit(word, candidate):
                    found.add(candidate)
        return sorted(found)


# --- vocabulary: autocomplete and "did you mean" ---------------------------------------------


class Vocabulary:
    """Words with weights, completed from a Chinese, pinyin or initials prefix."""

    SCAN = 400  # candidates looked at per prefix range

    def __init__(self, weights: dict[str, int]) -> None:
        self.words = sorted(weights, key=lambda w: (-weights[w], w))
        self._han = sorted((w, i) for i, w in enumerate(self.words))
        self._pinyin = sorted((pinyin(w), i) for i, w in enumerate(self.words) if HAN_RE.match(w))
        self._initials = sorted(
            (initials(w), i) for i, w in enumerate(self.words) if HAN_RE.match(w)
        )
        self._typo = TypoIndex({p for p, _ in self._pinyin})
        self._by_pinyin: dict[str, list[int]] = {}
        for p, i in self._pinyin:
            self._by_pinyin.setdefault(p, []).append(i)
        self._by_char: dict[str, list[int]] = {}
        for i, w in enumerate(self.words):
            for ch in set(w):
                self._by_char.setdefault(ch, []).append(i)

    def __len__(self) -> int:
        return len(self.words)

    @staticmethod
    def _range(table: list[tuple[str, int]], prefix: str, cap: int) -> list[int]:
        lo = bisect.bisect_left(table, (prefix,))
        hi = bisect.bisect_left(table, (prefix + "\uffff",), lo)
        return [i for _, i in table[lo : min(hi, lo + cap)]]

    def complete(self, prefix: str, limit: int = 8) -> list[str]:
        """Words starting with the normalised ``prefix`` (or spelling it in pinyin)."""
        if not prefix:
            return []
        if HAN_RE.match(prefix):
            found = self._range(self._han, prefix, self.SCAN)
            if len(found) < limit:
                found += [i for i, w in enumerate(self.words) if prefix in w and i not in found]
        elif prefix.isascii() and prefix.isalpha():
            found = self._range(self._pinyin, prefix, self.SCAN)
            found += self._range(self._initials, prefix, self.SCAN)
        else:
            found = self._range(self._han, prefix, self.SCAN)
        ranked = sorted(set(found))  # indices are ranks: heavier words first
        return [self.words[i] for i in ranked if self.words[i] != prefix][:limit]

    def nearest(self, term: str, limit: int = 3) -> list[str]:
        """Known words close to a term that found nothing (shared characters, pinyin typo)."""
        if HAN_RE.fullmatch(term):
            shared: Counter[int] = Counter()
            for ch in set(term):
                shared.update(self._by_char.get(ch, ())[: self.SCAN])
            needed = 1 if len(term) <= 2 else 2
            scored = sorted((-k, i) for i, k in shared.items() if k >= needed)
            ranked = self._by_pinyin.get(pinyin(term), []) + [i for _, i in scored]
        else:
            typo = [i for p in self._typo.lookup(term) for i in self._by_pinyin[p]]
            ranked = typo + self._range(self._pinyin, term, self.SCAN)
        seen: list[str] = []
        for i in ranked:
            if self.words[i] != term and self.words[i] not in seen:
                seen.append(self.words[i])
        return seen[:limit]
