"""GS1 Digital Link compression: ``/AQnYUc1gmiCNV4JG`` <-> ``/01/05412345000013/10/ABC123``.

A compressed Digital Link carries its AIs as one bit string in URL-safe base64 (``A-Za-z0-9-_``,
6 bits a character, zero-padded at the end). Each element is the AI as hexadecimal nibbles
(4 bits a digit), or an optimisation code standing for a fixed sequence of AIs (``0B`` = 01+10),
then each component of the value as the AI's format says:

- numeric, fixed length n: the number in ceil(n·log2 10) bits;
- numeric, up to m digits: the length in ceil(log2 m) bits, then the number as above;
- alphanumeric: a 3-bit encoding (0 digits, 1 lower-case hex, 2 upper-case hex, 3 URL-safe
  base64, 4 ISO 646 7-bit), the length when variable, then the characters (4, 6 or 7 bits
  each; digits as one number).

The formats come from ``digital_link._AI_FORMATS``, so every AI the parser knows decompresses.
``compress`` writes no optimisation codes (every decoder reads that form); ``decompress`` reads
both. Test vectors: GS1's compression prototype, via tests/test_digital_link_resolver.py.
"""

from __future__ import annotations

import math
import re

from farmgate.gs1.digital_link import (
    _AI_FORMATS,
    _DL_KEYS,
    _components,
    _encode,
    validate_ai_value,
)

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
HEX = "0123456789ABCDEF"
OPTIMISATIONS = {"0B": ("01", "10"), "0C": ("01", "21"), "0D": ("01", "17"), "9D": ("414", "254")}
_SEGMENT = re.compile(r"[A-Za-z0-9_-]{8,}")


class NotCompressed(ValueError):
    """Not a compressed Digital Link this decoder can read."""


def _value_bits(digits: int) -> int:
    return 0 if digits == 0 else math.ceil(digits * math.log2(10) + 0.01)


def _length_bits(maximum: int) -> int:
    return 0 if maximum == 0 else math.ceil(math.log2(maximum) + 0.01)


class _Bits:
    def __init__(self, bits: str) -> None:
        self.bits, self.at = bits, 0

    def take(self, n: int) -> str:
        if self.at + n > len(self.bits):
            raise NotCompressed("the bit string ends inside a value")
        out = self.bits[self.at : self.at + n]
        self.at += n
        return out

    def number(self, n: int) -> int:
        return int(self.take(n), 2) if n else 0

    def left(self) -> int:
        return len(self.bits) - self.at


def _digits(bits: _Bits, count: int) -> str:
    return str(bits.number(_value_bits(count))).zfill(count) if count else ""


def _characters(bits: _Bits, count: int, encoding: int) -> str:
    if encoding == 0:
        return _digits(bits, count)
    if encoding in (1, 2):
        text = "".join(HEX[bits.number(4)] for _ in range(count))
        return text.lower() if encoding == 1 else text
    if encoding == 3:
        return "".join(ALPHABET[bits.number(6)] for _ in range(count))
    if encoding == 4:
        return "".join(chr(bits.number(7)) for _ in range(count))
    raise NotCompressed(f"unknown character encoding {encoding}")


def _read_value(bits: _Bits, ai: str) -> str:
    value = ""
    for charset, low, high, _flags in _components(ai):
        fixed = low == high
        if charset == "N":
            count = high if fixed else bits.number(_length_bits(high))
            value += _digits(bits, count)
        else:
            encoding = bits.number(3)
            count = high if fixed else bits.number(_length_bits(high))
            value += _characters(bits, count, encoding)
    return validate_ai_value(ai, value)


def _read_ai(bits: _Bits, first_two: str) -> str:
    ai = first_two
    while ai not in _AI_FORMATS:
        if len(ai) >= 4:
            raise NotCompressed(f"unknown AI {ai}")
        nibble = bits.number(4)
        if nibble > 9:
            raise NotCompressed(f"unknown AI {ai}")
        ai += str(nibble)
    return ai


def decompress(segment: str) -> tuple[tuple[str, str], ...]:
    """The (AI, value) pairs of a compressed path segment, in the order they were written."""
    if not _SEGMENT.fullmatch(segment):
        raise NotCompressed("not URL-safe base64")
    bits = _Bits("".join(f"{ALPHABET.index(c):06b}" for c in segment))
    pairs: list[tuple[str, str]] = []
    while bits.left() >= 8:
        head = HEX[bits.number(4)] + HEX[bits.number(4)]
        if head.isdigit():
            ai = _read_ai(bits, head)
            pairs.append((ai, _read_value(bits, ai)))
        elif head in OPTIMISATIONS:
            pairs.extend((ai, _read_value(bits, ai)) for ai in OPTIMISATIONS[head])
        elif head[0] == "F":
            raise NotCompressed("non-GS1 key=value pairs are not supported")
        else:
            raise NotCompressed(f"unknown optimisation code {head}")
    if bits.bits[bits.at :].strip("0"):
        raise NotCompressed("trailing bits that are not padding")
    if not pairs or pairs[0][0] not in _DL_KEYS:
        raise NotCompressed("no primary key first")
    return tuple(pairs)


def decompress_path(segment: str) -> str:
    """The uncompressed Digital Link path (and query) of a compressed segment."""
    pairs = decompress(segment)
    primary, value = pairs[0]
    rest = dict(pairs[1:])
    path = f"/{primary}/{_encode(value)}"
    qualifiers = next((seq for seq in _DL_KEYS[primary] if any(ai in rest for ai in seq)), ())
    for ai in qualifiers:
        if ai in rest:
            path += f"/{ai}/{_encode(rest.pop(ai))}"
    if rest:
        path += "?" + "&".join(f"{ai}={_encode(v)}" for ai, v in rest.items())
    return path


def _write_value(ai: str, value: str) -> str:
    out = ""
    at = 0
    parts = _components(ai)
    for index, (charset, low, high, _flags) in enumerate(parts):
        fixed = low == high
        piece = value[at : at + high] if (fixed or index < len(parts) - 1) else value[at:]
        if fixed:
            piece = value[at : at + high]
        at += len(piece)
        if charset == "N":
            if not fixed:
                out += format(len(piece), f"0{_length_bits(high)}b")
            out += format(int(piece), f"0{_value_bits(len(piece))}b") if piece else ""
            continue
        if piece.isdigit():
            encoding, body = 0, format(int(piece), f"0{_value_bits(len(piece))}b")
        elif re.fullmatch(r"[0-9a-f]+", piece):
            encoding, body = 1, "".join(format(HEX.index(c.upper()), "04b") for c in piece)
        elif re.fullmatch(r"[0-9A-F]+", piece):
            encoding, body = 2, "".join(format(HEX.index(c), "04b") for c in piece)
        elif re.fullmatch(r"[A-Za-z0-9_-]+", piece):
            encoding, body = 3, "".join(format(ALPHABET.index(c), "06b") for c in piece)
        else:
            encoding, body = 4, "".join(format(ord(c), "07b") for c in piece)
        out += format(encoding, "03b")
        if not fixed:
            out += format(len(piece), f"0{_length_bits(high)}b")
        out += body
    return out


def compress(pairs: tuple[tuple[str, str], ...]) -> str:
    """The compressed path segment of (AI, value) pairs (primary key first)."""
    bits = ""
    for ai, value in pairs:
        validate_ai_value(ai, value)
        bits += "".join(format(int(d), "04b") for d in ai) + _write_value(ai, value)
    bits += "0" * (-len(bits) % 6)
    return "".join(ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))
