"""EPCIS 2.0 JSON-LD documents of trace events, with CBV 2.0 vocabulary.

This module reads the events and maps them onto the neutral records that farmgate/gs1/epcis.py
encodes.

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
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.cooperatives import service as cooperatives
from farmgate.db import pk
from farmgate.errors import PermissionDenied
from farmgate.gs1 import epcis
from farmgate.gs1.digital_link import DigitalLink
from farmgate.models import Account, Batch, Role, TraceEvent
from farmgate.timeutil import LOCAL_TZ
from farmgate.trace import facts

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
DETAIL_KEYS = ("lab", "report_no", "passed", "items", "reason", "note", "certification", "code")
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


def quantity(gtin: str, lot: str, amount: Any, unit: str) -> epcis.QuantityElement:
    if amount in (None, ""):
        return epcis.QuantityElement(lot_class(gtin, lot))
    code, factor = UOM.get(unit, (PIECE, Decimal(1)))
    return epcis.QuantityElement(lot_class(gtin, lot), float(Decimal(str(amount)) * factor), code)


def party(name: str) -> str:
    return ns() + "party/" + quote(name or "unknown", safe="")


def event_id(event: TraceEvent) -> str:
    return f"ni:///sha-256;{event.hash}?ver=CBV2.0"


def _local(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TZ)


def _sensor(report: dict[str, Any]) -> epcis.SensorReport:
    device = report.get("device_id")
    return epcis.SensorReport(
        min_value=report.get("min_value"),
        max_value=report.get("max_value"),
        mean_value=report.get("mean_value"),
        uom=report.get("uom") or "CEL",
        exception=report.get("exception"),
        start_time=_local(report.get("start_time")),
        end_time=_local(report.get("end_time")),
        device_id=ns() + "device/" + quote(device, safe="") if device else None,
    )


def _object_event(event: TraceEvent, batch: Batch, data: dict[str, Any]) -> epcis.Event:
    step, disposition = STEPS.get(event.kind, ("other", None))
    amount = data.get("quantity") if event.kind == "commissioning" else None
    ilmd: dict[str, Any] | None = None
    if event.kind == "commissioning":
        ilmd = {"cbvmda:lotNumber": batch.lot_code, "cbvmda:countryOfOrigin": "CN"}
        if data.get("harvest_date"):
            ilmd["cbvmda:harvestStartDate"] = data["harvest_date"]
            ilmd["cbvmda:harvestEndDate"] = data["harvest_date"]
        for key in ("plot", "producer", "inputs"):
            if data.get(key):
                ilmd[f"farmgate:{key}"] = data[key]
    handoff = event.kind in ("shipping", "receiving") and data.get("from_party")
    report = data.get("sensor_report")
    details = {k: v for k, v in data.items() if k in DETAIL_KEYS and v not in (None, "", [])}
    return epcis.Event(
        event_id=event_id(event),
        event_time=_local(event.event_time),  # type: ignore[arg-type]
        record_time=_local(event.recorded_at),
        action="ADD" if event.kind == "commissioning" else "OBSERVE",
        biz_step=step,
        disposition=disposition,
        biz_location=ns() + "place/" + quote(data["place"], safe="") if data.get("place") else None,
        quantities=(quantity(batch.gtin, batch.lot_code, amount, data.get("unit") or batch.unit),),
        sources=(("possessing_party", party(data["from_party"])),) if handoff else (),
        destinations=(("possessing_party", party(data.get("to_party", ""))),) if handoff else (),
        ilmd=ilmd,
        sensor_reports=(_sensor(report),) if report else (),
        extensions=_late({"farmgate:details": details} if details else {}, event),
    )


def _late(extensions: dict[str, Any], event: TraceEvent) -> dict[str, Any] | None:
    """Mark an entry recorded long after the event (eventTime vs recordTime)."""
    if facts.is_late(event):
        extensions = {**extensions, "farmgate:lateEntry": True}
    return extensions or None


def _transformation(event: TraceEvent, batch: Batch, data: dict[str, Any]) -> epcis.Event:
    if data.get("role") == "output":
        inputs = tuple(
            quantity(i["gtin"], i["lot"], i.get("quantity"), i.get("unit", ""))
            for i in data.get("inputs", [])
        )
        outputs = (
            quantity(batch.gtin, batch.lot_code, data.get("quantity"), data.get("unit", "")),
        )
    else:
        target = data.get("output") or {}
        inputs = (quantity(batch.gtin, batch.lot_code, data.get("quantity"), data.get("unit", "")),)
        outputs = (epcis.QuantityElement(lot_class(target["gtin"], target["lot"])),)
    return epcis.Event(
        event_id=event_id(event),
        event_time=_local(event.event_time),  # type: ignore[arg-type]
        record_time=_local(event.recorded_at),
        kind="transformation",
        biz_step="commissioning" if data.get("role") == "output" else "other",
        inputs=inputs,
        outputs=outputs,
        extensions={"farmgate:process": data["process"]} if data.get("process") else None,
    )


def events_for(
    batch: Batch, event: TraceEvent, chain_events: dict[int, TraceEvent]
) -> list[epcis.Event]:
    """The EPCIS event(s) one chain event becomes (two for a correction)."""
    if event.kind == "transforming":
        return [_transformation(event, batch, event.data)]
    if event.kind != "correction":
        return [_object_event(event, batch, event.data)]
    original = chain_events.get(event.data.get("corrects_seq", -1))
    if original is None:
        return []
    corrective_ids: tuple[str, ...] = ()
    result: list[epcis.Event] = []
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
        corrective_ids = (event_id(event),)
        result = events_for(batch, corrective, chain_events)
    declared = replace(
        events_for(batch, original, chain_events)[0],
        error_declaration=epcis.ErrorDeclaration(
            declaration_time=_local(event.event_time),  # type: ignore[arg-type]
            reason=event.data.get("reason", "incorrect_data"),
            corrective_event_ids=corrective_ids,
        ),
    )
    return [declared, *result]


def document(
    pairs: Iterable[tuple[Batch, Sequence[TraceEvent]]], *, created: datetime | None = None
) -> dict[str, Any]:
    """An EPCISDocument of the given batches' chains."""
    body: list[epcis.Event] = []
    for batch, chain_events in pairs:
        by_seq = {e.seq: e for e in chain_events}
        for event in chain_events:
            body.extend(events_for(batch, event, by_seq))
    return epcis.document(
        body,
        created=_local(created or datetime.now(UTC)),  # type: ignore[arg-type]
        sender=settings.public_base_url,
        vocabulary_base=ns(),
    )


def for_batches(session: Session, batches: Sequence[Batch]) -> dict[str, Any]:
    pairs = []
    for batch in batches:
        events = session.scalars(
            select(TraceEvent)
            .where(col(TraceEvent.batch_id) == batch.id)
            .order_by(col(TraceEvent.seq))
        ).all()
        pairs.append((batch, events))
    return document(pairs)


def for_range(
    session: Session, actor: Account, since: datetime, until: datetime | None
) -> dict[str, Any]:
    """Every event recorded between ``since`` and ``until`` (a cooperative: its own lots)."""
    if actor.role not in (Role.ADMIN, Role.COOPERATIVE):
        raise PermissionDenied("只有合作社和乡镇管理员可以导出 EPCIS 记录")
    if actor.cooperative_id is not None:
        cooperatives.ensure_can_issue(session, actor.cooperative_id)
    query = select(TraceEvent, Batch).join(Batch, col(Batch.id) == col(TraceEvent.batch_id))
    query = query.where(col(TraceEvent.event_time) >= since)
    if until is not None:
        query = query.where(col(TraceEvent.event_time) < until)
    if actor.role == Role.COOPERATIVE:
        query = query.where(col(Batch.cooperative_id) == actor.cooperative_id)
    grouped: dict[int, tuple[Batch, list[TraceEvent]]] = {}
    for event, batch in session.execute(
        query.order_by(col(TraceEvent.batch_id), col(TraceEvent.seq))
    ):
        grouped.setdefault(pk(batch), (batch, []))[1].append(event)
    # Corrections need the events they correct even when those fall outside the range.
    for batch, events in grouped.values():
        wanted = {e.data.get("corrects_seq") for e in events if e.kind == "correction"}
        have = {e.seq for e in events}
        missing = {s for s in wanted if s not in have}
        if missing:
            events.extend(
                session.scalars(
                    select(TraceEvent).where(
                        col(TraceEvent.batch_id) == batch.id,
                        col(TraceEvent.seq).in_(missing),
                    )
                )
            )
    return document(grouped.values())
