"""GTINs, GS1 Digital Link URIs (against GS1's own parser test vectors) and unit serials."""

from __future__ import annotations

import calendar
import itertools
import json
import re
from datetime import date

import pytest

from farmgate.gs1.digital_link import (
    DigitalLink,
    InvalidDigitalLink,
    UnknownAI,
    _yymmdd,
    build_element_string,
    parse,
    parse_ai_pairs,
)
from farmgate.gs1.gtin import gtin_check_digit, gtin_from_prefix, is_valid_gtin, to_gtin14
from farmgate.gs1.serials import MAX_SERIAL_NUMBER, SERIAL_LENGTH, check_serial, make_serial
from tests.support.standards import STANDARDS_DIR

VECTORS = STANDARDS_DIR / "digital-link/parse-vectors.json"
BASE = "https://trace.example.cn"
SECRET = b"0123456789abcdef-test-secret"

# --- GTINs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gtin",
    [
        "4006381333931",  # EAN-13
        "9506000134352",  # GS1's documentation example
        "9520123456788",
        "6901234567892",  # a Chinese (690-699) prefix
        "036000291452",  # UPC-A
        "96385074",  # EAN-8
        "00012345600012",  # GTIN-14
    ],
)
def test_check_digit_of_published_gtins(gtin: str) -> None:
    assert gtin_check_digit(gtin[:-1]) == int(gtin[-1])
    assert is_valid_gtin(gtin)
    assert to_gtin14(gtin) == gtin.zfill(14)


def test_check_digit_is_mod_10_with_weights_3_and_1_from_the_right() -> None:
    assert gtin_check_digit("0") == 0
    assert gtin_check_digit("1") == 7  # 1 x 3 = 3 -> 7
    assert gtin_check_digit("10") == 9  # 1 x 1 + 0 x 3 = 1 -> 9
    with pytest.raises(ValueError, match="纯数字"):
        gtin_check_digit("12a4")


@pytest.mark.parametrize(
    "bad",
    [
        "4006381333932",  # wrong check digit
        "400638133393",  # 12 digits, not a UPC-A
        "123456789",  # 9 digits
        "40063813339311",
        "",
        " 4006381333931",
        "４００６３８１３３３９３１",  # full-width digits pass str.isdigit()
        "٤٠٠٦٣٨١٣٣٣٩٣١",  # Arabic-Indic digits too
        None,
        4006381333931,
    ],
)
def test_invalid_gtins(bad: object) -> None:
    assert not is_valid_gtin(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="GTIN"):
        to_gtin14(bad)  # type: ignore[arg-type]


def test_gtin_from_prefix_fills_twelve_digits_and_adds_the_check_digit() -> None:
    assert gtin_from_prefix("6901234", 56789) == "06901234567892"
    assert gtin_from_prefix("6901234", 7) == "06901234000078"
    assert gtin_from_prefix("950600013", 435) == "09506000134352"
    assert gtin_from_prefix("690123456789", 0) == "06901234567892"  # 12-digit prefix: one GTIN
    for item in range(0, 100_000, 997):
        gtin = gtin_from_prefix("6901234", item)
        assert is_valid_gtin(gtin)
        assert gtin[:8] == "06901234"
        assert int(gtin[8:13]) == item


@pytest.mark.parametrize(
    ("prefix", "item", "reason"),
    [
        ("6901234", 100_000, "超出范围"),  # 7-digit prefix leaves 5 digits
        ("690123456789", 1, "超出范围"),
        ("6901234", -1, "超出范围"),
        ("69012", 1, "6–12位"),
        ("6901234567890", 0, "6–12位"),
        ("69O1234", 1, "6–12位"),
        ("6901234", 1.0, "整数"),
        ("6901234", True, "整数"),
    ],
)
def test_gtin_from_prefix_rejects(prefix: str, item: int, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        gtin_from_prefix(prefix, item)


# --- Building links ----------------------------------------------------------------------------


def test_path_url_and_element_string() -> None:
    link = DigitalLink("9506000134352", lot="B2024-07", serial="0042")
    assert link.gtin == "09506000134352"
    assert link.path() == "/01/09506000134352/10/B2024-07/21/0042"
    assert link.url(BASE + "/") == BASE + "/01/09506000134352/10/B2024-07/21/0042"
    assert link.url(BASE + "/t") == BASE + "/t/01/09506000134352/10/B2024-07/21/0042"
    assert link.element_string() == "^010950600013435210B2024-07^210042"
    assert DigitalLink("9506000134352").path() == "/01/09506000134352"
    assert DigitalLink("9506000134352", serial="7").path() == "/01/09506000134352/21/7"


def test_values_are_percent_encoded() -> None:
    link = DigitalLink("9506000134352", lot="A/B%1", serial="x?y&z='", variant="2+")
    assert link.path() == "/01/09506000134352/22/2%2B/10/A%2FB%251/21/x%3Fy%26z%3D%27"
    # The element string carries the raw values.
    assert link.element_string() == "^0109506000134352222+^10A/B%1^21x?y&z='"


@pytest.mark.parametrize(
    "lot",
    [
        "B2024-07",
        "a/b",
        "50%",
        "x?y=z",
        "a&b=c",
        "!\"%&'()*+,-./:;<=>?_",
        "12345678901234567890",  # the longest allowed
        "_",
    ],
)
@pytest.mark.parametrize("base", [BASE, BASE + "/", "http://localhost:8000/trace/"])
def test_url_parses_back_to_the_same_link(lot: str, base: str) -> None:
    for link in (
        DigitalLink("6901234567892", lot=lot),
        DigitalLink("6901234567892", lot=lot, serial=lot[::-1]),
        DigitalLink("06901234567892", lot=lot, variant="V1", attributes=(("3103", "000500"),)),
        DigitalLink("6901234567892", serial=lot).with_expiry(date(2026, 2, 28)),
    ):
        url = link.url(base)
        assert parse(url) == link, url
        assert build_element_string(parse_ai_pairs(url)) == link.element_string()


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"gtin": "9506000134353"}, "GTIN"),
        ({"gtin": "9506000134352", "lot": ""}, "长度"),
        ({"gtin": "9506000134352", "lot": "123456789012345678901"}, "最多 20 位"),
        ({"gtin": "9506000134352", "lot": "批次1"}, "不允许的字符"),
        ({"gtin": "9506000134352", "serial": "A B"}, "不允许的字符"),
        ({"gtin": "9506000134352", "serial": "a~b"}, "不允许的字符"),  # ~ is not in CSET 82
        ({"gtin": "9506000134352", "serial": "a#b"}, "不允许的字符"),  # nor is #
        ({"gtin": "9506000134352", "attributes": (("10", "X"),)}, "路径"),
        ({"gtin": "9506000134352", "attributes": (("17", "251301"),)}, "日期"),
        ({"gtin": "9506000134352", "attributes": (("3103", "12"),)}, "长度"),
        ({"gtin": "9506000134352", "attributes": (("99", "a"), ("99", "b"))}, "重复"),
        ({"gtin": "9506000134352", "attributes": (("89", "a"),)}, "89"),
    ],
)
def test_invalid_links_cannot_be_built(kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidDigitalLink, match=reason):
        DigitalLink(**kwargs)  # type: ignore[arg-type]


def test_url_needs_an_http_base() -> None:
    link = DigitalLink("9506000134352")
    for base in ("", "trace.example.cn", "ftp://trace.example.cn", "https://"):
        with pytest.raises(ValueError, match="基础地址"):
            link.url(base)


def test_expiry() -> None:
    link = DigitalLink("9506000134352", lot="L1", attributes=(("99", "x"),))
    dated = link.with_expiry(date(2025, 12, 31))
    assert dated.expiry == date(2025, 12, 31)
    assert dated.url(BASE) == BASE + "/01/09506000134352/10/L1?17=251231&99=x"
    assert dated.element_string() == "^010950600013435210L1^1725123199x"
    assert dated.with_expiry(date(2026, 1, 5)).attributes == (("17", "260105"), ("99", "x"))
    assert link.expiry is None
    # Day 00 means the month's last day (GS1 General Specifications 7.12).
    assert parse(BASE + "/01/09506000134352?17=240200").expiry == date(2024, 2, 29)
    assert parse(BASE + "/01/09506000134352?17=250200").expiry == date(2025, 2, 28)


@pytest.mark.parametrize(
    ("yy", "today", "year"),
    [
        (25, date(2025, 6, 1), 2025),
        (75, date(2025, 6, 1), 2075),  # up to 50 years ahead
        (76, date(2025, 6, 1), 1976),  # more than 50 ahead: last century
        (10, date(2095, 6, 1), 2110),  # 85 years back: next century
        (45, date(2095, 6, 1), 2145),
        (46, date(2095, 6, 1), 2046),
    ],
)
def test_two_digit_years_follow_the_gs1_century_rule(yy: int, today: date, year: int) -> None:
    value = f"{yy:02d}0229"
    expected = date(year, 2, 29) if calendar.isleap(year) else None
    assert _yymmdd(value, today) == expected
    assert _yymmdd(f"{yy:02d}0300", today) == date(year, 3, 31)


# --- Parsing -----------------------------------------------------------------------------------


def _vectors() -> list[dict[str, object]]:
    if not VECTORS.exists():
        pytest.skip(f"GS1 Digital Link test vectors not found at {VECTORS}")
    return json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]


def test_gs1_parse_vectors() -> None:
    vectors = _vectors()
    rejected, parsed, as_trade_item = [], [], []
    unknown: dict[str, str] = {}
    for case in vectors:
        uri, expected = str(case["uri"]), str(case["element_string"])
        if not case["valid"]:
            with pytest.raises(InvalidDigitalLink):
                parse_ai_pairs(uri)
            with pytest.raises(InvalidDigitalLink):
                parse(uri)
            rejected.append(uri)
            continue
        try:
            pairs = parse_ai_pairs(uri)
        except UnknownAI as exc:
            unknown[uri] = exc.ai
            continue
        assert build_element_string(pairs) == expected, uri
        parsed.append(uri)
        if pairs[0][0] == "01" and "235" not in dict(pairs):
            assert parse(uri).element_string() == expected, uri
            as_trade_item.append(uri)
        else:
            with pytest.raises(InvalidDigitalLink):
                parse(uri)

    # Only AI (89) is skipped: it is no GS1 AI, and GS1's engine takes the two URIs that use it
    # as valid only with its "permit unknown AIs" option (the same URIs are also listed invalid).
    assert set(unknown.values()) == {"89"}
    valid = [c for c in vectors if c["valid"]]
    assert len(rejected) == len(vectors) - len(valid)
    assert len(parsed) + len(unknown) == len(valid)
    # The stored file (56 vectors): all 12 invalid ones rejected, 42 of the 44 valid ones parsed,
    # 25 of those with a GTIN key into a DigitalLink.
    assert (len(rejected), len(parsed), len(as_trade_item), len(unknown)) == (12, 42, 25, 2)
    # Every valid vector made only of AIs 01, 10 and 21 (plus query data) parses as a trade item.
    simple = [
        str(c["uri"])
        for c in valid
        if re.search(r"/01/\d+(/(10|21)/[^/?#]+)*([?#]|$)", str(c["uri"]))
        and not re.search(r"[?&]89=", str(c["uri"]))
    ]
    assert len(simple) >= 10
    assert set(simple) <= set(as_trade_item)


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("https://a/01/9506000134353", "校验位"),
        ("https://a/01/95060001343", "长度"),
        ("https://a/01/9506000134352/10/A/22/B", "顺序"),
        ("https://a/01/9506000134352/21/S/10/L", "顺序"),
        ("https://a/01/9506000134352/254/X", "不允许"),  # a GLN qualifier
        ("https://a/01/9506000134352/17/251231", "查询参数"),  # data attribute in the path
        ("https://a/01/9506000134352/10/A?10=B", "重复"),
        ("https://a/01/9506000134352?17=251231&17=251231", "重复"),
        ("https://a/01/9506000134352?17=251301", "日期"),
        ("https://a/01/9506000134352?17=250230", "日期"),
        ("https://a/01/9506000134352?17=", "长度"),
        ("https://a/01/9506000134352?3103=1.5000", "数字"),
        ("https://a/01/9506000134352/10/%zz", "百分号"),
        ("https://a/01/9506000134352/10/A%2", "百分号"),
        ("https://a/01/9506000134352/10/%E6%89", "百分号"),  # half a UTF-8 character
        ("https://a/01/9506000134352/10/%E6%89%B9", "不允许的字符"),  # 批, encoded
        ("https://a/01/9506000134352/10/批", "不允许的字符"),
        ("https://a/01/9506000134352/10/A B", "不允许的字符"),
        ("https://a/01/9506000134352/10/123456789012345678901", "最多 20 位"),
        ("https://a/01/9506000134352/10/", "长度"),
        ("https://a/01/9506000134352?1=x", "AI (1)"),
        ("javascript://a/01/9506000134352", "http"),
        ("https://user@:8080/01/9506000134352", "域名"),
        ("https://a/products/2024/apple", "主标识"),
    ],
)
def test_parser_rejections_say_why(uri: str, reason: str) -> None:
    with pytest.raises(InvalidDigitalLink, match=re.escape(reason)):
        parse(uri)


def test_parse_accepts_what_scanners_send() -> None:
    link = DigitalLink("9506000134352", lot="L-1", serial="S1")
    for uri in (
        "HTTPS://trace.example.cn:443/01/9506000134352/10/L-1/21/S1",
        "https://trace.example.cn/p/q/01/09506000134352/10/L%2d1/21/S1#top",
        "https://trace.example.cn/01/9506000134352/10/L-1/21/S1?utm_source=wx&from=qr",
        "https://trace.example.cn/01/9506000134352/21/S1?10=L-1",  # lot in the query
        "http://[::1]:8000/01/9506000134352/10/L-1/21/S1",
    ):
        assert parse(uri) == link, uri


def test_parse_wants_a_trade_item() -> None:
    sscc = "https://a/00/006141411234567890"
    assert parse_ai_pairs(sscc) == (("00", "006141411234567890"),)
    with pytest.raises(InvalidDigitalLink, match=r"AI \(00\)"):
        parse(sscc)
    with pytest.raises(InvalidDigitalLink, match="235"):
        parse("https://a/01/12312312312333/235/TEST")


# --- Serials -----------------------------------------------------------------------------------

GTIN = "6901234567892"
LOT = "B2024-07"


@pytest.mark.parametrize("number", [0, 1, 41, 999_999, MAX_SERIAL_NUMBER])
def test_serial_round_trip(number: int) -> None:
    serial = make_serial(SECRET, GTIN, LOT, number)
    assert len(serial) == SERIAL_LENGTH <= 20
    assert re.fullmatch(r"[0-9A-Z]+", serial)
    assert check_serial(SECRET, GTIN, LOT, serial) == number
    # The 14-digit form of the GTIN is the same product.
    assert check_serial(SECRET, "0" + GTIN, LOT, serial) == number
    # The serial is a valid AI (21) value and survives a trip through a link.
    link = DigitalLink(GTIN, lot=LOT, serial=serial)
    assert check_serial(SECRET, GTIN, LOT, parse(link.url(BASE)).serial or "") == number


def test_serial_is_bound_to_secret_gtin_and_lot() -> None:
    serial = make_serial(SECRET, GTIN, LOT, 7)
    assert check_serial(SECRET, GTIN, "B2024-08", serial) is None
    assert check_serial(SECRET, "9506000134352", LOT, serial) is None
    assert check_serial(b"another-secret-of-16-bytes", GTIN, LOT, serial) is None
    assert make_serial(SECRET, GTIN, "B2024-08", 7) != serial


def test_tampered_serials_are_rejected() -> None:
    serial = make_serial(SECRET, GTIN, LOT, 12345)
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    for i, c in enumerate(serial):
        for replacement in (
            alphabet[(alphabet.index(c) + 1) % 32],
            alphabet[alphabet.index(c) ^ 16],
        ):
            tampered = serial[:i] + replacement + serial[i + 1 :]
            assert check_serial(SECRET, GTIN, LOT, tampered) is None, (i, tampered)
    # Enumerating: the next number with a seen MAC is not a serial.
    following = make_serial(SECRET, GTIN, LOT, 12346)
    assert check_serial(SECRET, GTIN, LOT, following[:6] + serial[6:]) is None
    for junk in ("", serial[:-1], serial + "0", serial[:-1] + "U", serial[:-1] + "é", None):
        assert check_serial(SECRET, GTIN, LOT, junk) is None  # type: ignore[arg-type]


def test_serials_typed_by_hand_are_accepted() -> None:
    serial = make_serial(SECRET, GTIN, LOT, 0)  # starts with 000000
    assert serial.startswith("000000")
    typed = "OoO0o0" + serial[6:].lower()
    assert check_serial(SECRET, GTIN, LOT, typed) == 0
    number_one = make_serial(SECRET, GTIN, LOT, 1)
    assert check_serial(SECRET, GTIN, LOT, "00000" + "l" + number_one[6:]) == 1
    assert check_serial(SECRET, GTIN, LOT, "00000" + "I" + number_one[6:]) == 1


def test_ten_thousand_serials_are_unique_and_unrelated() -> None:
    serials = [make_serial(SECRET, GTIN, LOT, n) for n in range(10_000)]
    assert len(set(serials)) == 10_000
    macs = [s[6:] for s in serials]
    assert len(set(macs)) == 10_000
    # Consecutive numbers share no MAC prefix worth mentioning (a counter would).
    shared = sum(a[:3] == b[:3] for a, b in itertools.pairwise(macs))
    assert shared < 10
    assert all(check_serial(SECRET, GTIN, LOT, s) == n for n, s in enumerate(serials[:500]))


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((b"short", GTIN, LOT, 1), "16字节"),
        (("a str secret of 16+", GTIN, LOT, 1), "16字节"),
        ((SECRET, "6901234567893", LOT, 1), "GTIN"),
        ((SECRET, GTIN, "批次", 1), "不允许的字符"),
        ((SECRET, GTIN, LOT, -1), "之间"),
        ((SECRET, GTIN, LOT, MAX_SERIAL_NUMBER + 1), "之间"),
        ((SECRET, GTIN, LOT, "1"), "整数"),
    ],
)
def test_make_serial_rejects(args: tuple[object, ...], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        make_serial(*args)  # type: ignore[arg-type]
