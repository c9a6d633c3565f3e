"""SMS jobs (rules in farmgate/jobs/__init__.py): send a verification code."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from sqlalchemy import delete
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.jobs.errors import PermanentJobError, TransientJobError
from farmgate.jobs.registry import job, periodic
from farmgate.models import SmsCode
from farmgate.sms import codes
from farmgate.sms.sender import SmsError, SmsUnavailable, configured_sender


class SendCodeArgs(TypedDict):
    code_id: int


@job("sms.send_code", queue="quick", max_tries=5, timeout=25, backoff_base=5, backoff_max=60)
def send_code(session: Session, args: SendCodeArgs) -> None:
    """Send a code's message. A code already used, replaced or expired is not sent: a retry
    that comes too late would only confuse. The gateway's refusals (an invalid number, its
    daily limit) dead-letter at once; timeouts and throttling are retried."""
    row = session.get(SmsCode, args["code_id"], with_for_update=True)
    if row is None or not row.deliver or row.sent_at is not None:
        return
    if row.used_at is not None or row.expires_at <= utcnow():
        return
    template = (
        settings.sms_template_reset
        if row.purpose == codes.Purpose.RESET
        else settings.sms_template_login
    )
    try:
        configured_sender().send(
            row.phone, template, [codes.code_for(row), str(settings.sms_code_minutes)]
        )
    except SmsUnavailable as exc:
        raise TransientJobError(str(exc)) from exc
    except SmsError as exc:
        raise PermanentJobError(str(exc)) from exc
    row.sent_at = utcnow()
    session.add(row)


@periodic("sms.prune_codes", every_seconds=3600)
def prune_codes(session: Session) -> int:
    """Forget codes (and the numbers on them) once no limit counts them: after two days."""
    result = session.execute(
        delete(SmsCode).where(col(SmsCode.created_at) < utcnow() - timedelta(days=2))
    )
    return int(getattr(result, "rowcount", 0) or 0)
