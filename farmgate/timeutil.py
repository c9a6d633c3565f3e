"""Display helpers: store UTC, show Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from farmgate.config import settings

LOCAL_TZ = ZoneInfo(settings.timezone)


def to_local(value: datetime) -> datetime:
    return value.astimezone(LOCAL_TZ)


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if value is None else to_local(value).strftime(fmt)


def local_today() -> date:
    """Today's date where the township is (not in UTC: 00:00-08:00 Beijing is still "yesterday")."""
    return datetime.now(LOCAL_TZ).date()
