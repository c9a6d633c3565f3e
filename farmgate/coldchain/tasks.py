"""Cold-chain jobs (rules in farmgate/jobs/__init__.py): excursion alerts."""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy.orm import Session

from farmgate.jobs.registry import job
from farmgate.models import Batch, ColdShipment, Product
from farmgate.trace.alerts import raise_alert


class ShipmentArgs(TypedDict):
    shipment_id: int


# The name keeps its "trace." prefix: outbox rows already queued under it must still run.
@job("trace.excursion_alert", queue="quick", max_tries=5, timeout=20)
def excursion_alert(session: Session, args: ShipmentArgs) -> None:
    """Keyed by the shipment: one alert per shipment that left its temperature range."""
    shipment = session.get(ColdShipment, args["shipment_id"])
    if shipment is None or not shipment.breached:
        return
    batch = session.get(Batch, shipment.batch_id)
    assert batch is not None
    product = session.get(Product, batch.product_id)
    figures = shipment.analysis or {}
    raise_alert(
        session,
        f"excursion:{shipment.id}",
        "excursion",
        f"冷链温度超标：{product.name if product else ''} 批次 {batch.lot_code}"
        f"（运输 #{shipment.id}，超限累计 {figures.get('minutes_out', '?')} 分钟）",
        cooperative_id=batch.cooperative_id,
        batch_id=batch.id,
        details=figures,
    )
