"""Temperature profiles by storage class, excursion detection and mean kinetic temperature.

Pure domain code: readings in, an ``Analysis`` out; the database layer maps rows onto them.

Ranges. GB/T 24616-2019 (冷藏、冷冻食品物流包装、标志、运输和储存) defines chilled food as kept
"在 8 ℃ 以下、冻结点以上" and frozen food as kept "≤ -18 ℃". Chinese legal usage counts a
bound written 以上/以下 as included (民法典 第一千二百五十九条), so every range here is closed:
a reading is in range when ``min_c <= t <= max_c``. Defaults:

- ``chilled`` 冷藏: 0 °C to 8 °C, both included. The standard's lower bound is the product's
  freezing point (冻结点), which lies at or just below 0 °C for fresh produce, fish and meat;
  0 °C is the cautious default. A product with its own limits overrides it.
- ``frozen`` 冷冻: at or below -18 °C; no lower bound.
- ``ambient`` 常温: no limits, unless the caller passes a generous ``ambient_max_c``.

Delays (operating defaults, not from the standard; configurable per product): one excursion
breaches once it lasts *longer than* 30 minutes; the total time out of range breaches once it
is *longer than* 2 hours. Exactly 30 minutes, or exactly 2 hours, is not a breach.

Time attribution. A logger samples, and its value stands until the next sample, so the
interval from one reading to the next belongs to the earlier reading: it counts as out of
range when that reading is. The last reading contributes no time. An excursion runs from its
first out-of-range reading to the next reading back in range (or the last reading).

Readings may arrive in any order; they are sorted by time. Readings that share one instant are
merged into one sample for everything that weighs time (excursions, time out, MKT), taking the
worst value: the highest reading above the range, else the lowest below it, else their mean.
Count, minimum, maximum and the arithmetic mean are over every reading as given.

Mean kinetic temperature is time-weighted with the same attribution (the USP <1079.2> formula
with each sample weighted by the time it stands for), ΔH/R = 83.144 kJ/mol ÷ 8.3144 J/mol/K =
10,000 K. With a single instant, MKT is that instant's (merged) temperature. MKT is
never below the time-weighted mean (Jensen's inequality) and equals it for a constant
temperature; with uneven spacing it can sit below the per-reading arithmetic mean.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from farmgate.gs1.epcis import SensorReport

DELTA_H_OVER_R = 83_144 / 8.3144  # kelvin: activation energy 83.144 kJ/mol over R
KELVIN = 273.15
SINGLE_DELAY = timedelta(minutes=30)
CUMULATIVE_LIMIT = timedelta(hours=2)
STORAGE_CLASSES = ("ambient", "chilled", "frozen")

Direction = Literal["high", "low"]


@dataclass(frozen=True)
class Profile:
    """The allowed range (closed; ``None`` = unbounded) and how long it may be left."""

    min_c: float | None
    max_c: float | None
    single_delay: timedelta = SINGLE_DELAY
    cumulative_limit: timedelta = CUMULATIVE_LIMIT

    def __post_init__(self) -> None:
        if self.min_c is not None and self.max_c is not None and self.min_c > self.max_c:
            raise ValueError(f"profile minimum {self.min_c} is above its maximum {self.max_c}")
        if self.single_delay < timedelta(0) or self.cumulative_limit < timedelta(0):
            raise ValueError("profile delays cannot be negative")

    def direction(self, celsius: float) -> Direction | None:
        """``"high"`` / ``"low"`` when the temperature is out of range, else ``None``."""
        if self.max_c is not None and celsius > self.max_c:
            return "high"
        if self.min_c is not None and celsius < self.min_c:
            return "low"
        return None


def default_profile(storage_class: str, *, ambient_max_c: float | None = None) -> Profile:
    """GB/T 24616-2019 ranges with the default delays (see the module docstring)."""
    if storage_class == "chilled":
        return Profile(min_c=0.0, max_c=8.0)
    if storage_class == "frozen":
        return Profile(min_c=None, max_c=-18.0)
    if storage_class == "ambient":
        return Profile(min_c=None, max_c=ambient_max_c)
    raise ValueError(f"unknown storage class {storage_class!r}; expected one of {STORAGE_CLASSES}")


@dataclass(frozen=True)
class Reading:
    time: datetime
    celsius: float

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError("reading times must be timezone-aware")
        if not math.isfinite(self.celsius):
            raise ValueError(f"reading at {self.time.isoformat()} is not a number")


@dataclass(frozen=True)
class Excursion:
    start: datetime
    end: datetime
    direction: Direction
    peak_c: float  # the highest reading of a high excursion, the lowest of a low one

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class Analysis:
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    min_c: float | None = None
    max_c: float | None = None
    mean_c: float | None = None  # arithmetic, over every reading
    mkt_c: float | None = None
    excursions: tuple[Excursion, ...] = field(default_factory=tuple)
    time_out: timedelta = timedelta(0)
    single_breach: bool = False
    cumulative_breach: bool = False

    @property
    def breached(self) -> bool:
        return self.single_breach or self.cumulative_breach


def _samples(readings: Sequence[Reading], profile: Profile | None) -> list[Reading]:
    """Sorted by time, one per instant (the worst value; see the module docstring)."""
    merged: list[Reading] = []
    ordered = sorted(readings, key=lambda r: r.time)
    for at, group in itertools.groupby(ordered, key=lambda r: r.time):
        values = [r.celsius for r in group]
        if profile is not None:
            high = [v for v in values if profile.direction(v) == "high"]
            low = [v for v in values if profile.direction(v) == "low"]
            if high or low:
                merged.append(Reading(at, max(high) if high else min(low)))
                continue
        merged.append(Reading(at, math.fsum(values) / len(values)))
    return merged


def mean_kinetic_temperature(
    readings: Sequence[Reading], profile: Profile | None = None
) -> float | None:
    """Time-weighted MKT in °C (see the module docstring); ``None`` without readings."""
    if not readings:
        return None
    samples = _samples(readings, profile)
    if len(samples) == 1:
        return samples[0].celsius
    weights = [(b.time - a.time).total_seconds() for a, b in itertools.pairwise(samples)]
    samples = samples[:-1]  # the last sample stands for no time
    total = math.fsum(weights)
    # exp(-ΔH/RT) is around 1e-16 at fridge temperatures: still far above float's minimum.
    acc = math.fsum(
        w * math.exp(-DELTA_H_OVER_R / (r.celsius + KELVIN))
        for w, r in zip(weights, samples, strict=True)
    )
    return DELTA_H_OVER_R / -math.log(acc / total) - KELVIN


def _excursions(samples: list[Reading], profile: Profile) -> tuple[list[Excursion], timedelta]:
    excursions: list[Excursion] = []
    time_out = timedelta(0)
    start: Reading | None = None
    direction: Direction | None = None
    peak = 0.0
    for here, after in zip(samples, [*samples[1:], None], strict=True):
        now = profile.direction(here.celsius)
        if start is not None and direction is not None and now != direction:
            excursions.append(Excursion(start.time, here.time, direction, peak))
            start = None
        if now is not None:
            if after is not None:
                time_out += after.time - here.time
            if start is None:
                start, direction, peak = here, now, here.celsius
            else:
                peak = max(peak, here.celsius) if now == "high" else min(peak, here.celsius)
    if start is not None and direction is not None:
        excursions.append(Excursion(start.time, samples[-1].time, direction, peak))
    return excursions, time_out


def analyse(readings: Sequence[Reading], profile: Profile) -> Analysis:
    """Statistics, excursions and breaches of a series of readings against a profile."""
    if not readings:
        return Analysis()
    samples = _samples(readings, profile)
    values = [r.celsius for r in readings]
    excursions, time_out = _excursions(samples, profile)
    return Analysis(
        count=len(readings),
        first=samples[0].time,
        last=samples[-1].time,
        min_c=min(values),
        max_c=max(values),
        mean_c=math.fsum(values) / len(values),
        mkt_c=mean_kinetic_temperature(samples),
        excursions=tuple(excursions),
        time_out=time_out,
        single_breach=any(e.duration > profile.single_delay for e in excursions),
        cumulative_breach=time_out > profile.cumulative_limit,
    )


def sensor_report(analysis: Analysis, device_id: str | None = None) -> SensorReport:
    """The analysis as an EPCIS temperature summary; ``ALARM_CONDITION`` when it breached.

    ``device_id`` must be a URI by the time the report goes into an EPCIS document.
    """

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return SensorReport(
        type="Temperature",
        min_value=rounded(analysis.min_c),
        max_value=rounded(analysis.max_c),
        mean_value=rounded(analysis.mean_c),
        uom="CEL",
        exception="ALARM_CONDITION" if analysis.breached else None,
        start_time=analysis.first,
        end_time=analysis.last,
        device_id=device_id,
    )
