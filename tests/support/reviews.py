"""Orders whose buyer received them (completed through the order state machine), to review."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.models import Account, Order, OrderLine, OrderStatus
from farmgate.orders import state
from tests.support import desk
from tests.support.console import packed

OS = OrderStatus


def received_order(
    session: Session, shop: desk.Shop, buyer: Account, *, until: OrderStatus = OS.COMPLETED
) -> Order:
    """``buyer``'s paid order of ``shop``'s SKU, packed from ``shop.lot``, then moved through
    shipped and delivered up to ``until`` (completed: receipt confirmed)."""
    order = desk.order(session, shop.sku, buyer=buyer)
    packed(session, shop.owner, order, shop.lot)
    for step in (OS.SHIPPED, OS.DELIVERED, OS.COMPLETED):
        if OS(order.status) == until:
            break
        state.transition(session, order, step, actor_name="system")
    session.flush()
    return order


def line_of(session: Session, order: Order) -> OrderLine:
    line = session.query(OrderLine).filter_by(order_id=order.id).first()
    assert line is not None
    return line
