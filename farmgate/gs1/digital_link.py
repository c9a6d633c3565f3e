"""GS1 Digital Link URIs and AI element strings: parsed, checked and built.

A Digital Link URI carries GS1 Application Identifiers (AIs) in a web address, e.g.
``https://trace.example.cn/01/09506000134352/10/B2024-07/21/3K8F2...``: a primary key (AI 01,
the GTIN) in the path, then its key qualifiers in the fixed order 22 / 10 / 21, then data
attributes (expiry date 17, weights 310n ...) in the query string. Anything before the primary
key is a free "stem" and anything after ``#`` is ignored.

Two layers:

- ``parse_ai_pairs`` / ``build_element_string`` handle every AI in ``_AI_FORMATS`` and every
  primary key in ``_DL_KEYS`` (SSCC, GLN, GIAI ...), the way a scanner would.
- ``DigitalLink`` / ``parse`` model the one kind of link farmgate prints: a trade item (AI 01)
  with an optional variant, lot and serial.

GTIN check digits are in ``gtin``, the unit serials printed in the links in ``serials``.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from typing import NoReturn
from urllib.parse import quote, unquote

from farmgate.gs1.gtin import check_digit_ok, is_digits, to_gtin14

# The "AI encodable character set 82" (GS1 General Specifications, figure 7.11-1).
CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)

# Element string syntax of the AIs we understand, in GS1's own notation: N = digits, X = CSET 82,
# "N14" fixed length, "X..20" 1-20 characters, "X0..17" 0-17; "csum" = the previous component
# ends in a mod-10 check digit, "date" = the previous component is YYMMDD (DD may be 00).
_AI_FORMATS: dict[str, str] = {
    "00": "N18 csum", "01": "N14 csum", "02": "N14 csum", "10": "X..20",
    "11": "N6 date", "12": "N6 date", "13": "N6 date", "15": "N6 date", "16": "N6 date",
    "17": "N6 date", "20": "N2", "21": "X..20", "22": "X..20", "235": "X..28",
    "240": "X..30", "241": "X..30", "250": "X..30", "251": "X..30",
    "253": "N13 csum X0..17", "254": "X..20", "255": "N13 csum N0..12", "30": "N..8",
    "37": "N..8", "400": "X..30", "401": "X..30", "402": "N17 csum", "403": "X..30",
    "422": "N3", "423": "N..15", "424": "N3", "425": "N..15", "426": "N3",
    "7003": "N10", "7006": "N6 date", "8004": "X..30", "8018": "N18 csum", "8019": "N..10",
    "8020": "X..25", "90": "X..30",
}  # fmt: skip
_AI_FORMATS |= {f"41{n}": "N13 csum" for n in range(8)}  # GLNs: ship to, bill to, ...
_AI_FORMATS |= {f"9{n}": "X..90" for n in range(1, 10)}  # company internal information
# Measures with an implied decimal point in the last digit: net weight kg (310n), length,
# width, depth, area, net volume l / m3 (311n-316n), gross weight kg (330n); prices 392n/393n.
_AI_FORMATS |= {f"{m}{n}": "N6" for m in (*range(310, 317), 330) for n in range(10)}
_AI_FORMATS |= {f"392{n}": "N..15" for n in range(10)} | {f"393{n}": "N3 N..15" for n in range(10)}

# AIs whose first two digits are in this table have a predefined length, so an element string
# needs no FNC1 separator after them (GS1 General Specifications, figure 7.8.5-2).
_PREDEFINED_LENGTH = frozenset(
    "00 01 02 03 04 11 12 13 14 15 16 17 18 19 20 31 32 33 34 35 36 41".split()
)

# Digital Link primary keys and the ordered key qualifiers each allows in the URI path.
_DL_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "00": (), "01": (("22", "10", "21"), ("235",)), "253": (), "255": (), "401": (),
    "402": (), "414": (("254",),), "417": (), "8004": (), "8018": (("8019",),),
}  # fmt: skip
_DL_QUALIFIERS = frozenset(ai for seqs in _DL_KEYS.values() for seq in seqs for ai in seq)

# Characters RFC 3986 allows anywhere in a URI (everything else must be percent-encoded).
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_COMPONENT = re.compile(r"([NX])(?:(\d*)(\.\.))?(\d+)")


class InvalidDigitalLink(ValueError):
    """A URI or an AI value that is not a valid GS1 Digital Link; the message says why."""


class UnknownAI(InvalidDigitalLink):
    """An application identifier that farmgate does not know (or that does not exist)."""

    def __init__(self, ai: str) -> None:
        super().__init__(f"无法识别的应用标识符 AI ({ai})")
        self.ai = ai


# --- AI values ---------------------------------------------------------------------------------


@cache
def _components(ai: str) -> tuple[tuple[str, int, int, frozenset[str]], ...]:
    """``_AI_FORMATS[ai]`` as (charset, min length, max length, flags) components."""
    parts: list[tuple[str, int, int, frozenset[str]]] = []
    for token in _AI_FORMATS[ai].split():
        if m := _COMPONENT.fullmatch(token):
            charset, low, dots, high = m.groups()
            minimum = int(low) if low else (1 if dots else int(high))
            parts.append((charset, minimum, int(high), frozenset()))
        else:  # a flag for the component before it
            charset, low_n, high_n, flags = parts[-1]
            parts[-1] = (charset, low_n, high_n, flags | {token})
    return tuple(parts)


def _full_year(yy: int, today: date) -> int:
    # GS1 General Specifications 7.12: the century that puts the year within -49..+50 of today.
    century, current = divmod(today.year, 100)
    diff = yy - current
    if diff >= 51:
        century -= 1
    elif diff <= -50:
        century += 1
    return century * 100 + yy


def _yymmdd(value: str, today: date | None = None) -> date | None:
    """The date a YYMMDD value stands for (DD 00 = end of month), or None if there is none."""
    year = _full_year(int(value[:2]), today or date.today())
    month, day = int(value[2:4]), int(value[4:6])
    if not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    if day > last:
        return None
    return date(year, month, day or last)


def validate_ai_value(ai: str, value: str) -> str:
    """Check ``value`` against the syntax of ``ai``; return it (short GTINs padded to 14)."""
    if ai not in _AI_FORMATS:
        raise UnknownAI(ai)
    if ai in ("01", "02") and is_digits(value) and len(value) in (8, 12, 13):
        value = value.zfill(14)
    components = _components(ai)
    pos = 0
    for charset, minimum, maximum, flags in components:
        part = value[pos : pos + maximum]
        pos += len(part)
        if not minimum <= len(part) <= maximum:
            span = f"{maximum}" if minimum == maximum else f"{minimum}–{maximum}"
            raise InvalidDigitalLink(f"AI ({ai}) 的值 {value!r} 长度不对：应为 {span} 位")
        if charset == "N" and part and not is_digits(part):
            raise InvalidDigitalLink(f"AI ({ai}) 的值 {value!r} 只能包含数字")
        if charset == "X" and not CSET82.issuperset(part):
            raise InvalidDigitalLink(f"AI ({ai}) 的值 {value!r} 含有 GS1 不允许的字符")
        if "csum" in flags and not check_digit_ok(part):
            raise InvalidDigitalLink(f"AI ({ai}) 的值 {value!r} 校验位不正确")
        if "date" in flags and _yymmdd(part) is None:
            raise InvalidDigitalLink(f"AI ({ai}) 的值 {value!r} 不是有效日期 (YYMMDD)")
    if pos != len(value):
        longest = sum(maximum for _, _, maximum, _ in components)
        raise InvalidDigitalLink(f"AI ({ai}) 的值 {value!r} 过长：最多 {longest} 位")
    return value


def build_element_string(pairs: Iterable[tuple[str, str]]) -> str:
    """The GS1 element string for (AI, value) pairs, ``^`` standing for FNC1."""
    pairs = list(pairs)
    out = ["^"]
    for i, (ai, value) in enumerate(pairs):
        out.append(ai + value)
        if i < len(pairs) - 1 and ai[:2] not in _PREDEFINED_LENGTH:
            out.append("^")
    return "".join(out)


# --- Digital Link URIs -------------------------------------------------------------------------


def _encode(value: str) -> str:
    # Everything but RFC 3986 "unreserved" is escaped: always safe in a path segment and a query.
    return quote(value, safe="")


def _decode(raw: str, ai: str) -> str:
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise InvalidDigitalLink(f"AI ({ai}) 的值百分号编码无效") from None


def parse_ai_pairs(uri: str) -> tuple[tuple[str, str], ...]:
    """Parse any Digital Link URI into its (AI, value) pairs: path first, then query order."""
    if not isinstance(uri, str) or not uri:  # type: ignore[redundant-expr]  # untyped callers
        raise InvalidDigitalLink("数字链接为空")
    if not _URI_CHARS.fullmatch(uri):
        raise InvalidDigitalLink("数字链接含有网址中不允许的字符（需百分号编码）")
    if _BAD_PERCENT.search(uri):
        raise InvalidDigitalLink("数字链接的百分号编码不完整")
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise InvalidDigitalLink("数字链接必须以 http:// 或 https:// 开头")
    rest = rest.partition("#")[0]
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    hostname = re.sub(r":\d*$", "", authority.rpartition("@")[2])
    if not hostname:
        raise InvalidDigitalLink("数字链接缺少域名")
    if not slash:
        raise InvalidDigitalLink("数字链接缺少路径")

    # The primary key is found from the right: walk back over (qualifier, value) pairs until a
    # primary key; whatever lies before it is the stem, which may itself look like AIs.
    segments = path.split("/")
    start = len(segments) - 2
    while start >= 0 and segments[start] in _DL_QUALIFIERS:
        start -= 2
    if start < 0 or segments[start] not in _DL_KEYS:
        _explain_missing_key(segments, start)
    key = segments[start]
    raw_path = list(zip(segments[start::2], segments[start + 1 :: 2], strict=True))
    qualifiers = [ai for ai, _ in raw_path[1:]]
    if qualifiers and not any(_in_order(qualifiers, seq) for seq in _DL_KEYS[key]):
        raise InvalidDigitalLink(f"AI ({key}) 后的限定符 {'/'.join(qualifiers)} 不允许或顺序不对")

    pairs = [(ai, validate_ai_value(ai, _decode(raw, ai))) for ai, raw in raw_path]
    for param in query.split("&"):
        name, eq, raw = param.partition("=")
        # Parameters that are not AIs (utm_source=..., bare flags) belong to someone else.
        if eq and is_digits(name):
            pairs.append((name, validate_ai_value(name, _decode(raw, name))))

    seen: set[str] = set()
    for ai, _ in pairs:
        if ai in seen:
            raise InvalidDigitalLink(f"AI ({ai}) 在数字链接中重复出现")
        seen.add(ai)
    return tuple(pairs)


def _explain_missing_key(segments: list[str], stop: int) -> NoReturn:
    # Where the walk stopped right after a primary key and its value, the segment there was
    # meant as an AI: say what is wrong with it rather than that there is no key at all.
    if stop >= 2 and segments[stop - 2] in _DL_KEYS and is_digits(segments[stop]):
        ai, key = segments[stop], segments[stop - 2]
        if ai not in _AI_FORMATS:
            raise UnknownAI(ai)
        raise InvalidDigitalLink(f"AI ({ai}) 不能放在 AI ({key}) 后的路径中，应放在查询参数里")
    raise InvalidDigitalLink("数字链接路径中没有主标识（例如 /01/商品条码）")


def _in_order(qualifiers: list[str], allowed: tuple[str, ...]) -> bool:
    positions = [allowed.index(ai) if ai in allowed else -1 for ai in qualifiers]
    return -1 not in positions and all(a < b for a, b in itertools.pairwise(positions))


_DL_FIELDS = {"22": "variant", "10": "lot", "21": "serial"}


@dataclass(frozen=True)
class DigitalLink:
    """A GS1 Digital Link for a trade item: GTIN, optional variant (22), lot (10), serial (21).

    ``attributes`` holds further data attributes for the query string in their order, e.g.
    ``(("17", "251231"), ("3103", "000500"))``; ``with_expiry`` adds the expiry date.
    """

    gtin: str
    lot: str | None = None
    serial: str | None = None
    variant: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        try:
            gtin = to_gtin14(self.gtin)
        except ValueError as exc:
            raise InvalidDigitalLink(str(exc)) from None
        object.__setattr__(self, "gtin", gtin)
        for ai, name in _DL_FIELDS.items():
            value = getattr(self, name)
            if value is not None:
                validate_ai_value(ai, value)
        attributes = tuple((ai, validate_ai_value(ai, v)) for ai, v in self.attributes)
        object.__setattr__(self, "attributes", attributes)
        names = [ai for ai, _ in attributes]
        for ai in names:
            if ai in ("01", "235", *_DL_FIELDS):
                raise InvalidDigitalLink(f"AI ({ai}) 属于路径部分，不能作为附加属性")
            if names.count(ai) > 1:
                raise InvalidDigitalLink(f"AI ({ai}) 在数字链接中重复出现")

    def _path_pairs(self) -> list[tuple[str, str]]:
        qualifiers = [(ai, getattr(self, name)) for ai, name in _DL_FIELDS.items()]
        return [("01", self.gtin), *((ai, v) for ai, v in qualifiers if v is not None)]

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """All (AI, value) pairs: GTIN, qualifiers, then attributes."""
        return (*self._path_pairs(), *self.attributes)

    def path(self) -> str:
        """``/01/{gtin14}[/22/{variant}][/10/{lot}][/21/{serial}]``, values percent-encoded."""
        return "".join(f"/{ai}/{_encode(value)}" for ai, value in self._path_pairs())

    def query(self) -> str:
        """The data attributes as a query string (without ``?``); empty if there are none."""
        return "&".join(f"{ai}={_encode(value)}" for ai, value in self.attributes)

    def url(self, base: str) -> str:
        """The full URI on the resolver at ``base`` (e.g. ``https://trace.example.cn``)."""
        if not re.match(r"https?://[^/?#]+", base or "", re.IGNORECASE):
            raise ValueError("数字链接的基础地址必须是 http(s)://域名")
        query = self.query()
        return base.rstrip("/") + self.path() + (f"?{query}" if query else "")

    def element_string(self) -> str:
        """The GS1 element string (``^`` for FNC1), as printed in a GS1 DataMatrix or GS1-128."""
        return build_element_string(self.pairs())

    @property
    def expiry(self) -> date | None:
        """The expiry date (AI 17), a day 00 meaning the last day of that month."""
        value = dict(self.attributes).get("17")
        return _yymmdd(value) if value else None

    def with_expiry(self, expiry: date) -> DigitalLink:
        """A copy with AI 17 set to ``expiry`` (replacing any previous one)."""
        rest = tuple((ai, v) for ai, v in self.attributes if ai != "17")
        return replace(self, attributes=(("17", expiry.strftime("%y%m%d")), *rest))


def parse(uri: str) -> DigitalLink:
    """Parse a trade-item Digital Link URI; raise InvalidDigitalLink saying what is wrong."""
    pairs = parse_ai_pairs(uri)
    if pairs[0][0] != "01":
        raise InvalidDigitalLink(f"不是商品数字链接：主标识是 AI ({pairs[0][0]})，应为 AI (01)")
    fields: dict[str, str] = {}
    attributes = []
    for ai, value in pairs[1:]:
        if ai in _DL_FIELDS:
            fields[_DL_FIELDS[ai]] = value
        elif ai == "235":
            raise InvalidDigitalLink("暂不支持 AI (235) 第三方序列号")
        else:
            attributes.append((ai, value))
    return DigitalLink(
        gtin=pairs[0][1],
        lot=fields.get("lot"),
        serial=fields.get("serial"),
        variant=fields.get("variant"),
        attributes=tuple(attributes),
    )
