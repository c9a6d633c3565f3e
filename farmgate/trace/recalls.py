"""Recalls run from the township console: start one on a lot (lineage recalls it and all lots
made from it, their products stop selling), follow the orders and parcels that may have
received it, note each buyer contacted, close it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import audit
from farmgate.db import utcnow
from farmgate.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from farmgate.models import Account, Batch, Order, Parcel, Recall, RecallContact, Role
from farmgate.notify import service as notify
from farmgate.trace import lineage
from farmgate.trace.schemas import RecallIn


@dataclass
class Affected:
    lots: list[Batch]  # the recalled lot first, then everything made from it
    orders: list[Order]
    parcels: dict[int, list[Parcel]]  # order id -> its parcels
    contacted: dict[int, RecallContact]  # order id -> when and by whom


def _admin(actor: Account) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied("只有乡镇管理员可以发起和处理召回")


def get_lot(session: Session, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("批次不存在", context={"batch_id": batch_id})
    return batch


def clean_reason(reason: str) -> str:
    """The reason as it will be stored; a clear message when it is missing or too long."""
    reason = " ".join(reason.split())
    if len(reason) < 2:
        raise ValidationFailed("请填写召回原因", fields={"reason": "请填写召回原因（至少 2 个字）"})
    if len(reason) > 200:
        raise ValidationFailed("召回原因最多 200 字", fields={"reason": "召回原因最多 200 字"})
    return reason


def open_recall_of(session: Session, batch_id: int) -> Recall | None:
    return session.scalars(
        select(Recall).where(col(Recall.batch_id) == batch_id, col(Recall.closed_at).is_(None))
    ).first()


def start(session: Session, admin: Account, batch_id: int, reason: str) -> Recall:
    """Recall the lot and everything made from it; its products stop selling at once."""
    _admin(admin)
    reason = clean_reason(reason)
    batch = session.get(Batch, batch_id, with_for_update=True)
    if batch is None:
        raise NotFound("批次不存在", context={"batch_id": batch_id})
    if open_recall_of(session, batch_id) is not None:
        raise Conflict("该批次已在召回中")
    recalled = lineage.recall(session, admin, batch, RecallIn(reason=reason))
    recall = Recall(batch_id=batch_id, reason=reason, started_by=admin.id)
    session.add(recall)
    session.flush()
    notify.recall_started(session, recall, affected(session, recall).orders)
    audit.record(
        session,
        admin,
        "recall.start",
        "batch",
        batch_id,
        f"发起召回：批次 {batch.lot_code}，原因：{reason}",
        before={"status": "active"},
        after={"status": "recalled", "recall_id": recall.id, "lots": [b.id for b in recalled]},
    )
    return recall


def get(session: Session, recall_id: int) -> Recall:
    recall = session.get(Recall, recall_id)
    if recall is None:
        raise NotFound("召回不存在", context={"recall_id": recall_id})
    return recall


def list_recalls(session: Session, *, closed: bool = False) -> list[Recall]:
    is_closed = col(Recall.closed_at).is_not(None)
    return list(
        session.scalars(
            select(Recall)
            .where(is_closed if closed else ~is_closed)
            .order_by(col(Recall.id).desc())
        )
    )


def affected(session: Session, recall: Recall) -> Affected:
    """Every lot made from the recalled one, every order and parcel that may have received any."""
    batch = get_lot(session, recall.batch_id)
    lots = [batch, *lineage.family(session, batch)["downstream"]]
    orders: dict[int, Order] = {}
    for lot in lots:
        for order in lineage.affected_orders(session, lot):
            orders.setdefault(order.id, order)  # type: ignore[arg-type]
    parcels: dict[int, list[Parcel]] = {}
    if orders:
        for parcel in session.scalars(
            select(Parcel).where(col(Parcel.order_id).in_(orders)).order_by(col(Parcel.id))
        ):
            parcels.setdefault(parcel.order_id, []).append(parcel)
    contacted = {
        c.order_id: c
        for c in session.scalars(
            select(RecallContact).where(col(RecallContact.recall_id) == recall.id)
        )
    }
    return Affected(lots, [orders[k] for k in sorted(orders)], parcels, contacted)


def mark_contacted(session: Session, admin: Account, recall_id: int, order_id: int) -> bool:
    """Note that the buyer of ``order_id`` was told; False when it was noted already."""
    _admin(admin)
    recall = session.get(Recall, recall_id, with_for_update=True)
    if recall is None:
        raise NotFound("召回不存在", context={"recall_id": recall_id})
    if order_id not in {o.id for o in affected(session, recall).orders}:
        raise NotFound("该订单不在召回范围内", context={"order_id": order_id})
    done = session.scalars(
        select(RecallContact).where(
            col(RecallContact.recall_id) == recall_id, col(RecallContact.order_id) == order_id
        )
    ).first()
    if done is not None:
        return False
    session.add(RecallContact(recall_id=recall_id, order_id=order_id, contacted_by=admin.id))
    session.flush()
    audit.record(
        session,
        admin,
        "recall.contact",
        "order",
        order_id,
        f"召回 #{recall_id}：已联系订单 #{order_id} 的买家",
        before={"contacted": False},
        after={"contacted": True, "recall_id": recall_id},
    )
    return True


def close(session: Session, admin: Account, recall_id: int) -> bool:
    """Close the recall (the lots stay recalled); False when it was closed already."""
    _admin(admin)
    recall = session.get(Recall, recall_id, with_for_update=True)
    if recall is None:
        raise NotFound("召回不存在", context={"recall_id": recall_id})
    if recall.closed_at is not None:
        return False
    recall.closed_at, recall.closed_by = utcnow(), admin.id
    session.add(recall)
    audit.record(
        session,
        admin,
        "recall.close",
        "recall",
        recall_id,
        f"结束召回 #{recall_id}",
        before={"closed": False},
        after={"closed": True},
    )
    return True
