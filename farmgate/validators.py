"""Validation rules for Chinese identifiers, shared by the API schemas and the importers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")

# GB 32100-2015: 18 characters from a 31-symbol alphabet (no I, O, Z, S, V); the last one is a
# check character computed from the first 17 with weights 3^i mod 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(rf"^[{USCC_ALPHABET}]{{18}}$")


def normalize_mobile(value: str) -> str:
    """Strip spaces, dashes and a +86 prefix; raise ValueError unless a mainland mobile."""
    digits = re.sub(r"[\s-]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not MOBILE_RE.match(digits):
        raise ValueError("请输入11位中国大陆手机号码")
    return digits


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(value: str) -> str:
    """Upper-case and validate a 统一社会信用代码; raise ValueError with the reason."""
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValueError("统一社会信用代码应为18位")
    if not _USCC_RE.match(code):
        raise ValueError("统一社会信用代码含有无效字符（不使用 I、O、Z、S、V）")
    if uscc_check_char(code[:17]) != code[17]:
        raise ValueError("统一社会信用代码校验位不正确，请核对")
    return code


def yuan_to_fen(value: str) -> int:
    """Parse a price typed in yuan ("12", "12.5", "¥12.50") into integer fen, exactly."""
    text = (value or "").strip().replace("¥", "").replace("￥", "").replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("价格格式不正确") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("价格最多保留两位小数")
    fen = int(amount * 100)
    if fen <= 0:
        raise ValueError("价格必须大于0")
    return fen
