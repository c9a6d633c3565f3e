"""The township and its villages."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.errors import ValidationFailed
from farmgate.models import Township, Village


def current_township(session: Session) -> Township | None:
    return session.scalars(select(Township).where(col(Township.code) == settings.township)).first()


def list_villages(session: Session, township_id: int | None = None) -> list[Village]:
    """The villages of ``township_id``, or of the configured township."""
    if township_id is None:
        township = current_township(session)
        township_id = township.id if township is not None else None
    query = select(Village).order_by(col(Village.id))
    if township_id is not None:
        query = query.where(col(Village.township_id) == township_id)
    return list(session.scalars(query))


# --- first run: the township and its villages ---------------------------------------------

# The bundled township: 谭家场乡 (辰溪县) and its ten village committees, real place names.


class TownshipFields(TypedDict):
    code: str
    name: str
    county: str
    city: str
    province: str


BUILTIN_TOWNSHIP: TownshipFields = {
    "code": "431223222",
    "name": "谭家场乡",
    "county": "辰溪县",
    "city": "怀化市",
    "province": "湖南省",
}
BUILTIN_VILLAGES = [
    "谭家场",
    "李家坳",
    "高坪",
    "上荆竹溪",
    "下荆竹溪",
    "小板林",
    "大板林",
    "狮头坡",
    "草子坳",
    "王洋屯",
]


TOWNSHIP_FIELDS = ("code", "name", "county", "city", "province")


@dataclass(frozen=True)
class TownshipData:
    """A township and its villages (name, optional village code) as read from a file."""

    township: dict[str, str]
    villages: tuple[tuple[str, str | None], ...]


def builtin_township() -> TownshipData:
    """The bundled township (谭家场乡 and its ten villages): names only, no accounts."""
    return TownshipData(
        {key: str(value) for key, value in BUILTIN_TOWNSHIP.items()},
        tuple((name, None) for name in BUILTIN_VILLAGES),
    )


def read_township_file(path: Path) -> TownshipData:
    """Read a township from JSON or CSV; raise ValidationFailed saying what is wrong.

    JSON: ``{"code", "name", "county", "city", "province", "villages": ["名", {"name",
    "code"}]}``. CSV (UTF-8): one row per village with the columns ``township_code,
    township_name, county, city, province, village, village_code``.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"无法读取文件 {path}：{exc}") from None
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"JSON 格式不正确：{exc}") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("villages"), list):
            raise ValidationFailed("JSON 应为一个对象，含 code、name 等字段和 villages 列表")
        township = {k: str(raw.get(k) or "").strip() for k in TOWNSHIP_FIELDS}
        villages: list[tuple[str, str | None]] = []
        for item in raw["villages"]:
            if isinstance(item, str):
                villages.append((item.strip(), None))
            elif isinstance(item, dict):
                villages.append((str(item.get("name") or "").strip(), item.get("code") or None))
            else:
                raise ValidationFailed("villages 的每一项应为村名或 {name, code}")
    elif path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows:
            raise ValidationFailed("CSV 文件没有数据行")
        first = rows[0]
        township = {
            k: str(first.get("township_" + k if k in ("code", "name") else k) or "").strip()
            for k in TOWNSHIP_FIELDS
        }
        villages = [
            (str(r.get("village") or "").strip(), (r.get("village_code") or "").strip() or None)
            for r in rows
        ]
    else:
        raise ValidationFailed("只支持 .json 或 .csv 文件")
    return _checked(TownshipData(township, tuple(villages)))


def _checked(data: TownshipData) -> TownshipData:
    missing = [k for k in TOWNSHIP_FIELDS if not data.township.get(k)]
    if missing:
        raise ValidationFailed("乡镇信息不完整：缺少 " + "、".join(missing))
    if not data.township["code"].isdigit() or len(data.township["code"]) > 12:
        raise ValidationFailed("乡镇代码应为不超过12位的数字（统计用区划代码）")
    too_long = [v for v in (*data.township.values(), *(n for n, _ in data.villages)) if len(v) > 50]
    if too_long:
        raise ValidationFailed(f"名称过长（最多50字）：{too_long[0]}")
    if not data.villages or any(not name for name, _ in data.villages):
        raise ValidationFailed("至少需要一个村，且每个村都要有名称")
    return data


def init_township(session: Session, data: TownshipData) -> tuple[Township, int]:
    """Create the township and any villages it lacks (idempotent); the villages added."""
    township = session.scalars(
        select(Township).where(col(Township.code) == data.township["code"])
    ).first()
    if township is None:
        township = Township(**data.township)  # type: ignore[arg-type]
        session.add(township)
        session.flush()
    have = set(
        session.scalars(select(col(Village.name)).where(col(Village.township_id) == township.id))
    )
    added = 0
    for name, code in data.villages:
        if name not in have:
            session.add(Village(township_id=township.id, name=name, code=code))  # type: ignore[arg-type]
            have.add(name)
            added += 1
    session.flush()
    return township, added
