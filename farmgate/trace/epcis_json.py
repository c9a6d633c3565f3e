"""EPCIS 2.0 JSON-LD documents of trace events, with CBV 2.0 vocabulary.

Mapping of the platform's event kinds (each one an event of a batch's hash chain):

- ``commissioning`` (harvest): ObjectEvent ADD, disposition ``active``, the lot as a
  class-level identifier with its quantity, ILMD with the lot number, harvest date and plot.
- ``inspecting`` / ``certifying``: ObjectEvent OBSERVE, bizStep ``inspecting``.
- ``packing``, ``storing``, ``retail_selling``: OBSERVE with those bizSteps.
- ``shipping`` / ``receiving``: custody handoffs, ``possessing_party`` source and destination,
  and the readings since the previous handoff as a sensor report (min/max/mean in CEL,
  ``ALARM_CONDITION`` when the shipment breached its range).
- ``transforming``: a TransformationEvent from the input lots to the output lot.
- ``recall``: OBSERVE, bizStep ``holding``, disposition ``recalled``.
- ``correction``: the corrected event again, same eventID, with an ``errorDeclaration``
  naming the corrective event; the corrective event carries the corrected values.

Lots are identified by their GS1 Digital Link on id.gs1.org (the canonical form EPCIS 2.0
accepts for class-level identifiers); parties and places the platform knows only by name
get ``farmgate`` URIs on the platform's host. Event IDs are the platform's own chain hashes
(``ni:///sha-256;<hash>``) so a document can be checked against the public trace page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.errors import PermissionDenied
from farmgate.models import Account, Batch, Role, TraceEvent
from farmgate.timeutil import LOCAL_TZ
from farmgate.trace.digital_link import DigitalLink

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# UN/CEFACT Rec 20 codes for the units cooperatives use; "斤" is half a kilogram.
UOM: dict[str, tuple[str, Decimal]] = {
    "kg": ("KGM", Decimal(1)),
    "公斤": ("KGM", Decimal(1)),
    "千克": ("KGM", Decimal(1)),
    "斤": ("KGM", Decimal("0.5")),
    "g": ("GRM", Decimal(1)),
    "克": ("GRM", Decimal(1)),
    "t": ("TNE", Decimal(1)),
    "吨": ("TNE", Decimal(1)),
    "L": ("LTR", Decimal(1)),
    "升": ("LTR", Decimal(1)),
}
PIECE = "H87"  # bags, boxes, fish, bottles: counted pieces
STEPS = {
    "commissioning": ("commissioning", "active"),
    "inspecting": ("inspecting", None),
    "certifying": ("inspecting", None),
    "packing": ("packing", "in_progress"),
    "storing": ("storing", "sellable_not_accessible"),
    "shipping": ("shipping", "in_transit"),
    "receiving": ("receiving", "in_progress"),
    "retail_selling": ("retail_selling", "retail_sold"),
    "recall": ("holding", "recalled"),
}


def ns() -> str:
    return settings.public_base_url.rstrip("/") + "/ns/"


def lot_class(gtin: str, lot: str) -> str:
    return "https://id.gs1.org" + DigitalLink(gtin=gtin, lot=lot).path()


def quantity(gtin: str, lot: str, amount: Any, unit: str) -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": lot_class(gtin, lot)}
    if amount in (None, ""):
        return element
    code, factor = UOM.get(unit, (PIECE, Decimal(1)))
    element["quantity"] = float(Decimal(str(amount)) * factor)
    element["uom"] = code
    return element


def party(name: str) -> str:
    return ns() + "party/" + quote(name or "unknown", safe="")


def event_id(event: TraceEvent) -> str:
    return f"ni:///sha-256;{event.hash}?ver=CBV2.0"


def _time(value: datetime) -> tuple[str, str]:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(LOCAL_TZ)
    offset = local.strftime("%z")
    return local.isoformat(), f"{offset[:3]}:{offset[3:]}"


def _base(event: TraceEvent, kind: str) -> dict[str, Any]:
    when, offset = _time(event.event_time)
    return {
        "type": kind,
        "eventID": event_id(event),
        "eventTime": when,
        "eventTimeZoneOffset": offset,
        "recordTime": _time(event.recorded_at)[0],
    }


def _object_event(event: TraceEvent, batch: Batch, data: dict[str, Any]) -> dict[str, Any]:
    step, disposition = STEPS.get(event.kind, ("other", None))
    out = _base(event, "ObjectEvent")
    out["action"] = "ADD" if event.kind == "commissioning" else "OBSERVE"
    out["bizStep"] = step
    if disposition:
        out["disposition"] = disposition
    amount = data.get("quantity") if event.kind == "commissioning" else None
    out["quantityList"] = [
        quantity(batch.gtin, batch.lot_code, amount, data.get("unit") or batch.unit)
    ]
    if data.get("place"):
        out["bizLocation"] = {"id": ns() + "place/" + quote(data["place"], safe="")}
    if event.kind in ("shipping", "receiving") and data.get("from_party"):
        out["sourceList"] = [{"type": "possessing_party", "source": party(data["from_party"])}]
        out["destinationList"] = [
            {"type": "possessing_party", "destination": party(data.get("to_party", ""))}
        ]
    report = data.get("sensor_report")
    if report:
        element: dict[str, Any] = {
            "type": "Temperature",
            "minValue": report.get("min_value"),
            "maxValue": report.get("max_value"),
            "meanValue": report.get("mean_value"),
            "uom": report.get("uom", "CEL"),
        }
        if report.get("exception"):
            element["exception"] = report["exception"]
        metadata: dict[str, Any] = {}
        if report.get("time"):
            metadata["time"] = _time(datetime.fromisoformat(report["time"]))[0]
        if report.get("device_id"):
            metadata["deviceID"] = ns() + "device/" + quote(report["device_id"], safe="")
        sensor: dict[str, Any] = {
            "sensorReport": [{k: v for k, v in element.items() if v is not None}]
        }
        if metadata:
            sensor["sensorMetadata"] = metadata
        out["sensorElementList"] = [sensor]
    if event.kind == "commissioning":
        ilmd: dict[str, Any] = {"cbvmda:lotNumber": batch.lot_code}
        if data.get("harvest_date"):
            ilmd["cbvmda:harvestStartDate"] = data["harvest_date"]
            ilmd["cbvmda:harvestEndDate"] = data["harvest_date"]
        ilmd["cbvmda:countryOfOrigin"] = "CN"
        if data.get("plot"):
            ilmd["farmgate:plot"] = data["plot"]
        if data.get("producer"):
            ilmd["farmgate:producer"] = data["producer"]
        if data.get("inputs"):
            ilmd["farmgate:inputs"] = data["inputs"]
        out["ilmd"] = ilmd
    extra = {
        k: v
        for k, v in data.items()
        if k in ("lab", "report_no", "passed", "items", "reason", "note", "certification", "code")
        and v not in (None, "", [])
    }
    if extra:
        out["farmgate:details"] = extra
    return out


def _transformation(event: TraceEvent, batch: Batch, data: dict[str, Any]) -> dict[str, Any]:
    out = _base(event, "TransformationEvent")
    if data.get("role") == "output":
        inputs = [
            quantity(i["gtin"], i["lot"], i.get("quantity"), i.get("unit", ""))
            for i in data.get("inputs", [])
        ]
        outputs = [quantity(batch.gtin, batch.lot_code, data.get("quantity"), data.get("unit", ""))]
    else:
        target = data.get("output") or {}
        inputs = [quantity(batch.gtin, batch.lot_code, data.get("quantity"), data.get("unit", ""))]
        outputs = [{"epcClass": lot_class(target["gtin"], target["lot"])}]
    out["inputQuantityList"] = inputs
    out["outputQuantityList"] = outputs
    out["bizStep"] = "commissioning" if data.get("role") == "output" else "other"
    if data.get("process"):
        out["farmgate:process"] = data["process"]
    return out


def events_for(
    batch: Batch, event: TraceEvent, chain_events: dict[int, TraceEvent]
) -> list[dict[str, Any]]:
    """The EPCIS event(s) one chain event becomes (two for a correction)."""
    if event.kind == "transforming":
        return [_transformation(event, batch, event.data)]
    if event.kind != "correction":
        return [_object_event(event, batch, event.data)]
    original = chain_events.get(event.data.get("corrects_seq", -1))
    if original is None:
        return []
    declared = events_for(batch, original, chain_events)[0]
    declared["errorDeclaration"] = {
        "declarationTime": _time(event.event_time)[0],
        "reason": event.data.get("reason", "incorrect_data"),
    }
    result = [declared]
    if event.data.get("corrected") and event.data.get("reason") != "did_not_occur":
        corrective = TraceEvent(
            batch_id=original.batch_id,
            seq=event.seq,
            kind=original.kind,
            event_time=original.event_time,
            data={**original.data, **event.data["corrected"]},
            recorded_at=event.recorded_at,
            prev_hash=event.prev_hash,
            hash=event.hash,
        )
        declared["errorDeclaration"]["correctiveEventIDs"] = [event_id(event)]
        result.append(events_for(batch, corrective, chain_events)[0])
    return result


def document(
    pairs: Iterable[tuple[Batch, Sequence[TraceEvent]]], *, created: datetime | None = None
) -> dict[str, Any]:
    """An EPCISDocument of the given batches' chains."""
    body: list[dict[str, Any]] = []
    for batch, chain_events in pairs:
        by_seq = {e.seq: e for e in chain_events}
        for event in chain_events:
            body.extend(events_for(batch, event, by_seq))
    body.sort(key=lambda e: e["eventTime"])
    return {
        "@context": [CONTEXT, {"farmgate": ns(), "cbvmda": "urn:epcglobal:cbv:mda#"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(created or datetime.now(UTC))[0],
        "sender": settings.public_base_url,
        "epcisBody": {"eventList": body},
    }


def for_batches(session: Session, batches: Sequence[Batch]) -> dict[str, Any]:
    pairs = []
    for batch in batches:
        events = session.scalars(
            select(TraceEvent).where(TraceEvent.batch_id == batch.id).order_by(TraceEvent.seq)  # type: ignore[arg-type]
        ).all()
        pairs.append((batch, events))
    return document(pairs)


def for_range(
    session: Session, actor: Account, since: datetime, until: datetime | None
) -> dict[str, Any]:
    """Every event recorded between ``since`` and ``until`` (a cooperative: its own lots)."""
    if actor.role not in (Role.ADMIN, Role.COOPERATIVE):
        raise PermissionDenied("只有合作社和乡镇管理员可以导出 EPCIS 记录")
    query = select(TraceEvent, Batch).join(Batch, Batch.id == TraceEvent.batch_id)
    query = query.where(TraceEvent.event_time >= since)
    if until is not None:
        query = query.where(TraceEvent.event_time < until)
    if actor.role == Role.COOPERATIVE:
        query = query.where(Batch.cooperative_id == actor.cooperative_id)
    grouped: dict[int, tuple[Batch, list[TraceEvent]]] = {}
    for event, batch in session.execute(query.order_by(TraceEvent.batch_id, TraceEvent.seq)):  # type: ignore[arg-type]
        grouped.setdefault(batch.id, (batch, []))[1].append(event)
    # Corrections need the events they correct even when those fall outside the range.
    for batch, events in grouped.values():
        wanted = {e.data.get("corrects_seq") for e in events if e.kind == "correction"}
        have = {e.seq for e in events}
        missing = {s for s in wanted if s not in have}
        if missing:
            events.extend(
                session.scalars(
                    select(TraceEvent).where(
                        TraceEvent.batch_id == batch.id,
                        TraceEvent.seq.in_(missing),  # type: ignore[attr-defined]
                    )
                )
            )
    return document(grouped.values())
