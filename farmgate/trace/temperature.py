"""Temperature profiles by storage class, excursion detection and mean kinetic temperature.

Defaults follow GB/T 24616-2019 (冷藏、冷冻食品物流包装、标志、运输和储存): chilled goods are kept
above freezing and below 8 °C (0 < t < 8; a reading of exactly 0 or 8 is out of range),
frozen goods at or below -18 °C (t <= -18). Ambient goods have no limits. The delays are
operating defaults, configurable per product: a single excursion counts once it lasts longer
than 30 minutes; the cumulative limit is 2 hours out of range over a shipment.

Time attribution: the interval from one reading to the next belongs to the earlier reading
(a logger samples, then the value holds until the next sample); the last reading contributes
no time. Mean kinetic temperature is time-weighted the same way (ΔH/R = 83.144 kJ/mol ÷
8.3144 J/mol/K = 10,000 K); with one reading (or no elapsed time) it is that reading.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

DELTA_H_OVER_R = 83_144 / 8.3144  # kelvin
KELVIN = 273.15


@dataclass(frozen=True)
class Profile:
    min_c: float | None  # exclusive for chilled (must stay above), inclusive otherwise
    max_c: float | None
    single_delay: timedelta = timedelta(minutes=30)
    cumulative_limit: timedelta = timedelta(hours=2)
    min_exclusive: bool = False
    max_exclusive: bool = False

    def direction(self, celsius: float) -> Literal["high", "low"] | None:
        if self.max_c is not None and (
            celsius >= self.max_c if self.max_exclusive else celsius > self.max_c
        ):
            return "high"
        if self.min_c is not None and (
            celsius <= self.min_c if self.min_exclusive else celsius < self.min_c
        ):
            return "low"
        return None


def default_profile(storage_class: str) -> Profile:
    if storage_class == "chilled":
        return Profile(min_c=0, max_c=8, min_exclusive=True, max_exclusive=True)
    if storage_class == "frozen":
        return Profile(min_c=None, max_c=-18)
    return Profile(min_c=None, max_c=None)


@dataclass(frozen=True)
class Reading:
    time: datetime
    celsius: float

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("reading times must be timezone-aware")


@dataclass(frozen=True)
class Excursion:
    start: datetime
    end: datetime
    direction: Literal["high", "low"]
    peak_c: float

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
    mean_c: float | None = None
    mkt_c: float | None = None
    excursions: tuple[Excursion, ...] = field(default_factory=tuple)
    time_out: timedelta = timedelta(0)
    single_breach: bool = False
    cumulative_breach: bool = False

    @property
    def breached(self) -> bool:
        return self.single_breach or self.cumulative_breach


def mean_kinetic_temperature(readings: Sequence[Reading]) -> float | None:
    """Time-weighted MKT in °C (see the module docstring)."""
    if not readings:
        return None
    ordered = sorted(readings, key=lambda r: r.time)
    weights = [(b.time - a.time).total_seconds() for a, b in itertools.pairwise(ordered)]
    if sum(weights) <= 0:
        weights = [1.0] * len(ordered)
    else:
        ordered = ordered[:-1]
    total = sum(weights)
    acc = sum(
        w * math.exp(-DELTA_H_OVER_R / (r.celsius + KELVIN))
        for w, r in zip(weights, ordered, strict=True)
    )
    return DELTA_H_OVER_R / -math.log(acc / total) - KELVIN


def analyse(readings: Sequence[Reading], profile: Profile) -> Analysis:
    if not readings:
        return Analysis()
    ordered = sorted(readings, key=lambda r: r.time)
    values = [r.celsius for r in ordered]
    excursions: list[Excursion] = []
    time_out = timedelta(0)
    current: tuple[datetime, str, float] | None = None  # start, direction, peak
    for here, after in zip(ordered, [*ordered[1:], None], strict=True):
        direction = profile.direction(here.celsius)
        step = (after.time - here.time) if after else timedelta(0)
        if current and current[1] != direction:
            excursions.append(Excursion(current[0], here.time, current[1], current[2]))  # type: ignore[arg-type]
            current = None
        if direction:
            time_out += step
            if current is None:
                current = (here.time, direction, here.celsius)
            else:
                peak = max if direction == "high" else min
                current = (current[0], direction, peak(current[2], here.celsius))
    if current:
        excursions.append(Excursion(current[0], ordered[-1].time, current[1], current[2]))  # type: ignore[arg-type]
    return Analysis(
        count=len(ordered),
        first=ordered[0].time,
        last=ordered[-1].time,
        min_c=min(values),
        max_c=max(values),
        mean_c=sum(values) / len(values),
        mkt_c=mean_kinetic_temperature(ordered),
        excursions=tuple(excursions),
        time_out=time_out,
        single_breach=any(e.duration > profile.single_delay for e in excursions),
        cumulative_breach=time_out > profile.cumulative_limit,
    )


@dataclass(frozen=True)
class SensorReport:
    """An EPCIS 2.0 sensorReport summary of a stretch of readings."""

    time: datetime | None
    min_value: float | None
    max_value: float | None
    mean_value: float | None
    uom: str = "CEL"
    exception: str | None = None
    device_id: str | None = None


def sensor_report(analysis: Analysis, device_id: str | None = None) -> SensorReport:
    return SensorReport(
        time=analysis.last,
        min_value=analysis.min_c,
        max_value=analysis.max_c,
        mean_value=None if analysis.mean_c is None else round(analysis.mean_c, 2),
        exception="ALARM_CONDITION" if analysis.breached else None,
        device_id=device_id,
    )
