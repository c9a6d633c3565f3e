"""Issue 19: every fact the trace page shows is checked against the events that logged it;
right facts on the right lot at the right time; only approved cooperatives publish."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.models import Account, AuditEntry, Batch, BatchInput, Cooperative, Role, TraceEvent
from farmgate.trace import chain
from tests.support import factories as f
from tests.support.trace import create_batch
from tests.support.trace_facts import full_lot, page, trace_path
from tests.support.web import csrf_token

INTACT = "页面信息与记录一致"
BROKEN = "校验未通过"

EDITS: dict[str, tuple[str, dict[str, Any], str]] = {
    # name: (SQL, parameters besides :b, what the banner says)
    "inspection flipped to 合格": (
        "UPDATE inspection SET passed = :yes WHERE batch_id = :b",
        {"yes": True},
        "检测报告 HH2026-0901 与溯源记录不符",
    ),
    "pesticide renamed": (
        "UPDATE batch_input SET product_name = '生物菌剂' WHERE batch_id = :b",
        {},
        "与溯源记录不符",
    ),
    "harvest date moved": (
        "UPDATE batch SET harvest_date = :day WHERE id = :b",
        {"day": date.today() - timedelta(days=40)},
        "批次的采收、地块、生产者或数量与溯源记录不符",
    ),
    "plot moved": (
        "UPDATE batch SET plot_name = '别处的地' WHERE id = :b",
        {},
        "批次的采收、地块、生产者或数量与溯源记录不符",
    ),
    "certificate code changed": (
        "UPDATE certification SET code = 'HGZ-9999' WHERE batch_id = :b",
        {},
        "证书 HGZ-9999 与溯源记录不符",
    ),
    "certificate deleted": (
        "DELETE FROM certification WHERE batch_id = :b",
        {},
        "已从数据库中删除",
    ),
    "inspection deleted": (
        "DELETE FROM inspection WHERE batch_id = :b",
        {},
        "已从数据库中删除",
    ),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_fact_edited_in_the_database_shows_the_broken_banner(
    client, session: Session, farm, edit: str
) -> None:  # type: ignore[no-untyped-def]
    batch = full_lot(client, farm)
    before = page(client, batch)
    assert INTACT in before and BROKEN not in before
    sql, params, says = EDITS[edit]
    session.execute(text(sql), {"b": batch["id"], **params})
    session.commit()
    session.expire_all()
    html = page(client, batch)
    assert BROKEN in html and INTACT not in html, edit
    assert says in html, edit
    # The chain itself still verifies: only the comparison with the page's facts finds it.
    assert chain.verify(session, session.get(Batch, batch["id"])).intact
    # ... and the records export says so as well.
    csv = client.get(f"/api/v1/trace-records.csv?batch_id={batch['id']}", headers=farm["staff"])
    assert csv.status_code == 200 and "校验未通过" in csv.content.decode("utf-8-sig")


def test_deleting_the_tail_of_a_chain_shows_the_broken_banner(
    client, session: Session, farm
) -> None:  # type: ignore[no-untyped-def]
    batch = full_lot(client, farm)
    url = f"/api/v1/batches/{batch['id']}"
    client.post(f"{url}/events", json={"step": "packing"}, headers=farm["staff"])
    client.post(f"{url}/events", json={"step": "storing"}, headers=farm["staff"])
    count = session.query(TraceEvent).filter_by(batch_id=batch["id"]).count()
    assert INTACT in page(client, batch)
    # The last two events go; what is left still links up from the genesis hash.
    session.execute(
        text("DELETE FROM trace_event WHERE batch_id = :b AND seq > :n"),
        {"b": batch["id"], "n": count - 2},
    )
    session.commit()
    session.expire_all()
    report = chain.verify(session, session.get(Batch, batch["id"]))
    assert not report.intact and report.broken_at == count - 1
    html = page(client, batch)
    assert BROKEN in html and f"第 {count - 1} 条之后的记录缺失" in html


def test_a_record_time_moved_to_hide_a_late_entry_breaks_the_chain(
    client, session: Session, farm
) -> None:  # type: ignore[no-untyped-def]
    batch = full_lot(client, farm)
    session.execute(
        text("UPDATE trace_event SET recorded_at = :t WHERE batch_id = :b AND seq = 1"),
        {"t": datetime.now(UTC) - timedelta(days=30), "b": batch["id"]},
    )
    session.commit()
    session.expire_all()
    report = chain.verify(session, session.get(Batch, batch["id"]))
    assert (report.intact, report.broken_at) == (False, 1)


# --- only approved cooperatives publish ----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "why"), [("pending", "尚未通过乡镇审核"), ("suspended", "已暂停")]
)
def test_a_cooperative_that_may_not_publish_prepares_lots_but_nothing_is_public(
    client, session: Session, farm, status: str, why: str
) -> None:  # type: ignore[no-untyped-def]
    coop = session.get(Cooperative, farm["coop"].id)
    coop.status = status
    session.add(coop)
    session.commit()
    batch = full_lot(client, farm)  # the desk still prepares the lot and its records
    response = client.get(trace_path(batch))
    assert (
        response.status_code == 404 and why in response.text and "溯源记录完整" not in response.text
    )
    serials = client.post(
        f"/api/v1/batches/{batch['id']}/serials", json={"count": 2}, headers=farm["staff"]
    )
    assert serials.status_code == 403 and "暂不能发放单品码" in serials.text
    qr = client.get(f"/api/v1/batches/{batch['id']}/qr.png", headers=farm["staff"])
    assert qr.status_code == 403
    # The desk says why, on the lot's page.
    staff = session.query(Account).filter_by(cooperative_id=coop.id).first()
    f.login_browser(client, session, staff)
    desk = client.get(f"/coop/batches/{batch['id']}")
    assert desk.status_code == 200 and "溯源页暂不公开" in desk.text


# --- right facts on the right lot ----------------------------------------------------------


def test_a_certificate_shows_only_on_the_lots_it_covers(client, farm) -> None:  # type: ignore[no-untyped-def]
    first = full_lot(client, farm, "FACTS-A")
    second = create_batch(client, farm, "FACTS-B", village_code=farm["village_code"])
    client.post(
        f"/api/v1/batches/{second['id']}/harvest",
        json={"harvest_date": str(date.today())},
        headers=farm["staff"],
    )
    licence = client.post(
        f"/api/v1/batches/{second['id']}/certifications",
        json={
            "kind": "green_food",
            "code": "GF431223260001",
            "issued_on": str(date.today()),
            "scope": "product",
        },
        headers=farm["staff"],
    )
    assert licence.status_code == 201, licence.text
    html_a, html_b = page(client, first), page(client, second)
    assert "HGZ-0901" in html_a and "未登记承诺达标合格证" not in html_a
    assert "HGZ-0901" not in html_b and "未登记承诺达标合格证" in html_b
    # The product's licence covers both lots: each lot's chain logged it.
    assert "GF431223260001" in html_a and "GF431223260001" in html_b
    assert INTACT in html_a and INTACT in html_b
    # A lot harvested after the licence logs it at harvest.
    third = create_batch(client, farm, "FACTS-C", village_code=farm["village_code"])
    client.post(
        f"/api/v1/batches/{third['id']}/harvest",
        json={"harvest_date": str(date.today())},
        headers=farm["staff"],
    )
    html_c = page(client, third)
    assert "GF431223260001" in html_c and INTACT in html_c


def test_the_compliance_certificate_shows_every_basis_its_issue_date_and_own_commitment(
    client, farm
) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm, "FACTS-D", village_code=farm["village_code"])
    url = f"/api/v1/batches/{batch['id']}"
    client.post(f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["staff"])
    details = {
        "product_name": "鲜红辣椒",
        "quantity": "200",
        "unit": "公斤",
        "origin": "谭家场乡谭家场村",
        "committer": "辰溪县某收购站",
        "contact": "13800138000",
        "bases": ["self_test", "commissioned_test", "internal_control", "self_commitment"],
        "commitment": "本站收购的辣椒均经快检合格，对承诺的真实性负责",
    }
    issued = client.post(
        f"{url}/certifications",
        json={"kind": "compliance_cert", "issued_on": str(date.today()), "details": details},
        headers=farm["staff"],
    )
    assert issued.status_code == 201, issued.text
    html = page(client, batch)
    for words in ("自行检测合格", "委托检测合格", "内部质量控制合格", "自我承诺"):
        assert words in html, words
    assert "本站收购的辣椒均经快检合格" in html and f"开具日期 {date.today()}" in html


# --- right time ----------------------------------------------------------------------------


def test_the_timeline_is_in_event_time_and_late_entries_are_marked(
    client, session: Session, farm, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "trace_late_hours", 48)
    batch = create_batch(client, farm, "FACTS-E", village_code=farm["village_code"])
    url = f"/api/v1/batches/{batch['id']}"
    # Packing is recorded first (an hour ago), then the harvest of five days ago.
    packed_at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    harvested = date.today() - timedelta(days=5)
    done = client.post(
        f"{url}/events",
        json={"step": "packing", "at": packed_at.isoformat()},
        headers=farm["staff"],
    )
    assert done.status_code == 201, done.text
    done = client.post(
        f"{url}/harvest", json={"harvest_date": str(harvested)}, headers=farm["staff"]
    )
    assert done.status_code == 201, done.text
    html = page(client, batch)
    timeline = html.split('class="timeline"', 1)[1]
    assert timeline.index("采收入库") < timeline.index("包装")
    late = re.findall(r'<li class="(\w+)">[^\n]*?补录', timeline)
    assert late == ["commissioning"]  # five days late; packing was recorded within the hour
    future = client.post(
        f"{url}/events",
        json={"step": "storing", "at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
        headers=farm["staff"],
    )
    assert future.status_code == 422
    doc = client.get(f"{url}/epcis", headers=farm["staff"])
    assert doc.status_code == 200, doc.text
    events = doc.json()["epcisBody"]["eventList"]
    commissioning = next(e for e in events if e.get("bizStep", "").endswith("commissioning"))
    assert commissioning["eventTime"].startswith(str(harvested))
    assert commissioning["recordTime"] > commissioning["eventTime"]
    assert commissioning.get("farmgate:lateEntry") is True
    packing = next(e for e in events if e.get("bizStep", "").endswith("packing"))
    assert "farmgate:lateEntry" not in packing


def test_an_input_recorded_after_the_harvest_waits_for_the_township(
    client, session: Session, farm
) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm, "FACTS-F", village_code=farm["village_code"])
    url = f"/api/v1/batches/{batch['id']}"
    client.post(f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["staff"])
    late = client.post(
        f"{url}/inputs",
        json={
            "kind": "pesticide",
            "product_name": "毒死蜱",
            "dose": "50 毫升/亩",
            "applied_on": str(date.today() - timedelta(days=3)),
            "preharvest_interval_days": 14,
        },
        headers=farm["staff"],
    )
    assert late.status_code == 201, late.text
    record = session.get(BatchInput, late.json()["id"])
    assert record.approval == "pending"
    kinds = [e.kind for e in session.query(TraceEvent).filter_by(batch_id=batch["id"])]
    assert "input" not in kinds  # not in the chain until a township admin approves it
    html = page(client, batch)
    assert "毒死蜱" not in html and "等待乡镇审核" in html and INTACT in html

    # The township admin decides in the console; a decision without a reason is refused.
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    listed = client.get("/township/late-inputs")
    assert listed.status_code == 200 and "毒死蜱" in listed.text
    form = f"/township/late-inputs/{record.id}"
    token = csrf_token(client.get(form).text)
    refused = client.post(form, data={"csrf_token": token, "decision": "approve", "note": ""})
    assert refused.status_code == 422 and "请写明审核理由" in refused.text
    session.expire_all()
    assert session.get(BatchInput, record.id).approval == "pending"
    approved = client.post(
        form,
        data={"csrf_token": token, "decision": "approve", "note": "电话核实，记录属实"},
        follow_redirects=False,
    )
    assert approved.status_code == 303, approved.text
    session.expire_all()
    events = session.query(TraceEvent).filter_by(batch_id=batch["id"]).order_by(TraceEvent.seq)
    logged = [e for e in events if e.kind == "input"]
    assert len(logged) == 1 and logged[0].data["after_harvest"] is True
    html = page(client, batch)
    assert "毒死蜱" in html and "采收后补录，经乡镇审核" in html and INTACT in html
    assert "安全间隔期未满即采收" in html  # a 14-day interval, applied 3 days before
    entry = session.query(AuditEntry).filter_by(action="trace.late_input.approve").one()
    assert "毒死蜱" in entry.summary and entry.actor_id == admin.id
    again = client.post(form, data={"csrf_token": token, "decision": "reject", "note": "再审"})
    assert again.status_code == 422 and "已审核" in again.text
    # A cooperative's staff cannot decide: the console is the township's.
    staff = session.query(Account).filter_by(role=Role.COOPERATIVE).first()
    f.login_browser(client, session, staff)
    refused_to_staff = client.get(form, follow_redirects=False)
    assert refused_to_staff.status_code in (303, 403, 404)


# --- places and readings -------------------------------------------------------------------


def test_a_delivery_step_never_prints_a_free_text_place(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = full_lot(client, farm, "FACTS-G")
    shipped = client.post(
        f"/api/v1/batches/{batch['id']}/events",
        json={
            "step": "shipping",
            "from_party": "示例合作社",
            "to_party": "买家",
            "place": "幸福路 12 号 3 单元",
        },
        headers=farm["staff"],
    )
    assert shipped.status_code == 201, shipped.text
    html = page(client, batch)
    assert "示例合作社 → 买家" in html and "幸福路" not in html


def test_a_spot_reading_outside_the_range_is_marked_and_the_rule_explained(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
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
    farm = {"staff": f.auth_headers(session, staff), "fresh": product.id}
    batch = create_batch(client, farm, "FISH-SPOT")
    shipment = client.post(
        f"/api/v1/batches/{batch['id']}/shipments",
        json={"courier_account_id": courier.id, "device_id": "LOGGER-9"},
        headers=farm["staff"],
    ).json()
    now = datetime.now(UTC).replace(microsecond=0)
    rows = "\n".join(
        ["device_id,seq,at,celsius"]
        + [f"LOGGER-9,{i},{(now - timedelta(minutes=50 - 10 * i)).isoformat()},4" for i in range(5)]
    )
    courier_headers = f.auth_headers(session, courier)
    uploaded = client.post(
        f"/api/v1/shipments/{shipment['id']}/readings",
        content=rows.encode(),
        headers={**courier_headers, "Content-Type": "text/csv"},
    )
    assert uploaded.status_code == 200, uploaded.text
    handoff = client.post(
        f"/api/v1/shipments/{shipment['id']}/handoffs",
        json={"from_party": "合作社", "to_party": "县邮政", "temperature_c": 10.5},
        headers=courier_headers,
    )
    assert handoff.status_code == 201, handoff.text
    html = page(client, batch)
    assert "运输途中曾出现温度超标" not in html  # one reading is not an excursion ...
    assert "10.5 ℃（超出范围）" in html  # ... but it is marked, and the rule is explained
    assert "只有连续超出 30 分钟以上" in html
    assert 'class="spot out"' in html
    timeline = html.split('class="timeline"', 1)[1]
    assert '10.5 ℃ <b class="error">（温度超出范围）</b>' in timeline


def test_a_purchasers_own_commitment_is_kept_and_printed(session: Session) -> None:
    from farmgate.rendering.compliance import certificate_pdf
    from farmgate.trace import lots, service
    from farmgate.trace.certificates import COMMITMENT, ComplianceCertificate
    from farmgate.trace.schemas import BatchIn, HarvestIn
    from tests.support.labels import pdf_pages

    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township), name="辣椒")
    batch = service.create_batch(
        session,
        staff,
        BatchIn(product_id=product.id or 0, lot_code="OWN-1", quantity=5, unit="公斤"),
    )
    service.record_harvest(session, staff, batch, HarvestIn(harvest_date=date.today()))
    own = "本站收购的辣椒均经快检合格"
    cert = ComplianceCertificate(
        "辣椒", "5", "公斤", "谭家场乡", date.today(), "收购站", "13800000001",
        ("self_test", "self_commitment"), commitment=own,
    )  # fmt: skip
    row = lots.issue_compliance(session, staff, batch, cert)
    assert row.details["commitment"] == own and row.details["bases"] == [
        "self_test",
        "self_commitment",
    ]
    kept = ComplianceCertificate.from_details(row.details, row.issued_on)
    assert kept.own_commitment == own
    standard = ComplianceCertificate.from_details({**row.details, "commitment": ""}, row.issued_on)
    assert standard.commitment == COMMITMENT and standard.own_commitment == ""
    # The printed certificate differs from the standard wording's.
    [(_p, printed)] = pdf_pages(certificate_pdf(kept, size="A6"))
    [(_p, plain)] = pdf_pages(certificate_pdf(standard, size="A6"))
    assert printed.tobytes() != plain.tobytes()
