"""A buyer's address book: saved delivery addresses, one of them the default.

The township's own villages are offered as choices; an address in this township must name one
of them (or none), so the township's couriers and stations know where it is.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import places
from farmgate.db import pk
from farmgate.errors import NotFound, ValidationFailed
from farmgate.models import Account, Address
from farmgate.orders.schemas import AddressIn

MAX_ADDRESSES = 20
FIELDS = (
    "recipient",
    "phone",
    "province",
    "city",
    "county",
    "township",
    "village",
    "address_detail",
)


def list_for(session: Session, account: Account) -> list[Address]:
    """The account's addresses, the default first."""
    return list(
        session.scalars(
            select(Address)
            .where(col(Address.account_id) == account.id)
            .order_by(col(Address.is_default).desc(), col(Address.id))
        )
    )


def get_for(session: Session, account: Account, address_id: int) -> Address:
    """One of the account's addresses; anyone else's is "not found"."""
    address = session.get(Address, address_id)
    if address is None or address.account_id != account.id:
        raise NotFound("地址不存在")
    return address


def default_for(session: Session, account: Account) -> Address | None:
    found = list_for(session, account)
    return found[0] if found else None


def village_choices(session: Session) -> list[str]:
    """The configured township's villages, offered when filling in an address."""
    return [v.name for v in places.list_villages(session)]


def local_defaults(session: Session) -> dict[str, str]:
    """The configured township's province, city, county and name, to start a new address."""
    township = places.current_township(session)
    if township is None:
        return {"province": "湖南省"}
    return {
        "province": township.province,
        "city": township.city,
        "county": township.county,
        "township": township.name,
    }


def _check_village(session: Session, data: AddressIn) -> None:
    township = places.current_township(session)
    if township is None or data.township != township.name or not data.village:
        return
    known = {name.removesuffix("村") for name in village_choices(session)}
    if data.village.removesuffix("村") not in known:
        raise ValidationFailed(
            "村名不在本乡的村里",
            fields={"village": f"{township.name}没有这个村，请从列表中选择，或留空写在详细地址里"},
        )


def _unset_default(session: Session, account: Account, keep: int) -> None:
    for other in list_for(session, account):
        if other.is_default and other.id != keep:
            other.is_default = False
            session.add(other)


def add(session: Session, account: Account, data: AddressIn, *, default: bool = False) -> Address:
    """Save a new address; the first one (or one asked to be) becomes the default."""
    _check_village(session, data)
    existing = list_for(session, account)
    if len(existing) >= MAX_ADDRESSES:
        raise ValidationFailed(f"最多保存 {MAX_ADDRESSES} 个地址，请先删除不用的地址")
    address = Address(
        account_id=pk(account), **data.model_dump(), is_default=default or not existing
    )
    session.add(address)
    session.flush()
    if address.is_default:
        _unset_default(session, account, pk(address))
    return address


def update(session: Session, account: Account, address_id: int, data: AddressIn) -> Address:
    address = get_for(session, account, address_id)
    _check_village(session, data)
    for name, value in data.model_dump().items():
        setattr(address, name, value)
    session.add(address)
    session.flush()
    return address


def set_default(session: Session, account: Account, address_id: int) -> Address:
    address = get_for(session, account, address_id)
    address.is_default = True
    session.add(address)
    _unset_default(session, account, address_id)
    session.flush()
    return address


def delete(session: Session, account: Account, address_id: int) -> None:
    """Delete an address; if it was the default, the oldest one left becomes the default."""
    address = get_for(session, account, address_id)
    was_default = address.is_default
    session.delete(address)
    session.flush()
    if was_default:
        left = list_for(session, account)
        if left:
            left[0].is_default = True
            session.add(left[0])
            session.flush()


def as_values(address: Address) -> dict[str, str]:
    """The address as form values (checkout's fields)."""
    return {name: str(getattr(address, name)) for name in FIELDS}


def same(address: Address, values: dict[str, str]) -> bool:
    return all(str(getattr(address, name)) == values.get(name, "") for name in FIELDS)
