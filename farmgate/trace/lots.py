"""A cooperative's lots as its staff handle them day to day: a lot code to start with, the
pre-harvest-interval verdict, per-unit codes, the 承诺达标合格证 and a cold shipment.

The building blocks (batches, inputs, harvest, certifications, shipments) live in service.py,
certificates.py and coldchain/; this module adds what a desk needs on top of them.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from typing import Any

from pypinyin import Style, lazy_pinyin
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.catalog import service as catalog
from farmgate.errors import Conflict, NotFound, ValidationFailed
from farmgate.models import (
    Account,
    Batch,
    Certification,
    ColdShipment,
    Cooperative,
    Inspection,
    Product,
    Township,
    Village,
)
from farmgate.timeutil import local_today
from farmgate.trace import certificates, service
from farmgate.trace import serials as serial_codes
from farmgate.trace.schemas import CertificationIn

MAX_SERIALS_PER_ISSUE = 1000  # one issue at a time: 25 sheets of 40 labels
MAX_INITIALS = 4


# --- lot codes --------------------------------------------------------------------------


def initials(run: str) -> str:
    """The pinyin initials of a run of Chinese characters (辣椒 -> lj)."""
    return "".join(p[:1] for p in lazy_pinyin(run, style=Style.FIRST_LETTER))


def _initials(name: str) -> str:
    """Upper-case initials: pinyin initials of the Chinese, ASCII letters and digits kept."""
    out = []
    run = ""
    for char in name:
        if "\u4e00" <= char <= "\u9fff":
            run += char
            continue
        if run:
            out.append(initials(run))
            run = ""
        if char.isascii() and char.isalnum():
            out.append(char)
    if run:
        out.append(initials(run))
    text = "".join(out).upper()
    return "".join(c for c in text if c in string.ascii_uppercase + string.digits)[:MAX_INITIALS]


def _letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA ... (spreadsheet column names)."""
    out = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        out = string.ascii_uppercase[rest] + out
    return out


def suggest_lot_code(session: Session, product: Product, today: date | None = None) -> str:
    """The product's initials, the year and month (yymm) and the first letter not yet used:
    鲜红辣椒 in December 2026 -> XHLJ2612A, then XHLJ2612B."""
    stem = (_initials(product.name) or "P") + (today or local_today()).strftime("%y%m")
    taken = set(
        session.scalars(
            select(col(Batch.lot_code)).where(
                col(Batch.cooperative_id) == product.cooperative_id,
                col(Batch.lot_code).startswith(stem),
            )
        )
    )
    n = 0
    while stem + _letters(n) in taken:
        n += 1
    return stem + _letters(n)


# --- lists ------------------------------------------------------------------------------


def lots_of(session: Session, actor: Account, product_id: int | None = None) -> list[Batch]:
    """The actor's cooperative's lots, newest first; of one product when it is given."""
    query = select(Batch).where(col(Batch.cooperative_id) == actor.cooperative_id)
    if product_id is not None:
        catalog.get_owned_product(session, actor, product_id)  # 404 unless it is theirs
        query = query.where(col(Batch.product_id) == product_id)
    return list(session.scalars(query.order_by(col(Batch.id).desc()).limit(500)))


def inspections_of(session: Session, batch: Batch) -> list[Inspection]:
    return list(
        session.scalars(
            select(Inspection)
            .where(col(Inspection.batch_id) == batch.id)
            .order_by(col(Inspection.id))
        )
    )


def shipments_of(session: Session, batch: Batch) -> list[ColdShipment]:
    return list(
        session.scalars(
            select(ColdShipment)
            .where(col(ColdShipment.batch_id) == batch.id)
            .order_by(col(ColdShipment.id))
        )
    )


def certifications_of(session: Session, batch: Batch) -> list[dict[str, Any]]:
    """The certifications that cover this lot (certificates.certifications_of_lot)."""
    return [
        certificates.certification_view(row)
        for row in certificates.certifications_of_lot(session, batch)
    ]


def compliance_certificate(session: Session, batch: Batch, cert_id: int) -> Certification:
    """A 合格证 issued for this lot (another lot's, or another cooperative's, is not found)."""
    cert = session.get(Certification, cert_id)
    if cert is None or cert.batch_id != batch.id or cert.kind != "compliance_cert":
        raise NotFound("合格证不存在", context={"certification_id": cert_id})
    return cert


# --- the pre-harvest interval -----------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Whether the lot may be harvested (and released) today, and the first day it may."""

    ok: bool
    ready_on: date | None
    message: str


def release_verdict(session: Session, batch: Batch, today: date | None = None) -> Verdict:
    """The pre-harvest-interval verdict: every pesticide's interval must have passed."""
    today = today or local_today()
    gate = service.earliest_harvest(session, batch)
    if gate is None:
        return Verdict(True, None, "没有施肥用药记录，不受安全间隔期限制")
    ready, record = gate
    if batch.harvest_date is not None and batch.harvest_date >= ready:
        return Verdict(True, ready, f"已于 {batch.harvest_date} 采收，安全间隔期已满")
    if ready > today:
        return Verdict(
            False,
            ready,
            f"安全间隔期未满：最早 {ready} 可采收/放行"
            f"（{record.product_name} {record.applied_on} 施用，"
            f"间隔期 {record.preharvest_interval_days} 天）",
        )
    return Verdict(True, ready, f"安全间隔期已满（{ready} 起可采收/放行）")


# --- per-unit codes ---------------------------------------------------------------------


def issue_serials(session: Session, batch: Batch, count: int) -> tuple[int, int]:
    """Reserve ``count`` more unit numbers for the lot; returns the first and the last."""
    service.require_active(batch)
    if isinstance(count, bool) or count < 1:
        raise ValidationFailed("数量至少为 1", fields={"count": "数量至少为 1"})
    if count > MAX_SERIALS_PER_ISSUE:
        message = f"一次最多发放 {MAX_SERIALS_PER_ISSUE} 个单品码"
        raise ValidationFailed(message, fields={"count": message})
    issued = serial_codes.issue(session, batch, count)  # refuses an unapproved cooperative
    session.flush()
    return issued.first, issued.last


# --- the 承诺达标合格证 -------------------------------------------------------------------


def origin_of(session: Session, batch: Batch) -> str:
    """产地 as the certificate prints it: the township and the village of the lot."""
    product = session.get(Product, batch.product_id)
    where = (
        col(Village.code) == batch.village_code
        if batch.village_code
        else col(Village.id) == (product.village_id if product else 0)
    )
    village = session.scalars(select(Village).where(where)).first()
    if village is None:
        return ""
    township = session.get(Township, village.township_id)
    return f"{township.name if township else ''}{village.name}"


def compliance_defaults(session: Session, batch: Batch) -> dict[str, Any]:
    """What a new 合格证 for the lot starts with: everything the lot already knows."""
    product = session.get(Product, batch.product_id)
    coop = session.get(Cooperative, batch.cooperative_id)
    return {
        "product_name": product.name if product else "",
        "quantity": f"{batch.quantity.normalize():f}",
        "unit": batch.unit,
        "origin": origin_of(session, batch),
        "committer": coop.name if coop else "",
        "contact": coop.contact_phone if coop else "",
        "issued_on": local_today(),
    }


def issue_compliance(
    session: Session,
    actor: Account,
    batch: Batch,
    cert: certificates.ComplianceCertificate,
) -> Certification:
    """Issue the lot's 合格证: only after harvest and once every interval has passed."""
    if batch.harvest_date is None:
        raise Conflict("请先登记采收，再开具合格证", fields={"harvest": "还没有登记采收"})
    verdict = release_verdict(session, batch)
    if not verdict.ok:
        raise Conflict(verdict.message, fields={"harvest": verdict.message})
    errors = cert.validate(today=local_today())
    if errors:
        raise ValidationFailed("承诺达标合格证信息不完整", fields=errors)
    details = {
        "product_name": cert.product_name,
        "quantity": str(cert.quantity),
        "unit": cert.unit,
        "origin": cert.origin,
        "committer": cert.committer,
        "contact": cert.contact,
        "code": cert.code,
        "commitment": cert.own_commitment,  # "" for the standard wording
        "bases": list(cert.bases),
        "basis": cert.bases[0],  # readers of the single-basis form
    }
    data = CertificationIn(
        kind="compliance_cert",
        code=cert.code,
        issued_on=cert.issued_on or local_today(),
        scope="batch",
        details=details,
    )
    return certificates.add_certification(session, actor, batch, data)
