"""The console's today counts (farmgate/reports/todo.py): each queue counts what needs a person."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.models import (
    Alert,
    DeadJob,
    Fulfilment,
    OutboxJob,
    OutboxStatus,
    Parcel,
    Product,
    ProductStatus,
)
from farmgate.payments import requests
from farmgate.reports import todo
from tests.support import desk


def _counts(session: Session) -> dict[str, int]:
    return {q.key: q.count for q in todo.today(session)}


def test_each_queue_counts_only_what_waits_for_a_person(session: Session) -> None:
    shop = desk.shop(session)
    assert set(_counts(session).values()) == {0}

    desk.order(session, shop.sku, paid=False)  # cash, waiting at the station
    desk.order(session, shop.sku)  # paid: not waiting
    fresh, late = desk.order(session, shop.sku), desk.order(session, shop.sku)
    requests.ask(session, None, fresh, "少了一袋")
    (overdue,) = requests.ask(session, None, late, "坏了")
    overdue.created_at = utcnow() - timedelta(hours=settings.refund_answer_hours + 1)
    session.add(Alert(key="e1", kind="excursion", message="超温", cooperative_id=shop.coop.id))
    session.add(Alert(key="e2", kind="excursion", message="已看", read_at=utcnow()))
    session.add(Alert(key="r1", kind="recall", message="召回", batch_id=shop.lot.id))
    job = OutboxJob(job="x.y", status=OutboxStatus.DEAD)
    session.add(job)
    session.flush()
    session.add(DeadJob(outbox_id=job.id, job="x.y", attempts=5, error="boom"))  # type: ignore[arg-type]
    session.add(
        DeadJob(outbox_id=job.id, job="x.y", attempts=5, error="re", redriven_at=utcnow())  # type: ignore[arg-type]
    )
    fulfilment = session.query(Fulfilment).filter_by(order_id=late.id).one()
    session.add(
        Parcel(
            fulfilment_id=fulfilment.id,  # type: ignore[arg-type]
            order_id=late.id,  # type: ignore[arg-type]
            carrier="zhongtong",
            order_ref="FG-check-1",
            salt="s" * 16,
            create_state="check",
        )
    )
    product: Product = shop.product
    product.status = ProductStatus.PENDING_REVIEW
    shop.coop.pending_name = "新名字合作社"
    session.flush()

    assert _counts(session) == {
        "cooperatives": 1,  # the requested name
        "products": 1,
        "cash": 1,
        "refunds": 1,
        "alerts": 1,
        "waybills": 1,
        "jobs": 1,
        "recalls": 1,
    }
