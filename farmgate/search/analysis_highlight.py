"""Highlighting helpers: the spans of a product's text that a query matched, and snippets.

``HighlightTerms`` is what a backend learnt a query matched (Chinese strings, latin words,
pinyin spellings); ``match_spans`` finds them in the original, un-normalised text (mapping
positions back through ``normalize_with_offsets``) and ``snippet`` cuts a window around the
first match.
"""

from __future__ import annotations

from dataclasses import dataclass

from farmgate.search.analysis_normalize import (
    MAX_SUBWORD,
    Token,
    normalize,
    normalize_with_offsets,
    tokens,
)
from farmgate.search.analysis_pinyin import syllables


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
