"""Orders after payment for the after-purchase tests: delivered ones, lots with a cold-chain
excursion on the way."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.models import Batch, ColdShipment, Order, OrderLine, OrderStatus
from farmgate.orders import state

OS = OrderStatus


def delivered(session: Session, order: Order) -> Order:
    """Move a paid order on to delivered, as packing, the courier and the handover would."""
    for to in (OS.FULFILLING, OS.SHIPPED, OS.DELIVERED):
        state.transition(session, order, to, actor_name="system")
    session.flush()
    return order


def packed_with_excursion(session: Session, order: Order, lot: Batch) -> ColdShipment:
    """Say the order's lines were packed from ``lot`` and that its shipment ran too warm."""
    for line in session.query(OrderLine).filter_by(order_id=order.id):
        line.batch_id = lot.id
        session.add(line)
    shipment = ColdShipment(
        batch_id=lot.id,  # type: ignore[arg-type]
        cooperative_id=lot.cooperative_id,
        storage_class="chilled",
        breached=True,
        analysis={
            "min_c": 3.1,
            "max_c": 14.6,
            "minutes_out": 95,
            "excursions": [
                {
                    "start": "2026-12-01T02:00:00+00:00",
                    "end": "2026-12-01T03:35:00+00:00",
                    "direction": "high",
                    "peak_c": 14.6,
                    "minutes": 95,
                }
            ],
        },
    )
    lot.excursion = True
    session.add_all([shipment, lot])
    session.flush()
    return shipment
