"""farmgate/db.py's row helpers: new_row, insert_row, update_row, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from farmgate.db import insert_row, new_row, run, table_of, update_row, utcnow
from farmgate.models import DeliveryMethod, Order, OrderEvent, OrderStatus

NOW = utcnow()
ORDER = {
    "number": "T20261206000001",
    "recipient": "张三",
    "phone": "13700000000",
    "province": "湖南省",
    "city": "怀化市",
    "county": "辰溪县",
    "township": "谭家场乡",
    "address_detail": "1 号",
    "delivery_method": DeliveryMethod.COURIER,
    "items_fen": 1200,
    "shipping_fen": 800,
    "total_fen": 2000,
    "created_at": NOW,
    "pay_by": NOW + timedelta(minutes=30),
}


def test_new_row_holds_what_the_constructor_would() -> None:
    made, built = new_row(Order, **ORDER), Order(**ORDER)
    assert made.model_dump() == built.model_dump()
    assert made.status == OrderStatus.PENDING_PAYMENT and made.note == ""  # the defaults
    assert made.__pydantic_fields_set__ == built.__pydantic_fields_set__ == set(ORDER)
    assert inspect(made).transient
    # A default factory is called for each row, not shared.
    first, second = new_row(OrderEvent, order_id=1), new_row(OrderEvent, order_id=1)
    assert first.created_at is not None and first.created_at <= second.created_at


def test_new_row_refuses_a_name_that_is_not_a_field() -> None:
    with pytest.raises(TypeError, match="no field totl_fen"):
        new_row(Order, **{**ORDER, "totl_fen": 1})


def test_a_new_row_is_written_by_insert_row_or_by_a_flush(session: Session) -> None:
    order = new_row(Order, **ORDER)
    assert insert_row(session, order)
    assert inspect(order).persistent and order.id is not None
    update_row(session, order, {"status": OrderStatus.PAID, "paid_at": NOW})
    flushed = new_row(OrderEvent, order_id=order.id, to_status="paid", actor="buyer")
    flushed.note = "changed after it was made"  # an ordinary attribute set still counts
    session.add(flushed)
    session.flush()
    session.expire_all()
    stored = session.get(Order, order.id)
    assert stored is not None
    assert (stored.number, stored.total_fen, stored.status) == (ORDER["number"], 2000, "paid")
    event = session.get(OrderEvent, flushed.id)
    assert event is not None and (event.order_id, event.note) == (order.id, flushed.note)


def test_run_sees_the_sessions_pending_changes_as_session_execute_would(session: Session) -> None:
    """db.run sends a Core statement on the session's connection; the objects added or changed
    in the session are flushed first (the session's autoflush), unless autoflush is off."""
    orders = table_of(Order)
    count = select(func.count()).select_from(orders)
    numbers = select(orders.c.number).order_by(orders.c.number)
    before = run(session, count).scalar_one()
    order = Order(**ORDER)
    session.add(order)
    assert run(session, count).scalar_one() == before + 1  # flushed by run itself
    order.number = "T20261206000002"
    with session.no_autoflush:  # as with session.execute: no flush, the change not yet written
        assert ORDER["number"] in run(session, numbers).scalars().all()
    assert "T20261206000002" in run(session, numbers).scalars().all()
    assert ORDER["number"] not in run(session, numbers).scalars().all()
