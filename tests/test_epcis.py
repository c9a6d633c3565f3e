"""EPCIS 2.0 documents from farmgate.gs1.epcis, checked against GS1's own JSON Schema.

The validator is proven first: it accepts every GS1 example and rejects broken copies, with the
``uri`` and ``date-time`` formats really checked (see /work/shared/standards/README.md).
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from farmgate.gs1 import epcis
from farmgate.gs1.epcis import (
    EpcisError,
    ErrorDeclaration,
    Event,
    QuantityElement,
    SensorReport,
    document,
    event_dict,
)
from tests.support.standards import STANDARDS_DIR

jsonschema = pytest.importorskip("jsonschema")

STANDARDS = STANDARDS_DIR
EPCIS_DIR = STANDARDS / "epcis"
EXAMPLES = sorted((EPCIS_DIR / "examples").glob("*.jsonld")) if EPCIS_DIR.is_dir() else []
needs_schema = pytest.mark.skipif(
    not (EPCIS_DIR / "EPCIS-JSON-Schema.json").is_file(),
    reason=f"GS1's EPCIS 2.0 schema and examples are not at {EPCIS_DIR} (shared standards absent)",
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 7, 1, 8, 0, tzinfo=SHANGHAI)
NS = "https://farmgate.example.cn/ns/"
LOT_A = "https://id.gs1.org/01/06901234567892/10/LOT-A"
LOT_B = "https://id.gs1.org/01/06901234567892/10/LOT-B"
MIX = "https://id.gs1.org/01/06901234567908/10/MIX-1"
COOP = NS + "party/tanjiachang-coop"
COURIER = NS + "party/chenxi-post"


def eid(n: int) -> str:
    return f"ni:///sha-256;{n:064x}?ver=CBV2.0"


# --- the validator -------------------------------------------------------------------------


def _validator() -> Any:
    schema = json.loads((EPCIS_DIR / "EPCIS-JSON-Schema.json").read_text())
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    # Without rfc3986-validator / rfc3339-validator these formats are silently skipped.
    assert {"uri", "date-time"} <= set(checker.checkers)
    assert not checker.conforms("harvesting", "uri")
    assert not checker.conforms("2026-07-01 08:00", "date-time")
    return jsonschema.Draft7Validator(schema, format_checker=checker)


@pytest.fixture(scope="module")
def validator() -> Any:
    if not (EPCIS_DIR / "EPCIS-JSON-Schema.json").is_file():
        pytest.skip(f"GS1's EPCIS 2.0 schema is not at {EPCIS_DIR}")
    return _validator()


def problems(validator: Any, doc: dict[str, Any]) -> list[str]:
    """Schema errors plus what the schema leaves out: upper-case Rec 20 sensor units."""
    found = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    for event in doc.get("epcisBody", {}).get("eventList", []):
        for element in event.get("sensorElementList", []):
            for report in element.get("sensorReport", []):
                uom = report.get("uom")
                if uom is not None and not (uom.isupper() and uom.isalnum() and len(uom) <= 3):
                    found.append(f"sensor uom {uom!r} is not an upper-case Rec 20 code")
    return found


@needs_schema
def test_there_are_gs1_examples() -> None:
    assert len(EXAMPLES) >= 47


@needs_schema
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_validator_accepts_each_gs1_example(validator: Any, path: Path) -> None:
    assert problems(validator, json.loads(path.read_text())) == []


BROKEN = [
    ("bizStep", "harvesting"),  # a bare word that is not CBV
    ("bizStep", "urn:epcglobal:cbv:bizstep:harvesting"),  # not a CBV term
    ("disposition", "spoiled"),
    ("eventTime", "yesterday"),
    ("eventTime", "2005-04-03 20:33:31"),  # no T, no offset
    ("eventTimeZoneOffset", "+8"),
    ("eventTimeZoneOffset", "+15:00"),
    ("action", "UPDATE"),
    ("readPoint", {"id": "not a uri"}),  # only the uri format check catches this
    ("eventID", "event one"),
]


@needs_schema
@pytest.mark.parametrize(("field", "value"), BROKEN)
def test_the_validator_rejects_a_broken_copy(validator: Any, field: str, value: Any) -> None:
    doc = json.loads((EPCIS_DIR / "examples/Example_9.6.1-ObjectEvent.jsonld").read_text())
    assert problems(validator, doc) == []
    broken = copy.deepcopy(doc)
    broken["epcisBody"]["eventList"][0][field] = value
    assert problems(validator, broken), f"{field}={value!r} should not validate"


@needs_schema
def test_the_schema_misses_lower_case_sensor_units_but_the_check_does_not(validator: Any) -> None:
    doc = json.loads((EPCIS_DIR / "examples/WithSensorData__SensorDataExample1.jsonld").read_text())
    broken = copy.deepcopy(doc)
    report = broken["epcisBody"]["eventList"][0]["sensorElementList"][0]["sensorReport"][0]
    report["uom"] = "cel"
    assert list(validator.iter_errors(broken)) == []  # the schema lets it through
    assert problems(validator, broken) == ["sensor uom 'cel' is not an upper-case Rec 20 code"]


# --- a lot's story -------------------------------------------------------------------------


def story() -> list[Event]:
    harvest = Event(
        event_id=eid(1),
        event_time=T0,
        record_time=T0 + timedelta(minutes=5),
        action="ADD",
        biz_step="commissioning",
        disposition="active",
        biz_location=NS + "place/plot-3",
        quantities=(QuantityElement(LOT_A, 500, "KGM"),),
        ilmd={
            "cbvmda:lotNumber": "LOT-A",
            "cbvmda:harvestStartDate": date(2026, 6, 30),
            "cbvmda:harvestEndDate": date(2026, 7, 1),
            "farmgate:plot": {
                "farmgate:name": "谭家场村 3 号田",
                "farmgate:geo": "geo:27.9875,110.1939",
            },
        },
    )
    day = timedelta(days=1)
    return [
        harvest,
        Event(
            event_id=eid(2),
            event_time=T0 + day,
            biz_step="inspecting",
            quantities=(QuantityElement(LOT_A),),
            biz_transactions=(("testres", NS + "report/R-1"),),
            extensions={"farmgate:lab": "怀化市检测中心", "farmgate:passed": True},
        ),
        Event(
            event_id=eid(3),
            event_time=T0 + 2 * day,
            biz_step="packing",
            disposition="in_progress",
            read_point=NS + "place/station",
            quantities=(QuantityElement(LOT_A, 480, "KGM"),),
        ),
        Event(
            event_id=eid(4),
            event_time=T0 + 3 * day,
            biz_step="storing",
            disposition="sellable_not_accessible",
            quantities=(QuantityElement(LOT_A, 480, "KGM"),),
        ),
        Event(
            event_id=eid(5),
            event_time=T0 + 4 * day,
            biz_step="shipping",
            disposition="in_transit",
            quantities=(QuantityElement(LOT_A, 480, "KGM"),),
            sources=(("possessing_party", COOP), ("owning_party", COOP)),
            destinations=(("possessing_party", COURIER),),
            biz_transactions=(("desadv", NS + "shipment/17"),),
        ),
        Event(
            event_id=eid(6),
            event_time=T0 + 5 * day,
            biz_step="receiving",
            disposition="in_progress",
            quantities=(QuantityElement(LOT_A, 480, "KGM"),),
            sources=(("possessing_party", COURIER),),
            destinations=(("possessing_party", NS + "party/shop"), ("location", NS + "place/s")),
            sensor_reports=(
                SensorReport(
                    min_value=2.5,
                    max_value=11.8,
                    mean_value=6.1,
                    exception="ALARM_CONDITION",
                    start_time=T0 + 4 * day,
                    end_time=T0 + 5 * day,
                    device_id=NS + "device/LOG-1",
                ),
            ),
        ),
        Event(
            event_id=eid(7),
            event_time=T0 + 6 * day,
            biz_step="retail_selling",
            disposition="retail_sold",
            quantities=(QuantityElement(LOT_A, 2, "KGM"),),
        ),
        Event(
            event_id=eid(8),
            event_time=T0 + 7 * day,
            biz_step="holding",
            disposition="recalled",
            quantities=(QuantityElement(LOT_A),),
            extensions={"farmgate:reason": "抽检不合格"},
        ),
        Event(
            kind="transformation",
            event_id=eid(9),
            event_time=T0 + 8 * day,
            biz_step="commissioning",
            inputs=(QuantityElement(LOT_A, 100, "KGM"), QuantityElement(LOT_B, 50.5, "KGM")),
            outputs=(QuantityElement(MIX, Decimal("30"), "KGM"),),
            ilmd={"cbvmda:lotNumber": "MIX-1"},
            extensions={"farmgate:process": "腌制混批"},
        ),
        # The harvest said 500 kg; it was 480: the same event declared in error, and its fix.
        replace(
            harvest,
            error_declaration=ErrorDeclaration(
                T0 + 9 * day, "incorrect_data", corrective_event_ids=(eid(10),)
            ),
        ),
        replace(
            harvest,
            event_id=eid(10),
            record_time=T0 + 9 * day,
            quantities=(QuantityElement(LOT_A, 480, "KGM"),),
        ),
    ]


def build(events: list[Event] | None = None, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("created", T0 + timedelta(days=10))
    kwargs.setdefault("vocabulary_base", NS)
    return document(story() if events is None else events, **kwargs)


@needs_schema
def test_a_lots_whole_story_validates(validator: Any) -> None:
    doc = build(sender="https://farmgate.example.cn")
    assert problems(validator, doc) == []
    # cbvmda is the EPCIS context's own protected term: declaring it again breaks JSON-LD.
    assert doc["@context"] == [epcis.CONTEXT, {"farmgate": NS}]
    assert (doc["type"], doc["schemaVersion"]) == ("EPCISDocument", "2.0")
    assert doc["creationDate"] == "2026-07-11T08:00:00+08:00"
    events = doc["epcisBody"]["eventList"]
    assert {e.get("bizStep") for e in events} == {
        "commissioning", "inspecting", "packing", "storing", "shipping", "receiving",
        "retail_selling", "holding",
    }  # fmt: skip
    assert all(e["eventTimeZoneOffset"] == "+08:00" for e in events)
    assert events[0]["eventTime"] == "2026-07-01T08:00:00+08:00"


@needs_schema
def test_each_kind_of_event_validates_on_its_own(validator: Any) -> None:
    for event in story():
        doc = build([event])
        assert problems(validator, doc) == [], event.biz_step


def test_commissioning_carries_the_lot_harvest_date_and_plot() -> None:
    out = event_dict(story()[0])
    assert out["type"] == "ObjectEvent" and out["action"] == "ADD"
    assert out["disposition"] == "active"
    assert out["quantityList"] == [{"epcClass": LOT_A, "quantity": 500, "uom": "KGM"}]
    assert out["ilmd"]["cbvmda:lotNumber"] == "LOT-A"
    assert out["ilmd"]["cbvmda:harvestStartDate"] == "2026-06-30"
    assert out["ilmd"]["farmgate:plot"]["farmgate:geo"] == "geo:27.9875,110.1939"
    assert out["recordTime"] == "2026-07-01T08:05:00+08:00"


def test_custody_handoffs_and_the_alarm() -> None:
    shipping, receiving = (event_dict(e) for e in story()[4:6])
    assert shipping["sourceList"][0] == {"type": "possessing_party", "source": COOP}
    assert shipping["destinationList"] == [{"type": "possessing_party", "destination": COURIER}]
    assert shipping["bizTransactionList"] == [
        {"type": "desadv", "bizTransaction": NS + "shipment/17"}
    ]
    element = receiving["sensorElementList"][0]
    assert element["sensorMetadata"] == {
        "startTime": "2026-07-05T08:00:00+08:00",
        "endTime": "2026-07-06T08:00:00+08:00",
        "deviceID": NS + "device/LOG-1",
    }
    assert element["sensorReport"] == [
        {
            "type": "Temperature",
            "minValue": 2.5,
            "maxValue": 11.8,
            "meanValue": 6.1,
            "uom": "CEL",
            "exception": "ALARM_CONDITION",
        }
    ]


def test_recall_transformation_and_the_error_declaration() -> None:
    recall, merge, declared, fixed = (event_dict(e) for e in story()[7:])
    assert (recall["bizStep"], recall["disposition"]) == ("holding", "recalled")
    assert merge["type"] == "TransformationEvent" and "action" not in merge
    assert [q["epcClass"] for q in merge["inputQuantityList"]] == [LOT_A, LOT_B]
    assert merge["outputQuantityList"] == [{"epcClass": MIX, "quantity": 30, "uom": "KGM"}]
    assert declared["eventID"] == eid(1)
    assert declared["errorDeclaration"] == {
        "declarationTime": "2026-07-10T08:00:00+08:00",
        "reason": "incorrect_data",
        "correctiveEventIDs": [eid(10)],
    }
    assert fixed["eventID"] == eid(10) and fixed["quantityList"][0]["quantity"] == 480


def test_times_keep_their_own_offset_and_events_are_ordered_by_instant() -> None:
    utc = Event(
        event_id=eid(20),
        event_time=datetime(2026, 7, 1, 0, 30, tzinfo=UTC),  # 08:30 in Shanghai
        quantities=(QuantityElement(LOT_A),),
    )
    nepal = Event(
        event_id=eid(21),
        event_time=datetime(2026, 7, 1, 5, 50, tzinfo=timezone(timedelta(hours=5, minutes=45))),
        quantities=(QuantityElement(LOT_A),),
        action="OBSERVE",
    )  # 08:05 in Shanghai
    events = build([utc, story()[0], nepal])["epcisBody"]["eventList"]
    assert [e["eventID"] for e in events] == [eid(1), eid(21), eid(20)]
    assert [e["eventTimeZoneOffset"] for e in events] == ["+08:00", "+05:45", "+00:00"]
    assert events[2]["eventTime"] == "2026-07-01T00:30:00+00:00"
    millis = event_dict(
        Event(event_id=eid(22), event_time=T0.replace(microsecond=123456), epcs=(LOT_A,))
    )
    assert millis["eventTime"] == "2026-07-01T08:00:00.123+08:00"


def test_only_our_own_prefix_is_declared() -> None:
    plain = build([story()[1]])
    assert plain["@context"][1] == {"farmgate": NS}
    assert "sender" not in plain


@needs_schema
def test_private_and_uri_spelled_terms(validator: Any) -> None:
    event = Event(
        event_id=eid(30),
        event_time=T0,
        biz_step="farmgate:harvesting",
        disposition="urn:epcglobal:cbv:disp:in_transit",
        quantities=(QuantityElement(LOT_A),),
        sensor_reports=(SensorReport(type="gs1:Temperature", value=4.0, time=T0),),
        sources=(("https://ref.gs1.org/cbv/SDT-owning_party", COOP),),
    )
    out = event_dict(event)
    assert out["bizStep"] == "farmgate:harvesting"
    assert out["disposition"] == "in_transit"
    assert out["sourceList"][0]["type"] == "owning_party"
    assert out["sensorElementList"][0]["sensorReport"][0]["type"] == "Temperature"
    assert problems(validator, build([event])) == []
    assert epcis.BIZ_STEP("https://ref.gs1.org/cbv/BizStep-shipping") == "shipping"


def _event(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "event_id": eid(40),
        "event_time": T0,
        "quantities": (QuantityElement(LOT_A, 1, "KGM"),),
    }
    return Event(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"event_time": datetime(2026, 7, 1, 8, 0)}, "timezone-aware"),
        ({"record_time": datetime(2026, 7, 1, 8, 0)}, "timezone-aware"),
        ({"biz_step": "harvesting"}, "neither a standard bizStep nor a URI"),
        ({"biz_step": "urn:epcglobal:cbv:bizstep:harvesting"}, "not a bizStep"),
        ({"disposition": "spoiled"}, "disposition"),
        ({"quantities": (QuantityElement(LOT_A, 1, "kgm"),)}, "Rec 20"),
        ({"quantities": (QuantityElement(LOT_A, float("nan"), "KGM"),)}, "finite"),
        ({"quantities": (QuantityElement(LOT_A, None, "KGM"),)}, "uom without a quantity"),
        ({"quantities": (QuantityElement("LOT-A", 1, "KGM"),)}, "absolute URI"),
        ({"quantities": ()}, "needs epcs, quantities"),
        ({"ilmd": {"cbvmda:lotNumber": "X"}}, "ILMD belongs to ADD"),
        ({"action": "ADD", "ilmd": {"lotNumber": "X"}}, "must be 'farmgate:"),
        ({"extensions": {"details": 1}}, "must be 'farmgate:"),
        ({"sensor_reports": (SensorReport(value=4, uom="cel"),)}, "Rec 20"),
        ({"sensor_reports": (SensorReport(value=4, exception="ALARM"),)}, "sensor alert"),
        ({"sensor_reports": (SensorReport(min_value=9, max_value=2),)}, "minValue"),
        ({"sensor_reports": (SensorReport(value=4, device_id="LOG-1"),)}, "absolute URI"),
        ({"sources": (("courier", COOP),)}, "source/destination type"),
        ({"biz_transactions": (("order", NS + "po/1"),)}, "bizTransaction type"),
        ({"inputs": (QuantityElement(LOT_A),)}, "transformation inputs/outputs"),
        ({"kind": "transformation", "action": "ADD"}, "inputs/outputs only"),
        ({"kind": "transformation", "quantities": ()}, "neither inputs nor outputs"),
        ({"event_time": T0.replace(tzinfo=timezone(timedelta(hours=8, seconds=30)))}, "±hh:mm"),
        ({"error_declaration": ErrorDeclaration(T0, "typo")}, "error reason"),
    ],
)
def test_what_the_standard_forbids_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(EpcisError, match=message):
        event_dict(_event(**changes))


def test_document_arguments_are_checked() -> None:
    with pytest.raises(EpcisError, match="timezone-aware"):
        document([], created=datetime(2026, 7, 1))
    with pytest.raises(EpcisError, match="vocabulary_base"):
        document([], created=T0, vocabulary_base="farmgate")
    with pytest.raises(EpcisError, match="timezone-aware"):
        document([_event(), _event(event_time=datetime(2026, 7, 1))], created=T0)


@needs_schema
def test_an_empty_document_validates(validator: Any) -> None:
    doc = document([], created=T0)
    assert doc["epcisBody"] == {"eventList": []}
    assert problems(validator, doc) == []


def test_json_dumps_keeps_chinese_and_order() -> None:
    text = epcis.json_dumps(build())
    assert "怀化市检测中心" in text and "\\u" not in text
    assert list(json.loads(text)) == [
        "@context", "type", "schemaVersion", "creationDate", "epcisBody",
    ]  # fmt: skip
    assert epcis.json_dumps(build()) == text  # same input, same bytes
