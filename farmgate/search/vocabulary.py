"""The trade's words: synonyms and occasion words that find the specific products.

``vocabulary.txt`` (beside the jieba dictionary) maps what a buyer types to the product words
it should find: generic words (稻米 -> 香米, 鲜鱼 -> 稻花鱼) and occasion words (年货, 送礼,
土特产). The township admin overrides single entries from the console; those rows live in the
database (``SearchSynonym``, see ``vocabulary_store``) and are merged over the file here. Both
backends take the same ``Synonyms``: the embedded engine scores a word's expansions below the
word itself, Meilisearch gets them as its one-way ``synonyms`` setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from farmgate.search.analysis_normalize import normalize

MAX_WORD = 12  # characters in a word or an expansion
MAX_EXPANSIONS = 30
_WORD_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaffa-z0-9]+")


class VocabularyError(ValueError):
    """A line or an entry that cannot be used; ``field`` says which part is wrong."""

    def __init__(self, message: str, field: str = "expansions") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Synonyms:
    """Normalised word -> the words it also finds (never itself); one-way."""

    entries: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def expand(self, word: str) -> tuple[str, ...]:
        return self.entries.get(word, ())

    def meili(self) -> dict[str, list[str]]:
        """Meilisearch's ``synonyms`` setting (one-way: the key finds the values)."""
        return {word: list(found) for word, found in sorted(self.entries.items())}

    def key(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """A comparable form (to tell whether a backend already has these)."""
        return tuple(sorted(self.entries.items()))


def clean_word(raw: str, field: str = "word") -> str:
    """One word normalised, or VocabularyError with a message for a person."""
    word = normalize(raw).strip()
    if not word:
        raise VocabularyError("请填写词语", field)
    if len(word) > MAX_WORD or not _WORD_RE.fullmatch(word):
        raise VocabularyError(
            f"“{raw.strip()}”不是一个词：只能是汉字、字母或数字，不超过 {MAX_WORD} 个字", field
        )
    return word


def clean_expansions(word: str, raw: str) -> tuple[str, ...]:
    """The expansions of ``word`` typed as words separated by spaces or commas (may be empty:
    an override with none switches the word off)."""
    parts = [p for p in re.split(r"[\s,，、;；]+", raw) if p]
    found: list[str] = []
    for part in parts:
        cleaned = clean_word(part, "expansions")
        if cleaned != word and cleaned not in found:
            found.append(cleaned)
    if len(found) > MAX_EXPANSIONS:
        raise VocabularyError(f"最多 {MAX_EXPANSIONS} 个词")
    return tuple(found)


def parse(text: str) -> dict[str, tuple[str, ...]]:
    """The entries of a vocabulary file (``word: expansion ...``; # starts a comment line)."""
    entries: dict[str, tuple[str, ...]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, sep, tail = line.partition(":")
        if not sep:
            raise VocabularyError(f"line {number}: expected 'word: expansion ...'")
        word = clean_word(head)
        entries[word] = clean_expansions(word, tail)
    return entries


@lru_cache(maxsize=1)
def from_file() -> Synonyms:
    """The vocabulary as shipped (``vocabulary.txt``)."""
    text = resources.files("farmgate.search").joinpath("vocabulary.txt").read_text("utf-8")
    return Synonyms({w: e for w, e in parse(text).items() if e})


def merged(base: Synonyms, overrides: Iterable[tuple[str, Iterable[str]]]) -> Synonyms:
    """``base`` with each override replacing its word's entry (no expansions: word removed)."""
    entries = dict(base.entries)
    for word, expansions in overrides:
        found = tuple(expansions)
        if found:
            entries[word] = found
        else:
            entries.pop(word, None)
    return Synonyms(entries)


def file_entries() -> Mapping[str, tuple[str, ...]]:
    return from_file().entries
