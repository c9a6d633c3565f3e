"""The township's own couriers carry parcels within the county, updated from their phone.

No carrier API and no simulator: the cooperative assigns the parcel, the courier records each
step, and the order, the fulfilment and the packed lots' chains follow as they do for a
carrier's tracking.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from farmgate.models import (
    Account,
    FormSubmission,
    Fulfilment,
    Order,
    OrderLine,
    OutboxJob,
    Parcel,
    Role,
    Sku,
    StorageClass,
    Township,
    TraceEvent,
)
from farmgate.orders import presenters
from farmgate.orders import service as orders
from farmgate.trace import service as trace
from farmgate.trace.schemas import BatchIn
from tests.support import factories as f
from tests.support.factories import ADDRESS

LOCAL = {**ADDRESS, "delivery_method": "local"}


def _checkout(client, session: Session, address: dict, storage: StorageClass):  # type: ignore[no-untyped-def]
    township = session.query(Township).first() or f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(
        session, staff, f.first_village(session, township), storage_class=storage
    )
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    buyer = f.auth_headers(session, f.create_account(session))
    session.commit()
    client.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": 1}, headers=buyer)
    return client.post("/api/v1/checkout", json=address, headers=buyer), staff


def _local_parcel(client, session: Session, storage=StorageClass.AMBIENT):  # type: ignore[no-untyped-def]
    answer, staff = _checkout(client, session, LOCAL, storage)
    assert answer.status_code == 201, answer.text
    order = session.get(Order, answer.json()["id"])
    orders.mark_paid(session, order)
    session.commit()
    return session.query(Parcel).filter_by(order_id=order.id).one(), staff


def _courier(session: Session, name: str = "王师傅") -> tuple[Account, dict[str, str]]:
    courier = f.create_account(session, role=Role.COURIER)
    courier.display_name = name
    headers = f.auth_headers(session, courier)
    session.commit()
    return courier, headers


def test_township_delivery_is_only_for_addresses_in_the_county(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    far = {**LOCAL, "city": "长沙市", "county": "岳麓区", "township": "望月湖街道"}
    answer, _ = _checkout(client, session, far, StorageClass.AMBIENT)
    assert answer.status_code == 422
    assert "辰溪县" in answer.json()["error"]["message"]
    assert answer.json()["error"]["fields"]["delivery_method"]
    assert session.query(Order).count() == 0  # nothing reserved or half-made


def test_a_township_parcel_needs_no_carrier_and_is_numbered_by_us(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    parcel, _ = _local_parcel(client, session)
    order = session.get(Order, parcel.order_id)
    assert parcel.carrier == "township" and parcel.waybill_no == parcel.order_ref
    assert parcel.status == "created" and order.shipping_fen == 500
    assert session.query(OutboxJob).filter_by(job="logistics.create_waybill").count() == 0


def test_a_courier_carries_a_chilled_parcel_from_pickup_to_delivery(  # type: ignore[no-untyped-def]
    client, session: Session
) -> None:
    parcel, staff = _local_parcel(client, session, StorageClass.CHILLED)
    line = session.query(OrderLine).filter_by(order_id=parcel.order_id).one()
    lot = trace.create_batch(
        session,
        staff,
        BatchIn(product_id=line.product_id, lot_code="FISH-7", quantity=Decimal(20), unit="kg"),
    )
    session.commit()
    staff_headers = f.auth_headers(session, staff)
    courier, headers = _courier(session)
    other, other_headers = _courier(session, "李师傅")
    session.commit()
    packed = client.post(
        f"/api/v1/my/fulfilments/{parcel.fulfilment_id}/pack",
        json={"lots": {str(line.id): lot.id}},
        headers=staff_headers,
    )
    assert packed.status_code == 200, packed.text
    couriers = client.get("/api/v1/couriers", headers=staff_headers).json()
    assert {c["id"] for c in couriers} >= {courier.id, other.id}
    assigned = client.post(
        f"/api/v1/parcels/{parcel.id}/courier",
        json={"courier_account_id": courier.id},
        headers=staff_headers,
    )
    assert assigned.status_code == 200 and assigned.json()["courier_name"] == "王师傅"

    mine = client.get("/api/v1/courier/parcels", headers=headers).json()
    assert [p["id"] for p in mine] == [parcel.id]
    assert client.get("/api/v1/courier/parcels", headers=other_headers).json() == []
    steps = f"/api/v1/courier/parcels/{parcel.id}/steps"
    # Another courier cannot touch it; a chilled pickup needs its temperature.
    stranger = client.post(steps, json={"status": "picked_up"}, headers=other_headers)
    assert stranger.status_code == 404
    cold = client.post(steps, json={"status": "picked_up"}, headers=headers)
    assert cold.status_code == 422 and "temperature_c" in cold.json()["error"]["fields"]

    pickup = {"status": "picked_up", "place": "高坪村服务站", "temperature_c": 3.5}
    first = client.post(steps, json={**pickup, "client_token": "tok-pickup-1"}, headers=headers)
    assert first.status_code == 200, first.text
    again = client.post(steps, json={**pickup, "client_token": "tok-pickup-1"}, headers=headers)
    assert again.status_code == 200 and len(again.json()["events"]) == 1  # recorded once
    kept = session.query(FormSubmission).filter_by(kind="parcel_step").one()
    assert (kept.token, kept.record_id) == ("tok-pickup-1", parcel.id)
    session.expire_all()
    assert session.get(Fulfilment, parcel.fulfilment_id).status == "shipped"
    assert session.get(Order, parcel.order_id).status == "shipped"

    problem = client.post(steps, json={"status": "problem"}, headers=headers)
    assert problem.status_code == 422 and problem.json()["error"]["fields"]["note"]
    delivered = client.post(
        steps,
        json={"status": "delivered", "place": "3组12号", "temperature_c": 4, "note": "本人签收"},
        headers=headers,
    )
    assert delivered.status_code == 200
    body = delivered.json()
    assert body["status"] == "delivered" and body["is_final"]
    assert "本人签收" in body["events"][0]["context"] and "4℃" in body["events"][0]["context"]
    session.expire_all()
    assert session.get(Order, parcel.order_id).status == "delivered"
    late = client.post(steps, json={"status": "problem", "note": "x"}, headers=headers)
    assert late.status_code == 409

    events = session.query(TraceEvent).filter_by(batch_id=lot.id).order_by(TraceEvent.seq).all()
    assert [e.kind for e in events] == ["packing", "shipping", "receiving"]
    # Issue 19: the chain (public on the trace page and in EPCIS) keeps the township, not the
    # courier's free-text place, which may be a buyer's street address (this test used to
    # expect the free text in the chain).
    assert events[1].data["temperature_c"] == 3.5 and "place" not in events[1].data
    assert "public_place" in events[2].data and "3组12号" not in str(events[2].data)
    assert events[2].data["to_party"] == "收货人（消费者）"
    # The buyer sees the courier and the timeline on the order.
    view = presenters.order_view(session, session.get(Order, parcel.order_id))
    assert view.parcels[0].courier_name == "王师傅" and len(view.parcels[0].events) == 2


def test_only_the_parcels_own_cooperative_assigns_it(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    parcel, _ = _local_parcel(client, session)
    courier, courier_headers = _courier(session)
    township = session.query(Township).one()
    stranger = f.create_account(
        session,
        role=Role.COOPERATIVE,
        cooperative=f.create_cooperative(session, township, name="别的社"),
    )
    stranger_headers = f.auth_headers(session, stranger)
    session.commit()
    url = f"/api/v1/parcels/{parcel.id}/courier"
    body = {"courier_account_id": courier.id}
    assert client.post(url, json=body, headers=stranger_headers).status_code == 404
    assert client.post(url, json=body, headers=courier_headers).status_code == 404
    assert client.get("/api/v1/couriers", headers=courier_headers).status_code == 403
    session.expire_all()
    assert session.get(Parcel, parcel.id).courier_account_id is None


def test_the_courier_page_records_a_step_once(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    import re

    parcel, staff = _local_parcel(client, session)
    courier, _ = _courier(session)
    parcel.courier_account_id = courier.id
    session.commit()
    f.login_browser(client, session, courier)
    page = client.get("/courier")
    assert page.status_code == 200 and parcel.waybill_no in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    token = re.search(rf'name="form_token" value="([^"]+-p{parcel.id})"', page.text).group(1)
    form = {
        "csrf_token": csrf,
        "form_token": token,
        "status": "out_for_delivery",
        "place": "谭家场村",
    }
    for _ in range(2):  # a flaky network sends the form twice
        sent = client.post(f"/courier/parcels/{parcel.id}/step", data=form, follow_redirects=False)
        assert sent.status_code == 303
    session.expire_all()
    stored = session.get(Parcel, parcel.id)
    assert stored.status == "out_for_delivery" and len(stored.events) == 1
    narrowed = client.get("/courier", params={"code": parcel.waybill_no})
    assert "正在派送" in narrowed.text
    # The cooperative's desk offers the assignment form for its township parcel.
    f.login_browser(client, session, staff)
    desk = client.get("/coop")
    assert f"/coop/parcels/{parcel.id}/courier" in desk.text and "王师傅" in desk.text
