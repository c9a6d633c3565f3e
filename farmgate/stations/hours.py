"""A station's opening hours: one opening a day per weekday, in the township's time zone.

Stored as ``{"1": ["08:00", "18:00"], ..., "7": [...]}`` (ISO weekday, Monday = 1); a weekday
that is missing is a day off (休息). The hours are information, never a gate: a buyer may choose
a station for pickup at any hour (the parcel waits there), and only a station marked closed
(暂停服务) or not holding parcels is refused (stations.orders.open_station). What the hours
answer is "is it open now?" and "when does it open next?", for the buyer and the staff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from farmgate.db import utcnow
from farmgate.models import Station
from farmgate.timeutil import LOCAL_TZ

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
DEFAULT_OPEN, DEFAULT_CLOSE = "08:00", "18:00"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

WeeklyHours = dict[str, list[str]]


def default_hours() -> WeeklyHours:
    """Every day 08:00–18:00: what a new station starts with."""
    return {str(day): [DEFAULT_OPEN, DEFAULT_CLOSE] for day in range(1, 8)}


def _clean_time(raw: str) -> str:
    """ "8:00", "８：００", "0800" -> "08:00" where the meaning is plain; else as typed."""
    text = raw.strip().translate(str.maketrans("０１２３４５６７８９：", "0123456789:"))
    if re.fullmatch(r"\d{4}", text):
        text = f"{text[:2]}:{text[2:]}"
    if re.fullmatch(r"\d:\d\d", text):
        text = "0" + text
    return text


# --- the console's form: open_<d>, close_<d>, rest_<d> per ISO weekday -------------------


def form_values(hours: WeeklyHours) -> dict[str, str]:
    """The form's fields for ``hours`` (a day off: its box ticked, its times left blank)."""
    values: dict[str, str] = {}
    for day in range(1, 8):
        opening = hours.get(str(day))
        if opening:
            values[f"open_{day}"], values[f"close_{day}"] = opening
        else:
            values[f"rest_{day}"] = "1"
    return values


def from_form(values: dict[str, str]) -> tuple[WeeklyHours, dict[str, str]]:
    """The hours the form says, and a message per wrong field (named like the field)."""
    hours: WeeklyHours = {}
    errors: dict[str, str] = {}
    for day, name in enumerate(WEEKDAYS, start=1):
        if values.get(f"rest_{day}") == "1":
            continue
        opens = _clean_time(values.get(f"open_{day}", ""))
        closes = _clean_time(values.get(f"close_{day}", ""))
        if not _HHMM.match(opens):
            errors[f"open_{day}"] = f"{name}开门时间请按 08:00 的格式填写；不营业请勾选「休息」"
        if not _HHMM.match(closes):
            errors[f"close_{day}"] = f"{name}关门时间请按 18:00 的格式填写"
        elif f"open_{day}" not in errors and closes <= opens:
            errors[f"close_{day}"] = f"{name}关门时间要晚于开门时间（{opens}）"
        if f"open_{day}" not in errors and f"close_{day}" not in errors:
            hours[str(day)] = [opens, closes]
    if not errors and not hours:
        errors["open_1"] = "至少要有一天营业；暂时不营业请勾选下面的「暂停服务」"
    return hours, errors


# --- reading them -------------------------------------------------------------------------


def _opening(hours: Any, day: date) -> tuple[datetime, datetime] | None:
    """When the station opens and closes on local calendar ``day`` (None: a day off)."""
    found = hours.get(str(day.isoweekday())) if isinstance(hours, dict) else None
    if not found or len(found) != 2:
        return None
    opens, closes = (time.fromisoformat(t) for t in found)
    return datetime.combine(day, opens, LOCAL_TZ), datetime.combine(day, closes, LOCAL_TZ)


def is_open(hours: WeeklyHours, at: datetime) -> bool:
    """Within the day's opening hours at ``at`` (a flag such as 暂停服务 is not looked at)."""
    local = at.astimezone(LOCAL_TZ)
    today = _opening(hours, local.date())
    return today is not None and today[0] <= local < today[1]


def next_opening(hours: WeeklyHours, after: datetime) -> tuple[datetime, datetime] | None:
    """The next opening (opens, closes) that has not ended by ``after``: today's while it
    lasts, else the next day's. None when no weekday has hours."""
    local = after.astimezone(LOCAL_TZ)
    for ahead in range(8):
        opening = _opening(hours, local.date() + timedelta(days=ahead))
        if opening is not None and opening[1] > local:
            return opening
    return None


def _day_words(day: date, today: date) -> str:
    if day == today:
        return "今天"
    if day == today + timedelta(days=1):
        return f"明天（{WEEKDAYS[day.weekday()]}）"
    return f"{WEEKDAYS[day.weekday()]}（{day.month}月{day.day}日）"


def summary(hours: WeeklyHours) -> str:
    """The week in a line: 每天 08:00–18:00; 周一至周五 08:00–18:00，周六、周日休息."""
    spans: list[tuple[int, int, str]] = []  # (first day, last day, hours text)
    for day in range(1, 8):
        found = hours.get(str(day))
        text = f"{found[0]}–{found[1]}" if found else "休息"
        if spans and spans[-1][2] == text and spans[-1][1] == day - 1:
            spans[-1] = (spans[-1][0], day, text)
        else:
            spans.append((day, day, text))
    if len(spans) == 1:
        return "每天休息" if spans[0][2] == "休息" else f"每天 {spans[0][2]}"
    parts = []
    for first, last, text in spans:
        if first == last:
            days = WEEKDAYS[first - 1]
        elif last == first + 1:
            days = f"{WEEKDAYS[first - 1]}、{WEEKDAYS[last - 1]}"
        else:
            days = f"{WEEKDAYS[first - 1]}至{WEEKDAYS[last - 1]}"
        parts.append(f"{days}{text}" if text == "休息" else f"{days} {text}")
    return "，".join(parts)


@dataclass(frozen=True)
class HoursStatus:
    """Is the station open now, and in words: what the buyer's and the staff's pages say."""

    open_now: bool
    suspended: bool  # marked 暂停服务 in the console
    text: str  # the whole answer, e.g. 营业中，今天 18:00 关门
    next_opens_at: datetime | None = None  # when it is not open now
    next_open_text: str = ""  # 明天（周二）08:00
    closes_text: str = ""  # today's closing time while open: 18:00


def status(
    hours: WeeklyHours, *, suspended: bool = False, now: datetime | None = None
) -> HoursStatus:
    now = now or utcnow()
    if suspended:
        return HoursStatus(False, True, "暂停服务，恢复时间请联系服务站")
    today = now.astimezone(LOCAL_TZ).date()
    upcoming = next_opening(hours, now)
    if upcoming is None:
        return HoursStatus(False, False, "暂未设定营业时间，请先电话联系服务站")
    opens, closes = upcoming
    if opens <= now:
        closing = f"{closes:%H:%M}"
        return HoursStatus(True, False, f"营业中，今天 {closing} 关门", closes_text=closing)
    day = _day_words(opens.date(), today)
    when = f"{day}{'' if day.endswith('）') else ' '}{opens:%H:%M}"
    return HoursStatus(False, False, f"现在不在营业时间，{when} 开门", opens, next_open_text=when)


def station_status(station: Station, now: datetime | None = None) -> HoursStatus:
    """``status`` of a Station row (its hours and its 暂停服务 flag)."""
    return status(station.weekly_hours, suspended=station.is_closed, now=now)
