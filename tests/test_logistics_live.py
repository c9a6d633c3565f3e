"""Waybills end to end: committed orders, the real Redis, a real arq worker, the simulator.

The carrier creates the waybill and then stalls past our timeout; the worker retries with
backoff, looks before creating again, and the order ends with exactly one waybill.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import Engine

from farmgate.config import settings
from farmgate.db import session_scope
from farmgate.logistics.simulator import CourierSimulatorServer, start_courier_simulator
from farmgate.models import Order, OutboxJob, Parcel, Role, Sku
from farmgate.orders import cart as carts
from farmgate.orders import checkout
from farmgate.orders import service as orders
from farmgate.orders.schemas import CheckoutIn
from tests.support import factories as f
from tests.support.factories import ADDRESS
from tests.support.live import REDIS_URL, burst, dispatch_once, on_postgresql, redis_up


@pytest.fixture
def live_carrier(
    committed_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CourierSimulatorServer]:
    if not redis_up():
        pytest.fail(f"Redis is not answering at {REDIS_URL}")
    monkeypatch.setattr(settings, "redis_url", REDIS_URL)
    monkeypatch.setattr(settings, "queue_prefix", f"fglog-{uuid.uuid4().hex[:8]}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    with start_courier_simulator() as sim:
        config = sim.config()
        for name, value in {
            "kuaidi100_customer": config["customer"],
            "kuaidi100_key": config["key"],
            "kuaidi100_secret": config["secret"],
            "kuaidi100_base": config["base_url"],
            "kuaidi100_label_base": config["label_base_url"],
            "courier_http_timeout": 1,
            "kuaidi100_waybill_lookup": True,
        }.items():
            monkeypatch.setattr(settings, name, value)
        yield sim


@on_postgresql
def test_a_timeout_after_the_carrier_created_the_waybill_ends_with_one(live_carrier) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        township = f.create_township(session)
        coop = f.create_cooperative(session, township)
        staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
        product = f.create_product(session, staff, f.first_village(session, township))
        sku = session.query(Sku).filter_by(product_id=product.id).one()
        buyer = f.create_account(session)
        ref = carts.get_cart(session, buyer, None, create=True)
        assert ref is not None
        carts.set_quantity(session, ref.cart, sku.id, 1)
        order = checkout.checkout(session, ref.cart, CheckoutIn(**ADDRESS), buyer)
        orders.mark_paid(session, order)
        order_id = order.id
    live_carrier.inject("create_then_timeout", timeout_seconds=3)

    async def run() -> None:
        for _ in range(2):  # waybill (with its retry), then the subscription it queues
            await dispatch_once()
            await burst("slow")

    asyncio.run(run())
    with session_scope() as session:
        parcel = session.query(Parcel).filter_by(order_id=order_id).one()
        assert parcel.waybill_no and parcel.subscribed
        assert session.get(Order, order_id).status == "paid"
        job = session.query(OutboxJob).filter_by(job="logistics.create_waybill").one()
        assert (job.status, job.attempts) == ("done", 2)  # timed out once, then looked first
    made = [p for p in live_carrier.state.parcels.values() if p.order_ref == parcel.order_ref]
    assert len(made) == 1 and made[0].waybill_no == parcel.waybill_no
