"""Batches, the pre-harvest interval, the hash chain, corrections, lineage and recalls."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from farmgate.db import utcnow
from farmgate.gs1.gtin import is_valid_gtin
from farmgate.models import Batch, Sku, TraceEvent
from farmgate.trace import chain
from farmgate.verifier.entries import chain_hash_ok
from tests.support.trace import create_batch


def test_a_batch_gets_a_gtin_and_a_digital_link(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    assert is_valid_gtin(batch["gtin"]) and len(batch["gtin"]) == 14
    assert batch["trace_url"].endswith(f"/01/{batch['gtin']}/10/TJC2026A")
    again = client.post(
        "/api/v1/batches",
        json={"product_id": farm["fresh"], "lot_code": "TJC2026A", "quantity": "1", "unit": "kg"},
        headers=farm["staff"],
    )
    assert again.status_code == 409 and "lot_code" in again.json()["error"]["fields"]
    bad = client.post(
        "/api/v1/batches",
        json={"product_id": farm["fresh"], "lot_code": "批次一", "quantity": "1", "unit": "kg"},
        headers=farm["staff"],
    )
    assert bad.status_code == 422 and "lot_code" in bad.json()["error"]["fields"]


def test_one_cooperative_never_touches_anothers_batches(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    url = f"/api/v1/batches/{batch['id']}"
    assert client.get(url, headers=farm["rival"]).status_code == 404
    assert client.get(url, headers=farm["buyer"]).status_code == 404
    harvest = client.post(
        f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["rival"]
    )
    assert harvest.status_code == 404
    stolen = client.post(
        "/api/v1/batches",
        json={"product_id": farm["fresh"], "lot_code": "X1", "quantity": "1", "unit": "kg"},
        headers=farm["rival"],
    )
    assert stolen.status_code == 404
    assert [b["id"] for b in client.get("/api/v1/batches", headers=farm["rival"]).json()] == []
    assert client.get(url, headers=farm["admin"]).status_code == 200


def test_harvest_before_the_preharvest_interval_is_refused(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    url = f"/api/v1/batches/{batch['id']}"
    sprayed = date.today() - timedelta(days=5)
    response = client.post(
        f"{url}/inputs",
        json={
            "kind": "pesticide",
            "product_name": "吡虫啉",
            "registration_no": "PD20080001",
            "dose": "20 克/亩",
            "applied_on": str(sprayed),
            "preharvest_interval_days": 7,
        },
        headers=farm["staff"],
    )
    assert response.status_code == 201
    early = client.post(
        f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["staff"]
    )
    assert early.status_code == 422
    error = early.json()["error"]
    assert error["code"] == "preharvest_interval"
    ready = sprayed + timedelta(days=7)
    assert "吡虫啉" in error["message"] and str(ready) in error["message"]
    on_time = client.post(
        f"{url}/harvest", json={"harvest_date": str(ready)}, headers=farm["staff"]
    )
    # ``ready`` is two days from now: the date is refused as future, not for the interval
    assert on_time.status_code == 422 and on_time.json()["error"]["code"] != "preharvest_interval"


def test_harvest_after_the_interval_is_a_commissioning_event(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    url = f"/api/v1/batches/{batch['id']}"
    client.post(
        f"{url}/inputs",
        json={
            "kind": "pesticide",
            "product_name": "吡虫啉",
            "dose": "20 克/亩",
            "applied_on": str(date.today() - timedelta(days=10)),
            "preharvest_interval_days": 7,
        },
        headers=farm["staff"],
    )
    event = client.post(
        f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["staff"]
    )
    assert event.status_code == 201, event.text
    body = event.json()
    # The input was logged when it was recorded (seq 1); the harvest follows it.
    first = client.get(url, headers=farm["staff"]).json()["events"][0]
    assert first["kind"] == "input" and first["data"]["fields"]["product"] == "吡虫啉"
    assert body["kind"] == "commissioning" and body["seq"] == 2
    assert body["prev_hash"] == first["hash"]
    assert body["data"]["lot"] == "TJC2026A" and body["data"]["plot"]["latitude"] == 27.9
    assert body["data"]["inputs"][0]["product"] == "吡虫啉"
    twice = client.post(
        f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["staff"]
    )
    assert twice.status_code == 409


def test_the_chain_verifies_and_an_edit_behind_the_apps_back_is_reported(
    client, session: Session, farm
) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    url = f"/api/v1/batches/{batch['id']}"
    client.post(f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["staff"])
    for step, extra in (
        ("packing", {}),
        ("shipping", {"from_party": "合作社", "to_party": "村服务站"}),
        ("receiving", {"from_party": "合作社", "to_party": "村服务站"}),
    ):
        r = client.post(f"{url}/events", json={"step": step, **extra}, headers=farm["staff"])
        assert r.status_code == 201, r.text
    detail = client.get(url, headers=farm["staff"]).json()
    assert detail["chain"] == {
        "intact": True,
        "events": 4,
        "head": detail["events"][-1]["hash"],
        "broken_at": None,
        "reason": "",
    }
    assert [e["prev_hash"] for e in detail["events"][1:]] == [
        e["hash"] for e in detail["events"][:-1]
    ]

    # Someone with database access changes where the lot was shipped to.
    third = session.query(TraceEvent).filter_by(batch_id=batch["id"], seq=3).one()
    data = dict(third.data, to_party="别处")
    session.execute(
        text("UPDATE trace_event SET data = :d WHERE id = :id"),
        {"d": __import__("json").dumps(data, ensure_ascii=False), "id": third.id},
    )
    session.commit()
    session.expire_all()
    report = chain.verify(session, session.get(Batch, batch["id"]))
    assert (report.intact, report.broken_at) == (False, 3)
    shown = client.get(url, headers=farm["staff"]).json()["chain"]
    assert shown["intact"] is False and shown["broken_at"] == 3


def test_a_deleted_event_breaks_the_chain(client, session: Session, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    url = f"/api/v1/batches/{batch['id']}"
    client.post(f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["staff"])
    client.post(f"{url}/events", json={"step": "packing"}, headers=farm["staff"])
    client.post(f"{url}/events", json={"step": "storing"}, headers=farm["staff"])
    session.execute(
        text("DELETE FROM trace_event WHERE batch_id = :b AND seq = 2"), {"b": batch["id"]}
    )
    session.commit()
    report = chain.verify(session, session.get(Batch, batch["id"]))
    assert not report.intact and report.broken_at == 2


def test_corrections_are_new_events_and_the_original_stays(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    url = f"/api/v1/batches/{batch['id']}"
    client.post(f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["staff"])
    original = client.get(url, headers=farm["staff"]).json()["events"][0]
    fix = client.post(
        f"{url}/corrections",
        json={"seq": 1, "note": "数量应为 480 公斤", "corrected": {"quantity": "480"}},
        headers=farm["staff"],
    )
    assert fix.status_code == 201, fix.text
    assert fix.json()["data"]["corrects_hash"] == original["hash"]
    detail = client.get(url, headers=farm["staff"]).json()
    assert detail["events"][0] == original and detail["chain"]["intact"]
    missing = client.post(f"{url}/corrections", json={"seq": 9, "note": "x"}, headers=farm["staff"])
    assert missing.status_code == 404


def test_transformation_traces_both_ways(client, farm) -> None:  # type: ignore[no-untyped-def]
    a = create_batch(client, farm, "FRESH-A")
    b = create_batch(client, farm, "FRESH-B")
    dried = client.post(
        "/api/v1/transformations",
        json={
            "inputs": [
                {"batch_id": a["id"], "quantity": "300", "unit": "kg"},
                {"batch_id": b["id"], "quantity": "200", "unit": "kg"},
            ],
            "output": {
                "product_id": farm["dried"],
                "lot_code": "DRY-01",
                "quantity": "80",
                "unit": "kg",
            },
            "process": "晾晒",
        },
        headers=farm["staff"],
    )
    assert dried.status_code == 201, dried.text
    out = dried.json()
    detail = client.get(f"/api/v1/batches/{out['id']}", headers=farm["staff"]).json()
    assert sorted(x["lot_code"] for x in detail["upstream"]) == ["FRESH-A", "FRESH-B"]
    assert detail["events"][0]["data"]["role"] == "output"
    source = client.get(f"/api/v1/batches/{a['id']}", headers=farm["staff"]).json()
    assert [x["lot_code"] for x in source["downstream"]] == ["DRY-01"]
    # A rival cooperative cannot use another's lot as its input.
    theirs = client.post(
        "/api/v1/transformations",
        json={
            "inputs": [{"batch_id": a["id"], "quantity": "1", "unit": "kg"}],
            "output": {"product_id": farm["dried"], "lot_code": "X", "quantity": "1", "unit": "kg"},
        },
        headers=farm["rival"],
    )
    assert theirs.status_code == 404


def test_recall_stops_sales_of_the_lot_and_what_was_made_from_it(
    client, session: Session, farm
) -> None:  # type: ignore[no-untyped-def]
    fresh = create_batch(client, farm, "FRESH-R")
    client.post(
        "/api/v1/transformations",
        json={
            "inputs": [{"batch_id": fresh["id"], "quantity": "100", "unit": "kg"}],
            "output": {
                "product_id": farm["dried"],
                "lot_code": "DRY-R",
                "quantity": "20",
                "unit": "kg",
            },
        },
        headers=farm["staff"],
    )
    response = client.post(
        f"/api/v1/batches/{fresh['id']}/recall",
        json={"reason": "农残抽检超标"},
        headers=farm["admin"],
    )
    assert response.status_code == 200, response.text
    assert [b["lot_code"] for b in response.json()["recalled"]] == ["FRESH-R", "DRY-R"]
    assert all(b["status"] == "recalled" for b in response.json()["recalled"])
    skus = session.query(Sku).filter(Sku.product_id.in_([farm["fresh"], farm["dried"]])).all()
    assert skus and not any(s.is_active for s in skus)
    cart = client.post(
        "/api/v1/cart/items", json={"sku_id": skus[0].id, "quantity": 1}, headers=farm["buyer"]
    )
    assert cart.status_code in (404, 409, 422)
    again = client.post(
        f"/api/v1/batches/{fresh['id']}/recall", json={"reason": "再次召回"}, headers=farm["staff"]
    )
    assert again.status_code == 409
    step = client.post(
        f"/api/v1/batches/{fresh['id']}/events", json={"step": "packing"}, headers=farm["staff"]
    )
    assert step.status_code == 409
    events = client.get(f"/api/v1/batches/{fresh['id']}", headers=farm["staff"]).json()["events"]
    assert events[-1]["kind"] == "recall" and events[-1]["data"]["disposition"] == "recalled"


def test_recall_lists_the_orders_that_may_have_received_the_lot(
    client, session: Session, farm
) -> None:  # type: ignore[no-untyped-def]
    from tests.support.factories import ADDRESS

    batch = create_batch(client, farm, "SOLD-1")
    sku = session.query(Sku).filter_by(product_id=farm["fresh"]).first()
    client.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": 1}, headers=farm["buyer"])
    order = client.post("/api/v1/checkout", json=ADDRESS, headers=farm["buyer"]).json()
    from farmgate.models import Fulfilment

    fulfilment = session.query(Fulfilment).filter_by(order_id=order["id"]).one()
    fulfilment.packed_at = utcnow()
    session.commit()
    listed = client.get(f"/api/v1/batches/{batch['id']}/orders", headers=farm["staff"]).json()
    assert [o["number"] for o in listed] == [order["number"]]


def test_events_hashed_before_record_times_were_covered_still_verify(  # type: ignore[no-untyped-def]
    client, session: Session, farm
) -> None:
    """A chain written by an earlier version (hashes without the record time) still verifies
    after the upgrade, in the log too; a changed fact in it is still caught."""
    batch_id = create_batch(client, farm)["id"]
    url = f"/api/v1/batches/{batch_id}"
    client.post(f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["staff"])
    batch = session.get(Batch, batch_id)
    assert batch is not None
    last = session.query(TraceEvent).filter_by(batch_id=batch_id).order_by(TraceEvent.seq).all()[-1]
    old = chain.event_hash(
        batch, last.seq, last.kind, last.event_time, last.data, last.prev_hash
    )  # the earlier form: no "recorded"
    session.execute(
        text("UPDATE trace_event SET hash = :h WHERE id = :id"), {"h": old, "id": last.id}
    )
    session.execute(
        text("UPDATE batch SET chain_head = :h WHERE id = :id"), {"h": old, "id": batch_id}
    )
    session.commit()
    session.expire_all()
    batch = session.get(Batch, batch_id)
    assert batch is not None
    assert chain.verify(session, batch).intact
    entry = chain.log_entry(batch, session.get(TraceEvent, last.id))  # type: ignore[arg-type]
    assert "recorded" not in entry and entry["hash"] == old
    assert chain_hash_ok(entry)

    data = dict(last.data, harvest_date="2020-01-01")
    session.execute(
        text("UPDATE trace_event SET data = :d WHERE id = :id"),
        {"d": __import__("json").dumps(data, ensure_ascii=False), "id": last.id},
    )
    session.commit()
    session.expire_all()
    report = chain.verify(session, session.get(Batch, batch_id))  # type: ignore[arg-type]
    assert (report.intact, report.broken_at) == (False, last.seq)
