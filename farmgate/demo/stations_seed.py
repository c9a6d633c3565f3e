"""Sample village service stations: one per village, all marked 示例, and one staff account."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.accounts import service as accounts
from farmgate.db import pk
from farmgate.models import Cooperative, Role, Station, StationStaff, Township, Village

STATION_STAFF_PHONE = "13800000020"


def seed_stations(session: Session, township: Township, password: str) -> dict[str, str]:
    """A station in each of the township's villages; staff for the first one."""
    villages = list(
        session.scalars(
            select(Village).where(col(Village.township_id) == township.id).order_by(col(Village.id))
        )
    )
    coop_of = {c.village_id: c.id for c in session.scalars(select(Cooperative))}
    stations = []
    for village in villages:
        station = Station(
            cooperative_id=coop_of.get(pk(village)),  # sells villagers' harvests under it
            township_id=pk(township),
            village_id=pk(village),
            name=f"{village.name}村电商服务站（示例）",
            address=f"{village.name}村部一楼（示例）",
            phone="",
        )
        session.add(station)
        stations.append(station)
    session.flush()
    if not stations:
        return {}
    staff = accounts.create_account(
        session,
        phone=STATION_STAFF_PHONE,
        password=password,
        display_name="服务站管理员（示例）",
        role=Role.STATION,
    )
    session.add(StationStaff(account_id=pk(staff), station_id=pk(stations[0])))
    session.flush()
    return {f"村服务站（{stations[0].name}）": STATION_STAFF_PHONE}
