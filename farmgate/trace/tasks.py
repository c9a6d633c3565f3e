"""Trace jobs (rules in farmgate/jobs/__init__.py): alerts that must reach people."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.db import utcnow
from farmgate.jobs.registry import job
from farmgate.models import Alert, Batch, ColdShipment, Product

log = logging.getLogger(__name__)


def raise_alert(
    session: Session,
    key: str,
    kind: str,
    message: str,
    *,
    cooperative_id: int | None,
    batch_id: int | None,
    details: dict[str, Any] | None = None,
) -> Alert | None:
    """Store an alert once per ``key`` (a job may run twice); None when it already exists."""
    if session.scalars(select(Alert.id).where(Alert.key == key)).first() is not None:
        return None
    alert = Alert(
        key=key,
        kind=kind,
        message=message[:300],
        cooperative_id=cooperative_id,
        batch_id=batch_id,
        details=details or {},
    )
    session.add(alert)
    session.flush()
    log.warning("alert %s: %s", key, message)
    return alert


def recent_alerts(
    session: Session, cooperative_id: int | None, days: int = 14, limit: int = 20
) -> list[Alert]:
    """A cooperative's alerts of the last ``days`` days, newest first (None: the township's)."""
    query = (
        select(Alert)
        .where(Alert.created_at >= utcnow() - timedelta(days=days))
        .order_by(Alert.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    if cooperative_id is not None:
        query = query.where(Alert.cooperative_id == cooperative_id)
    return list(session.scalars(query))


class ShipmentArgs(TypedDict):
    shipment_id: int


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
