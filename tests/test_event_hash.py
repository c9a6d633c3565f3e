"""The CBV 2.0 event hash: GS1's examples, the exporter's eventIDs, and JSON-LD processing."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from farmgate.gs1 import event_hash, locations
from tests.support.gs1 import lot_story
from tests.support.standards import STANDARDS_DIR

EXAMPLES = STANDARDS_DIR / "epcis" / "examples"
EXPECTED = json.loads(
    (Path(__file__).parent / "support" / "data" / "epcis_event_hashes.json").read_text()
)
needs_examples = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"GS1's EPCIS examples are not at {EXAMPLES}"
)


@needs_examples
def test_hashes_match_the_reference_on_gs1s_examples() -> None:
    expected: dict[str, list[str]] = EXPECTED["hashes"]
    assert len(expected) >= 40 and sum(len(v) for v in expected.values()) >= 45
    for name, hashes in expected.items():
        document = json.loads((EXAMPLES / name).read_text())
        assert event_hash.document_hashes(document) == hashes, name


@needs_examples
def test_the_hash_ignores_syntax_but_not_content() -> None:
    document = json.loads((EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    event = document["epcisBody"]["eventList"][0]
    original = event_hash.event_hash(event)
    # Field order, EPC order, record time, eventID, the URN spelling of a CBV term and the
    # time zone of the event time do not change the hash ...
    same = dict(reversed(list(event.items())))
    same["epcList"] = list(reversed(event["epcList"]))
    same["recordTime"] = "2030-01-01T00:00:00Z"
    same["eventID"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    same["bizStep"] = "urn:epcglobal:cbv:bizstep:shipping"
    same["eventTime"] = "2005-04-03T20:33:31.116-06:00"
    assert event_hash.event_hash(same) == original
    # ... what happened does.
    for field, value in [("bizStep", "receiving"), ("eventTime", "2005-04-03T20:33:31.117-06:00")]:
        changed = copy.deepcopy(event)
        changed[field] = value
        assert event_hash.event_hash(changed) != original, field
    assert original.startswith("ni:///sha-256;") and original.endswith("?ver=CBV2.0")


def test_epc_urns_become_canonical_digital_links() -> None:
    to_dl = event_hash.to_digital_link
    assert to_dl("urn:epc:id:sgtin:0614141.107346.2017") == (
        "https://id.gs1.org/01/10614141073464/21/2017"
    )
    assert to_dl("urn:epc:class:lgtin:4012345.012345.998877") == (
        "https://id.gs1.org/01/04012345123456/10/998877"
    )
    assert to_dl("urn:epc:id:sgln:0614141.07346.1234") == (
        "https://id.gs1.org/414/0614141073467/254/1234"
    )
    assert to_dl("urn:epc:id:sgln:0614141.07346.0") == "https://id.gs1.org/414/0614141073467"
    assert to_dl("https://example.com/01/09506000134352/10/A1?17=290101") == (
        "https://id.gs1.org/01/09506000134352/10/A1"
    )
    assert to_dl("https://example.com/ns/place/1") is None


def test_gln_locations() -> None:
    gln = locations.gln("6970000", 12)
    assert len(gln) == 13 and gln.startswith("697000000012")
    assert event_hash.to_digital_link(locations.sgln_urn("6970000", gln, "V1")) == (
        locations.location_uri(gln, "V1")
    )
    with pytest.raises(ValueError, match="does not fit"):
        locations.gln("123456789012", 5)
    with pytest.raises(ValueError, match="extension"):
        locations.location_uri(gln, "村")


def _oracle() -> Any:
    return pytest.importorskip("epcis_event_hash_generator.hash_generator")


def export_is_hashed_right(document: dict[str, Any]) -> None:
    """Every eventID is the hash of its event; GS1's reference agrees when it is installed."""
    events = document["epcisBody"]["eventList"]
    spaces = event_hash.namespaces(document)
    for event in events:
        assert event["eventID"] == event_hash.event_hash(event, spaces)
    ids = [e["eventID"] for e in events if "errorDeclaration" not in e]
    assert len(set(ids)) == len(ids)


def test_the_reference_agrees_on_an_export(client, farm, session) -> None:  # type: ignore[no-untyped-def]
    hg = _oracle()
    from epcis_event_hash_generator.json_to_py import event_list_from_epcis_document_json

    story = lot_story(client, farm)
    document = client.get(f"/api/v1/batches/{story['a']['id']}/epcis", headers=farm["staff"]).json()
    export_is_hashed_right(document)
    reference = hg.calculate_hashes_from_pre_hashes(
        hg.derive_prehashes_from_events(
            event_list_from_epcis_document_json(copy.deepcopy(document))
        )
    )
    assert reference == [e["eventID"] for e in document["epcisBody"]["eventList"]]


def test_hash_times_are_utc_milliseconds() -> None:
    assert event_hash.canonical_time("2026-07-01T08:00:00+08:00") == "2026-07-01T00:00:00.000Z"
    moment = datetime(2026, 7, 1, tzinfo=UTC).isoformat()
    assert event_hash.canonical_time(moment) == "2026-07-01T00:00:00.000Z"
    assert event_hash.canonical_value("12.50") == "12.5"
    assert event_hash.canonical_value("200.0") == "200"
