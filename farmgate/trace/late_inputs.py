"""Inputs recorded after the harvest they precede, and the township admin's decision on them.

A pesticide applied before the harvest would have been part of the pre-harvest-interval check
had it been recorded in time. Recorded after the harvest, it is kept aside (``approval =
"pending"``), not shown and not in the chain, until a township admin approves it (it enters
the chain then, marked as recorded after the harvest, and the trace page warns if its interval
had not passed on the harvest date) or refuses it. Each decision is in the audit log.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import audit
from farmgate.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from farmgate.models import Account, Batch, BatchInput, Role
from farmgate.trace import service

MAX_NOTE = 200


def pending(session: Session, limit: int = 200) -> list[tuple[BatchInput, Batch]]:
    """Late inputs waiting for a decision, oldest first."""
    return [
        (record, batch)
        for record, batch in session.execute(
            select(BatchInput, Batch)
            .join(Batch, col(Batch.id) == col(BatchInput.batch_id))
            .where(col(BatchInput.approval) == "pending")
            .order_by(col(BatchInput.id))
            .limit(limit)
        )
    ]


def get_pending(session: Session, input_id: int) -> tuple[BatchInput, Batch]:
    record = session.get(BatchInput, input_id)
    batch = session.get(Batch, record.batch_id) if record is not None else None
    if record is None or batch is None or record.approval == "":
        raise NotFound("没有这条待审核的投入品记录", context={"input_id": input_id})
    return record, batch


def decide(
    session: Session, admin: Account, input_id: int, *, approve: bool, note: str
) -> BatchInput:
    """Approve (the input enters the lot's chain) or refuse a late input; audited."""
    if admin.role != Role.ADMIN:
        raise PermissionDenied("只有乡镇管理员可以审核补录的投入品")
    record, batch = get_pending(session, input_id)
    if record.approval != "pending":
        raise Conflict("这条记录已审核过", context={"input_id": input_id})
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("请写明审核理由", fields={"note": "请写明审核理由"})
    if len(note) > MAX_NOTE:
        message = f"审核理由最多 {MAX_NOTE} 个字"
        raise ValidationFailed(message, fields={"note": message})
    session.get(Batch, batch.id, with_for_update=True)
    before = {"approval": record.approval}
    record.approval = "approved" if approve else "rejected"
    session.add(record)
    if approve:
        service.log_input(
            session,
            batch,
            record,
            actor_id=admin.id,
            extra={"after_harvest": True, "approved_by": admin.id, "approval_note": note},
        )
    verdict = "同意计入" if approve else "不予计入"
    audit.record(
        session,
        admin,
        "trace.late_input.approve" if approve else "trace.late_input.reject",
        "batch_input",
        record.id,
        f"批次 {batch.lot_code} 采收后补录的投入品“{record.product_name}”"
        f"（{record.applied_on} 施用）：{verdict}。理由：{note}",
        before=before,
        after={"approval": record.approval},
    )
    session.flush()
    return record
