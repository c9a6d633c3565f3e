"""Logger files: temperature readings uploaded as CSV or JSON, stored once each.

Readings are keyed by (device, sequence number), so uploading the same file twice stores each
reading once. Bad rows are reported with their line numbers and the good rows are kept; the
shipment is analysed again after each upload (shipments.refresh).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
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


def parse_readings(raw: bytes, content_type: str) -> tuple[list[ReadingIn], dict[str, str]]:
    """CSV (``device_id,seq,at,celsius`` header) or JSON (a list of objects) -> rows, errors.

    Errors are keyed ``line N`` (CSV, counting the header as line 1) or ``item N`` (JSON).
    """
    errors: dict[str, str] = {}
    good: list[ReadingIn] = []
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
        try:
            good.append(ReadingIn.model_validate(row))
        except ValidationError as exc:
            first = exc.errors()[0]
            errors[where] = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return good, errors


def store_readings(session: Session, readings: list[ReadingIn]) -> int:
    """Insert readings, skipping (device, seq) pairs already stored; returns how many are new."""
    if not readings:
        return 0
    rows = [r.model_dump() for r in readings]
    table = TemperatureReading.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    added = 0
    for start in range(0, len(rows), 2000):
        chunk = rows[start : start + 2000]
        statement = (
            insert(table)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["device_id", "seq"])
            .returning(table.c.id)
        )
        added += len(session.execute(statement).all())  # rowcount is not reliable here
    return added


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
