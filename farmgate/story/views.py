"""A batch's story as the public page (and its JSON twin) shows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.caching import SingleFlightCache
from farmgate.coldchain import shipments, temperature
from farmgate.errors import NotFound
from farmgate.media.storage import get_storage
from farmgate.models import (
    Batch,
    BatchInput,
    BatchStatus,
    Cooperative,
    Inspection,
    Product,
    ProductStatus,
    Sku,
    TraceEvent,
    Village,
)
from farmgate.timeutil import format_local
from farmgate.trace import (
    capture,
    certificates,
    chain,
    facts,
    lineage,
    scans,
    service,
    urls,
)


def describe(event: TraceEvent) -> str:
    """One line of Chinese saying what happened."""
    d = event.data
    kind = event.kind
    if kind == "commissioning":
        plot = (d.get("plot") or {}).get("name") or ""
        return f"采收 {d.get('harvest_date')}，{d.get('quantity')} {d.get('unit')}" + (
            f"，地块：{plot}" if plot else ""
        )
    if d.get("certification"):
        name = certificates.LABELS.get(d["certification"], d["certification"])
        return f"{name} {d.get('code') or ''}，开具/发证日期 {d.get('issued_on')}".strip()
    if kind == "inspecting":
        verdict = "合格" if d.get("passed") else "不合格"
        return f"{d.get('lab')} 检测报告 {d.get('report_no')}：{verdict}"
    if kind in ("shipping", "receiving"):
        text = f"{d.get('from_party')} → {d.get('to_party')}"
        if d.get("temperature_c") is not None:
            text += f"，{d['temperature_c']:g} ℃"
        # Only a township-level place is public: a courier's free-text place may be a buyer's
        # street address, so it is never printed here.
        return text + (f"，{d['public_place']}" if d.get("public_place") else "")
    if kind == "input":
        f = d.get("fields") or {}
        label = "施肥" if f.get("kind") == "fertiliser" else "用药"
        late = "（采收后补录，经乡镇审核）" if d.get("after_harvest") else ""
        return f"{label}：{f.get('product')} {f.get('dose')}，{f.get('applied_on')}{late}"

    if kind == "transforming":
        if d.get("role") == "input":
            out = d.get("output") or {}
            return f"{d.get('quantity')} {d.get('unit')} 加工为批次 {out.get('lot')}"
        lots = "、".join(str(i.get("lot")) for i in d.get("inputs", []))
        return f"由批次 {lots} {d.get('process') or '加工'}而成"
    if kind == "recall":
        return f"召回：{d.get('reason')}"
    if kind == "correction":
        return f"更正第 {d.get('corrects_seq')} 条记录：{d.get('note')}"
    bits = [str(d[k]) for k in ("place", "note") if d.get(k)]
    return "，".join(bits)


@dataclass
class Story:
    batch: Batch
    product: Product
    cooperative: Cooperative
    village: str
    trace_url: str
    price_from_fen: int | None
    on_sale: bool
    inputs: list[Any]
    inspections: list[Inspection]
    certifications: list[dict[str, Any]]
    events: list[dict[str, Any]]
    chain: chain.ChainReport
    problems: list[str]
    upstream: list[dict[str, str]]
    downstream: list[dict[str, str]]
    shipments: list[dict[str, Any]] = field(default_factory=list)
    photos: list[dict[str, Any]] = field(default_factory=list)
    report_urls: dict[int | None, str] = field(default_factory=dict)
    scan: scans.ScanView | None = None
    serial: str | None = None
    suspicious: bool = False
    partner_events: list[dict[str, Any]] = field(default_factory=list)  # EPCIS capture
    pending_inputs: int = 0  # recorded after the harvest, waiting for the township
    phi_breaches: list[str] = field(default_factory=list)
    harvest_logged: bool = False

    @property
    def intact(self) -> bool:
        """The chain verifies and every shown fact matches its events."""
        return self.chain.intact and not self.problems

    @property
    def recalled(self) -> bool:
        return self.batch.status == BatchStatus.RECALLED

    @property
    def compliance_missing(self) -> bool:
        """Harvested since 承诺达标合格证 became compulsory, and none issued for this lot."""
        harvested = self.batch.harvest_date
        return (
            harvested is not None
            and harvested >= certificates.COMPLIANCE_REQUIRED_SINCE
            and not any(c["kind"] == "compliance_cert" for c in self.certifications)
        )


def photo_view(entry: dict[str, Any], width: int = 320) -> dict[str, Any]:
    """A stored photo's smallest variant at least ``width`` wide (or its largest)."""
    widths = sorted(entry.get("widths") or [width])
    chosen = next((w for w in widths if w >= width), widths[-1])
    height = round(entry.get("height", chosen) * chosen / max(entry.get("width", chosen), 1))
    url = get_storage().url(f"{entry['key']}-{chosen}.webp")
    return {"url": url, "width": chosen, "height": height}


def _lot_ref(batch: Batch, product_name: str) -> dict[str, str]:
    return {"lot": batch.lot_code, "product": product_name, "path": urls.trace_path(batch)}


def certifications_for(
    session: Session, batch: Batch, events: Sequence[TraceEvent] | None = None
) -> list[dict[str, Any]]:
    """The lot's own certifications and those of its product and cooperative that its chain
    logged; another lot's 合格证 is not this lot's."""
    chain_events = service.events(session, batch) if events is None else events
    rows = facts.shown_certifications(
        certificates.certifications_of_lot(session, batch), chain_events, batch
    )
    return [certificates.certification_view(row) for row in rows]


def _spot_outside(event: TraceEvent, profile: temperature.Profile) -> bool:
    """A temperature read at a handoff outside the product's range (marked, not an excursion)."""
    reading = event.data.get("temperature_c")
    if event.kind not in ("shipping", "receiving") or not isinstance(reading, int | float):
        return False
    return profile.direction(float(reading)) is not None


def _phi_breaches(inputs: Sequence[BatchInput], batch: Batch) -> list[str]:
    """Inputs whose pre-harvest interval had not passed on the harvest date (possible only for
    a late input a township admin approved): the reader is told."""
    if batch.harvest_date is None:
        return []
    out = []
    for r in inputs:
        ready = r.applied_on + timedelta(days=r.preharvest_interval_days)
        if ready > batch.harvest_date:
            out.append(
                f"{r.product_name} 于 {r.applied_on} 施用，安全间隔期 "
                f"{r.preharvest_interval_days} 天，采收（{batch.harvest_date}）时未满"
            )
    return out


def story(session: Session, batch: Batch, serial: str | None = None) -> Story:
    product = session.get(Product, batch.product_id)
    coop = session.get(Cooperative, batch.cooperative_id)
    assert product is not None and coop is not None
    where = (
        col(Village.code) == batch.village_code
        if batch.village_code
        else col(Village.id) == product.village_id
    )
    village = session.scalars(select(col(Village.name)).where(where)).first() or ""
    price = session.scalar(
        select(func.min(col(Sku.price_fen))).where(
            col(Sku.product_id) == product.id, col(Sku.is_active)
        )
    )
    events = service.events(session, batch)
    profile = shipments.profile_for(product)
    lot_inputs = list(service.inputs(session, batch))
    pending = len(service.inputs(session, batch, pending=True)) - len(lot_inputs)
    inspections = list(
        session.scalars(
            select(Inspection)
            .where(col(Inspection.batch_id) == batch.id)
            .order_by(col(Inspection.inspected_on))
        )
    )
    family = lineage.family(session, batch)
    names = dict(
        session.execute(
            select(col(Product.id), col(Product.name)).where(
                col(Product.id).in_(
                    {b.product_id for b in family["upstream"] + family["downstream"]}
                )
            )
        ).all()
    )

    return Story(
        batch=batch,
        product=product,
        cooperative=coop,
        village=village,
        trace_url=urls.trace_url(batch, serial),
        price_from_fen=price,
        on_sale=price is not None and product.status == ProductStatus.PUBLISHED,
        inputs=lot_inputs,
        inspections=inspections,
        certifications=certifications_for(session, batch, events),
        report_urls={i.id: get_storage().url(i.report_file) for i in inspections if i.report_file},
        events=[
            {
                "seq": e.seq,
                "kind": e.kind,
                "label": "认证"
                if e.data.get("certification")
                else service.STEP_LABELS.get(e.kind, e.kind),
                "time": format_local(e.event_time),
                "recorded": format_local(e.recorded_at),
                "late": facts.is_late(e),
                "text": describe(e),
                "hash": e.hash,
                "out_of_range": _spot_outside(e, profile),
            }
            for e in sorted(events, key=lambda e: (e.event_time, e.seq))
        ],
        chain=chain.verify(session, batch, events),
        problems=facts.check(session, batch, events),
        pending_inputs=pending,
        phi_breaches=_phi_breaches(lot_inputs, batch),
        harvest_logged=any(e.kind == "commissioning" for e in events),
        upstream=[_lot_ref(b, names.get(b.product_id, "")) for b in family["upstream"]],
        downstream=[_lot_ref(b, names.get(b.product_id, "")) for b in family["downstream"]],
        shipments=shipments.views(session, batch),
        photos=[photo_view(p) for p in batch.photos],
        serial=serial,
        partner_events=[
            {**e, "time": format_local(e["time"])} for e in capture.for_batch(session, batch)
        ],
    )


def with_scan(story_: Story, row: scans.ScanView | None) -> Story:
    """A copy of the (possibly shared, cached) story with this scan's counts."""
    return replace(story_, scan=row, suspicious=scans.suspicious(row))


# The page every package leads to is read far more often than its lot changes: stories are
# kept for a few seconds, keyed by everything that changes what they say (the chain's head
# hash, the lot's status and excursion flag); readings uploaded in the meantime reach the
# chart when the entry expires.
STORY_TTL_SECONDS = 10.0
_stories: SingleFlightCache[Story] = SingleFlightCache(STORY_TTL_SECONDS)


def cached_story(session: Session, lot: service.PublicLot, serial: str | None = None) -> Story:
    """The story, from the cache when nothing it says has changed (``lot``: the lot's values
    and chain head as the page read them, in one statement); the lot itself is loaded only
    when the story is built."""
    key = (lot.id, serial, lot.head, lot.status, lot.excursion, lot.recall_reason)
    return _stories.get(key, lambda: _story_of(session, lot.id, serial))


def _story_of(session: Session, batch_id: int, serial: str | None) -> Story:
    batch = session.get(Batch, batch_id)
    if batch is None:  # deleted since the page's statement read it
        raise NotFound("没有找到这个批次，请核对包装上的二维码")
    return story(session, batch, serial)


def clear_cache() -> None:
    _stories.clear()
