from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class Station(SQLModel, table=True):
    """A village e-commerce service station (村级电商服务站): pickup, cash, orders for villagers."""

    id: int | None = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="township.id", index=True)
    village_id: int = Field(foreign_key="village.id", index=True)
    name: str = Field(max_length=40)
    address: str = Field(max_length=120)
    phone: str = Field(default="", max_length=20)
    # Opening hours per ISO weekday ("1" = Monday): ["HH:MM", "HH:MM"] in the township's time
    # zone; a missing weekday is a day off (farmgate/stations/hours.py).
    weekly_hours: dict[str, list[str]] = Field(
        default_factory=lambda: {str(d): ["08:00", "18:00"] for d in range(1, 8)}, sa_type=JSON
    )
    # Closed for now (harvest, holiday): buyers cannot choose it for pickup.
    is_closed: bool = Field(default=False)
    takes_cash: bool = Field(default=True)
    holds_parcels: bool = Field(default=True)
    # The cooperative a villager's small harvest is listed under (selling for a villager).
    cooperative_id: int | None = Field(default=None, foreign_key="cooperative.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class StationStaff(SQLModel, table=True):
    """A station-staff account (role ``station``) works at exactly one station."""

    __tablename__ = "station_staff"

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    station_id: int = Field(foreign_key="station.id", index=True)


class StationOrder(SQLModel, table=True):
    """An order that names a station: picked up there, paid there in cash, or placed there
    for a villager (代下单, ``placed_by_account_id`` the staff member)."""

    __tablename__ = "station_order"

    order_id: int = Field(foreign_key="orders.id", primary_key=True)
    station_id: int = Field(foreign_key="station.id", index=True)
    pickup_code: str = Field(default="", max_length=6)
    placed_by_account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    villager_name: str = Field(default="", max_length=30)
    villager_phone: str = Field(default="", max_length=11)
    arrived_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    picked_up_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    handed_over_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
