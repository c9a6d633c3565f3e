"""GTINs: the GS1 mod-10 check digit, GTIN-8/12/13/14 validation and numbering from a prefix."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")


def is_digits(s: object) -> bool:
    """ASCII digits only, at least one."""
    # str.isdigit() would accept "٣" or "²"; GS1 data is ASCII only.
    return isinstance(s, str) and _DIGITS.fullmatch(s) is not None


def gtin_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for ``digits`` (a GTIN, GLN, SSCC ... without its last digit)."""
    if not is_digits(digits):
        raise ValueError("计算校验位需要纯数字")
    # Weights 3, 1, 3, 1 ... starting from the rightmost digit.
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def check_digit_ok(digits: str) -> bool:
    """True when the last digit of ``digits`` is the mod-10 check digit of the others."""
    return gtin_check_digit(digits[:-1]) == int(digits[-1])


def is_valid_gtin(s: str) -> bool:
    """True for a GTIN-8, -12, -13 or -14 with a correct check digit."""
    return is_digits(s) and len(s) in (8, 12, 13, 14) and check_digit_ok(s)


def to_gtin14(s: str) -> str:
    """Left-pad a valid GTIN to 14 digits; raise ValueError for an invalid one."""
    if not is_valid_gtin(s):
        raise ValueError(f"商品条码 (GTIN) 无效：{s!r}")
    return s.zfill(14)


def gtin_from_prefix(company_prefix: str, item_reference: int) -> str:
    """GTIN-14 (indicator digit 0) from a GS1 company prefix and an item reference number."""
    if not is_digits(company_prefix) or not 6 <= len(company_prefix) <= 12:
        raise ValueError("厂商识别代码应为6–12位数字")
    width = 12 - len(company_prefix)
    if isinstance(item_reference, bool) or not isinstance(item_reference, int):
        raise ValueError("商品项目代码应为整数")
    if not 0 <= item_reference < 10**width:
        raise ValueError(f"商品项目代码 {item_reference} 超出范围：该厂商识别代码只留 {width} 位")
    body = "0" + company_prefix + (str(item_reference).zfill(width) if width else "")
    return body + str(gtin_check_digit(body))
