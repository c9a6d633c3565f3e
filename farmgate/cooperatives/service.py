"""Cooperatives: applying, approval by the township, and their public face."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import audit
from farmgate.cooperatives.schemas import (
    CooperativeApply,
    CooperativePrivate,
    CooperativePublic,
    CooperativeUpdate,
)
from farmgate.db import pk, utcnow
from farmgate.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from farmgate.models import Account, Cooperative, CooperativeStatus, Role, Village


def _village(session: Session, village_id: int) -> Village:
    village = session.get(Village, village_id)
    if village is None:
        raise ValidationFailed("所选村不存在", fields={"village_id": "村不存在"})
    return village


def apply(session: Session, actor: Account, data: CooperativeApply) -> Cooperative:
    """A signed-in account registers its cooperative; the account becomes its staff."""
    if actor.role not in (Role.CONSUMER, Role.COOPERATIVE) or actor.cooperative_id is not None:
        raise Conflict("该账号已绑定合作社或不能申请合作社", code="already_bound")
    village = _village(session, data.village_id)
    if session.scalars(
        select(col(Cooperative.id)).where(col(Cooperative.uscc) == data.uscc)
    ).first():
        raise Conflict("该统一社会信用代码已登记", fields={"uscc": "已登记"})
    coop = Cooperative(**data.model_dump(), township_id=village.township_id)
    session.add(coop)
    session.flush()
    actor.role = Role.COOPERATIVE
    actor.cooperative_id = coop.id
    actor.is_owner = True
    session.add(actor)
    return coop


def get_for(session: Session, actor: Account, cooperative_id: int) -> Cooperative:
    """A cooperative's full record, for its own staff or the township admin only."""
    coop = session.get(Cooperative, cooperative_id)
    if coop is None or not (actor.role == Role.ADMIN or actor.cooperative_id == coop.id):
        raise NotFound("合作社不存在")
    return coop


def update(
    session: Session, actor: Account, cooperative_id: int, data: CooperativeUpdate
) -> Cooperative:
    coop = get_for(session, actor, cooperative_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    name = changes.pop("name", None)
    for key, value in changes.items():
        setattr(coop, key, value)
    if name is not None and actor.role != Role.ADMIN:
        request_name(session, actor, coop, name)  # the public name waits for the township
    elif name is not None:
        coop.name = name
    session.add(coop)
    return coop


def request_name(session: Session, actor: Account, coop: Cooperative, name: str) -> Cooperative:
    """Staff ask for a new name: kept as pending, the public name unchanged until approved.

    Asking for the current name withdraws a pending request.
    """
    if actor.role != Role.ADMIN and actor.cooperative_id != coop.id:
        raise NotFound("合作社不存在")
    name = name.strip()
    if not 2 <= len(name) <= 100:
        raise ValidationFailed("名称需要2到100个字", fields={"name": "名称需要2到100个字"})
    if name == coop.name:
        coop.pending_name, coop.name_requested_at = "", None
    elif name != coop.pending_name:
        coop.pending_name, coop.name_requested_at = name, utcnow()
    session.add(coop)
    return coop


def decide_name(
    session: Session, actor: Account, cooperative_id: int, approve: bool
) -> Cooperative:
    """The township approves (the public name changes) or declines a requested name."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied("只有乡镇管理员可以审核合作社名称")
    coop = session.get(Cooperative, cooperative_id, with_for_update=True)
    if coop is None:
        raise NotFound("合作社不存在")
    if not coop.pending_name:
        raise InvalidTransition("该合作社没有待审核的新名称")
    if approve:
        coop.name = coop.pending_name
    coop.pending_name, coop.name_requested_at = "", None
    session.add(coop)
    return coop


def set_status(
    session: Session, actor: Account, cooperative_id: int, status: CooperativeStatus
) -> Cooperative:
    if actor.role != Role.ADMIN:
        raise PermissionDenied("只有乡镇管理员可以审核合作社")
    coop = session.get(Cooperative, cooperative_id)
    if coop is None:
        raise NotFound("合作社不存在")
    allowed = {
        CooperativeStatus.APPROVED: {CooperativeStatus.PENDING, CooperativeStatus.SUSPENDED},
        CooperativeStatus.SUSPENDED: {CooperativeStatus.APPROVED},
        CooperativeStatus.PENDING: set(),
    }
    if coop.status not in allowed[status]:
        raise InvalidTransition(f"合作社当前状态为{coop.status}，不能改为{status}")
    coop.status = status
    if status == CooperativeStatus.APPROVED and coop.approved_at is None:
        coop.approved_at = utcnow()
    session.add(coop)
    return coop


# --- the township's review (the console); each decision is audited and acts once ---------

S = CooperativeStatus


def _locked_for_review(session: Session, actor: Account, cooperative_id: int) -> Cooperative:
    if actor.role != Role.ADMIN:
        raise PermissionDenied("只有乡镇管理员可以审核合作社")
    coop = session.get(Cooperative, cooperative_id, with_for_update=True)
    if coop is None:
        raise NotFound("合作社不存在")
    return coop


def _reason(reason: str, what: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(f"请填写{what}原因", fields={"reason": f"请填写{what}原因"})
    if len(reason) > 500:
        raise ValidationFailed(f"{what}原因不能超过500个字", fields={"reason": "不能超过500个字"})
    return reason


def _decide(
    session: Session,
    actor: Account,
    coop: Cooperative,
    *,
    action: str,
    target: CooperativeStatus,
    allowed: set[str],
    note: str,
    summary: str,
) -> bool:
    """Move ``coop`` to ``target``; False (nothing done) if it is there already."""
    if coop.status == target:
        return False
    if coop.status not in allowed:
        raise InvalidTransition(
            f"合作社当前为「{S.label_of(coop.status)}」，不能{summary.removesuffix('合作社')}",
            context={"from": coop.status, "action": action},
        )
    before = {"status": coop.status, "review_note": coop.review_note}
    coop.status, coop.review_note = target, note
    if target == S.APPROVED and coop.approved_at is None:
        coop.approved_at = utcnow()
    session.add(coop)
    audit.record(
        session,
        actor,
        f"cooperative.{action}",
        "cooperative",
        coop.id,
        f"{summary} {coop.name}" + (f"：{note}" if note else ""),
        before=before,
        after={"status": coop.status, "review_note": coop.review_note},
    )
    return True


def approve_application(session: Session, actor: Account, cooperative_id: int) -> bool:
    """Approve a cooperative that applied (or was turned down before); False if already."""
    coop = _locked_for_review(session, actor, cooperative_id)
    return _decide(
        session,
        actor,
        coop,
        action="approve",
        target=S.APPROVED,
        allowed={S.PENDING, S.REJECTED},
        note="",
        summary="批准合作社",
    )


def reject_application(session: Session, actor: Account, cooperative_id: int, reason: str) -> bool:
    """Turn an application down with a reason the applicant sees; False if already."""
    note = _reason(reason, "不通过")
    coop = _locked_for_review(session, actor, cooperative_id)
    return _decide(
        session,
        actor,
        coop,
        action="reject",
        target=S.REJECTED,
        allowed={S.PENDING},
        note=note,
        summary="不批准合作社",
    )


def suspend(session: Session, actor: Account, cooperative_id: int, reason: str) -> bool:
    """Stop an approved cooperative at once: its products stop selling, its trace pages say so."""
    note = _reason(reason, "暂停")
    coop = _locked_for_review(session, actor, cooperative_id)
    return _decide(
        session,
        actor,
        coop,
        action="suspend",
        target=S.SUSPENDED,
        allowed={S.APPROVED},
        note=note,
        summary="暂停合作社",
    )


def reinstate(session: Session, actor: Account, cooperative_id: int) -> bool:
    """Let a suspended cooperative sell and publish again; False if it is not suspended."""
    coop = _locked_for_review(session, actor, cooperative_id)
    return _decide(
        session,
        actor,
        coop,
        action="reinstate",
        target=S.APPROVED,
        allowed={S.SUSPENDED},
        note="",
        summary="恢复合作社",
    )


def decide_name_once(
    session: Session, actor: Account, cooperative_id: int, name: str, approve: bool
) -> bool:
    """Approve or decline the requested ``name``; False if that request is no longer pending."""
    coop = _locked_for_review(session, actor, cooperative_id)
    if not coop.pending_name or coop.pending_name != name:
        return False
    before = {"name": coop.name, "pending_name": coop.pending_name}
    decide_name(session, actor, cooperative_id, approve)
    audit.record(
        session,
        actor,
        "cooperative.name_approve" if approve else "cooperative.name_reject",
        "cooperative",
        coop.id,
        f"{'同意' if approve else '不同意'}合作社改名 {before['name']} → {name}",
        before=before,
        after={"name": coop.name, "pending_name": coop.pending_name},
    )
    return True


def pending_names(session: Session) -> list[Cooperative]:
    """Cooperatives whose requested new name waits for the township, oldest request first."""
    query = select(Cooperative).where(col(Cooperative.pending_name) != "")
    return list(session.scalars(query.order_by(col(Cooperative.name_requested_at))))


def list_for_admin(session: Session, status: CooperativeStatus | None = None) -> list[Cooperative]:
    query = select(Cooperative).order_by(col(Cooperative.id))
    if status is not None:
        query = query.where(col(Cooperative.status) == status)
    return list(session.scalars(query))


def list_public(session: Session) -> list[Cooperative]:
    query = select(Cooperative).where(col(Cooperative.status) == CooperativeStatus.APPROVED)
    return list(session.scalars(query.order_by(col(Cooperative.id))))


def get_public(session: Session, cooperative_id: int) -> Cooperative:
    coop = session.get(Cooperative, cooperative_id)
    if coop is None or coop.status != CooperativeStatus.APPROVED:
        raise NotFound("合作社不存在")
    return coop


def can_publish(coop: Cooperative | None) -> bool:
    """Whether what a cooperative makes may be public and it may issue codes.

    The one rule for every public surface (trace pages, Digital Link and unit-code scans,
    EPCIS exports, QR codes and labels): only a cooperative the township has approved, and
    not since suspended, publishes. A pending or suspended one may still prepare its data.
    """
    return coop is not None and coop.status == CooperativeStatus.APPROVED


def _why_not_status(status: str | None) -> str:
    if status == CooperativeStatus.SUSPENDED:
        return "该产品的生产者已暂停在本平台发布（不再处于审核通过状态）"
    return "该产品的生产者尚未通过乡镇审核"


def ensure_public(session: Session, cooperative_id: int) -> None:
    """Raise a "not found" for a public page whose cooperative may not publish."""
    coop = session.get(Cooperative, cooperative_id)
    ensure_public_status(coop.status if coop is not None else None)


def ensure_public_status(status: str | None) -> None:
    """:func:`ensure_public` for a cooperative's status read with something else (the trace
    page reads it with the lot, without loading the cooperative)."""
    if status != CooperativeStatus.APPROVED:
        raise NotFound(
            f"{_why_not_status(status)}，追溯信息暂不公开。请向购买渠道核实产品来源。",
            code="producer_not_approved",
        )


def ensure_can_issue(session: Session, cooperative_id: int) -> None:
    """Refuse codes, QR images, labels and EPCIS exports to a cooperative that may not publish."""
    coop = session.get(Cooperative, cooperative_id)
    if not can_publish(coop):
        raise PermissionDenied(
            "合作社尚未通过乡镇审核或已被暂停，暂不能发放单品码、二维码、标签或导出追溯记录；"
            "资料可以继续准备，审核通过后即可发放",
            code="cooperative_not_approved",
        )


def _mask(account_no: str) -> str:
    digits = account_no.replace(" ", "")
    return "" if not digits else "*" * max(0, len(digits) - 4) + digits[-4:]


def public_view(session: Session, coop: Cooperative) -> CooperativePublic:
    village = session.get(Village, coop.village_id)
    return CooperativePublic(
        id=pk(coop),
        name=coop.name,
        village_id=coop.village_id,
        village_name=village.name if village else "",
        story=coop.story,
        status=coop.status,
        service_phone=coop.service_phone,
        pickup_address=coop.pickup_address,
    )


def private_view(session: Session, coop: Cooperative) -> CooperativePrivate:
    return CooperativePrivate(
        **public_view(session, coop).model_dump(),
        uscc=coop.uscc,
        contact_name=coop.contact_name,
        contact_phone=coop.contact_phone,
        pending_name=coop.pending_name,
        bank_account_name=coop.bank_account_name,
        bank_name=coop.bank_name,
        bank_account_no_masked=_mask(coop.bank_account_no),
        created_at=coop.created_at,
        approved_at=coop.approved_at,
    )


_SERVICE_PHONE = re.compile(r"^[0-9][0-9-]{6,19}$")


def update_contacts(
    session: Session,
    actor: Account,
    cooperative_id: int,
    *,
    service_phone: str,
    pickup_address: str,
) -> Cooperative:
    """What buyers see to reach the cooperative: a phone (mobile or landline), a pickup place."""
    coop = get_for(session, actor, cooperative_id)
    phone = service_phone.strip().replace(" ", "")
    errors = {}
    if phone and not _SERVICE_PHONE.match(phone):
        errors["service_phone"] = "电话只能填数字和 -，如 0745-1234567 或 13812345678"
    address = pickup_address.strip()
    if len(address) > 120:
        errors["pickup_address"] = "自提地址不能超过120个字"
    if errors:
        raise ValidationFailed("联系信息有误", fields=errors)
    coop.service_phone, coop.pickup_address = phone, address
    session.add(coop)
    return coop
