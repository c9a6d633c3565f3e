"""GS1 conformance of the EPCIS export: every demo lot validates and expands as JSON-LD with
GS1's bundled contexts, transformations are one event, places are GLN-based, inspections and
certificates carry certificationInfo and their dates (issue 19)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy.orm import Session

from farmgate.demo.seed import seed
from farmgate.gs1 import event_hash
from farmgate.models import Batch
from farmgate.trace import epcis_export
from tests.support.gs1 import VILLAGE, lot_story
from tests.support.jsonld import CONTEXTS, expand
from tests.support.standards import STANDARDS_DIR

jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("pyld")
if not CONTEXTS.is_dir():
    pytest.skip(f"GS1's EPCIS contexts are not at {CONTEXTS}", allow_module_level=True)

SCHEMA = json.loads((STANDARDS_DIR / "epcis" / "EPCIS-JSON-Schema.json").read_text())
EPCIS = "https://ref.gs1.org/epcis/"


def schema_errors(document: dict[str, Any]) -> list[str]:
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    assert "uri" in checker.checkers  # else format: uri is silently not checked
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=checker)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_loader_expands_gs1s_examples_and_refuses_a_protected_redefinition() -> None:
    from pyld.jsonld import JsonLdError

    example = json.loads(
        (STANDARDS_DIR / "epcis" / "examples" / "Example_9.6.1-ObjectEvent.jsonld").read_text()
    )
    expanded = expand(example)
    assert expanded[0]["@type"] == [EPCIS + "EPCISDocument"]
    broken = copy.deepcopy(example)
    broken["@context"] = [*broken["@context"], {"cbvmda": "urn:epcglobal:cbv:mda#"}]
    with pytest.raises(JsonLdError):
        expand(broken)
    elsewhere = copy.deepcopy(example)
    elsewhere["@context"] = ["https://example.org/other-context.jsonld"]
    with pytest.raises(JsonLdError):  # no network: an unknown context is an error, not a fetch
        expand(elsewhere)


def test_every_demo_lot_exports_valid_processable_epcis(session: Session, media_dir) -> None:  # type: ignore[no-untyped-def]
    seed(session)
    batches = session.query(Batch).order_by(Batch.id).all()
    assert batches
    for batch in batches:
        document = epcis_export.for_batches(session, [batch])
        assert schema_errors(document) == [], batch.lot_code
        expanded = expand(json.loads(json.dumps(document)))
        events = expanded[0][EPCIS + "epcisBody"][0][EPCIS + "eventList"]
        assert len(events) == len(document["epcisBody"]["eventList"])
        assert all(EPCIS + "eventTime" in e for e in events)
        spaces = event_hash.namespaces(document)
        for event in document["epcisBody"]["eventList"]:
            assert event["eventID"] == event_hash.event_hash(event, spaces)
            assert event["readPoint"]["id"].startswith("https://id.gs1.org/414/")


def test_the_export_is_gs1_shaped(client, farm, session: Session) -> None:  # type: ignore[no-untyped-def]
    story = lot_story(client, farm)
    h = farm["staff"]
    document = client.get(f"/api/v1/batches/{story['a']['id']}/epcis", headers=h).json()
    assert schema_errors(document) == []
    expand(document)
    events = document["epcisBody"]["eventList"]
    # One transformation, one TransformationEvent: both inputs and the output, with its id.
    transformations = [e for e in events if e["type"] == "TransformationEvent"]
    assert len(transformations) == 1
    (whole,) = transformations
    assert len(whole["inputQuantityList"]) == 2 and whole["transformationID"].startswith("http")
    assert whole["outputQuantityList"][0]["epcClass"].endswith("/10/GS1-DRY")
    output_doc = client.get(f"/api/v1/batches/{story['merged']['id']}/epcis", headers=h).json()
    again = [e for e in output_doc["epcisBody"]["eventList"] if e["type"] == "TransformationEvent"]
    assert [e["eventID"] for e in again] == [whole["eventID"]]
    # The harvest is read at its plot and located in its village: GLN + AI 254.
    harvest = next(e for e in events if e.get("action") == "ADD" and "errorDeclaration" not in e)
    assert "/254/P" in harvest["readPoint"]["id"]
    assert harvest["bizLocation"]["id"].endswith(f"/254/V{VILLAGE}")
    assert harvest["readPoint"]["id"].startswith("https://id.gs1.org/414/")
    # Inspection and certificate: certificationInfo, and their own dates kept.
    inspections = [e for e in events if e.get("bizStep") == "inspecting"]
    report = next(e for e in inspections if e["farmgate:details"].get("report_no") == "R-7")
    assert "inspection-report" in report["certificationInfo"]
    assert report["farmgate:details"]["inspected_on"]
    cert = next(e for e in inspections if e["farmgate:details"].get("code") == "GF431223260001")
    assert "certificate" in cert["certificationInfo"]
    assert cert["farmgate:details"]["issued_on"]
    # A correction: the declared event keeps its ID; the corrective one is named by its hash.
    declared = next(e for e in events if "errorDeclaration" in e)
    corrective = declared["errorDeclaration"]["correctiveEventIDs"]
    assert [e["eventID"] for e in events if e["eventID"] in corrective] == corrective
    assert declared["eventID"] == harvest["eventID"]
