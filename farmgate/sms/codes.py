"""Verification codes: 6 digits, valid for a few minutes, one request per minute per number,
daily limits per number and per client address, a few wrong answers at most, bound to their
number and purpose, used once. Stored as an HMAC under the secret key, never in the clear."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import pk, utcnow
from farmgate.errors import Throttled, ValidationFailed
from farmgate.models import SmsCode
from farmgate.timeutil import LOCAL_TZ, local_today


class Purpose(StrEnum):
    LOGIN = "login"  # register or sign in: one flow, a new number makes an account
    RESET = "reset"  # set a new password


def _mac(message: str) -> bytes:
    return hmac.new(settings.secret_key.encode(), message.encode(), hashlib.sha256).digest()


def code_digest(phone: str, purpose: str, code: str) -> str:
    """What is stored: bound to the number and the purpose, so a code answers nothing else."""
    return _mac(f"sms-code:{purpose}:{phone}:{code}").hex()


def code_for(row: SmsCode) -> str:
    """The code a row stands for, made again from its seed (only with the secret key)."""
    number = int.from_bytes(_mac(f"sms-seed:{row.seed}")[:8], "big") % 1_000_000
    return f"{number:06d}"


def client_digest(address: str) -> str:
    return hashlib.sha256(f"sms-client:{address}".encode()).hexdigest()[:24]


def _day_start() -> datetime:
    return datetime.combine(local_today(), time(0), LOCAL_TZ)


def _count_since(session: Session, condition: ColumnElement[bool], since: datetime) -> int:
    found = session.scalar(
        select(func.count()).select_from(SmsCode).where(condition, col(SmsCode.created_at) >= since)
    )
    return int(found or 0)


def request_code(
    session: Session, phone: str, purpose: Purpose, client_address: str, *, deliver: bool = True
) -> SmsCode:
    """Make a new code for ``phone`` (replacing any earlier one for the same purpose) and queue
    its message, unless ``deliver`` is False. Raises ``Throttled`` within the resend interval
    or over a daily limit; the answer never depends on whether the number has an account."""
    now = utcnow()
    latest = session.scalars(
        select(SmsCode)
        .where(col(SmsCode.phone) == phone)
        .order_by(col(SmsCode.created_at).desc(), col(SmsCode.id).desc())
        .limit(1)
    ).first()
    if latest is not None:
        wait = settings.sms_resend_seconds - int((now - latest.created_at).total_seconds())
        if wait > 0:
            raise Throttled(
                f"验证码已发送，请{wait}秒后再重新获取",
                code="sms_resend_too_soon",
                fields={"phone": f"{wait}秒后可重新获取"},
                context={"retry_after": wait},
            )
    since = _day_start()
    if _count_since(session, col(SmsCode.phone) == phone, since) >= settings.sms_daily_per_phone:
        raise Throttled(
            "这个手机号今天获取验证码的次数已达上限，请明天再试",
            code="sms_daily_limit",
            fields={"phone": "今天的次数已用完"},
        )
    client = client_digest(client_address)
    if (
        _count_since(session, col(SmsCode.client) == client, since)
        >= settings.sms_daily_per_address
    ):
        raise Throttled(
            "今天获取验证码的次数已达上限，请明天再试",
            code="sms_daily_limit",
            fields={"phone": "今天的次数已用完"},
        )
    # Only the newest code of a number and purpose is good.
    session.execute(
        update(SmsCode)
        .where(
            col(SmsCode.phone) == phone,
            col(SmsCode.purpose) == purpose.value,
            col(SmsCode.used_at).is_(None),
        )
        .values(used_at=now)
    )
    row = SmsCode(
        phone=phone,
        purpose=purpose.value,
        code_hash="",
        seed=secrets.token_hex(16),
        client=client,
        deliver=deliver,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.sms_code_minutes),
    )
    row.code_hash = code_digest(phone, purpose.value, code_for(row))
    session.add(row)
    session.flush()
    if deliver:  # the job (farmgate/sms/tasks.py) reads the row; the outbox never sees the code
        from farmgate.jobs import outbox  # its session listeners come with the first use

        outbox.enqueue(session, "sms.send_code", {"code_id": pk(row)}, key=f"sms_code:{pk(row)}")
    return row


INVALID = "验证码无效或已用过，请重新获取"


def verify_code(session: Session, phone: str, purpose: Purpose, code: str) -> SmsCode:
    """Use the newest code of ``phone`` for ``purpose`` if ``code`` is it; else raise
    ``ValidationFailed`` (field ``code``), counting the wrong answer (commit even so)."""
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        raise ValidationFailed("请输入短信里的6位数字验证码", fields={"code": "6位数字"})
    now = utcnow()
    row = session.scalars(
        select(SmsCode)
        .where(col(SmsCode.phone) == phone, col(SmsCode.purpose) == purpose.value)
        .order_by(col(SmsCode.created_at).desc(), col(SmsCode.id).desc())
        .limit(1)
        .with_for_update()
    ).first()
    if row is None or row.used_at is not None:
        raise ValidationFailed(INVALID, code="code_invalid", fields={"code": INVALID})
    if row.expires_at <= now:
        row.used_at = now
        session.add(row)
        message = "验证码已过期，请重新获取"
        raise ValidationFailed(
            message, code="code_expired", fields={"code": message}, commit_anyway=True
        )
    if not hmac.compare_digest(row.code_hash, code_digest(phone, purpose.value, code)):
        row.attempts += 1
        left = settings.sms_code_max_attempts - row.attempts
        if left <= 0:
            row.used_at = now
            message = "验证码错误次数过多，已失效，请重新获取"
        else:
            message = f"验证码不正确，还可以再试{left}次"
        session.add(row)
        raise ValidationFailed(
            message, code="code_wrong", fields={"code": message}, commit_anyway=True
        )
    row.used_at = now
    session.add(row)
    return row
