"""What a report is asked for: a date range, a village, a granularity; and whose figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from farmgate.errors import ValidationFailed
from farmgate.models.labels import Labelled, labelled
from farmgate.timeutil import local_today


@labelled({"day": "按日", "week": "按周", "month": "按月"})
class Granularity(Labelled):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


MAX_DAYS = 1100  # about three years: a plan's whole period, and still a bounded query
DEFAULT_DAYS = 30
# Dates outside these are typing mistakes, and date arithmetic near year 1 or 9999 overflows.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


@dataclass(frozen=True)
class ReportFilters:
    """Which days (Asia/Shanghai, both ends included), which village, and how to bucket."""

    date_from: date
    date_to: date
    village_id: int | None = None
    granularity: Granularity = Granularity.DAY

    def __post_init__(self) -> None:
        if self.date_from > self.date_to:
            raise ValidationFailed(
                "开始日期不能晚于结束日期", fields={"date_from": "应不晚于结束日期"}
            )
        if (self.date_to - self.date_from).days >= MAX_DAYS:
            raise ValidationFailed(
                "时间范围不能超过三年", fields={"date_to": f"最多 {MAX_DAYS} 天"}
            )

    @classmethod
    def parse(
        cls,
        date_from: str | None = None,
        date_to: str | None = None,
        village_id: str | int | None = None,
        granularity: str | None = None,
    ) -> ReportFilters:
        """From query-string values; empty ones mean the last 30 days, every village, by day."""
        errors: dict[str, str] = {}

        def day(name: str, value: str | None, default: date) -> date:
            if not value:
                return default
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                errors[name] = "日期格式应为 YYYY-MM-DD"
                return default
            if not EARLIEST <= parsed <= LATEST:
                errors[name] = f"日期应在 {EARLIEST.year} 年至 {LATEST.year} 年之间"
                return default
            return parsed

        end = day("date_to", date_to, local_today())
        start = day("date_from", date_from, max(EARLIEST, end - timedelta(days=DEFAULT_DAYS - 1)))
        village: int | None = None
        if village_id is not None and village_id != "":
            if str(village_id).isdigit():
                village = int(village_id)
            else:
                errors["village_id"] = "村编号无效"
        if granularity and granularity not in {g.value for g in Granularity}:
            errors["granularity"] = "可选 day、week、month"
        if errors:
            raise ValidationFailed("筛选条件有误", fields=errors)
        return cls(start, end, village, Granularity(granularity or Granularity.DAY))

    def params(self) -> dict[str, str]:
        """The filters as query-string values (for export links)."""
        out = {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "granularity": str(self.granularity),
        }
        if self.village_id is not None:
            out["village_id"] = str(self.village_id)
        return out

    def buckets(self) -> list[tuple[date, date, str]]:
        """The trend's periods as (first day, last day, label), clipped to the range."""
        out, day = [], self.date_from
        while day <= self.date_to:
            if self.granularity == Granularity.DAY:
                last, label = day, day.isoformat()
            elif self.granularity == Granularity.WEEK:  # Monday to Sunday
                last = min(day + timedelta(days=6 - day.weekday()), self.date_to)
                label = f"{day.isoformat()}～{last.strftime('%m-%d')}"
            else:
                next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
                last = min(next_month - timedelta(days=1), self.date_to)
                label = day.strftime("%Y-%m")
            out.append((day, last, label))
            day = last + timedelta(days=1)
        return out


@dataclass(frozen=True)
class Scope:
    """Whose figures: the whole township (``cooperative_id`` None) or one cooperative."""

    cooperative_id: int | None
    name: str

    @property
    def township(self) -> bool:
        return self.cooperative_id is None
