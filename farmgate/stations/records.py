"""The township keeps the stations: name, village, address, hours, flags, and staff accounts.

Staff accounts have the role ``station`` and one ``station_staff`` row naming their station.
They are created like courier accounts: a first password shown once, only its hash kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import audit
from farmgate.accounts.staff import create_staff_account
from farmgate.db import pk
from farmgate.errors import NotFound, PermissionDenied, ValidationFailed
from farmgate.models import (
    Account,
    Cooperative,
    CooperativeStatus,
    Role,
    Station,
    StationStaff,
    Village,
)
from farmgate.stations import hours

_PHONE = re.compile(r"^[0-9-]{7,20}$")
FLAGS = ("is_closed", "takes_cash", "holds_parcels")


@dataclass
class StationRow:
    station: Station
    village: Village
    staff: list[Account]


def _admin(actor: Account) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied("只有乡镇管理员可以管理村服务站")


def hours_text(station: Station) -> str:
    """The station's week in a line (每天 08:00–18:00, ...)."""
    return hours.summary(station.weekly_hours)


def list_stations(session: Session, *, open_only: bool = False) -> list[StationRow]:
    """Every station with its village and staff, by village."""
    query = select(Station, Village).join(Village, col(Village.id) == Station.village_id)
    if open_only:
        query = query.where(col(Station.is_closed).is_(False), col(Station.holds_parcels))
    rows = session.execute(query.order_by(col(Village.id), col(Station.id))).all()
    staff = staff_of(session, [pk(s) for s, _ in rows])
    return [StationRow(s, v, staff.get(pk(s), [])) for s, v in rows]


def staff_of(session: Session, station_ids: list[int]) -> dict[int, list[Account]]:
    found: dict[int, list[Account]] = {}
    if not station_ids:
        return found
    for link, account in session.execute(
        select(StationStaff, Account)
        .join(Account, col(Account.id) == StationStaff.account_id)
        .where(col(StationStaff.station_id).in_(station_ids))
        .order_by(col(Account.id))
    ).all():
        found.setdefault(link.station_id, []).append(account)
    return found


def get_station(session: Session, station_id: int) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound("服务站不存在", context={"station_id": station_id})
    return station


def _checked(session: Session, values: dict[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """The form's values as the station's fields, with a message per wrong field."""
    errors: dict[str, str] = {}
    name = " ".join(values.get("name", "").split())
    address = values.get("address", "").strip()
    phone = values.get("phone", "").strip()
    village_id = values.get("village_id", "").strip()
    if not name:
        errors["name"] = "请填写服务站名称"
    elif len(name) > 40:
        errors["name"] = "名称不能超过40个字"
    village = session.get(Village, int(village_id)) if village_id.isdigit() else None
    if village is None:
        errors["village_id"] = "请选择服务站所在的村"
    if len(address) < 2:
        errors["address"] = "请填写服务站的地址，村民要能找到"
    elif len(address) > 120:
        errors["address"] = "地址不能超过120个字"
    if phone and not _PHONE.match(phone):
        errors["phone"] = "请填写手机号或座机号（数字和-）"
    weekly, hour_errors = hours.from_form(values)
    errors.update(hour_errors)
    fields: dict[str, object] = {
        "name": name,
        "address": address,
        "phone": phone,
        "weekly_hours": weekly,
        **{flag: values.get(flag) == "1" for flag in FLAGS},
    }
    if village is not None:
        fields["village_id"], fields["township_id"] = pk(village), village.township_id
    coop_id = values.get("cooperative_id", "").strip()
    coop = session.get(Cooperative, int(coop_id)) if coop_id.isdigit() else None
    if coop_id and (coop is None or coop.status != CooperativeStatus.APPROVED):
        errors["cooperative_id"] = "请从列表中选择已审核的合作社"
    fields["cooperative_id"] = coop.id if coop is not None else None
    return fields, errors


def save_station(
    session: Session, admin: Account, values: dict[str, str], station_id: int | None = None
) -> Station:
    """Create a station, or change one; every wrong field is refused at once, nothing saved."""
    _admin(admin)
    station = get_station(session, station_id) if station_id is not None else None
    fields, errors = _checked(session, values)
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    before = station.model_dump(include=set(fields)) if station is not None else None
    if station is None:
        station = Station(**fields)  # type: ignore[arg-type]
    else:
        for key, value in fields.items():
            setattr(station, key, value)
    session.add(station)
    session.flush()
    audit.record(
        session,
        admin,
        "station.create" if before is None else "station.update",
        "station",
        station.id,
        f"{'新建' if before is None else '修改'}村服务站「{station.name}」",
        before=before,
        after=station.model_dump(include=set(fields)),
    )
    return station


def add_staff(
    session: Session, admin: Account, station_id: int, phone: str, name: str
) -> tuple[Account, str]:
    """A new station-staff account for ``station_id`` and its first password (shown once)."""
    _admin(admin)
    station = get_station(session, station_id)
    staff, password = create_staff_account(
        session,
        phone=phone,
        name=name,
        role=Role.STATION,
        who="工作人员",
        phone_field="staff_phone",
        name_field="staff_name",
    )
    session.add(StationStaff(account_id=pk(staff), station_id=pk(station)))
    session.flush()
    audit.record(
        session,
        admin,
        "station.staff_add",
        "station",
        station.id,
        f"为村服务站「{station.name}」新建工作人员账号 {name}",
    )
    return staff, password


def station_of(session: Session, staff: Account) -> Station:
    """The station a station-staff account works at; anyone else is refused."""
    if staff.role != Role.STATION:
        raise PermissionDenied("只有村服务站工作人员可以使用此页面")
    link = session.get(StationStaff, staff.id)
    station = session.get(Station, link.station_id) if link is not None else None
    if station is None:
        raise PermissionDenied("你的账号还没有分配到服务站，请联系乡镇管理员")
    return station
