"""A courier's worklist: the cold-chain shipments and parcels assigned to them, each with what
the phone page shows beside it, optionally narrowed to one scanned or typed code."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from farmgate.coldchain import shipments
from farmgate.gs1.digital_link import InvalidDigitalLink, parse
from farmgate.logistics import township
from farmgate.models import Account, Batch, ColdShipment, Order, Parcel, ParcelStatus, Product


@dataclass(frozen=True)
class ShipmentRow:
    shipment: ColdShipment
    batch: Batch | None
    product: Product | None


@dataclass(frozen=True)
class ParcelRow:
    parcel: Parcel
    order: Order | None
    status_label: str
    last: str  # the newest tracking line


def lot_code(code: str) -> str | None:
    """The lot a scanned Digital Link names, or the code itself when it is typed by hand."""
    if "/01/" in code:
        try:
            return parse(code if "://" in code else "https://x" + code[code.index("/01/") :]).lot
        except InvalidDigitalLink:
            return None
    return code or None


def courier_shipments(session: Session, courier: Account, code: str = "") -> list[ShipmentRow]:
    """The courier's shipments; with ``code``, only those of the lot it names."""
    rows = []
    lot = lot_code(code)
    for shipment in shipments.courier_shipments(session, courier):
        batch = session.get(Batch, shipment.batch_id)
        if code and (batch is None or batch.lot_code != lot):
            continue
        product = session.get(Product, batch.product_id) if batch else None
        rows.append(ShipmentRow(shipment, batch, product))
    return rows


def courier_parcels(session: Session, courier: Account, code: str = "") -> list[ParcelRow]:
    """The courier's parcels; with ``code``, only the one with that waybill or order number."""
    rows = []
    for parcel in township.courier_parcels(session, courier):
        if code and code not in (parcel.waybill_no, parcel.order_ref):
            continue
        rows.append(
            ParcelRow(
                parcel=parcel,
                order=session.get(Order, parcel.order_id),
                status_label=ParcelStatus.label_of(parcel.status),
                last=parcel.events[-1]["context"] if parcel.events else "",
            )
        )
    return rows
