"""Alerts that must reach people: stored once per key, listed on the desks.

Other domains raise them too: the cold chain's excursion job (farmgate/coldchain/tasks.py)
and logistics' waybill checks.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import audit
from farmgate.db import utcnow
from farmgate.errors import NotFound, PermissionDenied, ValidationFailed
from farmgate.models import (
    Account,
    Alert,
    Batch,
    Certification,
    Fulfilment,
    Parcel,
    Product,
    ProductStatus,
    Role,
    WaybillCreate,
)
from farmgate.timeutil import local_today

log = logging.getLogger(__name__)


def raise_alert(
    session: Session,
    key: str,
    kind: str,
    message: str,
    *,
    cooperative_id: int | None,
    batch_id: int | None,
    details: dict[str, Any] | None = None,
) -> Alert | None:
    """Store an alert once per ``key`` (a job may run twice); None when it already exists."""
    if session.scalars(select(col(Alert.id)).where(col(Alert.key) == key)).first() is not None:
        return None
    alert = Alert(
        key=key,
        kind=kind,
        message=message[:300],
        cooperative_id=cooperative_id,
        batch_id=batch_id,
        details=details or {},
    )
    session.add(alert)
    session.flush()
    log.warning("alert %s: %s", key, message)
    return alert


def recent_alerts(
    session: Session, cooperative_id: int | None, days: int = 14, limit: int = 20
) -> list[Alert]:
    """A cooperative's alerts of the last ``days`` days, newest first (None: the township's)."""
    query = (
        select(Alert)
        .where(col(Alert.created_at) >= utcnow() - timedelta(days=days))
        .order_by(col(Alert.id).desc())
        .limit(limit)
    )
    if cooperative_id is not None:
        query = query.where(col(Alert.cooperative_id) == cooperative_id)
    return list(session.scalars(query))


def visible_alerts(
    session: Session, actor: Account, limit: int = 200, kind: str = ""
) -> list[Alert]:
    """The newest ``limit`` alerts ``actor`` may see (of one kind if given); anyone else is
    refused."""
    query = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
    if kind:
        query = query.where(col(Alert.kind) == kind)
    if actor.role == Role.COOPERATIVE and actor.cooperative_id is not None:
        query = query.where(col(Alert.cooperative_id) == actor.cooperative_id)
    elif actor.role != Role.ADMIN:
        raise PermissionDenied("只有合作社和乡镇管理员可以查看预警")
    return list(session.scalars(query))


# --- the township console: open alerts, found and resolved ------------------------------

CERT_EXPIRED = "cert_expired"
WAYBILL_CHECK = "waybill_check"
KIND_LABELS = {
    "excursion": "冷链温度超标",
    CERT_EXPIRED: "证书已过期仍在售",
    WAYBILL_CHECK: "运单待人工核对",
    "counterfeit": "疑似假冒扫码",
    "recall": "召回",
    "bill_mismatch": "微信对账差异",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def _expired_certificates(session: Session) -> list[tuple[Certification, Product]]:
    """Certificates past their expiry on a product still published (itself or its lot's)."""
    rows = session.execute(
        select(Certification, col(Batch.product_id))
        .outerjoin(Batch, col(Batch.id) == Certification.batch_id)
        .where(col(Certification.expires_on) < local_today())
    ).all()
    found = []
    for cert, lot_product in rows:
        product = session.get(Product, cert.product_id or lot_product or 0)
        if product is not None and product.status == ProductStatus.PUBLISHED:
            found.append((cert, product))
    return found


def find_new(session: Session) -> int:
    """Store, once each, alerts for expired certificates still selling and waybills a person
    must check at the carrier (they are states of other records; an alert gives them a note)."""
    added = 0
    for cert, product in _expired_certificates(session):
        added += (
            raise_alert(
                session,
                f"cert-expired:{cert.id}:{cert.expires_on}",
                CERT_EXPIRED,
                f"{product.name} 的证书（{cert.code or cert.kind}）已于 {cert.expires_on} 过期，"
                "商品仍在售",
                cooperative_id=cert.cooperative_id,
                batch_id=cert.batch_id,
                details={"certification_id": cert.id, "product_id": product.id},
            )
            is not None
        )
    waiting = session.scalars(
        select(Parcel).where(Parcel.create_state == WaybillCreate.CHECK).order_by(Parcel.id)  # type: ignore[arg-type]
    )
    for parcel in waiting:
        part = session.get(Fulfilment, parcel.fulfilment_id)
        added += (
            raise_alert(
                session,
                f"waybill-check:{parcel.id}",
                WAYBILL_CHECK,
                f"包裹 {parcel.order_ref} 的运单是否已在快递公司生成不确定，请登录快递后台核对",
                cooperative_id=part.cooperative_id if part else None,
                batch_id=None,
                details={"parcel_id": parcel.id, "order_id": parcel.order_id},
            )
            is not None
        )
    return added


def township_alerts(
    session: Session, *, resolved: bool = False, kind: str = "", limit: int = 200
) -> list[Alert]:
    """Open alerts (or the resolved ones), newest first, optionally of one kind."""
    query = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
    is_resolved = col(Alert.resolved_at).is_not(None)
    query = query.where(is_resolved if resolved else ~is_resolved)
    if kind:
        query = query.where(col(Alert.kind) == kind)
    return list(session.scalars(query))


def get_alert(session: Session, alert_id: int, *, lock: bool = False) -> Alert:
    alert = session.get(Alert, alert_id, with_for_update=lock)
    if alert is None:
        raise NotFound("预警不存在", context={"alert_id": alert_id})
    return alert


def resolve(session: Session, admin: Account, alert_id: int, note: str) -> bool:
    """Close an alert with what was done; False when it was already resolved (sent twice)."""
    if admin.role != Role.ADMIN:
        raise PermissionDenied("只有乡镇管理员可以处理预警")
    note = " ".join(note.split())
    if not note:
        raise ValidationFailed("请写明处理情况", fields={"note": "请写明处理情况"})
    if len(note) > 300:
        raise ValidationFailed("处理说明最多 300 字", fields={"note": "处理说明最多 300 字"})
    alert = get_alert(session, alert_id, lock=True)
    if alert.resolved_at is not None:
        return False
    alert.resolved_at, alert.resolved_by, alert.resolution_note = utcnow(), admin.id, note
    session.add(alert)
    audit.record(
        session,
        admin,
        "alert.resolve",
        "alert",
        alert.id,
        f"处理预警：{alert.message}"[:300],
        before={"resolved": False},
        after={"resolved": True, "note": note},
    )
    return True
