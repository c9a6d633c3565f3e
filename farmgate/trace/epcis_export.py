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
accepts for class-level identifiers). Places are GLN-based (farmgate/gs1/locations.py, with
``settings.gs1_company_prefix``): the cooperative's site is the read point of what it records,
and a harvest is read at its plot and located in its village (AI 254 sub-locations). Parties the
platform knows only by name get ``farmgate`` URIs on the platform's host.

``eventID`` is the CBV 2.0 event hash of the event as exported (farmgate/gs1/event_hash.py), so
anyone can recompute it; the chain hash that links the event to the public trace page travels
with it as ``farmgate:chainHash``. A transformation is one TransformationEvent (all inputs, the
output, a ``transformationID``) however many lots' chains record it. Inspections and
certificates carry ``certificationInfo`` and keep their inspection / issue dates.
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
from farmgate.gs1 import epcis, locations
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
DETAIL_KEYS = (
    "lab",
    "report_no",
    "inspected_on",
    "passed",
    "items",
    "reason",
    "note",
    "certification",
    "code",
    "issued_on",
    "place",
)
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


def site(batch: Batch, extension: str | None = None) -> str:
    """The cooperative's site (a GLN on the configured prefix), or a place inside it."""
    return locations.location_uri(
        locations.gln(settings.gs1_company_prefix, batch.cooperative_id), extension
    )


def transformation_id(gtin: str, lot: str) -> str:
    """One id per transformation, known to every lot's chain that records it: its output lot."""
    return ns() + "transformation/" + quote(f"{gtin}/{lot}", safe="/")


def certification_info(event: TraceEvent) -> tuple[str, ...]:
    data = event.data
    if event.kind == "inspecting" and data.get("report_no"):
        ref = f"{data.get('lab', '')}/{data['report_no']}"
        return (ns() + "inspection-report/" + quote(ref, safe="/"),)
    if event.kind in ("inspecting", "certifying") and data.get("code"):
        ref = f"{data.get('certification', '')}/{data['code']}"
        return (ns() + "certificate/" + quote(ref, safe="/"),)
    return ()


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
    read_point, biz_location = site(batch), site(batch)
    if event.kind == "commissioning":
        village = batch.village_code
        if batch.plot_name:
            read_point = site(batch, locations.plot_extension(village, batch.plot_name))
        if village:
            biz_location = site(batch, locations.village_extension(village))
    return epcis.Event(
        event_time=_local(event.event_time),  # type: ignore[arg-type]
        record_time=_local(event.recorded_at),
        action="ADD" if event.kind == "commissioning" else "OBSERVE",
        biz_step=step,
        disposition=disposition,
        read_point=read_point,
        biz_location=biz_location,
        certification_info=certification_info(event),
        quantities=(quantity(batch.gtin, batch.lot_code, amount, data.get("unit") or batch.unit),),
        sources=(("possessing_party", party(data["from_party"])),) if handoff else (),
        destinations=(("possessing_party", party(data.get("to_party", ""))),) if handoff else (),
        ilmd=ilmd,
        sensor_reports=(_sensor(report),) if report else (),
        extensions=_extensions(event, {"farmgate:details": details} if details else {}),
    )


def _extensions(event: TraceEvent, extra: dict[str, Any]) -> dict[str, Any]:
    """The chain hash that links back to the trace page, and a mark on an entry recorded long
    after the event (eventTime vs recordTime)."""
    late = {"farmgate:lateEntry": True} if facts.is_late(event) else {}
    return {"farmgate:chainHash": event.hash, **extra, **late}


def _transformation(event: TraceEvent, batch: Batch, data: dict[str, Any]) -> epcis.Event:
    """The whole transformation, from the output lot's record of it (which lists every input)."""
    inputs = tuple(
        quantity(i["gtin"], i["lot"], i.get("quantity"), i.get("unit", ""))
        for i in data.get("inputs", [])
    )
    outputs = (quantity(batch.gtin, batch.lot_code, data.get("quantity"), data.get("unit", "")),)
    return epcis.Event(
        event_time=_local(event.event_time),  # type: ignore[arg-type]
        record_time=_local(event.recorded_at),
        kind="transformation",
        biz_step="commissioning",
        read_point=site(batch),
        biz_location=site(batch),
        inputs=inputs,
        outputs=outputs,
        transformation_id=transformation_id(batch.gtin, batch.lot_code),
        extensions=_extensions(
            event, {"farmgate:process": data["process"]} if data.get("process") else {}
        ),
    )


def events_for(
    batch: Batch, event: TraceEvent, chain_events: dict[int, TraceEvent]
) -> list[epcis.Event]:
    """The EPCIS event(s) one chain event becomes (two for a correction, none for an input
    lot's record of a transformation: the output lot's record is the whole event)."""
    if event.kind == "transforming":
        if event.data.get("role") != "output":
            return []
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
        result = events_for(batch, corrective, chain_events)
        corrective_ids = tuple(epcis.hashed_id(e, ns()) for e in result)
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
    transformations: set[str] = set()
    for batch, chain_events in pairs:
        by_seq = {e.seq: e for e in chain_events}
        for event in chain_events:
            for item in events_for(batch, event, by_seq):
                if item.transformation_id is not None and item.error_declaration is None:
                    if item.transformation_id in transformations:
                        continue
                    transformations.add(item.transformation_id)
                body.append(item)
    return epcis.document(
        body,
        created=_local(created or datetime.now(UTC)),  # type: ignore[arg-type]
        sender=settings.public_base_url,
        vocabulary_base=ns(),
    )


def _output_records(
    session: Session, pairs: Sequence[tuple[Batch, Sequence[TraceEvent]]]
) -> list[tuple[Batch, list[TraceEvent]]]:
    """The output lots' records of the transformations the given input lots went into."""
    have = {pk(b) for b, _ in pairs}
    wanted = {
        (e.data["output"]["gtin"], e.data["output"]["lot"], b.cooperative_id)
        for b, events in pairs
        for e in events
        if e.kind == "transforming" and e.data.get("role") == "input" and e.data.get("output")
    }
    extra: list[tuple[Batch, list[TraceEvent]]] = []
    for gtin, lot, cooperative_id in sorted(wanted):
        output = session.scalars(
            select(Batch).where(
                col(Batch.gtin) == gtin,
                col(Batch.lot_code) == lot,
                col(Batch.cooperative_id) == cooperative_id,
            )
        ).first()
        if output is None or pk(output) in have:
            continue
        events = session.scalars(
            select(TraceEvent).where(
                col(TraceEvent.batch_id) == output.id, col(TraceEvent.kind) == "transforming"
            )
        ).all()
        extra.append((output, [e for e in events if e.data.get("role") == "output"]))
    return extra


def for_batches(session: Session, batches: Sequence[Batch]) -> dict[str, Any]:
    pairs: list[tuple[Batch, Sequence[TraceEvent]]] = []
    for batch in batches:
        events = session.scalars(
            select(TraceEvent)
            .where(col(TraceEvent.batch_id) == batch.id)
            .order_by(col(TraceEvent.seq))
        ).all()
        pairs.append((batch, events))
    return document([*pairs, *_output_records(session, pairs)])


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
    pairs = list(grouped.values())
    return document([*pairs, *_output_records(session, pairs)])
