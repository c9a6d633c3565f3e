"""EPCIS capture from partners: API keys, schema errors, storage, the lot's story, the query."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from farmgate.models import CapturedEvent, EpcisPartner
from farmgate.trace import capture
from tests.support.gs1 import lot_story


def partner_headers(
    session: Session, name: str = "辰溪县邮政", kind: str = "post_office"
) -> dict[str, str]:
    _, key = capture.create_partner(session, name, kind)
    session.flush()
    return {"Authorization": f"Bearer {key}"}


def receiving(
    gtin: str, lot: str, *, when: str = "2026-07-02T10:00:00+08:00", **extra: Any
) -> dict[str, Any]:
    """A processor's receipt of 100 kg of the lot, as EPCIS 2.0 JSON-LD."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": when,
        "eventTimeZoneOffset": "+08:00",
        "quantityList": [
            {"epcClass": f"https://id.gs1.org/01/{gtin}/10/{lot}", "quantity": 100, "uom": "KGM"}
        ],
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "in_progress",
        "readPoint": {"id": "https://id.gs1.org/414/6970000000017"},
        **extra,
    }
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-07-02T10:05:00+08:00",
        "epcisBody": {"eventList": [event]},
    }


def test_keys_are_hashed_at_rest_and_checked(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    partner, key = capture.create_partner(session, "辰溪县腊味加工厂", "processor")
    session.flush()
    assert key.startswith("fgp_") and key not in (partner.key_hash, partner.key_prefix)
    assert len(partner.key_hash) == 64 and key.startswith(partner.key_prefix)
    document = receiving("06970000000017", "LOT-1")
    for headers in ({}, {"Authorization": "Bearer fgp_nope"}, {"X-API-Key": key + "x"}):
        response = client.post("/epcis/capture", json=document, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "invalid_api_key"
    assert (
        client.post("/epcis/capture", json=document, headers={"X-API-Key": key}).status_code == 202
    )
    capture.revoke_partner(session, partner.id or 0)
    session.flush()
    assert (
        client.post("/epcis/capture", json=document, headers={"X-API-Key": key}).status_code == 401
    )
    with pytest.raises(Exception, match="类型"):
        capture.create_partner(session, "某单位", "bank")


def test_a_bad_document_gets_the_schema_errors_and_stores_nothing(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    headers = partner_headers(session)
    bad = receiving("06970000000017", "LOT-1")
    bad["epcisBody"]["eventList"][0]["bizStep"] = "harvesting"  # not CBV and not a URI
    good = receiving("06970000000017", "LOT-1", when="2026-07-03T10:00:00+08:00")
    bad["epcisBody"]["eventList"].append(good["epcisBody"]["eventList"][0])
    response = client.post("/epcis/capture", json=bad, headers=headers)
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid_epcis" and body["schema_errors"]
    assert any("bizStep" in e["path"] for e in body["schema_errors"])
    not_json = client.post("/epcis/capture", content=b"{oops", headers=headers)
    assert not_json.status_code == 400 and not_json.json()["error"]["schema_errors"]
    assert session.query(CapturedEvent).count() == 0


def test_captured_events_join_the_lots_story_attributed_to_the_sender(
    client, farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    from farmgate.story import views

    story = lot_story(client, farm)
    lot = story["a"]
    post = partner_headers(session, "辰溪县邮政", "post_office")
    # The post office writes the lot as an EPC class URN's Digital Link on its own host.
    document = receiving(lot["gtin"], lot["lot_code"])
    document["epcisBody"]["eventList"][0]["quantityList"][0]["epcClass"] = (
        f"https://scan.post.example/01/{lot['gtin']}/10/{lot['lot_code']}"
    )
    first = client.post("/epcis/capture", json=document, headers=post)
    assert first.status_code == 202, first.text
    assert first.json()["captured"] == 1
    event_id = first.json()["eventIDs"][0]
    assert event_id.startswith("ni:///sha-256;")  # none was given: the CBV hash is its id
    again = client.post("/epcis/capture", json=document, headers=post)
    assert again.json() == {**first.json(), "captured": 0, "duplicates": 1}
    assert session.query(CapturedEvent).count() == 1
    views.clear_cache()
    page = client.get(urlsplit(lot["trace_url"]).path)
    assert page.status_code == 200
    assert "合作伙伴记录" in page.text and "辰溪县邮政" in page.text and "收货" in page.text
    other = client.get(urlsplit(story["b"]["trace_url"]).path)
    assert "辰溪县邮政" not in other.text


def test_the_query_by_epc_type_and_time(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    headers = partner_headers(session, "加工厂", "processor")
    gtin = "06970000000017"
    for day, lot in ((2, "L1"), (3, "L1"), (4, "L2")):
        document = receiving(gtin, lot, when=f"2026-07-0{day}T10:00:00+08:00")
        assert client.post("/epcis/capture", json=document, headers=headers).status_code == 202
    unit = receiving(gtin, "L1", when="2026-07-05T10:00:00+08:00")
    del unit["epcisBody"]["eventList"][0]["quantityList"]
    unit["epcisBody"]["eventList"][0]["epcList"] = [
        f"https://id.gs1.org/01/{gtin}/10/L1/21/U7",
        "urn:epc:id:sgtin:6970000.000001.U8",  # an SGTIN names no lot
    ]
    response = client.post("/epcis/capture", json=unit, headers=headers)
    assert response.status_code == 202, response.text

    def ask(**params: str) -> list[dict[str, Any]]:
        answer = client.get("/epcis/events", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        document = answer.json()
        assert document["type"] == "EPCISQueryDocument"
        return document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]

    lot_l1 = f"https://id.gs1.org/01/{gtin}/10/L1"
    assert len(ask(epc=lot_l1)) == 3  # the lot's two receipts and one of its units
    assert len(ask(epc="urn:epc:class:lgtin:6970000.000001.L1")) == 3  # any spelling
    assert len(ask(epc=f"https://id.gs1.org/01/{gtin}/21/U8")) == 1
    assert len(ask(epc=lot_l1, GE_eventTime="2026-07-03T00:00:00+08:00")) == 2
    window = ask(GE_eventTime="2026-07-03T00:00:00+08:00", LT_eventTime="2026-07-04T12:00:00+08:00")
    assert [e["eventTime"][:10] for e in window] == ["2026-07-03", "2026-07-04"]
    assert ask(eventType="TransformationEvent") == []
    assert len(ask(eventType="ObjectEvent")) == 4
    assert (
        client.get("/epcis/events", params={"eventType": "Nope"}, headers=headers).status_code
        == 422
    )
    assert client.get("/epcis/events").status_code == 401


def test_partners_are_made_from_the_command_line(committed_db) -> None:  # type: ignore[no-untyped-def]
    from farmgate.cli import app
    from farmgate.db import session_scope

    runner = CliRunner()
    made = runner.invoke(app, ["partners", "add", "辰溪县邮政", "--kind", "post_office"])
    assert made.exit_code == 0, made.output
    key = next(line for line in made.output.splitlines() if line.startswith("fgp_"))
    listed = runner.invoke(app, ["partners", "list"])
    assert "辰溪县邮政" in listed.output and key not in listed.output
    with session_scope() as session:
        partner = capture.authenticate(session, key)
        assert partner.kind == "post_office"
        partner_id = partner.id
    assert runner.invoke(app, ["partners", "revoke", str(partner_id)]).exit_code == 0
    with session_scope() as session:
        assert session.get(EpcisPartner, partner_id).active is False  # type: ignore[union-attr]
    bad = runner.invoke(app, ["partners", "add", "某单位", "--kind", "bank"])
    assert bad.exit_code != 0
