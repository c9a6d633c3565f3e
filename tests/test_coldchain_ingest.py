"""Logger uploads' fast path: the same readings and errors as pydantic, stored once each.

Plain rows skip pydantic; every other row still goes through it, so values and error messages
are what they were. Storing counts new readings exactly (duplicates in the file and already
stored ones are skipped) on SQLite (executemany) and PostgreSQL (COPY).
"""

from __future__ import annotations

import io
import json
import math
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from farmgate.coldchain import columns, readings
from farmgate.errors import ValidationFailed
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


# --- batches of plain lines (columns.PlainBlock), against the row-by-row path ---------------


def _times(rng: random.Random, n: int) -> list[str]:
    """ISO 8601 times of the shapes loggers write: any offset, 0-6 digits of fraction, leap
    days, the ends of months and years, years 1 and 9999."""
    zones = [timezone(timedelta(minutes=m)) for m in (0, 480, -210, 345, 959, -959, 60)]
    out = []
    for _ in range(n):
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
            days=rng.randint(-1200, 1200), seconds=rng.randint(0, 86_399)
        )
        if rng.random() < 0.1:
            at = rng.choice(
                [
                    datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
                    datetime(2000, 2, 29, tzinfo=UTC),
                    datetime(1, 1, 1, 16, tzinfo=UTC),
                    datetime(9999, 12, 31, 8, tzinfo=UTC),
                    datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
                ]
            )
        at = at.astimezone(rng.choice(zones))
        digits = rng.choice([0, 0, 1, 2, 3, 6])
        text = at.replace(microsecond=at.microsecond // 10 ** (6 - digits) * 10 ** (6 - digits))
        out.append(text.isoformat(timespec="seconds" if digits == 0 else "microseconds"))
        if digits and digits < 6:  # written with fewer digits: 08:00:00.5, not .500000
            head, tail = out[-1][:-6], out[-1][-6:]
            out[-1] = head[: len(head) - (6 - digits)] + tail
    return out


def _us(text: str) -> int:
    return (datetime.fromisoformat(text) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        microseconds=1
    )


def test_instants_are_fromisoformats() -> None:
    rng = random.Random(7)
    times = _times(rng, 3000)
    by_width: dict[int, list[str]] = {}
    for t in times:
        by_width.setdefault(len(t), []).append(t)
    assert set(by_width) >= {25, 27, 28, 29, 32}
    for same in by_width.values():
        assert columns.instants(same) == [_us(t) for t in same]
    fine = "2026-05-01T08:00:00+08:00"
    for odd in [
        "0000-05-01T08:00:00+08:00",  # year 0
        "2026-02-29T08:00:00+08:00",  # not a leap year
        "2026-04-31T08:00:00+08:00",
        "2026-13-01T08:00:00+08:00",
        "2026-00-01T08:00:00+08:00",
        "2026-05-00T08:00:00+08:00",
        "2026-05-01T24:00:00+08:00",
        "2026-05-01T08:60:00+08:00",
        "2026-05-01T08:00:60+08:00",
        "2026-05-01T08:00:00+16:00",  # Python takes it, PostgreSQL does not
        "2026-05-01T08:00:00+00:60",  # Python reads 60 minutes; PostgreSQL refuses
        "2026-05-01 08:00:00+08:00",
        "2026/05/01T08:00:00+08:00",
        "2026-05-01T08.00.00+08:00",
        "2026-05-01T08:00:00*08:00",
        "2026-05-01T08:00:00+08-00",
        "2026-05-01T08:00:00.+08:00",
        "2026-05-01T08:00:00.5+0800",
        "2026-05-01T08:00:00a5+08:00",
        "２026-05-01T08:00:00+08:00",  # a full-width digit
        "2026-05-01T08:00:00+08:00Z",
        "2026-05-01T08:00:00",
    ]:
        assert columns.instants([fine, odd]) is None, odd
    mixed = [fine, "2026-05-01T08:00:00.5+08:00", *times[:50], fine]  # of several lengths
    assert columns.instants(mixed) == [_us(t) for t in mixed]


def _rows_of(body: bytes, size: int) -> tuple[list[tuple[object, ...]], dict[str, str], int]:
    """What an upload reads (devices, readings as columns) from ``body``, ``size`` at a time,
    as rows; the errors; and how many batches the block reader took."""
    blocks = 0
    read = columns.PlainBlock.read

    def counting(self: columns.PlainBlock, lines: list[str]) -> object:
        nonlocal blocks
        got = read(self, lines)
        blocks += got is not None
        return got

    errors: dict[str, str] = {}
    rows: list[tuple[object, ...]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readings, "BATCH_READINGS", size)
        mp.setattr(columns.PlainBlock, "read", counting)
        for devices, chunk in readings._chunks(io.BytesIO(body), "text/csv", errors):
            assert len({len(devices), len(chunk.seq), len(chunk.us), len(chunk.celsius)}) == 1
            rows += zip(devices, chunk.seq, chunk.us, chunk.celsius, strict=True)
    return rows, errors, blocks


def _as_before(body: bytes) -> tuple[list[tuple[object, ...]], dict[str, str]]:
    """The row-by-row reading (parse_readings, unchanged) of the same file."""
    good, errors = readings.parse_readings(body, "text/csv")
    return [(r.device_id, r.seq, _us(r.at.isoformat()), r.celsius) for r in good], errors


def _file(rng: random.Random, n: int, header: list[str], newline: str = "\n") -> str:
    times = _times(rng, n)
    values = ["4.5", "-0", "80", "-80.0", "0.000001", "-12.25", "7", "9.5", "003.5"]
    lines = [",".join(header)]
    for i in range(n):
        cell = {
            "device_id": rng.choice(["T01", "T01", "T01", "记录仪-二号", "x" * 40]),
            "seq": str(rng.randint(0, 10**6)) if i % 7 else f"{i:04d}",
            "at": times[i],
            "celsius": rng.choice(values),
        }
        lines.append(
            ",".join(cell.get(name, rng.choice(["", "note", "备注 1"])) for name in header)
        )
    return newline.join(lines)


@pytest.mark.parametrize("seed", range(4))
def test_plain_batches_read_as_rows_do(seed: int) -> None:
    rng = random.Random(seed)
    header = ["device_id", "seq", "at", "celsius"]
    if seed:
        header += ["note", "seq"][: seed - 1]
        rng.shuffle(header)
    newline = "\r\n" if seed == 2 else "\n"
    body = _file(rng, 1000, header, newline).encode()
    for tail in [b"", newline.encode()]:
        rows, errors, blocks = _rows_of(body + tail, 64)
        assert (rows, errors) == _as_before(body + tail)
        assert not errors and blocks == 16  # every batch read as a block
    with_bom = b"\xef\xbb\xbf" + body
    assert _rows_of(with_bom, 64)[:2] == _as_before(with_bom)


@pytest.mark.parametrize(
    "odd",
    [
        "T01,5,2026-05-01T08:00:00+08:00,1e1",  # an exponent: pydantic reads it
        "T01,5,2026-05-01T08:00:00+16:00,4",  # an offset PostgreSQL refuses
        "T01,5,2026-02-29T08:00:00+08:00,4",  # no such day
        "T01,5,2026-05-01T08:00:00Z,4",
        "T01,5,2026-05-01 08:00:00+08:00,4",
        "T01,5,２026-05-01T08:00:00+08:00,4",
        "T01,5,2026-05-01T08:00:00+08:00,+4",
        "T01,5,2026-05-01T08:00:00+08:00,.5",
        "T01,5,2026-05-01T08:00:00+08:00,5.",
        "T01,5,2026-05-01T08:00:00+08:00,0004.5",
        "T01,5,2026-05-01T08:00:00+08:00,4.1234567",
        "T01,٥,2026-05-01T08:00:00+08:00,4",  # an Arabic-Indic digit
        "T01,1234567890123456789,2026-05-01T08:00:00+08:00,4",
        "x" * 41 + ",5,2026-05-01T08:00:00+08:00,4",
        "T01,5,2026-05-01T08:00:00+08:00,80.5",
        "T01,5,2026-05-01T08:00:00+08:00",  # short
        "T01,5,2026-05-01T08:00:00+08:00,4,5",  # long
        '"T01",5,2026-05-01T08:00:00+08:00,4',  # quoted
        '"T0\n1",5,2026-05-01T08:00:00+08:00,4',  # a quoted line break
        "",  # blank
        ",5,2026-05-01T08:00:00+08:00,4",
        "T01,-5,2026-05-01T08:00:00+08:00,4",
    ],
)
def test_a_batch_that_is_not_plain_goes_row_by_row(odd: str) -> None:
    """From the batch holding an odd line on, the rows go the old way: same readings, same
    errors under the same line numbers."""
    rng = random.Random(1)
    lines = _file(rng, 300, ["device_id", "seq", "at", "celsius"]).split("\n")
    lines.insert(170, odd)
    body = "\n".join(lines).encode()
    rows, errors, blocks = _rows_of(body, 50)
    assert (rows, errors) == _as_before(body)
    assert blocks == 3  # lines 2-151 as blocks; the rest row by row


def test_the_limit_is_met_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readings, "MAX_READINGS_PER_UPLOAD", 120)
    body = _file(random.Random(2), 150, ["device_id", "seq", "at", "celsius"]).encode()
    with pytest.raises(ValidationFailed) as caught:
        _rows_of(body, 50)
    assert caught.value.fields == {"file": "共 150 条"}
    assert (
        len(
            _rows_of(
                body[: body.index(b"\n", 0)] + b"\n" + b"\n".join(body.split(b"\n")[1:121]), 50
            )[0]
        )
        == 120
    )


def test_binary_copy_stores_what_the_text_copy_stored(session: Session) -> None:
    """The same readings stored through the block reader (binary COPY on PostgreSQL) and
    row by row as before (text COPY): the same instants, values (bit for bit) and numbers."""
    rng = random.Random(3)
    lines = _file(rng, 400, ["device_id", "seq", "at", "celsius"]).split("\n")
    plain = [line.replace(line.split(",")[0], "BIN-1", 1) for line in lines[1:]]
    body = ("device_id,seq,at,celsius\n" + "\n".join(plain)).encode()
    for _, chunk in readings._chunks(io.BytesIO(body), "text/csv", {}):
        assert chunk.times is None  # binary
        readings._insert(session, "BIN-1", chunk)
    old, _ = readings.parse_readings(body.replace(b"BIN-1", b"TXT-1"), "text/csv")
    for _, chunk in readings._as_columns(iter(old), 1000):
        assert chunk.times is not None  # text, the times as written
        readings._insert(session, "TXT-1", chunk)
    session.flush()

    def stored(device: str) -> list[tuple[object, ...]]:
        query = select(
            TemperatureReading.seq, TemperatureReading.at, TemperatureReading.celsius
        ).where(TemperatureReading.device_id == device)
        return sorted(
            (seq, at, celsius, math.copysign(1, celsius))
            for seq, at, celsius in session.execute(query)
        )

    binary, text = stored("BIN-1"), stored("TXT-1")
    assert len(binary) == len({r.seq for r in old}) > 300
    assert binary == text
    by_seq = {r.seq: r for r in reversed(old)}  # the first of a number counts
    assert [(s, a, c) for s, a, c, _ in binary] == [
        (s, by_seq[s].at, by_seq[s].celsius) for s in sorted(by_seq)
    ]
