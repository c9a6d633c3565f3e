"""What the log's public lot view shows besides proofs: the lot, and the facts its public trace
page shows, read from the same records the page reads (so a verifier can hold them against the
logged events: farmgate/verifier/facts.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.cooperatives.service import ensure_public
from farmgate.errors import Conflict, NotFound
from farmgate.gs1.gtin import to_gtin14
from farmgate.models import Batch, Certification, Inspection


def find_lot(session: Session, lot: str, gtin: str | None = None) -> Batch:
    """The public batch with lot code ``lot`` (and ``gtin`` when two products share a code)."""
    query = select(Batch).where(col(Batch.lot_code) == lot)
    if gtin:
        try:
            query = query.where(col(Batch.gtin) == to_gtin14(gtin))
        except ValueError as exc:
            raise NotFound("商品条码无效", fields={"gtin": gtin}) from exc
    found = list(session.scalars(query.order_by(col(Batch.id)).limit(10)))
    if not found:
        raise NotFound("没有找到这个批次", code="unknown_lot", fields={"lot": lot})
    if len({b.gtin for b in found}) > 1:
        raise Conflict(
            "多个商品使用这个批次号，请同时给出商品条码（gtin）",
            code="ambiguous_lot",
            context={"gtins": sorted({b.gtin for b in found})},
        )
    if len(found) > 1:
        raise Conflict("多个合作社使用这个批次号和商品条码", code="ambiguous_lot")
    batch = found[0]
    ensure_public(session, batch.cooperative_id)
    return batch


def facts(session: Session, batch: Batch) -> dict[str, Any]:
    """The lot's facts as its public trace page states them."""
    inspections = session.scalars(
        select(Inspection)
        .where(col(Inspection.batch_id) == batch.id)
        .order_by(col(Inspection.inspected_on), col(Inspection.id))
    )
    certificates = session.scalars(
        select(Certification)
        .where(col(Certification.batch_id) == batch.id)
        .order_by(col(Certification.issued_on), col(Certification.id))
    )
    return {
        "harvest_date": batch.harvest_date.isoformat() if batch.harvest_date else None,
        "plot": batch.plot_name or None,
        "inspections": [
            {
                "lab": i.lab,
                "report_no": i.report_no,
                "inspected_on": i.inspected_on.isoformat(),
                "passed": i.passed,
            }
            for i in inspections
        ],
        "certifications": [
            {"certification": c.kind, "code": c.code, "issued_on": c.issued_on.isoformat()}
            for c in certificates
        ],
    }
