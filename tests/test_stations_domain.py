"""Village service stations in the domain: orders for villagers paid in cash at the station,
arrival, hand-over with the pickup code, and everything refused with nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from farmgate.errors import FarmgateError, NotFound, PermissionDenied, ValidationFailed
from farmgate.models import (
    DeliveryMethod,
    Fulfilment,
    IntentStatus,
    Order,
    OrderStatus,
    OutboxJob,
    PaymentIntent,
    Product,
    Sku,
    StationOrder,
    TranslogLeaf,
)
from farmgate.orders import service as orders
from farmgate.reports.filters import ReportFilters
from farmgate.reports.stations import station_counts
from farmgate.stations import harvest
from farmgate.stations import orders as station_orders
from farmgate.story import views
from farmgate.timeutil import local_today
from farmgate.trace import chain, facts, urls
from farmgate.trace import service as trace_service
from farmgate.translog import log as translog
from tests.support.stations import station_world


def _villager_order(session: Session, world: dict, **kw: object) -> Order:  # type: ignore[type-arg]
    data = {
        "villager_name": "王奶奶",
        "villager_phone": "139 1234 5678",
        "delivery_method": DeliveryMethod.PICKUP,
        "items": {world["sku"].id: 2},
    }
    data.update(kw)
    return station_orders.place_for_villager(
        session,
        world["staff"],
        station_orders.VillagerOrderIn(**data),  # type: ignore[arg-type]
    )


def _jobs(session: Session, name: str) -> list[OutboxJob]:
    return session.query(OutboxJob).filter_by(job=name).all()


def test_an_order_for_a_villager_is_picked_up_with_the_code(session: Session) -> None:
    world = station_world(session)
    order = _villager_order(session, world)
    link = session.get(StationOrder, order.id)
    assert link is not None
    assert (link.placed_by_account_id, link.villager_name) == (world["staff"].id, "王奶奶")
    assert link.villager_phone == "13912345678" and order.account_id is None
    assert len(link.pickup_code) == 6 and link.pickup_code.isdigit()
    assert order.shipping_fen == 0 and "谭家场村电商服务站" in order.address_detail
    assert [j.args["order_id"] for j in _jobs(session, "stations.sms_order_placed")] == [order.id]
    intent = session.query(PaymentIntent).filter_by(order_id=order.id).one()
    assert (intent.provider, intent.status) == ("cash", IntentStatus.CREATED)

    assert station_orders.confirm_cash(session, world["staff"], order.number, "R-1") is True
    assert order.status == OrderStatus.PAID
    assert station_orders.confirm_cash(session, world["staff"], order.number, "R-1") is False

    fulfilment = session.query(Fulfilment).filter_by(order_id=order.id).one()
    orders.mark_packed(session, world["coop_staff"], fulfilment.id)
    station_orders.mark_arrived(session, world["staff"], order.number)
    assert order.status == OrderStatus.SHIPPED and link.arrived_at is not None
    assert len(_jobs(session, "stations.sms_parcel_arrived")) == 1

    wrong = "000000" if link.pickup_code != "000000" else "111111"
    with pytest.raises(ValidationFailed) as refused:
        station_orders.hand_over(session, world["staff"], wrong)
    assert "取货码" in refused.value.fields["code"]
    assert order.status == OrderStatus.SHIPPED and link.picked_up_at is None
    # The other station's staff cannot hand it over, even with the right code.
    with pytest.raises(ValidationFailed):
        station_orders.hand_over(session, world["other_staff"], link.pickup_code)

    station_orders.hand_over(session, world["staff"], link.pickup_code)
    assert order.status == OrderStatus.DELIVERED and link.picked_up_at is not None
    assert link.handed_over_by_account_id == world["staff"].id

    counts = station_counts(session, ReportFilters.parse())
    assert [(c.station, c.village, c.orders, c.for_villagers, c.picked_up) for c in counts] == [
        ("谭家场村电商服务站", "谭家场", 1, 1, 1)
    ]
    assert counts[0].amount_fen == order.total_fen


def test_another_stations_order_is_not_found(session: Session) -> None:
    world = station_world(session)
    order = _villager_order(session, world)
    for call in (
        lambda: station_orders.order_for_staff(session, world["other_staff"], order.number),
        lambda: station_orders.confirm_cash(session, world["other_staff"], order.number, ""),
        lambda: station_orders.mark_arrived(session, world["other_staff"], order.number),
    ):
        with pytest.raises(NotFound):
            call()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_a_closed_station_takes_no_pickup_orders(session: Session) -> None:
    world = station_world(session)
    world["station"].is_closed = True
    with pytest.raises(ValidationFailed) as refused:
        _villager_order(session, world)
    assert "暂停服务" in refused.value.message
    assert session.query(Order).count() == 0
    with pytest.raises(ValidationFailed):
        station_orders.open_station(session, world["station"].id)


def test_a_parcel_not_yet_at_the_station_is_not_handed_over(session: Session) -> None:
    world = station_world(session)
    order = _villager_order(session, world)
    code = session.get(StationOrder, order.id).pickup_code  # type: ignore[union-attr]
    with pytest.raises(ValidationFailed) as refused:
        station_orders.hand_over(session, world["staff"], code)
    assert "还没有登记到站" in refused.value.fields["code"]
    with pytest.raises(FarmgateError):  # unpaid, unpacked: it cannot have arrived
        station_orders.mark_arrived(session, world["staff"], order.number)
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_delivery_for_a_villager_needs_an_address(session: Session) -> None:
    world = station_world(session)
    with pytest.raises(ValidationFailed) as refused:
        _villager_order(session, world, delivery_method=DeliveryMethod.LOCAL)
    assert "address_detail" in refused.value.fields
    order = _villager_order(
        session, world, delivery_method=DeliveryMethod.LOCAL, address_detail="3组12号"
    )
    assert order.address_detail == "3组12号" and order.shipping_fen == 500
    assert session.get(StationOrder, order.id).pickup_code == ""  # type: ignore[union-attr]


def test_a_households_harvest_is_listed_under_the_stations_cooperative(session: Session) -> None:
    world = station_world(session)
    sku = world["sku"]
    data = harvest.HarvestIn(villager_name="刘大爷", sku_id=sku.id, units=4)
    with pytest.raises(PermissionDenied):  # the station has no cooperative yet
        harvest.list_harvest(session, world["staff"], data)
    world["station"].cooperative_id = world["coop_staff"].cooperative_id
    before = sku.stock
    batch = harvest.list_harvest(session, world["staff"], data)
    assert batch.producer.startswith("刘大爷（农户") and batch.cooperative_id == sku_coop(
        session, sku
    )
    session.refresh(sku)
    assert sku.stock == before + 4 and batch.quantity == 4
    tomorrow = local_today() + timedelta(days=1)
    with pytest.raises(ValidationFailed):
        harvest.list_harvest(
            session,
            world["staff"],
            harvest.HarvestIn(
                villager_name="刘大爷", sku_id=sku.id, units=1, harvest_date=tomorrow
            ),
        )
    with pytest.raises(ValidationFailed):  # another cooperative's SKU is not the station's
        harvest.list_harvest(
            session,
            world["staff"],
            harvest.HarvestIn(villager_name="刘大爷", sku_id=10**6, units=1),
        )


def test_a_households_harvest_is_a_traced_lot_naming_its_producer(session: Session, client) -> None:  # type: ignore[no-untyped-def]
    world = station_world(session)
    world["station"].cooperative_id = world["coop_staff"].cooperative_id
    data = harvest.HarvestIn(villager_name="刘大爷", sku_id=world["sku"].id, units=3)
    batch = harvest.list_harvest(session, world["staff"], data)

    events = list(trace_service.events(session, batch))
    assert [e.kind for e in events] == ["commissioning"]
    harvested = events[0]
    assert harvested.actor_account_id == world["staff"].id
    assert harvested.data["producer"] == batch.producer
    assert harvested.data["household"] == {
        "name": "刘大爷",
        "village": "谭家场",
        "station": "谭家场村电商服务站",
    }
    assert harvested.data["harvest_date"] == local_today().isoformat()
    assert batch.harvest_date == local_today() and not facts.is_late(harvested)
    assert chain.verify(session, batch).intact
    assert facts.check(session, batch, events) == []  # the page's facts match the event

    # Logged in the transparency log like any other event.
    translog.integrate_all(session)
    leaf = session.query(TranslogLeaf).filter_by(event_id=harvested.id).one()
    assert leaf.batch_id == batch.id
    session.commit()

    # Its public trace page names the household, with nothing flagged.
    page = client.get(urls.trace_path(batch))
    assert page.status_code == 200, page.text
    assert "刘大爷（农户，谭家场）" in page.text and "溯源记录完整" in page.text
    assert views.story(session, batch).intact


def sku_coop(session: Session, sku: Sku) -> int:
    product = session.get(Product, sku.product_id)
    assert product is not None
    return product.cooperative_id


def test_the_villager_and_the_buyer_get_their_text_messages(  # type: ignore[no-untyped-def]
    session: Session, sms
) -> None:
    from tests.support.logistics import run_jobs

    world = station_world(session)
    order = _villager_order(session, world)
    link = session.get(StationOrder, order.id)
    assert link is not None
    session.commit()
    run_jobs(session, "stations.sms_order_placed")
    placed = [m for m in sms.state.messages if m.phone.endswith("13912345678")]
    assert len(placed) == 1
    assert placed[0].params[0] == order.number
    assert link.pickup_code in placed[0].params[1] and "代您下单" in placed[0].params[1]

    station_orders.confirm_cash(session, world["staff"], order.number, "R-9")
    fulfilment = session.query(Fulfilment).filter_by(order_id=order.id).one()
    orders.mark_packed(session, world["coop_staff"], fulfilment.id)
    station_orders.mark_arrived(session, world["staff"], order.number)
    session.commit()
    run_jobs(session, "stations.sms_parcel_arrived")
    arrived = [m for m in sms.state.messages if "已到" in m.params[1]]
    assert len(arrived) == 1 and link.pickup_code in arrived[0].params[1]
