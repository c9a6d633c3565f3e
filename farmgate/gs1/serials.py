"""Unit serials (一物一码, AI 21): unguessable per-unit numbers, checked without a database."""

from __future__ import annotations

import hashlib
import hmac

from farmgate.gs1.digital_link import validate_ai_value
from farmgate.gs1.gtin import to_gtin14

# A serial is 17 characters of Crockford base32: 6 for the unit number (30 bits, 0 - 1,073,741,823
# per GTIN and lot) and 11 for the first 55 bits of HMAC-SHA256(secret, gtin14, lot, number).
# The number is visible; the MAC is what makes a serial authentic. Someone who has seen any
# number of real serials and guesses a new one is right with probability 2**-55 (about 2.8e-17)
# per guess: a billion guesses succeed with probability about 3e-8.

_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_B32_ALIASES = str.maketrans("OIL", "011")  # what people type for 0 and 1
_NUMBER_CHARS = 6
_MAC_CHARS = 11
SERIAL_LENGTH = _NUMBER_CHARS + _MAC_CHARS
MAX_SERIAL_NUMBER = 32**_NUMBER_CHARS - 1


def _b32(n: int, width: int) -> str:
    chars = []
    for _ in range(width):
        n, r = divmod(n, 32)
        chars.append(_B32[r])
    return "".join(reversed(chars))


def _serial_mac(secret: bytes, gtin14: str, lot: str, number: int) -> str:
    # NUL cannot occur in a GTIN or a CSET 82 lot, so the fields cannot run into each other.
    message = b"\0".join([b"farmgate-serial-v1", gtin14.encode(), lot.encode()])
    message += b"\0" + number.to_bytes(8, "big")
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return _b32(int.from_bytes(digest[:7], "big") >> 1, _MAC_CHARS)  # 56 bits -> 55


def _serial_inputs(secret: bytes, gtin: str, lot: str) -> str:
    # Runtime checks too: the secret comes from settings, the serial from a scanned URL.
    if not isinstance(secret, bytes) or len(secret) < 16:  # type: ignore[redundant-expr]
        raise ValueError("序列号密钥至少需要16字节")
    gtin14 = to_gtin14(gtin)
    validate_ai_value("10", lot)
    return gtin14


def make_serial(secret: bytes, gtin: str, lot: str, number: int) -> str:
    """An unguessable 17-character serial (AI 21) for unit ``number`` of a lot."""
    gtin14 = _serial_inputs(secret, gtin, lot)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValueError("单品序号应为整数")
    if not 0 <= number <= MAX_SERIAL_NUMBER:
        raise ValueError(f"单品序号应在 0–{MAX_SERIAL_NUMBER} 之间")
    return _b32(number, _NUMBER_CHARS) + _serial_mac(secret, gtin14, lot, number)


def check_serial(secret: bytes, gtin: str, lot: str, serial: str) -> int | None:
    """The unit number if ``serial`` was made with ``secret`` for this GTIN and lot, else None.

    Lower case and the look-alikes O, I, L (typed from a printed label) are accepted. A bad
    secret, GTIN or lot is the caller's mistake and raises ValueError, as in ``make_serial``.
    """
    gtin14 = _serial_inputs(secret, gtin, lot)
    if not isinstance(serial, str) or not serial.isascii() or len(serial) != SERIAL_LENGTH:  # type: ignore[redundant-expr]
        return None
    serial = serial.upper().translate(_B32_ALIASES)
    if not set(serial) <= set(_B32):
        return None
    number = 0
    for c in serial[:_NUMBER_CHARS]:
        number = number * 32 + _B32.index(c)
    expected = _serial_mac(secret, gtin14, lot, number)
    if not hmac.compare_digest(expected.encode(), serial[_NUMBER_CHARS:].encode()):
        return None
    return number
