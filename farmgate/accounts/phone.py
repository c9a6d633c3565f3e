"""Accounts by SMS: register or sign in with a code (one flow: a new number makes a consumer
account), reset a password with a code. Proving the number links the guest orders placed with
it. No answer here depends on whether the number already has an account."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.accounts import service
from farmgate.db import utcnow
from farmgate.errors import ValidationFailed
from farmgate.models import Account, Role
from farmgate.sms import codes
from farmgate.sms.codes import Purpose


def request_code(session: Session, phone: str, purpose: Purpose, client_address: str) -> None:
    """Queue a code for ``phone``. For a password reset of a number with no (active) account
    nothing is sent, but the code is recorded and counted exactly alike, so the answer and the
    limits are the same either way."""
    deliver = True
    if purpose == Purpose.RESET:
        account = service.get_by_phone(session, phone)
        deliver = account is not None and account.is_active
    codes.request_code(session, phone, purpose, client_address, deliver=deliver)


def _verified(session: Session, account: Account) -> Account:
    if account.phone_verified_at is None:
        account.phone_verified_at = utcnow()
        session.add(account)
    service.link_guest_orders(session, account)
    return account


def sign_in_with_code(session: Session, phone: str, code: str) -> Account:
    """The account of ``phone`` once ``code`` proves the number; made (a consumer without a
    password) when the number has none. Raises ``ValidationFailed`` on a bad code."""
    codes.verify_code(session, phone, Purpose.LOGIN, code)
    account = service.get_by_phone(session, phone)
    if account is None:
        account = Account(phone=phone, password_hash="", role=Role.CONSUMER)
        session.add(account)
        session.flush()
    elif not account.is_active:
        raise ValidationFailed("该账号已停用，请联系乡镇管理员", code="account_inactive")
    return _verified(session, account)


def register_with_code(
    session: Session, phone: str, code: str, password: str | None, display_name: str = ""
) -> Account:
    """The API's registration: sign in with a code and set the password if one is given (the
    code proves the number, so for an existing account this is a password reset)."""
    if password is not None:
        service.check_password_strength(password)
    account = sign_in_with_code(session, phone, code)
    if password is not None:
        service.set_password(session, account, password)
    if display_name and not account.display_name:
        account.display_name = display_name
        session.add(account)
    return account


def reset_password(session: Session, phone: str, code: str, password: str) -> Account:
    """Set a new password for ``phone``'s account once a reset code proves the number."""
    service.check_password_strength(password)  # before the code is used up
    codes.verify_code(session, phone, Purpose.RESET, code)
    account = service.get_by_phone(session, phone)
    if account is None or not account.is_active:  # no code was sent: nobody can get here
        raise ValidationFailed(codes.INVALID, code="code_invalid", fields={"code": codes.INVALID})
    service.set_password(session, account, password)
    return _verified(session, account)
