"""Logger uploads' fast path: the same readings and errors as pydantic, stored once each.

Plain rows skip pydantic; every other row still goes through it, so values and error messages
are what they were. Storing counts new readings exactly (duplicates in the file and already
stored ones are skipped) on SQLite (executemany) and PostgreSQL (COPY).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from farmgate.coldchain import readings
from farmgate.models import TemperatureReading

ROWS = [
    ("T1", "0", "2026-05-01T08:00:00+08:00", "4.5"),
    ("T1", "007", "2026-05-01T08:00:00.5+00:00", "-0"),
    ("T1", "12", "2026-05-01T08:00:00.123456-03:30", "80"),
    ("T1", "13", "2026-05-01T00:00:00Z", "-80.0"),  # Z: through pydantic
    ("T1", "14", "2026-05-01 08:00:00+08:00", "1e1"),  # a space, an exponent
    ("T1", "15", "2026-05-01T08:00:00+08:00", "80.1"),  # out of range
    ("T1", "-1", "2026-05-01T08:00:00+08:00", "4"),  # negative seq
    ("", "16", "2026-05-01T08:00:00+08:00", "4"),  # no device
    ("T1", "17", "2026-05-01T08:00:00", "4"),  # naive
    ("T1", "18", "2026-13-01T08:00:00+08:00", "4"),  # no such month
    ("T1", "x", "2026-05-01T08:00:00+08:00", "4"),
    ("T1", "19", "2026-05-01T08:00:00+08:00", "nan"),
]


def _slow(rows: list[dict[str, object]]) -> tuple[list[tuple[object, ...]], dict[str, str]]:
    """What pydantic alone makes of the rows (the code before the fast path)."""
    good, errors = [], {}
    for n, row in enumerate(rows, start=2):
        try:
            r = readings.ReadingIn.model_validate(row)
            good.append((r.device_id, r.seq, r.at, r.at.utcoffset(), r.celsius))
        except readings.ValidationError as exc:
            first = exc.errors()[0]
            errors[f"line {n}"] = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return good, errors


def test_csv_rows_read_as_pydantic_reads_them() -> None:
    keys = ("device_id", "seq", "at", "celsius")
    csv = "device_id,seq,at,celsius\n" + "".join(",".join(r) + "\n" for r in ROWS)
    good, errors = readings.parse_readings(csv.encode(), "text/csv")
    want_good, want_errors = _slow([dict(zip(keys, r, strict=True)) for r in ROWS])
    assert [(r.device_id, r.seq, r.at, r.at.utcoffset(), r.celsius) for r in good] == want_good
    assert errors == want_errors
    assert len(good) == 5 and len(errors) == 7


def test_json_items_read_as_pydantic_reads_them() -> None:
    items = [
        {"device_id": "T1", "seq": 1, "at": "2026-05-01T08:00:00+08:00", "celsius": 3},
        {"device_id": "T1", "seq": 2, "at": "2026-05-01T08:00:00+08:00", "celsius": 2.5},
        {"device_id": "T1", "seq": True, "at": "2026-05-01T08:00:00+08:00", "celsius": 2.5},
        {"device_id": "T1", "seq": 3.0, "at": "2026-05-01T08:00:00+08:00", "celsius": "2"},
        {"device_id": 5, "seq": 4, "at": "2026-05-01T08:00:00+08:00", "celsius": 1},
        ["not", "an", "object"],
    ]
    good, errors = readings.parse_readings(json.dumps(items).encode(), "application/json")
    want = []
    for item in items:
        try:
            r = readings.ReadingIn.model_validate(item)
            want.append((r.device_id, r.seq, r.at, r.celsius))
        except readings.ValidationError:
            pass
    assert [(r.device_id, r.seq, r.at, r.celsius) for r in good] == want
    assert len(errors) == len(items) - len(want)


@pytest.mark.parametrize("size", [1, 5000])
def test_store_counts_new_readings_once(session: Session, size: int) -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    batch = [
        readings.ReadingIn(device_id="ING-1", seq=i, at=at, celsius=i % 10) for i in range(size)
    ]
    assert readings.store_readings(session, batch + batch[:1]) == size  # a duplicate in the file
    assert readings.store_readings(session, batch) == 0
    more = readings.ReadingIn(device_id="ING-1", seq=size, at=at, celsius=-1.5)
    assert readings.store_readings(session, [*batch[:3], more]) == 1
    session.commit()
    stored = session.execute(
        select(func.count(), func.sum(TemperatureReading.celsius)).where(
            TemperatureReading.device_id == "ING-1"
        )
    ).one()
    assert stored[0] == size + 1
    assert stored[1] == pytest.approx(sum(i % 10 for i in range(size)) - 1.5)
