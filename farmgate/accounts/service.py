"""Accounts: registration, sign-in with throttling, sessions and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import col

from farmgate.accounts import security
from farmgate.config import settings
from farmgate.db import pk, table_of, utcnow
from farmgate.errors import AuthenticationRequired, Conflict, Throttled, ValidationFailed
from farmgate.models import Account, AuthToken, LoginThrottle, Order, Role

MIN_PASSWORD_LENGTH = 8


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"密码至少需要{MIN_PASSWORD_LENGTH}位",
            fields={"password": f"至少{MIN_PASSWORD_LENGTH}位"},
        )


def get_by_phone(session: Session, phone: str) -> Account | None:
    return session.scalars(select(Account).where(col(Account.phone) == phone)).first()


def create_account(
    session: Session,
    *,
    phone: str,
    password: str,
    display_name: str = "",
    role: Role = Role.CONSUMER,
    cooperative_id: int | None = None,
) -> Account:
    check_password_strength(password)
    if role == Role.COOPERATIVE and cooperative_id is None:
        raise ValidationFailed("合作社账号必须绑定一个合作社")
    if get_by_phone(session, phone) is not None:
        raise Conflict("该手机号已注册", code="phone_taken", fields={"phone": "已注册"})
    # The cooperative's first staff account is its owner (who alone invites and removes staff).
    first_staff = role == Role.COOPERATIVE and (
        session.scalars(
            select(col(Account.id)).where(col(Account.cooperative_id) == cooperative_id)
        ).first()
        is None
    )
    account = Account(
        phone=phone,
        password_hash=security.hash_password(password),
        display_name=display_name,
        role=role,
        cooperative_id=cooperative_id if role == Role.COOPERATIVE else None,
        is_owner=first_staff,
    )
    session.add(account)
    session.flush()
    return account


def has_password(account: Account) -> bool:
    """Accounts made by an SMS code sign in by code until their holder sets a password."""
    return bool(account.password_hash)


def link_guest_orders(session: Session, account: Account) -> int:
    """Give the account every guest order placed with its number; only call this once the
    holder has proved the number is theirs (an SMS code). How many were linked."""
    result = session.execute(
        update(Order)
        .where(col(Order.account_id).is_(None), col(Order.phone) == account.phone)
        .values(account_id=pk(account))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def set_password(session: Session, account: Account, password: str) -> None:
    check_password_strength(password)
    account.password_hash = security.hash_password(password)
    session.add(account)


# --- sign-in ----------------------------------------------------------------------------


def _throttle_row(session: Session, phone: str) -> LoginThrottle | None:
    return session.get(LoginThrottle, phone, with_for_update=True)


def authenticate(session: Session, phone: str, password: str) -> Account:
    """Check a phone + password; count failures and lock the number after too many.

    Failures are recorded even though the caller's request fails, so the caller must commit
    the session after an ``AuthenticationRequired`` (the API's session dependency does this
    for errors marked ``commit_anyway``).
    """
    now = utcnow()
    throttle = _throttle_row(session, phone)
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        minutes = max(1, int((throttle.locked_until - now).total_seconds() // 60) + 1)
        raise Throttled(f"登录失败次数过多，请{minutes}分钟后再试", commit_anyway=True)

    account = get_by_phone(session, phone)
    ok = security.verify_password(account.password_hash if account else None, password)
    if ok and account is not None and account.is_active:
        if throttle is not None:
            session.delete(throttle)
        if security.needs_rehash(account.password_hash):
            account.password_hash = security.hash_password(password)
        if account.phone_verified_at is not None:  # guest orders placed since the last time
            link_guest_orders(session, account)
        return account

    window = timedelta(minutes=settings.login_lock_minutes)
    if throttle is None:
        throttle = LoginThrottle(phone=phone, failures=0, first_failure_at=now)
    elif now - throttle.first_failure_at > window:
        throttle.failures, throttle.first_failure_at, throttle.locked_until = 0, now, None
    throttle.failures += 1
    if throttle.failures >= settings.login_max_failures:
        throttle.locked_until = now + window
    session.add(throttle)
    raise AuthenticationRequired(
        "手机号或密码不正确", code="invalid_credentials", commit_anyway=True
    )


# --- tokens -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: AuthToken


def issue_token(session: Session, account: Account, kind: str) -> IssuedToken:
    days = settings.session_days if kind == "session" else settings.api_token_days
    token = security.new_token()
    record = AuthToken(
        token_hash=security.token_digest(token),
        account_id=pk(account),
        kind=kind,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(record)
    session.flush()
    return IssuedToken(token, record)


# Every signed-in request resolves its token: one Core statement, built once, of the
# account's columns and the token's two dates (no ORM query, no AuthToken object).
_ACCOUNT_COLUMNS = tuple(Account.__table__.columns)  # type: ignore[attr-defined]
_TOKEN = table_of(AuthToken)
_RESOLVE = (
    select(*_ACCOUNT_COLUMNS, _TOKEN.c.expires_at, _TOKEN.c.revoked_at)
    .select_from(_TOKEN)
    .join(Account.__table__, Account.__table__.c.id == _TOKEN.c.account_id)  # type: ignore[attr-defined]
    .where(_TOKEN.c.token_hash == bindparam("token_hash"), _TOKEN.c.kind == bindparam("kind"))
)
_ACCOUNT_KEYS = tuple(column.key for column in _ACCOUNT_COLUMNS)


def resolve_token(session: Session, token: str, kind: str) -> Account | None:
    """The active account a token belongs to, or None if unknown, expired or revoked.

    The account is the session's persistent ``Account`` (as a query would give it), built
    from the row: the caller may change it like any loaded object.
    """
    if session.autoflush:
        session.flush()  # as an ORM query would: a token revoked in this session is revoked
    row = session.execute(
        _RESOLVE, {"token_hash": security.token_digest(token), "kind": kind}
    ).first()
    if row is None:
        return None
    *values, expires_at, revoked_at = row
    account_values = dict(zip(_ACCOUNT_KEYS, values, strict=True))
    if revoked_at is not None or expires_at <= utcnow() or not account_values["is_active"]:
        return None
    held = session.identity_map.get(session.identity_key(Account, account_values["id"]))
    if held is not None:
        # Already loaded in this session: the ORM gives the object it holds, refreshed if
        # expired; let it do so.
        return session.get(Account, account_values["id"])
    return _attach(session, account_values)


def _attach(session: Session, values: dict[str, object]) -> Account:
    """An ``Account`` in ``session`` built from its stored column values, as if loaded."""
    account: Account = manager_of_class(Account).new_instance()
    vars(account).update(values)
    make_transient_to_detached(account)
    session.add(account)
    return account


def revoke_token(session: Session, token: str) -> None:
    record = session.scalars(
        select(AuthToken).where(col(AuthToken.token_hash) == security.token_digest(token))
    ).first()
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
        session.add(record)
