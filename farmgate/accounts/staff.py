"""Accounts the township creates for its people (couriers, station staff): a checked phone
number and name, and a first password shown once (only its hash is kept)."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from farmgate.accounts import service as accounts
from farmgate.errors import Conflict, ValidationFailed
from farmgate.models import Account, Role
from farmgate.validators import normalize_mobile

# No 0/o, 1/l/i: read aloud over the phone or copied from a screen by someone over 50.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def first_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def create_staff_account(
    session: Session,
    *,
    phone: str,
    name: str,
    role: Role,
    who: str,
    phone_field: str = "phone",
    name_field: str = "display_name",
) -> tuple[Account, str]:
    """A new account with ``role`` and its first password; bad input is refused with each
    message beside its form field (``phone_field``, ``name_field``), nothing created."""
    errors: dict[str, str] = {}
    try:
        phone = normalize_mobile(phone)
    except ValueError as exc:
        errors[phone_field] = str(exc)
    name = " ".join(name.split())
    if not name:
        errors[name_field] = f"请填写{who}的姓名"
    elif len(name) > 50:
        errors[name_field] = "姓名不能超过50个字"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    if accounts.get_by_phone(session, phone) is not None:
        raise Conflict("这个手机号已经有账号", fields={phone_field: "这个手机号已经有账号"})
    password = first_password()
    account = accounts.create_account(
        session, phone=phone, password=password, display_name=name, role=role
    )
    return account, password
