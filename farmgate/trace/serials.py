"""Per-unit codes (一物一码): issuing the next serials of a batch and the labels that print them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from farmgate.cooperatives import service as cooperatives
from farmgate.errors import ValidationFailed
from farmgate.models import Batch, Product
from farmgate.rendering.labels import Label
from farmgate.trace import urls


@dataclass(frozen=True)
class IssuedSerials:
    first: int
    last: int
    urls: list[str]


def issue(session: Session, batch: Batch, count: int) -> IssuedSerials:
    """The next ``count`` serials of ``batch``; the caller holds the batch's row lock."""
    cooperatives.ensure_can_issue(session, batch.cooperative_id)
    first = batch.serial_count + 1
    batch.serial_count += count
    session.add(batch)
    codes = urls.serials(batch, first, count)
    return IssuedSerials(
        first=first,
        last=batch.serial_count,
        urls=[urls.trace_url(batch, code) for code in codes],
    )


def label_title(session: Session, batch: Batch) -> str:
    """The product's name, the first line on every label of ``batch`` (QR images and label
    sheets: refused to a cooperative that may not publish)."""
    cooperatives.ensure_can_issue(session, batch.cooperative_id)
    product = session.get(Product, batch.product_id)
    return product.name if product else ""


def sheet_labels(
    session: Session, batch: Batch, *, start: int, count: int, serials: bool
) -> list[Label]:
    """``count`` labels from serial ``start`` (only issued ones), or the batch code repeated."""
    title = label_title(session, batch)
    if not serials:
        return [Label(urls.trace_url(batch), title, f"批次 {batch.lot_code}")] * count
    if start + count - 1 > batch.serial_count:
        raise ValidationFailed(
            "只能打印已发放的单品码",
            fields={"count": f"已发放 {batch.serial_count} 个"},
        )
    return [
        Label(urls.trace_url(batch, code), title, f"批次 {batch.lot_code} · {code}")
        for code in urls.serials(batch, start, count)
    ]
