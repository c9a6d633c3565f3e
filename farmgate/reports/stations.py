"""Orders placed at village service stations, by station and village: what the township
reports upward. Counted live from ``station_order`` (a station's orders are few)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.models import Order, OrderStatus, Station, StationOrder, Village
from farmgate.reports.filters import ReportFilters
from farmgate.timeutil import LOCAL_TZ


@dataclass(frozen=True)
class StationCount:
    station: str
    village: str
    orders: int  # every order naming the station, cancelled ones left out
    for_villagers: int  # placed by station staff (代下单)
    picked_up: int
    amount_fen: int


def station_counts(session: Session, filters: ReportFilters) -> list[StationCount]:
    """Per station, in the filters' days (and village): orders, 代下单, pickups, amount."""
    start = datetime.combine(filters.date_from, time(), LOCAL_TZ)
    end = datetime.combine(filters.date_to + timedelta(days=1), time(), LOCAL_TZ)
    counted = col(Order.status) != OrderStatus.CANCELLED
    query = (
        select(
            col(Station.name),
            col(Village.name),
            func.count(col(Order.id)),
            func.count(col(StationOrder.placed_by_account_id)),
            func.count(col(StationOrder.picked_up_at)),
            func.coalesce(
                func.sum(case((col(Order.paid_at).is_not(None), col(Order.total_fen)), else_=0)),
                0,
            ),
        )
        .select_from(StationOrder)
        .join(Order, col(Order.id) == StationOrder.order_id)
        .join(Station, col(Station.id) == StationOrder.station_id)
        .join(Village, col(Village.id) == Station.village_id)
        .where(counted, col(Order.created_at) >= start, col(Order.created_at) < end)
        .group_by(col(Station.id), col(Station.name), col(Village.name))
        .order_by(func.count(col(Order.id)).desc(), col(Station.id))
    )
    if filters.village_id is not None:
        query = query.where(col(Station.village_id) == filters.village_id)
    return [StationCount(*row) for row in session.execute(query).all()]
