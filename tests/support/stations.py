"""Village service stations for tests: a station in a village, its staff, a sellable SKU."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.models import Account, Role, Sku, Station, StationStaff, Township
from tests.support import factories as f


def create_station(session: Session, township: Township, **overrides: object) -> Station:
    village = f.first_village(session, township)
    data: dict[str, object] = {
        "township_id": township.id,
        "village_id": village.id,
        "name": "谭家场村电商服务站",
        "address": "村部一楼",
        "phone": "0745-1234567",
    }
    data.update(overrides)
    station = Station(**data)  # type: ignore[arg-type]
    session.add(station)
    session.flush()
    return station


def create_staff(session: Session, station: Station) -> Account:
    staff = f.create_account(session, role=Role.STATION)
    staff.display_name = "站长老张"
    session.add(StationStaff(account_id=staff.id, station_id=station.id))  # type: ignore[arg-type]
    session.flush()
    return staff


def station_world(session: Session) -> dict[str, object]:
    """A township with two stations (each with staff), a cooperative and a chilli SKU."""
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    coop_staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, coop_staff, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    station = create_station(session, township)
    other = create_station(session, township, name="高坪村电商服务站")
    return {
        "township": township,
        "coop_staff": coop_staff,
        "sku": sku,
        "station": station,
        "staff": create_staff(session, station),
        "other": other,
        "other_staff": create_staff(session, other),
    }
