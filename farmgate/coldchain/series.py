"""Running aggregates of a shipment's readings: the analysis without re-reading the series.

``temperature.analyse`` needs the whole series. A shipment keeps instead a small ``Series``
(stored as JSON on ``cold_shipment.series``) from which the same ``Analysis`` follows exactly,
bit for bit, and which new readings update:

- count, minimum, maximum, and the sum of the values as *exact* partials (non-overlapping
  floats whose exact sum is the sum of every value, so ``fsum`` of them rounds exactly as
  ``fsum`` of all the values would);
- the samples' time-weighted parts (temperature.py merges readings at one instant into one
  sample): each pair of consecutive samples contributes a weight (seconds) and an MKT term
  to exact partials, and its length to the time out of range when the earlier one is out;
- the excursions (runs of samples out of range in one direction) with their peaks;
- the number of samples, the first and last instants and the last sample's value.

New readings later than the last sample (a logger's normal upload) are folded in from memory
(``extend``). Readings at or before it change the series inside: the caller reads the stored
readings of the smallest stretch that can change (``affected``: from the predecessor of the
earliest new reading, or the start of the excursion it belongs to, to the successor of the
latest one, or the end of its excursion) and ``replace`` takes that stretch's old samples'
contributions out and the new ones' in. Times are integer microseconds since the Unix epoch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from farmgate.coldchain.temperature import (
    DELTA_H_OVER_R,
    KELVIN,
    Analysis,
    Direction,
    Excursion,
    Profile,
)

VERSION = 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)

Sample = tuple[int, float]  # (microseconds since the epoch, celsius)


def to_us(when: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    return (when - EPOCH) // ONE_US


def from_us(us: int) -> datetime:
    """The UTC datetime of ``to_us`` (what the database gives back)."""
    return EPOCH + timedelta(microseconds=us)


def exact_partials(values: list[float]) -> list[float]:
    """Floats whose exact sum is the exact sum of ``values`` (consumes the list).

    Each round takes the correctly rounded remainder (``fsum`` is exact before its one
    rounding); a few rounds reach zero, as the remainder loses ~53 bits each time.
    """
    out: list[float] = []
    while True:
        part = math.fsum(values)
        if part == 0.0 or len(out) > 40:  # 40 rounds would be 2,000 bits: never reached
            return out
        out.append(part)
        values.append(-part)


def merge(raw: list[Sample], profile: Profile) -> list[Sample]:
    """Readings sorted by time -> one sample per instant (the worst value, as temperature.py)."""
    if len({us for us, _ in raw}) == len(raw):
        return raw
    merged: list[Sample] = []
    for us, group in itertools.groupby(raw, key=lambda r: r[0]):
        values = [c for _, c in group]
        if len(values) > 1:
            high = [v for v in values if profile.direction(v) == "high"]
            low = [v for v in values if profile.direction(v) == "low"]
            if high or low:
                merged.append((us, max(high) if high else min(low)))
                continue
        merged.append((us, math.fsum(values) / len(values)))
    return merged


@dataclass
class Pairs:
    """What consecutive samples contribute: MKT terms and weights, time out of range."""

    terms: list[float] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    out_us: int = 0


def pairs(samples: Sequence[Sample], profile: Profile) -> Pairs:
    return pairs_of([us for us, _ in samples], [c for _, c in samples], profile)


def pairs_of(times: list[int], values: list[float], profile: Profile) -> Pairs:
    """``pairs`` of samples given as columns (no tuple per sample: an upload's batch of
    20,000 tuples set off dozens of garbage collections)."""
    result = Pairs()
    terms, weights = result.terms, result.weights
    out = 0
    high, low = profile.max_c, profile.min_c
    exp = math.exp
    # the last value starts no pair
    for ua, ub, va in zip(times, itertools.islice(times, 1, None), values, strict=False):
        # timedelta.total_seconds() is this same int / int division
        w = (ub - ua) / 1_000_000
        weights.append(w)
        terms.append(w * exp(-DELTA_H_OVER_R / (va + KELVIN)))
        if (high is not None and va > high) or (low is not None and va < low):
            out += ub - ua
    result.out_us = out
    return result


Run = list[Any]  # [start us, end us, direction, peak]


def scan(
    samples: Iterable[Sample], profile: Profile, run: Run | None
) -> tuple[list[Run], Run | None]:
    """temperature._excursions over samples, continuing ``run`` (open before the first).

    Returns the runs closed on the way and the one still open after the last sample (whose
    end the caller sets).
    """
    closed: list[Run] = []
    for us, value in samples:  # (from zip(times, values), a tuple used again and again)
        now: Direction | None = profile.direction(value)
        if run is not None and now != run[2]:
            run[1] = us
            closed.append(run)
            run = None
        if now is not None:
            if run is None:
                run = [us, us, now, value]
            elif now == "high":
                run[3] = max(run[3], value)
            else:
                run[3] = min(run[3], value)
    return closed, run


@dataclass
class Series:
    """The running aggregates of one shipment's readings (see the module docstring)."""

    device_id: str
    window_us: int  # readings at or after this instant belong to the shipment
    profile_min: float | None
    profile_max: float | None
    count: int = 0
    min_c: float | None = None
    max_c: float | None = None
    total: list[float] = field(default_factory=list)  # exact partials of the values
    samples: int = 0
    first_us: int | None = None
    last_us: int | None = None
    last_c: float | None = None  # the last sample's (merged) value
    acc: list[float] = field(default_factory=list)  # exact partials of the MKT terms
    weight: list[float] = field(default_factory=list)  # exact partials of the weights
    out_us: int = 0
    runs: list[Run] = field(default_factory=list)  # sorted by start

    @classmethod
    def start(cls, device_id: str, window_us: int, profile: Profile) -> Series:
        return cls(device_id, window_us, profile.min_c, profile.max_c)

    def fits(self, device_id: str | None, window_us: int, profile: Profile) -> bool:
        """Whether this state was built for this device, window and range."""
        return (
            self.device_id == device_id
            and self.window_us == window_us
            and self.profile_min == profile.min_c
            and self.profile_max == profile.max_c
        )

    # --- order-independent figures ----------------------------------------------------

    def add_values(self, values: list[float]) -> None:
        if not values:
            return
        self.count += len(values)
        low, high = min(values), max(values)
        self.min_c = low if self.min_c is None else min(self.min_c, low)
        self.max_c = high if self.max_c is None else max(self.max_c, high)
        self.total = exact_partials([*self.total, *values])

    # --- time-weighted figures ------------------------------------------------------

    def extend(self, samples: list[Sample], profile: Profile) -> None:
        """Samples all later than the last one (sorted, one per instant)."""
        self.extend_columns([us for us, _ in samples], [c for _, c in samples], profile)

    def extend_columns(self, times: list[int], values: list[float], profile: Profile) -> None:
        """``extend`` with the samples as columns (instants, values)."""
        if not times:
            return
        assert self.last_us is None or times[0] > self.last_us
        run: Run | None = None
        if self.last_us is None:
            got = pairs_of(times, values, profile)
            self.first_us = times[0]
        else:
            assert self.last_c is not None
            got = pairs_of([self.last_us, *times], [self.last_c, *values], profile)
            if profile.direction(self.last_c) is not None:
                run = self.runs.pop()  # the excursion still open at the last sample
                assert run[1] == self.last_us
        closed, run = scan(zip(times, values, strict=True), profile, run)
        self.runs.extend(closed)
        if run is not None:
            run[1] = times[-1]
            self.runs.append(run)
        self._add_pairs(got, None)
        self.samples += len(times)
        self.last_us, self.last_c = times[-1], values[-1]

    def affected(self, before: int | None, after: int | None) -> tuple[int | None, int | None]:
        """The stretch to read again when readings arrive out of order.

        ``before`` / ``after``: the stored sample instants just before the earliest new reading
        and just after the latest one (None when there is none). Returns (from, to), None
        meaning the series' start or end. The bounds are unchanged samples that no excursion
        crosses: an excursion containing ``before`` is read from its start, one containing
        ``after`` to its end.
        """
        start = before
        if before is not None:
            for run in self.runs:
                if run[0] <= before <= run[1]:
                    start = min(start, run[0]) if start is not None else run[0]
        end = after
        if after is not None:
            for run in self.runs:
                if run[0] <= after <= run[1]:
                    end = max(end, run[1]) if end is not None else run[1]
            if end == self.last_us:
                end = None
        return start, end

    def replace(
        self,
        start: int | None,
        end: int | None,
        old: list[Sample],
        new: list[Sample],
        profile: Profile,
    ) -> bool:
        """Swap the stretch ``start .. end`` (from ``affected``) from ``old`` to ``new`` samples.

        False when the stretch does not behave as ``affected`` promised (the caller then
        rebuilds the whole series).
        """
        if not new:
            return not old
        if start is not None and (not old or old[0][0] != start or new[0][0] != start):
            return False
        if end is not None and (not old or old[-1][0] != end or new[-1][0] != end):
            return False
        closed, run = scan(new, profile, None)
        if end is None:
            if run is not None:
                run[1] = new[-1][0]
                closed.append(run)
        elif run is not None and run[0] != end:
            return False  # an excursion would cross the stretch's end
        lower = start if start is not None else -(2**63)

        def outside(r: Run) -> bool:
            return r[0] < lower or (end is not None and r[0] >= end)

        self.runs = sorted([r for r in self.runs if outside(r)] + closed, key=lambda r: r[0])
        self._add_pairs(pairs(new, profile), pairs(old, profile))
        self.samples += len(new) - len(old)
        if start is None:
            self.first_us = new[0][0]
        if end is None:
            self.last_us, self.last_c = new[-1]
        return True

    def _add_pairs(self, plus: Pairs, minus: Pairs | None) -> None:
        acc, weight = [*self.acc, *plus.terms], [*self.weight, *plus.weights]
        self.out_us += plus.out_us
        if minus is not None:
            acc += [-t for t in minus.terms]
            weight += [-w for w in minus.weights]
            self.out_us -= minus.out_us
        self.acc, self.weight = exact_partials(acc), exact_partials(weight)

    # --- the result -------------------------------------------------------------------

    def analysis(self, profile: Profile) -> Analysis:
        """Exactly what ``temperature.analyse`` gives for the same readings."""
        if not self.count or self.first_us is None or self.last_us is None:
            return Analysis()
        assert self.last_c is not None
        if self.samples == 1:
            mkt = self.last_c
        else:
            acc, total = math.fsum(self.acc), math.fsum(self.weight)
            mkt = DELTA_H_OVER_R / -math.log(acc / total) - KELVIN
        excursions = tuple(Excursion(from_us(s), from_us(e), d, p) for s, e, d, p in self.runs)
        time_out = timedelta(microseconds=self.out_us)
        return Analysis(
            count=self.count,
            first=from_us(self.first_us),
            last=from_us(self.last_us),
            min_c=self.min_c,
            max_c=self.max_c,
            mean_c=math.fsum(self.total) / self.count,
            mkt_c=mkt,
            excursions=excursions,
            time_out=time_out,
            single_breach=any(e.duration > profile.single_delay for e in excursions),
            cumulative_breach=time_out > profile.cumulative_limit,
        )

    # --- storage ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A copy (the state goes on changing; the column must see a new value)."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("total", "acc", "weight"):
            data[key] = list(data[key])
        data["runs"] = [list(r) for r in self.runs]
        return {"v": VERSION, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Series | None:
        if not data or data.get("v") != VERSION:
            return None
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if len(fields) != len(cls.__dataclass_fields__):
            return None
        fields["runs"] = [list(r) for r in fields["runs"]]
        return cls(**fields)
