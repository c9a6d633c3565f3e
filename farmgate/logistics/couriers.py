"""The township's own courier accounts, kept by the township admin: created with a first
password shown once (no SMS), assigned to the villages they serve, deactivated (signed out
everywhere, no more sign-in). Every change records an audit entry in the same transaction."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import audit
from farmgate.accounts.staff import create_staff_account
from farmgate.db import utcnow
from farmgate.errors import NotFound, PermissionDenied, ValidationFailed
from farmgate.models import Account, AuthToken, CourierVillage, Role, Village


def _admin(actor: Account) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied("只有乡镇管理员可以管理配送员")


def list_couriers(session: Session, admin: Account) -> list[Account]:
    """Every courier account, active ones first."""
    _admin(admin)
    rows = session.scalars(select(Account).where(col(Account.role) == Role.COURIER))
    return sorted(rows, key=lambda a: (not a.is_active, a.display_name, a.id or 0))


def get_courier(session: Session, admin: Account, courier_id: int) -> Account:
    _admin(admin)
    courier = session.get(Account, courier_id)
    if courier is None or courier.role != Role.COURIER:
        raise NotFound("配送员不存在", context={"courier_id": courier_id})
    return courier


def villages_of(session: Session, courier_ids: list[int]) -> dict[int, list[Village]]:
    rows = session.execute(
        select(col(CourierVillage.account_id), Village)
        .join(Village, col(Village.id) == CourierVillage.village_id)
        .where(col(CourierVillage.account_id).in_(courier_ids))
        .order_by(col(Village.id))
    ).all()
    found: dict[int, list[Village]] = {}
    for account_id, village in rows:
        found.setdefault(account_id, []).append(village)
    return found


def create(session: Session, admin: Account, phone: str, name: str) -> tuple[Account, str]:
    """A new courier account and its first password (shown once; only its hash is kept)."""
    _admin(admin)
    courier, password = create_staff_account(
        session, phone=phone, name=name, role=Role.COURIER, who="配送员"
    )
    audit.record(
        session,
        admin,
        "courier.create",
        "account",
        courier.id,
        f"新建配送员 {name}（{phone}）",
        after={"phone": phone, "name": name, "active": True},
    )
    return courier, password


def set_villages(session: Session, admin: Account, courier_id: int, village_ids: list[int]) -> bool:
    """The villages the courier serves, replacing the old list; False when nothing changed."""
    courier = get_courier(session, admin, courier_id)
    wanted = set(village_ids)
    known = set(session.scalars(select(col(Village.id)).where(col(Village.id).in_(wanted))))
    if known != wanted:
        raise ValidationFailed("请从列表中选择村", fields={"villages": "请从列表中选择村"})
    links = list(
        session.scalars(select(CourierVillage).where(col(CourierVillage.account_id) == courier.id))
    )
    before = sorted(link.village_id for link in links)
    if set(before) == wanted:
        return False
    for link in links:
        if link.village_id not in wanted:
            session.delete(link)
    for village_id in sorted(wanted - set(before)):
        session.add(CourierVillage(account_id=courier.id, village_id=village_id))  # type: ignore[arg-type]
    session.flush()
    audit.record(
        session,
        admin,
        "courier.villages",
        "account",
        courier.id,
        f"调整配送员 {courier.display_name} 负责的村",
        before={"villages": before},
        after={"villages": sorted(wanted)},
    )
    return True


def deactivate(session: Session, admin: Account, courier_id: int) -> bool:
    """No more sign-in, signed out everywhere; False when already deactivated."""
    courier = get_courier(session, admin, courier_id)
    if not courier.is_active:
        return False
    courier.is_active = False
    session.add(courier)
    session.execute(
        update(AuthToken)
        .where(col(AuthToken.account_id) == courier.id, col(AuthToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    audit.record(
        session,
        admin,
        "courier.deactivate",
        "account",
        courier.id,
        f"停用配送员 {courier.display_name}（{courier.phone}）",
        before={"active": True},
        after={"active": False},
    )
    return True


def all_villages(session: Session) -> list[Village]:
    return list(session.scalars(select(Village).order_by(col(Village.id))))
