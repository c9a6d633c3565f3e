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

This module holds the last stage, the terms a field contributes to an index, and is the one
import path for the whole pipeline: the stages live in ``analysis_normalize`` (normalisation,
units, tokens), ``analysis_segment`` (dictionary and jieba), ``analysis_pinyin`` (pinyin, typo
tolerance, the autocomplete vocabulary) and ``analysis_highlight`` (match spans, snippets),
and their public names are re-exported here so callers keep using ``analysis as an``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from farmgate.search.analysis_highlight import HighlightTerms, match_spans, snippet
from farmgate.search.analysis_normalize import (
    HAN,
    HAN_RE,
    MAX_SUBWORD,
    Token,
    normalize,
    normalize_with_offsets,
    quantity,
    tokens,
)
from farmgate.search.analysis_pinyin import (
    TypoIndex,
    Vocabulary,
    deletes,
    initials,
    pinyin,
    syllables,
    within_one_edit,
)
from farmgate.search.analysis_segment import (
    DictionaryEntry,
    dictionary,
    is_word,
    segment,
    split_word,
    tokenizer,
)

__all__ = [
    "HAN",
    "HAN_RE",
    "MAX_SUBWORD",
    "DictionaryEntry",
    "FieldTerms",
    "HighlightTerms",
    "Token",
    "TypoIndex",
    "Vocabulary",
    "bigrams",
    "deletes",
    "dictionary",
    "field_terms",
    "initials",
    "is_word",
    "match_spans",
    "normalize",
    "normalize_with_offsets",
    "pinyin",
    "quantity",
    "segment",
    "snippet",
    "split_word",
    "syllables",
    "text_terms",
    "tokenizer",
    "tokens",
    "within_one_edit",
]

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
