"""Logger files: temperature readings uploaded as CSV or JSON, stored once each.

Readings are keyed by (device, sequence number), so uploading the same file twice stores each
reading once. Bad rows are reported with their line numbers and the good rows are kept. An
upload streams: the file is decoded and parsed as it is read, and every ``BATCH_READINGS``
readings are stored and folded into the shipment's running aggregates (series.py), from
which its analysis follows without reading its series again (shipments.refresh).

Speed. A logger's rows are nearly always plain (``T01,17,2026-05-01T08:00:00+08:00,4.5``).
An upload reads them a batch at a time as columns (columns.py: the batch's lines checked and
converted whole, the times by integer arithmetic in numpy); from the first batch holding
anything else, the rest of the file goes row by row: ``_csv_rows`` checks a row against
strict patterns and builds the reading directly, and only a row it does not recognise goes
through pydantic (which then gives the same value, or the error message as before).
PostgreSQL stores a batch with one ``COPY`` straight into the table, binary (the instants as
integers) for batches read as columns, text (the times as written) otherwise; should another
transaction have stored some of them meanwhile, through a temporary table and ``INSERT ...
ON CONFLICT DO NOTHING RETURNING seq``. SQLite stores it with one raw ``executemany`` of
values already in its storage format. Both first look up which sequence numbers are stored.

Overlap. While PostgreSQL takes in one batch's COPY (psycopg's writer thread sends the bytes,
waiting on the socket without the GIL), the request's thread reads and parses the next batch
and folds the batch being copied into the aggregates when it needs nothing read back; so the
server and PostgreSQL work at once rather than in turn, with at most two batches in memory.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, BinaryIO, NamedTuple

from psycopg.copy import QueuedLibpqWriter
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from farmgate.coldchain import aggregates, columns
from farmgate.coldchain.columns import Columns
from farmgate.coldchain.series import EPOCH, ONE_US, from_us
from farmgate.coldchain.shipments import profile_for_shipment, refresh
from farmgate.errors import Conflict, ValidationFailed
from farmgate.models import Account, ColdShipment

MAX_READINGS_PER_UPLOAD = 200_000


class ReadingIn(BaseModel):
    device_id: str = Field(min_length=1, max_length=40)
    seq: int = Field(ge=0)
    at: AwareDatetime
    celsius: float = Field(ge=-80, le=80)


class PlainReading(NamedTuple):
    """A reading ``_plain`` read (cheaper to make than a ``ReadingIn``; the same fields)."""

    device_id: str
    seq: int
    at: datetime
    celsius: float
    text: str | None = None  # the time as written (ISO 8601 with an offset), for COPY


Reading = ReadingIn | PlainReading


def parse_readings(raw: bytes, content_type: str) -> tuple[list[Reading], dict[str, str]]:
    """CSV (``device_id,seq,at,celsius`` header) or JSON (a list of objects) -> rows, errors.

    Errors are keyed ``line N`` (CSV, counting the header as line 1) or ``item N`` (JSON).
    The whole file at once; uploads use ``iter_readings``, which streams.
    """
    errors: dict[str, str] = {}
    return list(iter_readings(io.BytesIO(raw), content_type, errors)), errors


def iter_readings(source: BinaryIO, content_type: str, errors: dict[str, str]) -> Iterator[Reading]:
    """The good readings of a logger file, read as it streams; bad rows go into ``errors``.

    Raises ``ValidationFailed`` for a file that cannot be read at all, and past
    ``MAX_READINGS_PER_UPLOAD`` rows (the caller's transaction then stores nothing).
    """
    if "json" in content_type:
        return _json_readings(source, errors)
    return _csv_readings(source, errors)


def _checked(where: str, row: Any, errors: dict[str, str]) -> Reading | None:
    plain = _plain(row)
    if plain is not None:
        return plain
    try:
        return ReadingIn.model_validate(row)
    except ValidationError as exc:
        first = exc.errors()[0]
        errors[where] = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        return None


def _too_many(count: int) -> ValidationFailed:
    return ValidationFailed("一次最多上传 200000 条读数", fields={"file": f"共 {count} 条"})


def _json_readings(source: BinaryIO, errors: dict[str, str]) -> Iterator[Reading]:
    # A JSON array is parsed whole (loggers export CSV; JSON uploads are small).
    try:
        items = json.loads(source.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("JSON 格式错误", fields={"file": str(exc)[:120]}) from exc
    if not isinstance(items, list):
        raise ValidationFailed("JSON 应为读数数组", fields={"file": "应为 [...]"})
    if len(items) > MAX_READINGS_PER_UPLOAD:
        raise _too_many(len(items))
    for i, item in enumerate(items, start=1):
        reading = _checked(f"item {i}", item, errors)
        if reading is not None:
            yield reading


def _csv_readings(source: BinaryIO, errors: dict[str, str]) -> Iterator[Reading]:
    """Rows as ``csv.DictReader`` reads them (blank rows skipped, short rows padded with None,
    extra fields under None, a repeated column's last value), numbered as before; decoded
    and split as the file streams. Plain rows are checked in place, without the dict."""
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="\n")
    try:
        reader = csv.reader(text)
        yield from _csv_rows(reader, _header(reader), 1, errors)
    except UnicodeDecodeError as exc:
        raise _not_utf8() from exc
    finally:
        text.detach()


def _not_utf8() -> ValidationFailed:
    return ValidationFailed("文件须为 UTF-8 编码的 CSV", fields={"file": "编码错误"})


def _header(reader: Iterator[list[str]]) -> list[str]:
    header = next(reader, [])
    missing = {"device_id", "seq", "at", "celsius"} - set(header)
    if missing:
        raise ValidationFailed("CSV 缺少列", fields={"file": "缺少 " + "、".join(sorted(missing))})
    return header


def _csv_rows(
    reader: Iterator[list[str]], header: list[str], n: int, errors: dict[str, str]
) -> Iterator[Reading]:
    """The readings of the rows after the header; ``n``: the rows (header included) before."""
    width = len(header)
    last = {name: i for i, name in enumerate(header)}
    i_device, i_seq, i_at, i_celsius = (last[k] for k in ("device_id", "seq", "at", "celsius"))
    seq_ok, at_ok, celsius_ok = _SEQ.match, _AT.match, _CELSIUS.match
    parse_time = datetime.fromisoformat
    make = tuple.__new__  # PlainReading(...) runs a Python __new__; this is the same tuple
    for row in reader:
        if not row:
            continue
        n += 1
        if n > MAX_READINGS_PER_UPLOAD + 1:
            raise _too_many(n - 1 + sum(1 for r in reader if r))
        if len(row) == width:  # the fast path: _plain's checks, on the list
            device, seq, at, celsius = row[i_device], row[i_seq], row[i_at], row[i_celsius]
            if 0 < len(device) <= 40 and seq_ok(seq) and at_ok(at) and celsius_ok(celsius):
                value = float(celsius)
                if -80.0 <= value <= 80.0:
                    try:
                        when = parse_time(at)
                    except ValueError:
                        pass
                    else:
                        yield make(PlainReading, (device, int(seq), when, value, at))
                        continue
        fields: dict[str | None, Any] = dict(zip(header, row, strict=False))
        if len(row) > width:
            fields[None] = row[width:]
        elif len(row) < width:
            for key in header[len(row) :]:
                fields[key] = None
        reading = _checked(f"line {n}", fields, errors)
        if reading is not None:
            yield reading


Chunk = tuple[list[str], Columns]  # up to a batch of readings: their devices, the readings


def _chunks(source: BinaryIO, content_type: str, errors: dict[str, str]) -> Iterator[Chunk]:
    """``iter_readings``, ``BATCH_READINGS`` at a time, as columns. CSV lines are read a
    batch at a time by ``columns.PlainBlock`` while every line of a batch is plain; from the
    first batch that is not, the rest of the file goes row by row (``_csv_rows``), which
    reads every row, reports every error and numbers every line as before."""
    size = BATCH_READINGS
    if "json" in content_type:
        yield from _as_columns(_json_readings(source, errors), size)
        return
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="\n")
    try:
        reader = csv.reader(text)
        header = _header(reader)
        plain = columns.PlainBlock(header)
        n = 1  # rows so far, the header included
        while lines := list(itertools.islice(text, size)):
            got = plain.read(lines) if n + len(lines) <= MAX_READINGS_PER_UPLOAD + 1 else None
            if got is None:
                rest = _csv_rows(csv.reader(itertools.chain(lines, text)), header, n, errors)
                yield from _as_columns(rest, size)
                return
            n += len(lines)
            yield got
    except UnicodeDecodeError as exc:
        raise _not_utf8() from exc
    finally:
        text.detach()


def _as_columns(rows: Iterator[Reading], size: int) -> Iterator[Chunk]:
    epoch, us = EPOCH, ONE_US
    while batch := list(itertools.islice(rows, size)):
        yield (
            [r.device_id for r in batch],
            Columns(
                [r.seq for r in batch],
                [(r.at - epoch) // us for r in batch],
                [r.celsius for r in batch],
                [getattr(r, "text", None) or r.at.isoformat() for r in batch],
            ),
        )


# What pydantic surely accepts, and reads as ``int`` / ``datetime.fromisoformat`` / ``float`` do.
_SEQ = re.compile(r"[0-9]{1,18}\Z")
_AT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?[+-][0-9]{2}:[0-9]{2}\Z"
)
_CELSIUS = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,6})?\Z")


def _plain(row: Any) -> PlainReading | None:
    """The reading of a plain row, or None when pydantic must look at it."""
    if type(row) is not dict:
        return None
    device, seq, at, celsius = (
        row.get("device_id"),
        row.get("seq"),
        row.get("at"),
        row.get("celsius"),
    )
    if type(device) is not str or not 1 <= len(device) <= 40:
        return None
    if type(seq) is str and _SEQ.match(seq):
        seq = int(seq)
    elif type(seq) is not int or seq < 0:
        return None
    if type(at) is not str or not _AT.match(at):
        return None
    if type(celsius) is str and _CELSIUS.match(celsius):
        celsius = float(celsius)
    elif type(celsius) is int or type(celsius) is float:
        celsius = float(celsius)
    else:
        return None
    if not -80 <= celsius <= 80:
        return None
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        return None
    return PlainReading(device, seq, when, celsius, at)


BATCH_READINGS = 20_000  # readings stored and folded in at a time


def store_readings(session: Session, readings: Sequence[Reading]) -> int:
    """Insert readings, skipping (device, seq) pairs already stored; returns how many are new.

    The shipments of these devices build their running aggregates again when next analysed.
    """
    by_device: dict[str, list[Reading]] = {}
    for r in readings:
        by_device.setdefault(r.device_id, []).append(r)
    added = 0
    for device, rows in by_device.items():
        for _, chunk in _as_columns(iter(rows), len(rows)):
            added += len(_insert(session, device, chunk)[0])
    if added:
        aggregates.forget(session, list(by_device))
    return added


_NONE = Columns([], [], [])


def _insert(
    session: Session,
    device: str,
    rows: Columns,
    during: Callable[[Columns], None] | None = None,
) -> tuple[Columns, bool]:
    """Store one device's readings; returns the ones that were new, and whether that list is
    exact (False if another transaction stored some of the same readings meanwhile).

    ``during`` is called once with the readings about to be stored, while PostgreSQL stores
    them (COPY), or after they are stored (SQLite); it must not use the session."""
    if len(set(rows.seq)) != len(rows):  # a reading twice in the file: the first counts
        firsts: dict[int, int] = {}
        for i, seq in enumerate(rows.seq):
            firsts.setdefault(seq, i)
        rows = rows.take(list(firsts.values()))
    if not rows:
        if during is not None:
            during(_NONE)
        return _NONE, True
    stored = set(
        session.execute(
            text(
                "SELECT seq FROM temperature_reading "
                "WHERE device_id = :d AND seq BETWEEN :low AND :high"
            ),
            {"d": device, "low": min(rows.seq), "high": max(rows.seq)},
        ).scalars()
    )
    new = rows.take([i for i, s in enumerate(rows.seq) if s not in stored]) if stored else rows
    if not new:
        if during is not None:
            during(_NONE)
        return _NONE, True
    if session.get_bind().dialect.name == "postgresql":
        return _insert_postgresql(session, device, new, during)
    complete = _insert_sqlite(session, device, new)
    if during is not None:
        during(new)
    return new, complete


def _copy_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _text_copy(device: str, rows: Columns) -> bytes:
    """The rows as a text COPY takes them (the times as they were written)."""
    times = rows.times or [from_us(us).isoformat() for us in rows.us]
    prefix = _copy_text(device) + "\t"
    return "".join(
        [
            f"{prefix}{seq}\t{at}\t{celsius!r}\n"
            for seq, at, celsius in zip(rows.seq, times, rows.celsius, strict=True)
        ]
    ).encode()


def _insert_postgresql(
    session: Session,
    device: str,
    rows: Columns,
    during: Callable[[Columns], None] | None = None,
) -> tuple[Columns, bool]:
    """``COPY`` straight into the table: binary when ``columns.fits_binary`` (the instants
    as integers, which PostgreSQL need not parse), else text (the times as they were
    written). Should another transaction have stored one of them meanwhile, the batch goes
    through a temporary table and ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` instead.

    The COPY's bytes are sent by psycopg's writer thread, and ``during`` runs meanwhile in
    this one (the upload parses its next batch), so Python and PostgreSQL work at once."""
    binary = columns.fits_binary(device, rows)
    body = columns.binary_copy(device, rows) if binary else _text_copy(device, rows)
    connection = session.connection()
    integrity_error = connection.dialect.dbapi.IntegrityError  # type: ignore[union-attr]
    try:
        with session.begin_nested():
            _copy(session, "temperature_reading", body, binary, during and (lambda: during(rows)))
        return rows, True
    except integrity_error:
        pass
    session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS reading_upload ON COMMIT DELETE ROWS AS "
            "SELECT device_id, seq, at, celsius FROM temperature_reading WITH NO DATA"
        )
    )
    session.execute(text("DELETE FROM reading_upload"))  # an earlier batch in this transaction
    _copy(session, "reading_upload", body, binary)
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(
            "INSERT INTO temperature_reading (device_id, seq, at, celsius) "
            "SELECT device_id, seq, at, celsius FROM reading_upload "
            "ON CONFLICT (device_id, seq) DO NOTHING RETURNING seq"
        )
        new = {seq for (seq,) in cursor.fetchall()}
    finally:
        cursor.close()
    return rows.take([i for i, seq in enumerate(rows.seq) if seq in new]), False


def _copy(
    session: Session,
    table: str,
    body: bytes,
    binary: bool,
    during: Callable[[], None] | None = None,
) -> None:
    """COPY ``body`` into ``table``; with ``during``, the bytes go from a writer thread
    (which waits on the socket without the GIL) while ``during`` runs here, and the COPY
    ends after both (an exception from ``during`` cancels it)."""
    cursor = session.connection().connection.cursor()
    try:
        statement = f"COPY {table} (device_id, seq, at, celsius) FROM STDIN"
        if binary:
            statement += " (FORMAT BINARY)"
        writer = QueuedLibpqWriter(cursor) if during is not None else None  # type: ignore[arg-type]
        with cursor.copy(statement, writer=writer) as copy:
            copy.write(body)
            if during is not None:
                during()
    finally:
        cursor.close()


_NAIVE_EPOCH = EPOCH.replace(tzinfo=None)


def _insert_sqlite(session: Session, device: str, rows: Columns) -> bool:
    """One raw ``executemany`` of values already in AwareDateTime's storage format (naive UTC
    text); False if some were stored meanwhile (SQLite's write lock makes that unlikely)."""
    before = session.execute(text("SELECT total_changes()")).scalar_one()
    epoch = _NAIVE_EPOCH
    values = [
        (device, seq, (epoch + timedelta(microseconds=us)).isoformat(" ", "microseconds"), c)
        for seq, us, c in zip(rows.seq, rows.us, rows.celsius, strict=True)
    ]
    cursor = session.connection().connection.cursor()
    try:
        cursor.executemany(
            "INSERT OR IGNORE INTO temperature_reading (device_id, seq, at, celsius) "
            "VALUES (?, ?, ?, ?)",
            values,
        )
    finally:
        cursor.close()
    added = session.execute(text("SELECT total_changes()")).scalar_one() - before
    return bool(added == len(rows))


def upload_readings(
    session: Session,
    actor: Account,
    shipment: ColdShipment,
    raw: bytes | BinaryIO,
    content_type: str,
) -> dict[str, Any]:
    """Store a logger file's readings for the shipment's device and update its analysis.

    The file is read as it streams, ``BATCH_READINGS`` rows at a time: each batch is stored
    and folded into the shipment's running aggregates (series.py), so neither the file's
    rows nor the shipment's series are ever held whole. The next batch is read while
    PostgreSQL stores the current one (``_insert``'s ``during``).
    """
    source: BinaryIO = io.BytesIO(raw) if isinstance(raw, bytes | bytearray) else raw
    errors: dict[str, str] = {}
    chunks = _chunks(source, content_type, errors)
    device = shipment.device_id
    if device is None:
        for _ in chunks:  # a file that cannot be read says so first, as before
            pass
        raise Conflict("该运输没有绑定温度记录仪", fields={"device_id": "请先绑定设备"})
    # One upload at a time per shipment: the aggregates are read, updated and written back.
    session.refresh(shipment, with_for_update=True)
    profile = profile_for_shipment(session, shipment)
    state = aggregates.current(session, shipment, profile)
    assert state is not None
    exact = True
    received = added = foreign = 0
    ahead: list[Chunk | None] = []  # the next batch, read while this one is stored
    folded_ahead = False  # this batch folded in while it was stored (in time order, after all)

    def meanwhile(new: Columns) -> None:
        # PostgreSQL is storing ``new`` (or has, on SQLite): read the next batch, and fold
        # ``new`` in if it needs no reading back (if the COPY then fails, the upload does
        # not keep its aggregates: ``exact`` becomes False below).
        nonlocal folded_ahead
        ahead.append(next(chunks, None))
        if exact and new:
            folded_ahead = aggregates.fold_appending(state, new.us, new.celsius, profile)

    chunk = next(chunks, None)
    while chunk is not None:
        mine = _of_device(chunk, device)
        foreign += len(chunk[1]) - len(mine)
        received += len(mine)
        folded_ahead = False
        if mine:
            new, complete = _insert(session, device, mine, meanwhile)
        else:
            new, complete = _NONE, True
            meanwhile(new)
        chunk = ahead.pop()
        added += len(new)
        if exact and complete and new and not folded_ahead:
            exact = aggregates.fold(session, shipment, state, new.samples(), profile)
        elif not complete:
            exact = False
    if foreign:
        errors["device_id"] = f"{foreign} 条读数不属于设备 {device}，已忽略"
    if added:
        aggregates.forget(session, [device], keep=shipment.id)
    # after a race with another upload, the next analysis reads the whole series once
    aggregates.save(shipment, state if exact else None)
    refresh(session, shipment)
    return {
        "received": received,
        "added": added,
        "duplicates": received - added,
        "errors": errors,
        "breached": shipment.breached,
    }


def _of_device(chunk: Chunk, device: str) -> Columns:
    devices, rows = chunk
    if devices.count(device) == len(devices):
        return rows
    return rows.take([i for i, d in enumerate(devices) if d == device])
