"""Logger readings as columns: plain CSV read a batch at a time, and PostgreSQL's binary COPY.

An upload's rows are nearly all plain (``T01,17,2026-05-01T08:00:00+08:00,4.5``). Rather than
check each row in Python (readings.py's ``_csv_rows``), a batch of lines is checked by one
regular expression over the whole text (every line plain, no quotes, so ``csv.reader`` would
split each line at its commas and nothing else), split into columns with ``str.split`` and
slicing, and converted by ``map(int)``, ``map(float)`` and, for the times, integer arithmetic
on all of them at once in numpy (``instants``: only times of one shape whose every field is in
range, which ``datetime.fromisoformat`` surely accepts; it gives the same instant). A batch
with anything else is left to the row-by-row path, which then reads the rest of the file.

The batch is stored with ``COPY ... (FORMAT BINARY)``: PostgreSQL then takes the instants as
integers rather than parsing text times (``binary_copy``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

# Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00 UTC).
PG_EPOCH_US = 946_684_800_000_000
INT4_MAX = 2**31 - 1

_FIELD = r'[^,"\r\n\x00]*'  # a column no reading uses: anything csv.reader keeps as it is
_PATTERNS = {
    "device_id": r'[^,"\r\n\x00]{1,40}',
    "seq": r"[0-9]{1,18}",
    "at": r'[^,"\r\n\x00]{25,32}',  # its shape is checked by ``instants``
    "celsius": r"-?[0-9]{1,3}(?:\.[0-9]{1,6})?",
}


class Columns:
    """One device's readings: sequence numbers, instants (microseconds since the Unix epoch,
    UTC) and values, position by position."""

    __slots__ = ("celsius", "seq", "times", "us")

    def __init__(
        self,
        seq: list[int],
        us: list[int],
        celsius: list[float],
        times: list[str] | None = None,
    ) -> None:
        self.seq, self.us, self.celsius = seq, us, celsius
        # the times as the text COPY sends them; None when the instants can go in binary
        self.times = times

    def __len__(self) -> int:
        return len(self.seq)

    def take(self, keep: Sequence[int]) -> Columns:
        """The readings at these positions."""
        seq, us, celsius, times = self.seq, self.us, self.celsius, self.times
        return Columns(
            [seq[i] for i in keep],
            [us[i] for i in keep],
            [celsius[i] for i in keep],
            None if times is None else [times[i] for i in keep],
        )

    def samples(self) -> list[tuple[int, int, float]]:
        """(seq, microseconds, celsius), as the aggregates take them."""
        return list(zip(self.seq, self.us, self.celsius, strict=True))


class PlainBlock:
    """Reads batches of plain lines for one header (``header``: the CSV's column names)."""

    def __init__(self, header: list[str]) -> None:
        last = {name: i for i, name in enumerate(header)}
        self.width = len(header)
        self.index = [last[k] for k in ("device_id", "seq", "at", "celsius")]
        cells = [
            _PATTERNS[name] if last.get(name) == i and name in _PATTERNS else _FIELD
            for i, name in enumerate(header)
        ]
        # every line plain, each ended by \n (\r\n), the last perhaps by the end of the file
        line = ",".join(cells)
        self.block = re.compile(rf"(?:{line}\r?\n)*{line}\r?\n?")

    def read(self, lines: list[str]) -> tuple[list[str], Columns] | None:
        """The lines' devices and readings, or None unless every one is plain (their values
        within ±80 °C, their times read by ``instants``)."""
        text = "".join(lines)
        if self.block.fullmatch(text) is None:
            return None
        if "\r" in text:
            text = text.replace("\r\n", "\n").removesuffix("\r")
        cells = text.removesuffix("\n").replace("\n", ",").split(",")
        width = self.width
        i_device, i_seq, i_at, i_celsius = self.index
        celsius = list(map(float, cells[i_celsius::width]))
        if min(celsius) < -80.0 or max(celsius) > 80.0:
            return None
        us = instants(cells[i_at::width])
        if us is None:
            return None
        return cells[i_device::width], Columns(list(map(int, cells[i_seq::width])), us, celsius)


# Days before each month in a common year, by month (index 0 unused).
_DAYS_BEFORE = np.array([0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], np.int64)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


def instants(times: list[str]) -> list[int] | None:
    """Microseconds since the Unix epoch (UTC) of ISO 8601 times shaped
    ``YYYY-MM-DDTHH:MM:SS[.f{1,6}]±HH:MM`` in ASCII digits; None if any time is not, or if
    any field is out of range (year 0, 2026-02-29, 24:00, minutes or seconds of 60 or more, an
    offset beyond ±15:59, which PostgreSQL refuses though Python does not). Times this reads,
    both ``datetime.fromisoformat`` and PostgreSQL accept, as this same instant:
    ``(fromisoformat(t) - epoch) // timedelta(microseconds=1)``."""
    lengths = np.fromiter(map(len, times), np.int64, len(times))
    width = int(lengths[0])
    if (lengths == width).all():
        same = _instants(times, width)
        return None if same is None else same.tolist()
    # of several lengths (Python's isoformat drops a fraction of zero): each on its own
    out = np.empty(len(times), np.int64)
    for length in np.unique(lengths).tolist():
        where = np.flatnonzero(lengths == length)
        part = _instants([times[i] for i in where.tolist()], length)
        if part is None:
            return None
        out[where] = part
    result: list[int] = out.tolist()
    return result


def _instants(times: list[str], width: int) -> Any:
    """``instants`` of times all ``width`` characters long (an int64 array, or None)."""
    if not 25 <= width <= 32 or width == 26:
        return None
    try:
        raw = "".join(times).encode("ascii")
    except UnicodeEncodeError:
        return None
    chars = np.frombuffer(raw, np.uint8).reshape(len(times), width)
    fraction = width - 26 if width > 25 else 0  # digits after the point
    tz = width - 6
    digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, tz + 1, tz + 2, tz + 4, tz + 5]
    digits += range(20, 20 + fraction)
    signs = chars[:, tz]
    if (
        ((chars[:, digits] - 48) > 9).any()  # (unsigned: below "0" wraps past 9 too)
        or (chars[:, [4, 7]] != ord("-")).any()
        or (chars[:, 10] != ord("T")).any()
        or (chars[:, [13, 16, tz + 3]] != ord(":")).any()
        or (fraction and (chars[:, 19] != ord(".")).any())
        or ((signs != ord("+")) & (signs != ord("-"))).any()
    ):
        return None

    def number(start: int, digits: int) -> Any:
        value = chars[:, start].astype(np.int64) - 48
        for i in range(start + 1, start + digits):
            value = value * 10 + (chars[:, i].astype(np.int64) - 48)
        return value

    year, month, day = number(0, 4), number(5, 2), number(8, 2)
    hour, minute, second = number(11, 2), number(14, 2), number(17, 2)
    micro = number(20, fraction) * 10 ** (6 - fraction) if fraction else 0
    east = signs == ord("+")
    tz_hours, tz_minutes = number(tz + 1, 2), number(tz + 4, 2)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    m = np.where(month_ok, month, 1)
    ok = (
        (year >= 1)
        & month_ok
        & (day >= 1)
        & (day <= _MONTH_DAYS[m] + (leap & (m == 2)))
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & (tz_hours <= 15)
        & (tz_minutes <= 59)
    )
    if not ok.all():
        return None
    # days since 0001-01-01 (proleptic Gregorian), then since 1970-01-01 (day 719162)
    y = year - 1
    days = y * 365 + y // 4 - y // 100 + y // 400 + _DAYS_BEFORE[m] + (leap & (m > 2)) + day - 1
    seconds = (days - 719_162) * 86_400 + hour * 3600 + minute * 60 + second
    seconds -= np.where(east, 1, -1) * (tz_hours * 3600 + tz_minutes * 60)
    return seconds * 1_000_000 + micro


def binary_copy(device: str, rows: Columns) -> bytes:
    """The rows as ``COPY temperature_reading (device_id, seq, at, celsius) FROM STDIN
    (FORMAT BINARY)`` takes them: signature, then per row the field count and each field's
    length and value (varchar as UTF-8, int4, timestamptz as microseconds since 2000, float8),
    then the trailer. Sequence numbers must fit int4 (see ``fits_binary``)."""
    name = device.encode()
    layout = np.dtype(
        [
            ("fields", ">i2"),
            ("device_len", ">i4"),
            ("device", f"S{len(name)}"),
            ("seq_len", ">i4"),
            ("seq", ">i4"),
            ("at_len", ">i4"),
            ("at", ">i8"),
            ("celsius_len", ">i4"),
            ("celsius", ">f8"),
        ]
    )
    out = np.empty(len(rows), layout)
    out["fields"] = 4
    out["device_len"] = len(name)
    out["device"] = name
    out["seq_len"] = 4
    out["seq"] = rows.seq
    out["at_len"] = 8
    out["at"] = np.array(rows.us, np.int64) - PG_EPOCH_US
    out["celsius_len"] = 8
    out["celsius"] = rows.celsius
    return b"PGCOPY\n\xff\r\n\x00" + bytes(8) + out.tobytes() + b"\xff\xff"


def fits_binary(device: str, rows: Columns) -> bool:
    """Whether ``binary_copy`` stores exactly what the text COPY would: times read by
    ``instants`` and sequence numbers that fit int4 (otherwise the text COPY is used, and
    PostgreSQL takes or refuses the rows as before)."""
    return (
        rows.times is None and bool(rows.seq) and max(rows.seq) <= INT4_MAX and "\x00" not in device
    )
