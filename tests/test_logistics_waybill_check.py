"""A create whose answer is lost never leads to a second waybill, with or without a lookup.

Kuaidi100 documents no lookup of an e-waybill by our order id, so by default (no lookup) a lost
answer stops the job and asks a person, who looks in the carrier's portal. The SIMULATOR
makes a new waybill for every create call, as a carrier that does not deduplicate would, so
counting its parcels per order_ref counts our create calls.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.models import Alert, DeadJob, OutboxJob, Parcel, Role, Township
from farmgate.simulation import free_port
from tests.support import factories as f
from tests.support.logistics import paid_order, run_jobs


@pytest.fixture
def no_lookup(carrier, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "kuaidi100_waybill_lookup", False)
    return carrier


def _made(sim, parcel: Parcel) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.waybill_no for p in sim.state.parcels.values() if p.order_ref == parcel.order_ref]


def _parcel(session: Session, order_id: int) -> Parcel:
    session.expire_all()
    return session.query(Parcel).filter_by(order_id=order_id).one()


def _staff_headers(client, session: Session, parcel: Parcel) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from farmgate.models import Cooperative, Fulfilment

    fulfilment = session.get(Fulfilment, parcel.fulfilment_id)
    coop = session.get(Cooperative, fulfilment.cooperative_id)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    headers = f.auth_headers(session, staff)
    session.commit()
    return headers


def test_a_lost_answer_waits_for_a_person_who_enters_the_number(  # type: ignore[no-untyped-def]
    client, session: Session, no_lookup
) -> None:
    order = paid_order(client, session)
    no_lookup.inject("create_then_timeout", timeout_seconds=3)
    assert run_jobs(session, "logistics.create_waybill") == ["retry"]
    parcel = _parcel(session, order.id)
    assert parcel.create_state == "sent" and parcel.waybill_no is None
    # The retry cannot ask the carrier, so it stops instead of creating a second waybill.
    assert run_jobs(session, "logistics.create_waybill") == ["done"]
    parcel = _parcel(session, order.id)
    assert parcel.create_state == "check" and parcel.waybill_no is None
    assert len(_made(no_lookup, parcel)) == 1
    alert = session.query(Alert).filter_by(key=f"waybill-check:{parcel.id}").one()
    assert alert.kind == "waybill" and parcel.order_ref in alert.message
    # Re-driving the job changes nothing while the person has not answered.
    job = session.query(OutboxJob).filter_by(job="logistics.create_waybill").one()
    job.status = "pending"
    session.commit()
    assert run_jobs(session, "logistics.create_waybill") == ["done"]
    assert len(_made(no_lookup, parcel)) == 1

    headers = _staff_headers(client, session, parcel)
    seen = client.get(f"/api/v1/parcels/{parcel.id}", headers=headers).json()
    assert seen["needs_check"] is True
    bad = client.post(
        f"/api/v1/parcels/{parcel.id}/waybill-check", json={"waybill_no": "号码"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"]["waybill_no"]
    number = _made(no_lookup, parcel)[0]
    done = client.post(
        f"/api/v1/parcels/{parcel.id}/waybill-check", json={"waybill_no": number}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["waybill_no"] == number and done.json()["needs_check"] is False
    assert run_jobs(session, "logistics.subscribe") == ["done"]
    assert _parcel(session, order.id).subscribed
    again = client.post(
        f"/api/v1/parcels/{parcel.id}/waybill-check", json={"waybill_no": number}, headers=headers
    )
    assert again.status_code == 409


def test_a_person_who_finds_none_asks_for_the_waybill_again(  # type: ignore[no-untyped-def]
    client, session: Session, no_lookup
) -> None:
    order = paid_order(client, session)
    no_lookup.inject("error_500")  # a 5xx: the carrier may or may not have made it
    assert run_jobs(session, "logistics.create_waybill") == ["retry"]
    assert run_jobs(session, "logistics.create_waybill") == ["done"]
    parcel = _parcel(session, order.id)
    assert parcel.create_state == "check" and _made(no_lookup, parcel) == []
    headers = _staff_headers(client, session, parcel)
    answer = client.post(f"/api/v1/parcels/{parcel.id}/waybill-check", json={}, headers=headers)
    assert answer.status_code == 200 and answer.json()["needs_check"] is False
    assert run_jobs(session, "logistics.create_waybill") == ["done"]
    parcel = _parcel(session, order.id)
    assert _made(no_lookup, parcel) == [parcel.waybill_no]


def test_another_cooperative_cannot_resolve_the_check(  # type: ignore[no-untyped-def]
    client, session: Session, no_lookup
) -> None:
    order = paid_order(client, session)
    no_lookup.inject("error_500")
    run_jobs(session, "logistics.create_waybill")
    run_jobs(session, "logistics.create_waybill")
    parcel = _parcel(session, order.id)
    stranger_coop = f.create_cooperative(session, session.query(Township).one(), name="别的社")
    stranger = f.auth_headers(
        session, f.create_account(session, role=Role.COOPERATIVE, cooperative=stranger_coop)
    )
    session.commit()
    assert client.get(f"/api/v1/parcels/{parcel.id}", headers=stranger).status_code == 404
    answer = client.post(f"/api/v1/parcels/{parcel.id}/waybill-check", json={}, headers=stranger)
    assert answer.status_code == 404
    assert _parcel(session, order.id).create_state == "check"


def test_an_unreachable_carrier_never_got_the_request_so_the_retry_creates(  # type: ignore[no-untyped-def]
    client, session: Session, no_lookup, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = paid_order(client, session)
    monkeypatch.setattr(settings, "kuaidi100_label_base", f"http://127.0.0.1:{free_port()}")
    assert run_jobs(session, "logistics.create_waybill") == ["retry"]
    assert _parcel(session, order.id).create_state == ""  # nothing can exist: no check needed
    monkeypatch.setattr(settings, "kuaidi100_label_base", no_lookup.config()["label_base_url"])
    assert run_jobs(session, "logistics.create_waybill") == ["done"]
    parcel = _parcel(session, order.id)
    assert _made(no_lookup, parcel) == [parcel.waybill_no]


def test_a_refusal_dead_letters_and_a_redrive_creates(  # type: ignore[no-untyped-def]
    client, session: Session, no_lookup, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = paid_order(client, session)
    monkeypatch.setattr(settings, "kuaidi100_secret", "wrong-secret")  # 30002: a definite no
    assert run_jobs(session, "logistics.create_waybill") == ["dead"]
    dead = session.query(DeadJob).filter_by(job="logistics.create_waybill").one()
    assert "30002" in dead.error
    assert _parcel(session, order.id).create_state == ""
    monkeypatch.setattr(settings, "kuaidi100_secret", no_lookup.config()["secret"])
    job = session.query(OutboxJob).filter_by(job="logistics.create_waybill").one()
    job.status = "pending"
    session.commit()
    assert run_jobs(session, "logistics.create_waybill") == ["done"]
    parcel = _parcel(session, order.id)
    assert _made(no_lookup, parcel) == [parcel.waybill_no]
