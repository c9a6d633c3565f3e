"""What a scanned Digital Link resolves to: the links of a lot (or of a GTIN alone)."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.cooperatives.service import ensure_public
from farmgate.errors import NotFound
from farmgate.gs1.digital_link import DigitalLink
from farmgate.gs1.gtin import to_gtin14
from farmgate.gs1.resolver import CERTIFICATION, EPCIS, PIP, TRACEABILITY, Link
from farmgate.models import Batch, Product, ProductStatus
from farmgate.trace import service


def _base() -> str:
    return settings.public_base_url.rstrip("/")


def product_path(product_id: int) -> str:
    return f"/products/{product_id}"


def product_for_gtin(session: Session, gtin: str) -> Product:
    """The published product carrying ``gtin`` (its own, or the one its lots were given)."""
    gtin14 = to_gtin14(gtin)
    product_id = session.scalars(
        select(col(Batch.product_id)).where(col(Batch.gtin) == gtin14).limit(1)
    ).first()
    if product_id is None:
        product_id = session.scalars(
            select(col(Product.id)).where(col(Product.gtin).in_({gtin, gtin14})).limit(1)
        ).first()
    product = session.get(Product, product_id) if product_id is not None else None
    if product is None or product.status != ProductStatus.PUBLISHED:
        raise NotFound("没有找到这个商品条码对应的商品")
    ensure_public(session, product.cooperative_id)
    return product


def links(session: Session, batch: Batch, link: DigitalLink) -> list[Link]:
    """Every link of a scanned lot (or unit): product page, trace page, certificates, EPCIS."""
    base = _base()
    trace = base + link.path()
    query = urlencode({"epc": "https://id.gs1.org" + link.path()})
    return [
        Link(PIP, base + product_path(batch.product_id), "商品详情"),
        Link(TRACEABILITY, trace, "溯源记录"),
        Link(CERTIFICATION, trace + "#certifications", "检测与认证"),
        Link(
            EPCIS,
            f"{base}/epcis/events?{query}",
            "EPCIS 事件查询（合作伙伴密钥）",
            media_type="application/ld+json",
            language="en",
        ),
    ]


def find(session: Session, link: DigitalLink) -> Batch:
    if not link.lot:
        raise NotFound("二维码缺少批次号")
    return service.find_public(session, link.gtin, link.lot)


def find_for_page(session: Session, link: DigitalLink) -> service.PublicLot:
    """:func:`find`, with the chain's head hash and the scanned code's counts (one statement)."""
    if not link.lot:
        raise NotFound("二维码缺少批次号")
    return service.find_public_page(session, link.gtin, link.lot, link.serial or "")
