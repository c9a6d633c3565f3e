"""Logger files: temperature readings uploaded as CSV or JSON, stored once each.

Readings are keyed by (device, sequence number), so uploading the same file twice stores each
reading once. Bad rows are reported with their line numbers and the good rows are kept; the
shipment is analysed again after each upload (shipments.refresh).

Speed. A logger's rows are nearly always plain (``T01,17,2026-05-01T08:00:00+08:00,4.5``):
``_plain`` checks those against a strict pattern and builds the reading directly, and only a
row it does not recognise goes through pydantic (which then gives the same value, or the
error message as before). PostgreSQL stores an upload with ``COPY`` into a temporary table
and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``; SQLite with one ``executemany``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy import text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from farmgate.coldchain.shipments import refresh
from farmgate.errors import Conflict, ValidationFailed
from farmgate.models import Account, ColdShipment, TemperatureReading

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


Reading = ReadingIn | PlainReading


def parse_readings(raw: bytes, content_type: str) -> tuple[list[Reading], dict[str, str]]:
    """CSV (``device_id,seq,at,celsius`` header) or JSON (a list of objects) -> rows, errors.

    Errors are keyed ``line N`` (CSV, counting the header as line 1) or ``item N`` (JSON).
    """
    errors: dict[str, str] = {}
    good: list[Reading] = []
    if "json" in content_type:
        try:
            items = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationFailed("JSON 格式错误", fields={"file": str(exc)[:120]}) from exc
        if not isinstance(items, list):
            raise ValidationFailed("JSON 应为读数数组", fields={"file": "应为 [...]"})
        rows = [(f"item {i}", item) for i, item in enumerate(items, start=1)]
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                "文件须为 UTF-8 编码的 CSV", fields={"file": "编码错误"}
            ) from exc
        reader = csv.DictReader(io.StringIO(text))
        missing = {"device_id", "seq", "at", "celsius"} - set(reader.fieldnames or [])
        if missing:
            raise ValidationFailed(
                "CSV 缺少列", fields={"file": "缺少 " + "、".join(sorted(missing))}
            )
        rows = [(f"line {n}", row) for n, row in enumerate(reader, start=2)]
    if len(rows) > MAX_READINGS_PER_UPLOAD:
        raise ValidationFailed("一次最多上传 200000 条读数", fields={"file": f"共 {len(rows)} 条"})
    for where, row in rows:
        plain = _plain(row)
        if plain is not None:
            good.append(plain)
            continue
        try:
            good.append(ReadingIn.model_validate(row))
        except ValidationError as exc:
            first = exc.errors()[0]
            errors[where] = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return good, errors


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
    return PlainReading(device, seq, when, celsius)


def store_readings(session: Session, readings: Sequence[Reading]) -> int:
    """Insert readings, skipping (device, seq) pairs already stored; returns how many are new."""
    if not readings:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _store_postgresql(session, readings)
    table = TemperatureReading.__table__  # type: ignore[attr-defined]
    before = session.execute(text("SELECT total_changes()")).scalar_one()
    session.execute(
        sqlite_insert(table).on_conflict_do_nothing(index_elements=["device_id", "seq"]),
        [
            {"device_id": r.device_id, "seq": r.seq, "at": r.at, "celsius": r.celsius}
            for r in readings
        ],
    )
    return int(session.execute(text("SELECT total_changes()")).scalar_one() - before)


def _store_postgresql(session: Session, readings: Sequence[Reading]) -> int:
    """COPY into a temporary table (this connection's, emptied at commit), then one insert."""
    session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS reading_upload ON COMMIT DELETE ROWS AS "
            "SELECT device_id, seq, at, celsius FROM temperature_reading WITH NO DATA"
        )
    )
    session.execute(text("DELETE FROM reading_upload"))  # an earlier upload in this transaction
    cursor = session.connection().connection.cursor()
    try:
        with cursor.copy("COPY reading_upload (device_id, seq, at, celsius) FROM STDIN") as copy:
            for r in readings:
                copy.write_row((r.device_id, r.seq, r.at, r.celsius))
    finally:
        cursor.close()
    result = session.execute(
        text(
            "INSERT INTO temperature_reading (device_id, seq, at, celsius) "
            "SELECT device_id, seq, at, celsius FROM reading_upload "
            "ON CONFLICT (device_id, seq) DO NOTHING"
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def upload_readings(
    session: Session, actor: Account, shipment: ColdShipment, raw: bytes, content_type: str
) -> dict[str, Any]:
    readings, errors = parse_readings(raw, content_type)
    if shipment.device_id is None:
        raise Conflict("该运输没有绑定温度记录仪", fields={"device_id": "请先绑定设备"})
    foreign = [r for r in readings if r.device_id != shipment.device_id]
    readings = [r for r in readings if r.device_id == shipment.device_id]
    if foreign:
        errors["device_id"] = f"{len(foreign)} 条读数不属于设备 {shipment.device_id}，已忽略"
    added = store_readings(session, readings)
    refresh(session, shipment)
    return {
        "received": len(readings),
        "added": added,
        "duplicates": len(readings) - added,
        "errors": errors,
        "breached": shipment.breached,
    }
