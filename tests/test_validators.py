from __future__ import annotations

import pytest

from farmgate.validators import normalize_mobile, normalize_uscc, uscc_check_char, yuan_to_fen


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the example in GB 32100-2015
        "91110000802100433B",
        "93431223MA4L00017",
    ],
)
def test_uscc_check_character(code: str) -> None:
    body = code[:17]
    assert normalize_uscc(body + uscc_check_char(body)) == body + uscc_check_char(body)


def test_uscc_known_good_code_validates_and_is_upper_cased() -> None:
    assert normalize_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y44", "校验位"),
        ("91350100M000100Y4", "18位"),
        ("91350100M0001O0Y43", "无效字符"),  # letter O is not in the alphabet
        ("", "18位"),
    ],
)
def test_uscc_rejections_say_why(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_uscc(code)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("008613800138000", "13800138000"),
    ],
)
def test_mobile_normalisation(raw: str, expected: str) -> None:
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize(
    "raw", ["12800138000", "1380013800", "138001380001", "abc", "010-12345678"]
)
def test_mobile_rejections(raw: str) -> None:
    with pytest.raises(ValueError, match="手机号"):
        normalize_mobile(raw)


@pytest.mark.parametrize(
    ("raw", "fen"), [("12", 1200), ("12.5", 1250), ("¥0.01", 1), ("1,288.00", 128800)]
)
def test_yuan_to_fen_is_exact(raw: str, fen: int) -> None:
    assert yuan_to_fen(raw) == fen


@pytest.mark.parametrize("raw", ["12.345", "0", "-3", "abc", "NaN", ""])
def test_yuan_to_fen_rejections(raw: str) -> None:
    with pytest.raises(ValueError, match="价格"):
        yuan_to_fen(raw)
