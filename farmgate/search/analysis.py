"""Chinese text analysis shared by every search backend.

Pipeline: ``normalize`` (NFKC, which also folds full-width forms to half-width; lower case;
traditional -> simplified; 克/公斤/毫升/升 after a number -> g/kg/ml/l) -> ``tokens`` (Han runs,
latin words, numbers, quantities such as 500g) -> per-field terms: jieba words, sub-word terms
(every substring of a Han run up to a length, so 简单 is found inside 安装简单), pinyin in full
and as initials for each of those substrings, quantities folded to one canonical form
(1kg = 1000g = 2斤), and typo helpers for latin input.

The custom dictionary ``dictionary.txt`` (the township's place and product names, the ONE
place they live) is in jieba's user-dictionary format: one entry a line, ``word freq tag``
separated by single spaces, freq and tag optional. freq lifts the word above jieba's own
entries so that it is kept whole (without it jieba splits 谭家场乡 as 谭家|场乡); tag is a
part-of-speech code (ns place name, nz other proper name, n noun, v verb). jieba's format has
no comment syntax, so the file has no comments and stays loadable by ``jieba.load_userdict``.
The same words feed Meilisearch's ``dictionary`` setting.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import jieba
import zhconv
from pypinyin import Style, lazy_pinyin

# zhconv rather than OpenCC: pure Python with its (MediaWiki) phrase tables in the wheel, no
# native build, and ~4 µs for a product name; opencc-python-reimplemented is several times
# slower and the native opencc wheel buys nothing for short strings. "zh-hans" (script only),
# not "zh-cn", which also rewrites Taiwanese vocabulary (記憶體 -> 内存).

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
HAN_RE = re.compile(f"[{HAN}]+")
MAX_SUBWORD = 6  # longest sub-word term indexed for names; longer query runs are segmented

_MASS_G = {"g": 1, "kg": 1000, "斤": 500, "两": 50}
_VOLUME_ML = {"ml": 1, "l": 1000}
_COUNTERS = "枚个只条瓶袋盒箱桶罐包件片根粒支套块"
_TOKEN_RE = re.compile(
    r"(?P<qty>(?P<num_q>\d+(?:\.\d+)?)\s*(?P<unit>(?:kg|g|ml|l)(?![a-z])|[斤两"
    + _COUNTERS
    + r"]))"
    + f"|(?P<han>[{HAN}]+)"
    + r"|(?P<num>\d+(?:\.\d+)?)|(?P<latin>[a-z]+)"
)
_UNIT_FOLD_RE = re.compile(r"(?<=\d)(\s*)(公斤|千克|毫升|克|升)")
_UNIT_FOLD = {"公斤": "kg", "千克": "kg", "毫升": "ml", "克": "g", "升": "l"}

logging.getLogger("jieba").setLevel(logging.WARNING)


def normalize(text: str) -> str:
    """NFKC + lower case + simplified Chinese + metric unit words folded to symbols."""
    text = unicodedata.normalize("NFKC", text).lower()
    if _has_traditional(text):
        text = zhconv.convert(text, "zh-hans")
    if "克" in text or "斤" in text or "升" in text:
        text = _UNIT_FOLD_RE.sub(lambda m: m.group(1) + _UNIT_FOLD[m.group(2)], text)
    return text


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """``normalize`` one character at a time, with each output character's source index.

    Used for highlighting: the spans found in the normalised text map back to the original.
    """
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        piece = unicodedata.normalize("NFKC", ch).lower()
        if _has_traditional(piece):
            piece = zhconv.convert(piece, "zh-hans")
        out.append(piece)
        offsets.extend([i] * len(piece))
    norm = "".join(out)
    # The unit folds are all length-preserving, so the offsets stay valid.
    folded = _UNIT_FOLD_RE.sub(lambda m: m.group(1) + _UNIT_FOLD[m.group(2)], norm)
    return folded, offsets


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Traditional characters (a fast pre-check: most text needs no conversion at all)."""
    table = zhconv.zhconv.getdict("zh-hans")
    return frozenset(k for k, v in table.items() if len(k) == 1 and k != v)


def _has_traditional(text: str) -> bool:
    return not _traditional_chars().isdisjoint(text)


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of normalised text: ``kind`` is han, latin, num or qty (``text`` canonical)."""

    kind: str
    text: str
    start: int
    end: int


def tokens(norm: str) -> list[Token]:
    """Split normalised text into Han runs, latin words, numbers and quantities."""
    result = []
    for m in _TOKEN_RE.finditer(norm):
        kind = m.lastgroup or ""
        if kind == "unit":
            kind = "qty"
        text = quantity(m.group("num_q"), m.group("unit")) if kind == "qty" else m.group(0)
        result.append(Token(kind, text, m.start(), m.end()))
    return result


def quantity(number: str, unit: str) -> str:
    """Canonical quantity: mass in grams, volume in millilitres, counters as written."""
    value = float(number)
    if unit in _MASS_G:
        return _fmt(value * _MASS_G[unit]) + "g"
    if unit in _VOLUME_ML:
        return _fmt(value * _VOLUME_ML[unit]) + "ml"
    return _fmt(value) + unit


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


# --- the dictionary and jieba ------------------------------------------------------------

_jieba_lock = threading.Lock()
_jieba: jieba.Tokenizer | None = None


@dataclass(frozen=True, slots=True)
class DictionaryEntry:
    word: str
    freq: int | None
    tag: str | None


@lru_cache(maxsize=1)
def dictionary() -> tuple[DictionaryEntry, ...]:
    """The custom dictionary (``dictionary.txt``), normalised."""
    text = resources.files("farmgate.search").joinpath("dictionary.txt").read_text("utf-8")
    entries = []
    for line in text.splitlines():
        parts = line.strip().split(" ")
        if not parts[0]:
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        entries.append(DictionaryEntry(normalize(parts[0]), freq, tag))
    return tuple(entries)


def tokenizer() -> jieba.Tokenizer:
    """Our own jieba instance (never the global one) with the custom dictionary loaded."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                tk = jieba.Tokenizer()
                tk.initialize()
                for entry in dictionary():
                    tk.add_word(entry.word, entry.freq, entry.tag)
                _jieba = tk
    return _jieba


@lru_cache(maxsize=100_000)
def segment(run: str) -> tuple[str, ...]:
    """jieba words of a normalised Han run (dictionary only, no HMM guessing of new words)."""
    return tuple(tokenizer().cut(run, HMM=False))


def is_word(text: str) -> bool:
    """Whether jieba's dictionary (with ours) knows ``text`` as a word."""
    return tokenizer().FREQ.get(text, 0) > 0


def split_word(run: str) -> list[str]:
    """Split a Han run into known words, never returning the run itself whole.

    Used to relax a query word: 干辣椒 -> 干 + 辣椒, so 干红辣椒 and 辣椒干 are found too.
    Prefers the fewest pieces, then the rarest (most specific) shortest piece.
    """
    n = len(run)
    best: tuple[tuple[int, int], list[str]] | None = None
    for mask in range(1, 1 << (n - 1)):
        pieces, start = [], 0
        for i in range(1, n):
            if mask >> (i - 1) & 1:
                pieces.append(run[start:i])
                start = i
        pieces.append(run[start:])
        if not all(is_word(p) for p in pieces):
            continue
        key = (len(pieces), -min(len(p) for p in pieces))
        if best is None or key < best[0]:
            best = (key, pieces)
    return best[1] if best else list(run)


# --- pinyin -------------------------------------------------------------------------------


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


# --- terms for indexing ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldTerms:
    """What one short field (a name, a village, a spec) contributes to the index."""

    words: frozenset[str]  # jieba words
    subwords: frozenset[str]  # every substring of each Han run, 1..max_sub characters
    pinyin: frozenset[str]  # full pinyin of each substring of 2+ characters
    initials: frozenset[str]  # pinyin initials of the same substrings
    latin: frozenset[str]  # latin words, numbers, canonical quantities
    known: frozenset[str]  # substrings of 2+ characters that are dictionary words
    han_chars: int  # number of Han characters (for coverage ranking)


@lru_cache(maxsize=8192)  # labels and specs repeat; names mostly do not
def field_terms(norm: str, max_sub: int = MAX_SUBWORD) -> FieldTerms:
    """Index terms of a normalised short field."""
    words: set[str] = set()
    subs: set[str] = set()
    full: set[str] = set()
    ini: set[str] = set()
    latin: set[str] = set()
    han_chars = 0
    for tok in tokens(norm):
        if tok.kind != "han":
            latin.add(tok.text)
            continue
        run = tok.text
        han_chars += len(run)
        words.update(segment(run))
        syl = syllables(run)
        n = len(run)
        for i in range(n):
            for j in range(i + 1, min(n, i + max_sub) + 1):
                subs.add(run[i:j])
                if j - i >= 2:
                    part = syl[i:j]
                    full.add("".join(part))
                    ini.add("".join(s[:1] for s in part))
        if n > max_sub:
            full.add("".join(syl))
            ini.add("".join(s[:1] for s in syl))
    known = {s for s in subs if len(s) >= 2 and is_word(s)}
    known.update(w for w in words if len(w) >= 2 and HAN_RE.fullmatch(w))
    full.discard("")
    ini.discard("")
    return FieldTerms(
        frozenset(words),
        frozenset(subs),
        frozenset(full),
        frozenset(ini),
        frozenset(latin),
        frozenset(known),
        han_chars,
    )


def text_terms(norm: str) -> set[str]:
    """Terms of a long text (a description): Han bigrams, lone characters, latin, quantities."""
    terms: set[str] = set()
    for tok in tokens(norm):
        if tok.kind != "han":
            terms.add(tok.text)
        elif len(tok.text) == 1:
            terms.add(tok.text)
        else:
            run = tok.text
            terms.update(run[i : i + 2] for i in range(len(run) - 1))
    return terms


def bigrams(run: str) -> list[str]:
    """The bigrams a query word must all hit in a description (or the word if shorter)."""
    return [run] if len(run) < 2 else [run[i : i + 2] for i in range(len(run) - 1)]


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


# --- highlighting ---------------------------------------------------------------------------


@dataclass(slots=True)
class HighlightTerms:
    """What a query matched, as the highlighter needs it."""

    han: set[str]  # Chinese strings to mark wherever they occur
    latin: set[str]  # latin words, numbers and canonical quantities to mark
    pinyin: set[str]  # full pinyin or initials a run of characters must spell
    pinyin_prefix: set[str]  # ...or start with

    @classmethod
    def empty(cls) -> HighlightTerms:
        return cls(set(), set(), set(), set())


def match_spans(text: str, terms: HighlightTerms, pinyin: bool = True) -> list[tuple[int, int]]:
    """Character spans of ``text`` (the original, not normalised) that the query matched.

    ``pinyin=False`` skips spelling out Han runs (descriptions are not matched by pinyin).
    """
    if not text or not (terms.han or terms.latin or terms.pinyin or terms.pinyin_prefix):
        return []
    norm = normalize(text)
    if len(norm) == len(text):
        offsets: list[int] | range = range(len(text))
    else:
        norm, offsets = normalize_with_offsets(text)
    found: list[tuple[int, int]] = []
    for term in terms.han:
        start = norm.find(term)
        while start >= 0:
            found.append((start, start + len(term)))
            start = norm.find(term, start + 1)
    spell = pinyin and bool(terms.pinyin or terms.pinyin_prefix)
    if not (spell or terms.latin or terms.pinyin_prefix):
        return _merge(found, offsets)
    for tok in tokens(norm):
        if tok.kind != "han":
            if tok.text in terms.latin or any(tok.text.startswith(p) for p in terms.pinyin_prefix):
                found.append((tok.start, tok.end))
            continue
        if spell:
            found.extend(_pinyin_spans(tok, terms))
    return _merge(found, offsets)


def _merge(found: list[tuple[int, int]], offsets: list[int] | range) -> list[tuple[int, int]]:
    """Spans back to positions in the original text, overlaps merged."""
    if not found:
        return []
    mapped = sorted((offsets[s], offsets[e - 1] + 1) for s, e in found)
    merged = [mapped[0]]
    for s, e in mapped[1:]:
        if s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _pinyin_spans(tok: Token, terms: HighlightTerms) -> list[tuple[int, int]]:
    syl = syllables(tok.text)
    n = len(syl)
    spans = []
    starts = {t[:1] for t in terms.pinyin} | {t[:1] for t in terms.pinyin_prefix}
    for i in range(n):
        if syl[i][:1] not in starts:
            continue
        for j in range(i + 1, min(n, i + MAX_SUBWORD) + 1):
            full = "".join(syl[i:j])
            ini = "".join(s[:1] for s in syl[i:j])
            exact = j - i >= 2 and (full in terms.pinyin or ini in terms.pinyin)
            prefix = any(full.startswith(p) or ini.startswith(p) for p in terms.pinyin_prefix)
            if exact or prefix:
                spans.append((tok.start + i, tok.start + j))
                break  # the shortest run that spells it is enough
    return spans


def snippet(
    text: str, spans: list[tuple[int, int]], width: int = 60
) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``text`` around its first match, with the spans shifted into it."""
    if len(text) <= width:
        return text, spans
    start = 0 if not spans else max(0, min(spans[0][0] - width // 4, len(text) - width))
    end = start + width
    window = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    shift = 1 if start else 0
    inside = [
        (max(s, start) - start + shift, min(e, end) - start + shift)
        for s, e in spans
        if e > start and s < end
    ]
    return window, inside


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
