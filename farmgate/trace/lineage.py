"""How lots connect: transformations (input lots into an output lot), tracing both ways, and
recalls that follow a lot into everything made from it and the orders that received it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk, utcnow
from farmgate.errors import Conflict, ValidationFailed
from farmgate.models import (
    Account,
    Batch,
    BatchLink,
    BatchStatus,
    ColdShipment,
    Fulfilment,
    Order,
    OrderLine,
    Sku,
)
from farmgate.trace import chain
from farmgate.trace.schemas import RecallIn, TransformIn
from farmgate.trace.service import create_batch, get_batch, require_active

# --- transformation and lineage ---------------------------------------------------------


def transform(session: Session, actor: Account, data: TransformIn) -> Batch:
    """Input lots (e.g. fresh chilli from several plots) become one output lot (dried chilli)."""
    sources = []
    for item in data.inputs:
        source = get_batch(session, actor, item.batch_id, lock=True)
        require_active(source)
        sources.append((source, item))
    if len({s.id for s, _ in sources}) != len(sources):
        raise ValidationFailed("同一投入批次只能列一次", fields={"inputs": "有重复批次"})
    output = create_batch(session, actor, data.output)
    for source, item in sources:
        session.add(
            BatchLink(
                input_batch_id=pk(source),
                output_batch_id=pk(output),
                quantity=item.quantity,
                unit=item.unit,
                details={"process": data.process},
            )
        )
        chain.append(
            session,
            source,
            "transforming",
            {
                "role": "input",
                "output": {"gtin": output.gtin, "lot": output.lot_code},
                "quantity": str(item.quantity),
                "unit": item.unit,
                "process": data.process,
            },
            at=data.at,
            actor_id=actor.id,
        )
    chain.append(
        session,
        output,
        "transforming",
        {
            "role": "output",
            "inputs": [
                {"gtin": s.gtin, "lot": s.lot_code, "quantity": str(i.quantity), "unit": i.unit}
                for s, i in sources
            ],
            "quantity": str(output.quantity),
            "unit": output.unit,
            "process": data.process,
        },
        at=data.at,
        actor_id=actor.id,
    )
    session.flush()
    return output


def _walk(session: Session, start: int, upstream: bool, depth: int = 20) -> list[int]:
    """Batch ids reachable from ``start`` through links, nearest first, cycles ignored."""
    here, there = (
        (col(BatchLink.output_batch_id), col(BatchLink.input_batch_id))
        if upstream
        else (col(BatchLink.input_batch_id), col(BatchLink.output_batch_id))
    )
    seen: list[int] = []
    frontier = [start]
    for _ in range(depth):
        if not frontier:
            break
        found = session.scalars(select(there).where(here.in_(frontier))).all()
        frontier = [b for b in dict.fromkeys(found) if b not in seen and b != start]
        seen.extend(frontier)
    return seen


def family(session: Session, batch: Batch) -> dict[str, list[Batch]]:
    """Which lots went into this one (upstream), and where it went (downstream)."""
    result = {}
    for name, upstream in (("upstream", True), ("downstream", False)):
        ids = _walk(session, pk(batch), upstream)
        rows = {b.id: b for b in session.scalars(select(Batch).where(col(Batch.id).in_(ids)))}
        result[name] = [rows[i] for i in ids if i in rows]
    return result


# --- recall -----------------------------------------------------------------------------


def recall(session: Session, actor: Account, batch: Batch, data: RecallIn) -> list[Batch]:
    """Recall ``batch`` and every lot made from it: their SKUs stop selling at once.

    Returns the recalled batches (this one first).
    """
    if batch.status == BatchStatus.RECALLED:
        raise Conflict("该批次已经召回")
    recalled = [batch, *family(session, batch)["downstream"]]
    now = utcnow()
    for lot in recalled:
        if lot.status == BatchStatus.RECALLED:
            continue
        lot.status, lot.recall_reason, lot.recalled_at = BatchStatus.RECALLED, data.reason, now
        session.add(lot)
        chain.append(
            session,
            lot,
            "recall",
            {
                "disposition": "recalled",
                "reason": data.reason,
                "origin": {"gtin": batch.gtin, "lot": batch.lot_code},
            },
            at=now,
            actor_id=actor.id,
        )
        for sku in session.scalars(select(Sku).where(col(Sku.product_id) == lot.product_id)):
            sku.is_active = False
            session.add(sku)
    session.flush()
    return recalled


def affected_orders(session: Session, batch: Batch) -> list[Order]:
    """Orders that received (or may have received) this lot.

    Exact when packing said which lot went into each line, or a cold-chain shipment ties the
    lot to a fulfilment; when nothing does, every order for the lot's product packed since the
    lot was registered (better a few too many than one missed).
    """
    exact = (
        select(col(Fulfilment.order_id))
        .join(ColdShipment, col(ColdShipment.fulfilment_id) == col(Fulfilment.id))
        .where(col(ColdShipment.batch_id) == batch.id)
    )
    possible = (
        select(col(OrderLine.order_id))
        .join(Fulfilment, col(Fulfilment.id) == col(OrderLine.fulfilment_id))
        .where(
            col(OrderLine.product_id) == batch.product_id,
            col(Fulfilment.cooperative_id) == batch.cooperative_id,
            col(Fulfilment.packed_at) >= batch.created_at,
        )
    )
    packed = select(col(OrderLine.order_id)).where(col(OrderLine.batch_id) == batch.id)
    ids = set(session.scalars(exact)) | set(session.scalars(packed))
    if not ids:  # no parcel says which lot it held: everyone who may have received it
        ids = set(session.scalars(possible))
    if not ids:
        return []
    return list(
        session.scalars(select(Order).where(col(Order.id).in_(ids)).order_by(col(Order.id)))
    )
