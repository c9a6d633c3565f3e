"""Segmentation and the custom dictionary: jieba with ``dictionary.txt`` loaded.

Holds ``dictionary`` (the township's place and product names, parsed from the jieba
user-dictionary file), ``tokenizer`` (our own jieba instance, never the global one),
``segment`` (a Han run to jieba words), ``is_word`` and ``split_word`` (relaxing a query word
into known pieces). The file format is described in ``analysis``.
"""

from __future__ import annotations

import logging
import marshal
import os
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import jieba

from farmgate.search.analysis_normalize import normalize

logging.getLogger("jieba").setLevel(logging.WARNING)

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
                _initialize(tk)
                for entry in dictionary():
                    tk.add_word(entry.word, entry.freq, entry.tag)
                _jieba = tk
    return _jieba


def _initialize(tk: jieba.Tokenizer) -> None:
    """``tk.initialize()``, reading jieba's cache of its default dictionary in one piece.

    jieba reads that cache with ``marshal.load(file)``, which goes back to the file object for
    each of its half a million words: about 0.6 s of a new process's start, against 0.2 s for
    ``marshal.loads`` of the same bytes. The cache (``jieba.cache`` in the temporary
    directory, written by jieba's own ``initialize`` the first time) and what it holds are
    jieba's; without a readable one this is ``initialize`` itself.
    """
    if tk.dictionary == jieba.DEFAULT_DICT and not tk.cache_file:
        cache = os.path.join(tk.tmp_dir or tempfile.gettempdir(), "jieba.cache")
        try:
            with open(cache, "rb") as f:
                freq, total = marshal.loads(f.read())
        except (OSError, ValueError, EOFError, TypeError):
            pass  # missing or damaged: jieba builds (and writes) it
        else:
            tk.FREQ, tk.total, tk.initialized = freq, total, True
            return
    tk.initialize()


@lru_cache(maxsize=100_000)
def segment(run: str) -> tuple[str, ...]:
    """jieba words of a normalised Han run (dictionary only, no HMM guessing of new words)."""
    return tuple(tokenizer().cut(run, HMM=False))


def is_word(text: str) -> bool:
    """Whether jieba's dictionary (with ours) knows ``text`` as a word."""
    frequency: int = tokenizer().FREQ.get(text, 0)  # jieba has no type hints
    return frequency > 0


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
