"""Cold chain through the app: logger uploads, excursion alerts, courier handoffs and pages.

The excursion rules and MKT themselves are tested in test_coldchain.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy.orm import Session

from farmgate.jobs import runner
from farmgate.models import Alert, Batch, OutboxJob, Role, TemperatureReading
from tests.support import factories as f
from tests.support.trace import create_batch


@pytest.fixture
def chain_setup(client, session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(
        session,
        staff,
        f.first_village(session, township),
        name="辰溪稻花鱼",
        storage_class="chilled",
    )
    courier = f.create_account(session, role=Role.COURIER)
    other_courier = f.create_account(session, role=Role.COURIER)
    farm = {
        "staff": f.auth_headers(session, staff),
        "courier": f.auth_headers(session, courier),
        "other_courier": f.auth_headers(session, other_courier),
        "fresh": product.id,
    }
    batch = create_batch(client, farm, "FISH-0701")
    shipment = client.post(
        f"/api/v1/batches/{batch['id']}/shipments",
        json={"courier_account_id": courier.id, "device_id": "LOGGER-7"},
        headers=farm["staff"],
    )
    assert shipment.status_code == 201, shipment.text
    return farm, batch, shipment.json()


def _csv(rows: list[tuple[str, int, datetime, float]]) -> bytes:
    lines = ["device_id,seq,at,celsius"] + [f"{d},{s},{t.isoformat()},{c}" for d, s, t, c in rows]
    return "\n".join(lines).encode()


def test_readings_upload_is_idempotent_and_reports_bad_lines(
    client, session: Session, chain_setup
) -> None:  # type: ignore[no-untyped-def]
    farm, _, shipment = chain_setup
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [("LOGGER-7", i, now - timedelta(minutes=60 - 10 * i), 3.5) for i in range(6)]
    bad = "\nLOGGER-7,6,not-a-time,3\nLOGGER-7,7,2026-07-01T08:00:00,3\n"
    body = _csv(rows).decode() + bad
    url = f"/api/v1/shipments/{shipment['id']}/readings"
    first = client.post(
        url, content=body.encode(), headers={**farm["courier"], "Content-Type": "text/csv"}
    )
    assert first.status_code == 200, first.text
    result = first.json()
    assert (result["received"], result["added"]) == (6, 6)
    assert set(result["errors"]) == {"line 8", "line 9"}  # bad time; a time without its zone
    again = client.post(
        url, content=body.encode(), headers={**farm["courier"], "Content-Type": "text/csv"}
    )
    assert (again.json()["added"], again.json()["duplicates"]) == (0, 6)
    as_json = json.dumps(
        [{"device_id": "LOGGER-7", "seq": 3, "at": rows[3][2].isoformat(), "celsius": 3.5}]
    )
    third = client.post(
        url, content=as_json, headers={**farm["staff"], "Content-Type": "application/json"}
    )
    assert third.json()["added"] == 0
    assert session.query(TemperatureReading).count() == 6
    assert client.post(url, content=body.encode(), headers=farm["other_courier"]).status_code == 404


def test_an_excursion_marks_the_batch_alerts_once_and_shows_on_the_page(
    client, session: Session, chain_setup
) -> None:  # type: ignore[no-untyped-def]
    farm, batch, shipment = chain_setup
    now = datetime.now(UTC).replace(microsecond=0)
    temps = [4, 4, 12, 13, 14, 13, 12, 4]  # 50 minutes above 8 °C
    rows = [("LOGGER-7", i, now - timedelta(minutes=80 - 10 * i), t) for i, t in enumerate(temps)]
    url = f"/api/v1/shipments/{shipment['id']}/readings"
    result = client.post(url, content=_csv(rows), headers=farm["courier"]).json()
    assert result["breached"] is True
    session.expire_all()
    assert session.get(Batch, batch["id"]).excursion is True
    alert_jobs = session.query(OutboxJob).filter_by(job="trace.excursion_alert").all()
    assert len(alert_jobs) == 1
    assert runner.execute(alert_jobs[0].id).outcome == "done"
    client.post(url, content=_csv(rows), headers=farm["courier"])  # the same upload again
    assert session.query(OutboxJob).filter_by(job="trace.excursion_alert").count() == 1
    alert = session.query(Alert).one()
    assert "FISH-0701" in alert.message and alert.details["single_breach"] is True

    handoff = client.post(
        f"/api/v1/shipments/{shipment['id']}/handoffs",
        json={
            "from_party": "谭家场合作社",
            "to_party": "辰溪县邮政",
            "temperature_c": 4.2,
            "place": "谭家场村服务站",
        },
        headers=farm["courier"],
    )
    assert handoff.status_code == 201, handoff.text
    detail = client.get(f"/api/v1/batches/{batch['id']}", headers=farm["staff"]).json()
    shipping = detail["events"][-1]
    assert shipping["kind"] == "shipping"
    report = shipping["data"]["sensor_report"]
    assert report["uom"] == "CEL" and report["exception"] == "ALARM_CONDITION"
    assert (report["min_value"], report["max_value"]) == (4, 14)
    page = client.get(urlsplit(detail["batch"]["trace_url"]).path).text
    assert "温度超标" in page and "<svg" in page and "辰溪县邮政" in page


def test_only_the_assigned_courier_records_handoffs(client, chain_setup) -> None:  # type: ignore[no-untyped-def]
    farm, _, shipment = chain_setup
    body = {"from_party": "A", "to_party": "B"}
    url = f"/api/v1/shipments/{shipment['id']}/handoffs"
    assert client.post(url, json=body, headers=farm["other_courier"]).status_code == 404
    assert client.get("/api/v1/courier/shipments", headers=farm["other_courier"]).json() == []
    mine = client.get("/api/v1/courier/shipments", headers=farm["courier"]).json()
    assert [s["id"] for s in mine] == [shipment["id"]]
    done = client.post(url, json={**body, "delivered": True}, headers=farm["courier"])
    assert done.status_code == 201
    assert client.post(url, json=body, headers=farm["courier"]).status_code == 409


def test_the_courier_phone_page_records_a_handoff(client, session: Session, chain_setup) -> None:  # type: ignore[no-untyped-def]
    import re

    from farmgate.models import Account, Handoff

    _, _, shipment = chain_setup
    courier = session.get(Account, shipment["courier_account_id"])
    login = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    landed = client.post(
        "/login", data={"phone": courier.phone, "password": f.PASSWORD, "csrf_token": token}
    )
    assert landed.url.path == "/courier" and "FISH-0701" in landed.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', landed.text).group(1)  # type: ignore[union-attr]
    url = f"/courier/shipments/{shipment['id']}/handoff"
    bad = client.post(url, data={"from_party": "", "to_party": "乡邮政所", "csrf_token": token})
    assert bad.status_code == 422 and session.query(Handoff).count() == 0
    ok = client.post(
        url,
        data={
            "from_party": "合作社",
            "to_party": "乡邮政所",
            "temperature_c": "3.8",
            "place": "谭家场",
            "csrf_token": token,
        },
    )
    assert ok.status_code == 200 and "交接已记录" in ok.text
    handoff = session.query(Handoff).one()
    assert (handoff.to_party, handoff.temperature_c) == ("乡邮政所", 3.8)
    assert client.get("/coop").status_code == 403


def test_a_courier_adds_a_photo_to_their_own_handoff(client, chain_setup) -> None:  # type: ignore[no-untyped-def]
    from io import BytesIO

    from PIL import Image

    farm, _, shipment = chain_setup
    handoff = client.post(
        f"/api/v1/shipments/{shipment['id']}/handoffs",
        json={"from_party": "合作社", "to_party": "配送员", "temperature_c": 3.1},
        headers=farm["courier"],
    ).json()
    out = BytesIO()
    Image.new("RGB", (640, 480), (20, 90, 160)).save(out, "JPEG")
    files = {"file": ("box.jpg", out.getvalue(), "image/jpeg")}
    url = f"/api/v1/shipments/{shipment['id']}/handoffs/{handoff['id']}/photo"
    assert client.post(url, files=files, headers=farm["other_courier"]).status_code == 404
    done = client.post(url, files=files, headers=farm["courier"])
    assert done.status_code == 200 and done.json()["photo"].startswith(f"handoffs/{handoff['id']}/")


def test_alerts_are_listed_per_cooperative(session: Session) -> None:
    from farmgate.trace.alerts import raise_alert, recent_alerts

    township = f.create_township(session)
    ours, theirs = (f.create_cooperative(session, township, name=n) for n in ("甲社", "乙社"))
    for coop in (ours, theirs):
        raise_alert(
            session,
            f"x:{coop.id}",
            "excursion",
            f"{coop.name} 超温",
            cooperative_id=coop.id,
            batch_id=None,
        )
    assert (
        raise_alert(
            session, f"x:{ours.id}", "excursion", "again", cooperative_id=ours.id, batch_id=None
        )
        is None
    )
    assert [a.message for a in recent_alerts(session, ours.id)] == ["甲社 超温"]
    assert len(recent_alerts(session, None)) == 2  # the township sees every cooperative's


def test_the_courier_finds_a_shipment_by_scanning_or_typing_its_code(
    client, session: Session, chain_setup
) -> None:  # type: ignore[no-untyped-def]
    import re

    from farmgate.models import Account

    _, batch, shipment = chain_setup
    courier = session.get(Account, shipment["courier_account_id"])
    login = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    client.post(
        "/login", data={"phone": courier.phone, "password": f.PASSWORD, "csrf_token": token}
    )
    scanned = client.get("/courier", params={"code": batch["trace_url"]}).text
    assert "已找到该批次的运输" in scanned and "FISH-0701" in scanned
    typed = client.get("/courier", params={"code": "FISH-0701"}).text
    assert "FISH-0701" in typed and 'src="/static/scan.js?v=' in typed
    other = client.get("/courier", params={"code": "NOT-MINE"}).text
    assert "没有派给你的该批次运输" in other and "记录交接" not in other


def test_a_handoff_form_sent_twice_records_once(client, session: Session, chain_setup) -> None:  # type: ignore[no-untyped-def]
    from farmgate.models import FormSubmission, Handoff

    farm, batch, shipment = chain_setup
    url = f"/api/v1/shipments/{shipment['id']}/handoffs"
    body = {"from_party": "合作社", "to_party": "配送员", "client_token": "handoff-tok-1"}
    first = client.post(url, json=body, headers=farm["courier"])
    again = client.post(url, json=body, headers=farm["courier"])
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert session.query(Handoff).count() == 1
    kept = session.query(FormSubmission).one()
    assert (kept.kind, kept.token, kept.record_id) == (
        "handoff",
        "handoff-tok-1",
        first.json()["id"],
    )
    # The same token on another shipment is a mistake, not a repeat.
    other = client.post(
        f"/api/v1/batches/{batch['id']}/shipments",
        json={"courier_account_id": shipment["courier_account_id"]},
        headers=farm["staff"],
    ).json()
    misplaced = client.post(
        f"/api/v1/shipments/{other['id']}/handoffs", json=body, headers=farm["courier"]
    )
    assert misplaced.status_code == 409 and session.query(Handoff).count() == 1
