"""A cooperative's staff accounts: the owner invites another mobile number and removes staff.

Without SMS, an invitation is a one-time set-password link (a 3-day ``invite`` token, only its
SHA-256 stored) that the owner hands to the new member: the owner never learns their password,
the link works once and expires, and an unused one can be withdrawn by removing the member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.accounts import security
from farmgate.accounts import service as accounts
from farmgate.db import pk, utcnow
from farmgate.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from farmgate.models import Account, AuthToken, Role
from farmgate.validators import normalize_mobile

INVITE_KIND = "invite"
INVITE_DAYS = 3


@dataclass(frozen=True)
class Invitation:
    account: Account
    token: str | None  # the set-password secret, shown once; None when an account was bound
    expires_days: int = INVITE_DAYS


def _staff(actor: Account) -> int:
    if actor.role != Role.COOPERATIVE or actor.cooperative_id is None:
        raise PermissionDenied("需要合作社账号")
    return actor.cooperative_id


def _owner(actor: Account) -> int:
    cooperative_id = _staff(actor)
    if not actor.is_owner:
        raise PermissionDenied("只有合作社负责人可以添加或移除工作人员")
    return cooperative_id


def list_staff(session: Session, actor: Account) -> list[Account]:
    """The cooperative's staff, the owner first."""
    cooperative_id = _staff(actor)
    query = select(Account).where(
        col(Account.cooperative_id) == cooperative_id, col(Account.role) == Role.COOPERATIVE
    )
    return sorted(session.scalars(query), key=lambda a: (not a.is_owner, a.id or 0))


def get_member(session: Session, actor: Account, account_id: int) -> Account:
    """One staff member of the actor's own cooperative; anyone else's is "not found"."""
    cooperative_id = _staff(actor)
    member = session.get(Account, account_id)
    if member is None or member.cooperative_id != cooperative_id:
        raise NotFound("工作人员不存在")
    return member


def pending_invite(session: Session, member: Account) -> bool:
    """Whether the member still has an unused, unexpired set-password link."""
    return (
        session.scalars(
            select(col(AuthToken.id)).where(
                col(AuthToken.account_id) == member.id,
                col(AuthToken.kind) == INVITE_KIND,
                col(AuthToken.revoked_at).is_(None),
                col(AuthToken.expires_at) > utcnow(),
            )
        ).first()
        is not None
    )


def invite(session: Session, owner: Account, phone: str, display_name: str = "") -> Invitation:
    """Add a mobile number as staff: a new account with a set-password link, or an existing
    shopper's account bound to the cooperative (it keeps its own password)."""
    cooperative_id = _owner(owner)
    try:
        phone = normalize_mobile(phone)
    except ValueError as exc:
        raise ValidationFailed(str(exc), fields={"phone": str(exc)}) from exc
    name = display_name.strip()
    if len(name) > 50:
        raise ValidationFailed("称呼不能超过50个字", fields={"display_name": "不能超过50个字"})
    existing = accounts.get_by_phone(session, phone)
    if existing is not None:
        if existing.cooperative_id == cooperative_id:
            raise Conflict("这个手机号已经是本社工作人员", fields={"phone": "已经是本社工作人员"})
        if existing.role != Role.CONSUMER or existing.cooperative_id is not None:
            raise Conflict(
                "这个手机号已用于其他合作社或平台账号，不能添加",
                fields={"phone": "已用于其他合作社或平台账号"},
            )
        existing.role, existing.cooperative_id, existing.is_owner = (
            Role.COOPERATIVE,
            cooperative_id,
            False,
        )
        if name and not existing.display_name:
            existing.display_name = name
        session.add(existing)
        return Invitation(existing, None)
    # No usable password until the member sets one through the link.
    member = accounts.create_account(
        session,
        phone=phone,
        password=security.new_token(),
        display_name=name,
        role=Role.COOPERATIVE,
        cooperative_id=cooperative_id,
    )
    member.password_hash = "!"  # never verifies: the member's own password comes via the link
    session.add(member)
    token = security.new_token()
    session.add(
        AuthToken(
            token_hash=security.token_digest(token),
            account_id=pk(member),
            kind=INVITE_KIND,
            expires_at=utcnow() + timedelta(days=INVITE_DAYS),
        )
    )
    session.flush()
    return Invitation(member, token)


def invited_account(session: Session, token: str) -> Account:
    """The account a set-password link belongs to, while the link is unused and unexpired."""
    account = accounts.resolve_token(session, token, INVITE_KIND)
    if account is None or account.role != Role.COOPERATIVE:
        raise NotFound("链接已失效，请联系合作社负责人重新添加")
    return account


def accept_invite(session: Session, token: str, password: str) -> Account:
    """The invited member sets a password; the link is used up."""
    account = invited_account(session, token)
    accounts.set_password(session, account, password)
    accounts.revoke_token(session, token)
    return account


def remove(session: Session, owner: Account, account_id: int) -> Account:
    """The owner removes a member: no longer staff, signed out everywhere, links withdrawn."""
    _owner(owner)
    member = get_member(session, owner, account_id)
    if member.id == owner.id:
        raise Conflict("不能移除自己", fields={"member": "不能移除自己"})
    member.role, member.cooperative_id, member.is_owner = Role.CONSUMER, None, False
    session.add(member)
    session.execute(
        update(AuthToken)
        .where(col(AuthToken.account_id) == member.id, col(AuthToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return member
