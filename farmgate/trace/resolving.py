"""What a scanned Digital Link resolves to: the links of a lot (or of a GTIN alone)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.cooperatives.service import ensure_public
from farmgate.errors import NotFound
from farmgate.gs1.digital_link import DigitalLink
from farmgate.gs1.gtin import to_gtin14
from farmgate.gs1.resolver import CERTIFICATION, EPCIS, PIP, TRACEABILITY, Link
from farmgate.models import Batch, Product, ProductStatus
from farmgate.trace import service


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


# Every scan of a code asks for the same links: made once per code (Link is immutable).
@lru_cache(maxsize=4096)
def lot_links(base: str, product_id: int, path: str) -> tuple[Link, ...]:
    """Every link of a scanned lot (or unit) at ``path`` (``DigitalLink.path()``) on the site
    at ``base``: product page, trace page, certificates, EPCIS."""
    trace = base + path
    query = urlencode({"epc": "https://id.gs1.org" + path})
    return (
        Link(PIP, base + product_path(product_id), "商品详情"),
        Link(TRACEABILITY, trace, "溯源记录"),
        Link(CERTIFICATION, trace + "#certifications", "检测与认证"),
        Link(
            EPCIS,
            f"{base}/epcis/events?{query}",
            "EPCIS 事件查询（合作伙伴密钥）",
            media_type="application/ld+json",
            language="en",
        ),
    )


def find(session: Session, link: DigitalLink) -> Batch:
    if not link.lot:
        raise NotFound("二维码缺少批次号")
    return service.find_public(session, link.gtin, link.lot)


def find_for_page(session: Session, link: DigitalLink) -> service.PublicLot:
    """:func:`find`, with the chain's head hash and the scanned code's counts (one statement)."""
    if not link.lot:
        raise NotFound("二维码缺少批次号")
    return service.find_public_page(session, link.gtin, link.lot, link.serial or "")
