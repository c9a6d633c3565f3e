"""Normalisation and units: the first stage of the Chinese analysis (see ``analysis``).

Holds ``normalize`` (NFKC, lower case, traditional -> simplified, metric unit words after a
number folded to symbols), its offset-keeping twin for highlighting, ``tokens`` (Han runs,
latin words, numbers, quantities) and ``quantity`` (1kg = 1000g = 2斤), plus the character
class constants every later stage shares.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import zhconv

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
