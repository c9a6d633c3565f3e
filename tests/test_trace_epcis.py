"""EPCIS 2.0 exports validated against GS1's own JSON Schema (with formats really checked)."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from farmgate.models import Role
from tests.support import factories as f
from tests.support.standards import STANDARDS_DIR
from tests.support.trace import create_batch

jsonschema = pytest.importorskip("jsonschema")
STANDARDS = STANDARDS_DIR / "epcis"
if not STANDARDS.is_dir():
    pytest.skip(f"GS1's EPCIS schema is not at {STANDARDS}", allow_module_level=True)

SCHEMA = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text())
EXAMPLES = sorted((STANDARDS / "examples").glob("*.jsonld"))


def validator():  # type: ignore[no-untyped-def]
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    # Without rfc3986-validator / rfc3339-validator these formats are silently not checked.
    assert {"uri", "date-time"} <= set(checker.checkers)
    return jsonschema.Draft7Validator(SCHEMA, format_checker=checker)


def errors(document: dict) -> list[str]:  # type: ignore[type-arg]
    found = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(document)]
    # The schema leaves sensorReport.uom free; UN/CEFACT Rec 20 codes are upper case.
    for event in document.get("epcisBody", {}).get("eventList", []):
        for element in event.get("sensorElementList", []):
            for report in element["sensorReport"]:
                if "uom" in report and not report["uom"].isupper():
                    found.append(f"sensor uom {report['uom']!r} is not a Rec 20 code")
    return found


def test_the_validator_accepts_gs1s_examples() -> None:
    assert len(EXAMPLES) >= 40
    for path in EXAMPLES:
        assert errors(json.loads(path.read_text())) == [], path.name


@pytest.mark.parametrize(
    ("field", "value"),
    [("bizStep", "harvesting"), ("eventTime", "yesterday"), ("disposition", "spoiled")],
)
def test_the_validator_rejects_a_broken_copy(field: str, value: str) -> None:
    document = json.loads((STANDARDS / "examples" / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    broken = copy.deepcopy(document)
    broken["epcisBody"]["eventList"][0][field] = value
    assert errors(broken), f"{field}={value} should not validate"


@pytest.fixture
def story(client, session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    village = f.first_village(session, township)
    fish = f.create_product(session, staff, village, name="辰溪稻花鱼", storage_class="chilled")
    dried = f.create_product(session, staff, village, name="干红辣椒")
    farm = {"staff": f.auth_headers(session, staff), "fresh": fish.id, "dried": dried.id}
    a = create_batch(client, farm, "FISH-A", unit="条")
    b = create_batch(client, farm, "FISH-B")
    h = farm["staff"]
    today = str(date.today())
    for batch in (a, b):
        url = f"/api/v1/batches/{batch['id']}"
        client.post(
            f"{url}/inputs",
            json={
                "kind": "fertiliser",
                "product_name": "有机肥",
                "dose": "200 公斤/亩",
                "applied_on": str(date.today() - timedelta(days=30)),
            },
            headers=h,
        )
        assert (
            client.post(f"{url}/harvest", json={"harvest_date": today}, headers=h).status_code
            == 201
        )
    url = f"/api/v1/batches/{a['id']}"
    client.post(
        f"{url}/inspections",
        json={
            "lab": "怀化市检测中心",
            "report_no": "R-1",
            "inspected_on": today,
            "items": [{"name": "孔雀石绿", "result": "未检出", "passed": True}],
        },
        headers=h,
    )
    for step in ("packing", "storing", "retail_selling"):
        client.post(f"{url}/events", json={"step": step, "place": "谭家场村服务站"}, headers=h)
    client.post(
        f"{url}/events",
        json={"step": "shipping", "from_party": "谭家场合作社", "to_party": "辰溪县邮政"},
        headers=h,
    )
    client.post(
        f"{url}/corrections",
        json={"seq": 1, "note": "数量有误", "corrected": {"quantity": "480"}},
        headers=h,
    )
    merged = client.post(
        "/api/v1/transformations",
        json={
            "inputs": [
                {"batch_id": a["id"], "quantity": "100", "unit": "kg"},
                {"batch_id": b["id"], "quantity": "50", "unit": "kg"},
            ],
            "output": {"product_id": dried.id, "lot_code": "MIX-1", "quantity": "30", "unit": "kg"},
            "process": "腌制混批",
        },
        headers=h,
    ).json()
    client.post(f"/api/v1/batches/{merged['id']}/recall", json={"reason": "抽检不合格"}, headers=h)
    # A chilled shipment with an excursion: a sensor report with ALARM_CONDITION.
    from datetime import UTC, datetime

    shipment = client.post(
        f"/api/v1/batches/{b['id']}/shipments", json={"device_id": "LOG-1"}, headers=h
    ).json()
    now = datetime.now(UTC).replace(microsecond=0)
    rows = "device_id,seq,at,celsius\n" + "\n".join(
        f"LOG-1,{i},{(now - timedelta(minutes=90 - 10 * i)).isoformat()},{t}"
        for i, t in enumerate([3, 11, 12, 12, 11, 10, 3])
    )
    client.post(f"/api/v1/shipments/{shipment['id']}/readings", content=rows.encode(), headers=h)
    client.post(
        f"/api/v1/shipments/{shipment['id']}/handoffs",
        json={"from_party": "合作社", "to_party": "冷链车", "temperature_c": 3},
        headers=h,
    )
    return {"h": h, "a": a, "b": b, "merged": merged}


def test_a_batch_export_validates_and_covers_every_kind(client, story) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/batches/{story['merged']['id']}/epcis", headers=story["h"])
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "application/ld+json"
    )
    document = response.json()
    assert errors(document) == []
    events = document["epcisBody"]["eventList"]
    steps = {e.get("bizStep") for e in events}
    assert {"commissioning", "inspecting", "packing", "storing", "shipping"} <= steps
    assert {"retail_selling", "holding"} <= steps
    assert any(e.get("disposition") == "recalled" for e in events)
    harvest = next(e for e in events if e.get("action") == "ADD")
    assert harvest["ilmd"]["cbvmda:lotNumber"] in ("FISH-A", "FISH-B")
    transformation = [e for e in events if e["type"] == "TransformationEvent"]
    outputs = [e for e in transformation if "MIX-1" in e["outputQuantityList"][0]["epcClass"]]
    assert any(len(e["inputQuantityList"]) == 2 for e in outputs)
    declared = [e for e in events if "errorDeclaration" in e]
    assert len(declared) == 1 and declared[0]["errorDeclaration"]["correctiveEventIDs"]
    corrective_id = declared[0]["errorDeclaration"]["correctiveEventIDs"][0]
    assert any(e["eventID"] == corrective_id for e in events)
    handoff = next(e for e in events if e.get("sensorElementList"))
    report = handoff["sensorElementList"][0]["sensorReport"][0]
    assert report["uom"] == "CEL" and report["exception"] == "ALARM_CONDITION"
    assert handoff["sourceList"][0]["type"] == "possessing_party"
    assert all(e["eventTimeZoneOffset"] == "+08:00" for e in events)


def test_a_date_range_export_validates(client, story) -> None:  # type: ignore[no-untyped-def]
    since = (date.today() - timedelta(days=2)).isoformat() + "T00:00:00+08:00"
    response = client.get("/api/v1/epcis", params={"since": since}, headers=story["h"])
    assert response.status_code == 200, response.text
    document = response.json()
    assert errors(document) == []
    lots = {
        q["epcClass"].rsplit("/", 1)[1]
        for e in document["epcisBody"]["eventList"]
        for q in e.get("quantityList", []) + e.get("outputQuantityList", [])
    }
    assert {"FISH-A", "FISH-B", "MIX-1"} <= lots
    naive = client.get("/api/v1/epcis", params={"since": "2026-01-01T00:00:00"}, headers=story["h"])
    assert naive.status_code == 422


def test_the_inspectors_spreadsheet(client, story, session: Session) -> None:  # type: ignore[no-untyped-def]
    from io import BytesIO

    from openpyxl import load_workbook

    from farmgate.models import TraceEvent

    batch_id = story["a"]["id"]
    xlsx = client.get(f"/api/v1/trace-records.xlsx?batch_id={batch_id}", headers=story["h"])
    assert xlsx.status_code == 200, xlsx.text
    book = load_workbook(BytesIO(xlsx.content))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("事件时间", "事件", "CBV 业务步骤", "批次号")
    expected = session.query(TraceEvent).filter_by(batch_id=batch_id).count()
    assert len(rows) - 1 == expected and {r[3] for r in rows[1:]} == {"FISH-A"}
    assert sheet.auto_filter.ref.startswith("A1:")
    assert book["字段说明"].cell(2, 1).value == "事件时间"
    csv_text = client.get(
        f"/api/v1/trace-records.csv?batch_id={batch_id}", headers=story["h"]
    ).content.decode("utf-8-sig")
    assert len(csv_text.strip().splitlines()) == expected + 1
    assert "怀化市检测中心" in csv_text
    from farmgate.models import Township

    rival_coop = f.create_cooperative(session, session.query(Township).one(), name="别社")
    rival = f.auth_headers(
        session, f.create_account(session, role=Role.COOPERATIVE, cooperative=rival_coop)
    )
    assert (
        client.get(f"/api/v1/trace-records.csv?batch_id={batch_id}", headers=rival).status_code
        == 404
    )
    since = "2000-01-01T00:00:00+08:00"
    theirs = client.get("/api/v1/trace-records.csv", params={"since": since}, headers=rival)
    assert theirs.status_code == 200 and len(theirs.content.decode("utf-8-sig").splitlines()) == 1
