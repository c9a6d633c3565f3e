"""Paid orders get exactly one waybill each, and their tracking follows pushes and polls.

Runs against the Kuaidi100-protocol SIMULATOR on 127.0.0.1; the push callback (our app) is not
reachable from it in these tests, so the tests hand its recorded pushes to the app's endpoint.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.jobs import runner
from farmgate.logistics import tasks
from farmgate.models import (
    CourierPush,
    Fulfilment,
    Order,
    OrderStatus,
    OutboxJob,
    Parcel,
    Role,
    Sku,
    Township,
)
from farmgate.orders import presenters
from farmgate.orders import service as orders
from tests.support import factories as f
from tests.support.factories import ADDRESS
from tests.support.logistics import deliver_push, paid_order, run_jobs


def test_a_paid_order_gets_exactly_one_waybill(client, session: Session, carrier) -> None:  # type: ignore[no-untyped-def]
    order = paid_order(client, session)
    parcel = session.query(Parcel).filter_by(order_id=order.id).one()
    assert parcel.carrier == settings.courier_company and parcel.waybill_no is None
    assert run_jobs(session, "logistics.create_waybill") == ["done"]
    session.expire_all()
    parcel = session.get(Parcel, parcel.id)
    assert parcel.waybill_no and parcel.status == "created"
    assert carrier.parcel(parcel.waybill_no) is not None
    # The job again (a re-drive, a duplicate dispatch): nothing new at the carrier.
    assert runner.execute(
        session.query(OutboxJob).filter_by(job="logistics.create_waybill").one().id
    ).outcome in ("skipped", "done")
    made = [p for p in carrier.state.parcels.values() if p.order_ref == parcel.order_ref]
    assert len(made) == 1


def test_a_carrier_timeout_after_creating_never_makes_a_second_waybill(
    client, session: Session, carrier
) -> None:  # type: ignore[no-untyped-def]
    order = paid_order(client, session)
    carrier.inject("create_then_timeout", timeout_seconds=3)
    assert run_jobs(session, "logistics.create_waybill") == ["retry"]
    parcel = session.query(Parcel).filter_by(order_id=order.id).one()
    assert parcel.waybill_no is None  # we never heard the answer ...
    assert run_jobs(session, "logistics.create_waybill") == ["done"]  # ... so we look first
    session.expire_all()
    parcel = session.get(Parcel, parcel.id)
    made = [p for p in carrier.state.parcels.values() if p.order_ref == parcel.order_ref]
    assert len(made) == 1 and made[0].waybill_no == parcel.waybill_no


def _shipped(client, session: Session, carrier) -> Parcel:  # type: ignore[no-untyped-def]
    order = paid_order(client, session)
    run_jobs(session, "logistics.create_waybill")
    assert run_jobs(session, "logistics.subscribe") == ["done"]
    session.expire_all()
    parcel = session.query(Parcel).filter_by(order_id=order.id).one()
    assert parcel.subscribed
    return parcel


def test_pushes_move_the_parcel_the_fulfilment_and_the_order(
    client, session: Session, carrier
) -> None:  # type: ignore[no-untyped-def]
    parcel = _shipped(client, session, carrier)
    carrier.advance(parcel.waybill_no)  # picked up
    assert deliver_push(client, carrier).status_code == 200
    assert deliver_push(client, carrier).status_code == 200  # the carrier repeats itself
    assert session.query(CourierPush).count() == 1
    assert run_jobs(session, "logistics.apply_push") == ["done"]
    session.expire_all()
    assert session.get(Parcel, parcel.id).status == "picked_up"
    order = session.get(Order, parcel.order_id)
    assert order.status == OrderStatus.SHIPPED
    assert session.get(Fulfilment, parcel.fulfilment_id).status == "shipped"
    carrier.advance(parcel.waybill_no, 3)  # signed for
    deliver_push(client, carrier)
    run_jobs(session, "logistics.apply_push")
    session.expire_all()
    assert session.get(Order, parcel.order_id).status == OrderStatus.DELIVERED
    page = client.get(
        "/api/v1/admin/orders",
        headers=f.auth_headers(session, f.create_account(session, role=Role.ADMIN)),
    ).json()
    tracked = next(o for o in page if o["id"] == parcel.order_id)["parcels"][0]
    assert tracked["status_label"] == "已签收" and tracked["events"]


def test_forged_and_out_of_order_pushes_change_nothing(client, session: Session, carrier) -> None:  # type: ignore[no-untyped-def]
    parcel = _shipped(client, session, carrier)
    carrier.inject("push_forged")
    carrier.advance(parcel.waybill_no)
    forged = deliver_push(client, carrier)
    assert forged.status_code == 400 and session.query(CourierPush).count() == 0
    carrier.advance(parcel.waybill_no)  # in transit
    carrier.inject("push_out_of_order")
    carrier.advance(parcel.waybill_no)  # out for delivery, then the older snapshot again
    for index in range(-2, 0):
        deliver_push(client, carrier, index)
    run_jobs(session, "logistics.apply_push")
    session.expire_all()
    assert session.get(Parcel, parcel.id).status == "out_for_delivery"
    outcomes = sorted(p.outcome for p in session.query(CourierPush))
    assert outcomes == ["applied", "stale"]


def test_the_poll_catches_a_parcel_whose_pushes_stopped(client, session: Session, carrier) -> None:  # type: ignore[no-untyped-def]
    parcel = _shipped(client, session, carrier)
    carrier.advance(parcel.waybill_no)  # pushed, but the push never reached us
    carrier.advance(parcel.waybill_no)
    assert tasks.poll(session) == 0  # not quiet long enough yet
    parcel.updated_at = utcnow() - timedelta(minutes=settings.tracking_poll_minutes + 1)
    session.commit()
    assert tasks.poll(session) == 1
    session.commit()
    session.expire_all()
    assert session.get(Parcel, parcel.id).status == "in_transit"


def test_pickup_orders_need_no_waybill_and_outages_retry(client, session: Session, carrier) -> None:  # type: ignore[no-untyped-def]
    pickup = paid_order(client, session, "pickup")
    assert session.query(Parcel).filter_by(order_id=pickup.id).count() == 0
    order = paid_order(client, session, "post")
    parcel = session.query(Parcel).filter_by(order_id=order.id).one()
    assert parcel.carrier == settings.post_company
    carrier.inject("error_500")
    assert run_jobs(session, "logistics.create_waybill") == ["retry"]
    assert run_jobs(session, "logistics.create_waybill") == ["done"]


def test_lots_chosen_at_packing_follow_the_parcel_and_recalls_find_the_order(
    client, session: Session, carrier
) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from farmgate.models import Account, Batch, OrderLine, TraceEvent
    from farmgate.trace import service as trace
    from farmgate.trace.schemas import BatchIn

    order = paid_order(client, session)
    other = paid_order(client, session)  # the same kind of product, another cooperative
    line = session.query(OrderLine).filter_by(order_id=order.id).one()
    fulfilment = session.get(Fulfilment, line.fulfilment_id)
    staff = session.query(Account).filter_by(cooperative_id=fulfilment.cooperative_id).one()
    lot = trace.create_batch(
        session,
        staff,
        BatchIn(product_id=line.product_id, lot_code="PACK-1", quantity=Decimal(50), unit="kg"),
    )
    session.commit()
    headers = f.auth_headers(session, staff)
    url = f"/api/v1/my/fulfilments/{fulfilment.id}/pack"
    wrong = client.post(url, json={"lots": {str(line.id): lot.id + 999}}, headers=headers)
    assert wrong.status_code == 422
    packed = client.post(url, json={"lots": {str(line.id): lot.id}}, headers=headers)
    assert packed.status_code == 200, packed.text
    run_jobs(session, "logistics.create_waybill")
    run_jobs(session, "logistics.subscribe")
    session.expire_all()
    parcel = session.query(Parcel).filter_by(order_id=order.id).one()
    carrier.advance(parcel.waybill_no)
    deliver_push(client, carrier)
    carrier.advance(parcel.waybill_no, 3)
    deliver_push(client, carrier)
    run_jobs(session, "logistics.apply_push")
    session.expire_all()
    kinds = [
        e.kind
        for e in session.query(TraceEvent).filter_by(batch_id=lot.id).order_by(TraceEvent.seq)
    ]
    assert kinds == ["packing", "shipping", "receiving"]
    listed = client.get(f"/api/v1/batches/{lot.id}/orders", headers=headers).json()
    assert [o["id"] for o in listed] == [order.id] and other.id != order.id
    assert session.get(Batch, lot.id).status == "active"


def test_each_cooperative_sees_only_its_own_parcel(client, session: Session, carrier) -> None:  # type: ignore[no-untyped-def]
    township = session.query(Township).first() or f.create_township(session)
    staffs, skus = [], []
    for name in ("甲社", "乙社"):
        coop = f.create_cooperative(session, township, name=name)
        staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
        product = f.create_product(session, staff, f.first_village(session, township))
        staffs.append(staff)
        skus.append(session.query(Sku).filter_by(product_id=product.id).one())
    buyer = f.auth_headers(session, f.create_account(session))
    for sku in skus:
        client.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": 1}, headers=buyer)
    data = client.post("/api/v1/checkout", json=ADDRESS, headers=buyer).json()
    orders.mark_paid(session, session.get(Order, data["id"]))
    session.commit()
    run_jobs(session, "logistics.create_waybill")
    mine = presenters.order_view(
        session, session.get(Order, data["id"]), cooperative_id=staffs[0].cooperative_id
    )
    buyers = presenters.order_view(session, session.get(Order, data["id"]))
    assert len(buyers.parcels) == 2 and len(mine.parcels) == 1
    own = session.query(Parcel).filter(Parcel.order_id == data["id"]).all()
    first = next(
        p
        for p in own
        if session.get(Fulfilment, p.fulfilment_id).cooperative_id == staffs[0].cooperative_id
    )
    assert mine.parcels[0].waybill_no == first.waybill_no


def test_a_5xx_storm_ends_in_the_dead_letter_table_with_its_reason(
    client, session: Session, carrier
) -> None:  # type: ignore[no-untyped-def]
    from farmgate.jobs.registry import get
    from farmgate.models import DeadJob

    order = paid_order(client, session)
    tries = get("logistics.create_waybill").max_tries
    carrier.inject(*["error_500"] * tries)
    outcomes = []
    for _ in range(tries):
        outcomes += run_jobs(session, "logistics.create_waybill")
    assert outcomes == ["retry"] * (tries - 1) + ["dead"]
    dead = session.query(DeadJob).filter_by(job="logistics.create_waybill").one()
    assert dead.error.endswith("Kuaidi100 HTTP 503") and dead.attempts == tries
    assert session.query(Parcel).filter_by(order_id=order.id).one().waybill_no is None
