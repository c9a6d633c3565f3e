"""The facts a trace page shows, checked against the chain events that logged them.

The hash chain proves the events were not altered; this module proves the page says what the
events say. Every record the page shows (the lot's harvest date, plot, producer and quantity,
each input, each inspection, each certification and 合格证, each cold-chain handoff and its
excursion flag) was logged as a chain event when it was recorded, carrying the same fields.
Before a page is shown, each record's fields are compared with the latest event that logged it
(a correction of a commissioning event updates the lot's facts, so the expectation follows the
corrections). A record without its event, an event whose record is gone, or any difference is a
*problem*, and the page shows its broken-record banner.

Public facts -> events (what a transparency-log verifier compares, field by field):

- 采收 / 地块 / 位置 / 生产者 / 数量: the ``commissioning`` event's ``harvest_date``, ``plot``
  (``village_code``, ``name``, ``latitude``, ``longitude``, ``area_mu``), ``producer``,
  ``quantity`` and ``unit``, with the ``corrected`` values of later ``correction`` events that
  name it.
- 施肥用药 rows: ``input`` events (``record_id``: the input's id) with ``fields``.
- 检测 entries: ``inspecting`` events with ``inspection_id`` and the report's fields.
- 认证 / 合格证 entries: ``certifying`` (合格证) or ``inspecting`` events with
  ``certification_id`` and ``fields``; a product's or the cooperative's certification appears
  on a lot only when the lot's chain logged it (``certification_for_lot``).
- 冷链 handoffs: ``shipping``/``receiving`` events (``Handoff.trace_event_id``) with
  ``from_party``, ``to_party``, ``temperature_c``; an event whose ``sensor_report`` has
  ``exception: ALARM_CONDITION`` requires the page's excursion warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.models import (
    Batch,
    BatchInput,
    Certification,
    ColdShipment,
    Handoff,
    Inspection,
    TraceEvent,
)
from farmgate.timeutil import LOCAL_TZ

BATCH_FACT_KEYS = ("harvest_date", "quantity", "unit", "producer", "plot")


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    """What a record's fields look like after a round trip through the chain's JSON."""
    out: dict[str, Any] = json.loads(json.dumps(value, default=str, ensure_ascii=False))
    return out


def day_start(day: date) -> datetime:
    """The start of a local calendar day, in UTC: the event time of a fact known by its date."""
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


def day_time(day: date) -> datetime:
    """The event time of a fact known by its date that follows others that day (an input, an
    inspection, a certificate): the end of that day, or now when the day is today, so that on
    the timeline it comes after the harvest and the handling recorded that day."""
    end = day_start(day + timedelta(days=1)) - timedelta(seconds=1)
    return min(end, datetime.now(UTC).replace(microsecond=0))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def is_late(event: TraceEvent) -> bool:
    """Recorded more than ``settings.trace_late_hours`` after it happened.

    A fact known only by its date (harvest, input, inspection) happened at some time that day,
    so its delay is counted from the end of that day."""
    happened = _aware(event.event_time)
    if happened == day_start(happened.astimezone(LOCAL_TZ).date()):
        happened += timedelta(days=1)
    return _aware(event.recorded_at) - happened > timedelta(hours=settings.trace_late_hours)


# --- the fields each record logs --------------------------------------------------------


def batch_facts(batch: Batch) -> dict[str, Any]:
    return _plain(
        {
            "harvest_date": batch.harvest_date.isoformat() if batch.harvest_date else None,
            "quantity": str(batch.quantity),
            "unit": batch.unit,
            "producer": batch.producer,
            "plot": {
                "village_code": batch.village_code,
                "name": batch.plot_name,
                "latitude": batch.latitude,
                "longitude": batch.longitude,
                "area_mu": str(batch.area_mu) if batch.area_mu is not None else None,
            },
        }
    )


def input_fields(record: BatchInput) -> dict[str, Any]:
    return _plain(
        {
            "kind": record.kind,
            "product": record.product_name,
            "registration_no": record.registration_no,
            "dose": record.dose,
            "applied_on": record.applied_on.isoformat(),
            "preharvest_interval_days": record.preharvest_interval_days,
            "operator": record.operator,
        }
    )


def inspection_fields(report: Inspection) -> dict[str, Any]:
    return _plain(
        {
            "lab": report.lab,
            "report_no": report.report_no,
            "inspected_on": report.inspected_on.isoformat(),
            "passed": report.passed,
            "items": report.items,
        }
    )


def certification_fields(cert: Certification) -> dict[str, Any]:
    return _plain(
        {
            "kind": cert.kind,
            "code": cert.code,
            "issuer": cert.issuer,
            "issued_on": cert.issued_on.isoformat(),
            "expires_on": cert.expires_on.isoformat() if cert.expires_on else None,
            "details": cert.details,
            "batch_id": cert.batch_id,
            "product_id": cert.product_id,
        }
    )


def certification_event(cert: Certification) -> tuple[str, dict[str, Any]]:
    """The kind and data of the event that logs ``cert`` in a lot's chain."""
    return (
        "certifying" if cert.kind == "compliance_cert" else "inspecting",
        {
            "certification": cert.kind,
            "certification_id": cert.id,
            "code": cert.code,
            "issued_on": cert.issued_on.isoformat(),
            "fields": certification_fields(cert),
        },
    )


# --- the check --------------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    """The latest logged fields of each record, from one lot's chain."""

    batch: dict[str, Any] | None
    inputs: dict[int, dict[str, Any]]
    inspections: dict[int, dict[str, Any]]
    certifications: dict[int, dict[str, Any]]
    handoffs: dict[int, TraceEvent]  # event id -> event
    alarms: bool  # some handoff's sensor report says the range was breached


def logged(events: Sequence[TraceEvent]) -> Logged:
    by_seq = {e.seq: e for e in events}
    batch: dict[str, Any] | None = None
    inputs: dict[int, dict[str, Any]] = {}
    inspections: dict[int, dict[str, Any]] = {}
    certs: dict[int, dict[str, Any]] = {}
    handoffs: dict[int, TraceEvent] = {}
    alarms = False
    for event in events:
        d = event.data
        if event.kind == "commissioning":
            batch = {k: d.get(k) for k in BATCH_FACT_KEYS}
        elif event.kind == "correction":
            original = by_seq.get(d.get("corrects_seq", -1))
            corrected = d.get("corrected") or {}
            if original is not None and original.kind == "commissioning" and batch is not None:
                changed = {k: corrected[k] for k in BATCH_FACT_KEYS if k in corrected}
                if isinstance(changed.get("plot"), dict):
                    changed["plot"] = {**(batch.get("plot") or {}), **changed["plot"]}
                batch = {**batch, **changed}
        elif event.kind == "input" and d.get("record_id") is not None:
            inputs[int(d["record_id"])] = d.get("fields") or {}
        elif event.kind == "inspecting" and d.get("inspection_id") is not None:
            inspections[int(d["inspection_id"])] = {
                k: d.get(k) for k in ("lab", "report_no", "inspected_on", "passed", "items")
            }
        if d.get("certification_id") is not None:
            certs[int(d["certification_id"])] = d.get("fields") or {}
        if event.kind in ("shipping", "receiving") and event.id is not None:
            handoffs[event.id] = event
            report = d.get("sensor_report") or {}
            alarms = alarms or report.get("exception") == "ALARM_CONDITION"
    return Logged(batch, inputs, inspections, certs, handoffs, alarms)


def _num(value: Any) -> Any:
    try:
        return Decimal(str(value)).normalize()
    except ArithmeticError:
        return value


def _same_batch(shown: dict[str, Any], log: dict[str, Any]) -> bool:
    for key in BATCH_FACT_KEYS:
        a, b = shown.get(key), log.get(key)
        if key == "quantity":
            a, b = _num(a), _num(b)
        if key == "plot":
            a, b = dict(a or {}), dict(b or {})
            a["area_mu"], b["area_mu"] = _num(a.get("area_mu")), _num(b.get("area_mu"))
        if a != b:
            return False
    return True


def problems(
    batch: Batch,
    events: Sequence[TraceEvent],
    *,
    inputs: Iterable[BatchInput],
    inspections: Iterable[Inspection],
    certifications: Iterable[Certification],
    shipments: Iterable[tuple[bool, Sequence[Handoff]]] = (),
) -> list[str]:
    """What the page would show that its events do not say (plain Chinese, empty when none)."""
    log = logged(events)
    out: list[str] = []
    if batch.harvest_date is not None or log.batch is not None:
        if log.batch is None:
            out.append("采收信息未记入溯源链")
        elif not _same_batch(batch_facts(batch), log.batch):
            out.append("批次的采收、地块、生产者或数量与溯源记录不符")
    shown_inputs = {r.id: r for r in inputs if r.approval in ("", "approved")}
    for rid, record in shown_inputs.items():
        fields = log.inputs.get(rid or 0)
        if fields is None:
            out.append(f"投入品“{record.product_name}”未记入溯源链")
        elif fields != input_fields(record):
            out.append(f"投入品“{record.product_name}”与溯源记录不符")
    out.extend(
        f"投入品记录（第 {rid} 条）已从数据库中删除"
        for rid in log.inputs
        if rid not in shown_inputs
    )
    shown_reports = {i.id: i for i in inspections}
    for iid, report in shown_reports.items():
        fields = log.inspections.get(iid or 0)
        if fields is None:
            out.append(f"检测报告 {report.report_no} 未记入溯源链")
        elif fields != inspection_fields(report):
            out.append(f"检测报告 {report.report_no} 与溯源记录不符")
    out.extend(
        f"检测报告（第 {iid} 条）已从数据库中删除"
        for iid in log.inspections
        if iid not in shown_reports
    )
    shown_certs = {c.id: c for c in certifications}
    for cid, cert in shown_certs.items():
        fields = log.certifications.get(cid or 0)
        if fields is None and cert.batch_id == batch.id:
            out.append(f"证书 {cert.code or cert.kind} 未记入溯源链")
        elif fields is not None and fields != certification_fields(cert):
            out.append(f"证书 {cert.code or cert.kind} 与溯源记录不符")
    own = {cid for cid, f in log.certifications.items() if f.get("batch_id") == batch.id}
    out.extend(f"证书（第 {cid} 条）已从数据库中删除" for cid in own if cid not in shown_certs)
    breached = False
    for shipment_breached, handoffs in shipments:
        breached = breached or shipment_breached
        for handoff in handoffs:
            event = log.handoffs.get(handoff.trace_event_id or 0)
            if event is None:
                out.append("冷链交接记录未记入溯源链")
                continue
            d = event.data
            same = (
                d.get("from_party") == handoff.from_party
                and d.get("to_party") == handoff.to_party
                and d.get("temperature_c") == handoff.temperature_c
            )
            if not same:
                out.append("冷链交接记录与溯源记录不符")
    if log.alarms and not (breached and batch.excursion):
        out.append("溯源记录中的温度超标未在冷链记录中显示")
    return out


def check(session: Session, batch: Batch, events: Sequence[TraceEvent]) -> list[str]:
    """``problems`` for the records the lot's page shows, read from the database."""
    from farmgate.trace import certificates  # certificates imports this module

    shipments = []
    for shipment in session.scalars(
        select(ColdShipment).where(col(ColdShipment.batch_id) == batch.id)
    ):
        handoffs = session.scalars(
            select(Handoff).where(col(Handoff.shipment_id) == shipment.id)
        ).all()
        shipments.append((shipment.breached, handoffs))
    return problems(
        batch,
        events,
        inputs=session.scalars(select(BatchInput).where(col(BatchInput.batch_id) == batch.id)),
        inspections=session.scalars(select(Inspection).where(col(Inspection.batch_id) == batch.id)),
        certifications=shown_certifications(
            certificates.certifications_of_lot(session, batch), events, batch
        ),
        shipments=shipments,
    )


def shown_certifications(
    rows: Iterable[Certification], events: Sequence[TraceEvent], batch: Batch
) -> list[Certification]:
    """The lot's own certifications, and its product's and cooperative's that its chain logged."""
    logged_ids = {e.data.get("certification_id") for e in events}
    return [c for c in rows if c.batch_id == batch.id or c.id in logged_ids]
