"""Selling for a villager: station staff list a household's small harvest under the station's
cooperative. The lot records the household as its producer and its harvest is the lot's first
chain event (``commissioning``, as a cooperative's harvest is: hash-chained, then logged in the
transparency log), so the package's trace page names who grew it; the SKU's stock grows by what
the household brought."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk
from farmgate.errors import PermissionDenied, ValidationFailed
from farmgate.models import Account, Batch, Product, Sku, Village
from farmgate.stations import records
from farmgate.timeutil import local_today
from farmgate.trace import service as trace
from farmgate.trace.lots import suggest_lot_code
from farmgate.trace.schemas import HarvestIn as TraceHarvestIn


class HarvestIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    villager_name: str = Field(min_length=1, max_length=30)
    sku_id: int
    units: int = Field(ge=1, le=999, description="how many of the SKU the household brought")
    harvest_date: date | None = None


def skus_of_station(session: Session, staff: Account) -> list[tuple[Sku, Product]]:
    """The station cooperative's active SKUs: what a household's harvest can be sold as."""
    station = records.station_of(session, staff)
    if station.cooperative_id is None:
        return []
    rows = session.execute(
        select(Sku, Product)
        .join(Product, col(Product.id) == Sku.product_id)
        .where(col(Product.cooperative_id) == station.cooperative_id, col(Sku.is_active))
        .order_by(col(Product.id), col(Sku.id))
    ).all()
    return [(s, p) for s, p in rows]


def list_harvest(session: Session, staff: Account, data: HarvestIn) -> Batch:
    """A lot of the household's harvest under the station's cooperative, its harvest logged in
    the lot's chain with the household named; the stock grows."""
    station = records.station_of(session, staff)
    if station.cooperative_id is None:
        raise PermissionDenied("本服务站还没有挂靠合作社，请联系乡镇管理员")
    found = next((row for row in skus_of_station(session, staff) if row[0].id == data.sku_id), None)
    if found is None:
        raise ValidationFailed("请选择商品", fields={"sku_id": "请从列表中选择本站合作社的商品"})
    today = local_today()
    if data.harvest_date is not None and data.harvest_date > today:
        raise ValidationFailed("采收日期不能晚于今天", fields={"harvest_date": "不能晚于今天"})
    sku, product = found
    village = session.get(Village, station.village_id)
    village_name = village.name if village else ""
    batch = Batch(
        cooperative_id=product.cooperative_id,
        product_id=pk(product),
        lot_code=suggest_lot_code(session, product),
        gtin=trace.product_gtin(product),
        quantity=Decimal(data.units),
        unit=product.unit,
        village_code=village.code if village else None,
        producer=f"{data.villager_name}（农户，{village_name}）"[:60],
        plot_name=f"{station.name}代售"[:60],
    )
    session.add(batch)
    session.flush()
    # The harvest date is set by the harvest event, as on a cooperative's lot.
    trace.record_harvest(
        session,
        staff,
        batch,
        TraceHarvestIn(
            harvest_date=data.harvest_date or today,
            note=f"{station.name}代农户{data.villager_name}登记"[:200],
        ),
        household={
            "name": data.villager_name,
            "village": village_name,
            "station": station.name,
        },
    )
    session.execute(update(Sku).where(col(Sku.id) == sku.id).values(stock=Sku.stock + data.units))
    session.flush()
    return batch
