"""Payment jobs (rules in farmgate/jobs/__init__.py): apply, refund, reconcile."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.jobs.errors import PermanentJobError, TransientJobError
from farmgate.jobs.registry import job, periodic
from farmgate.models import IntentStatus, Order, OrderStatus, PaymentIntent, Refund, RefundStatus
from farmgate.payments import providers, reconciliation, service
from farmgate.payments.provider import PaymentError, PaymentUnavailable
from farmgate.payments.wechat_v3 import WeChatPayV3
from farmgate.timeutil import LOCAL_TZ

log = logging.getLogger(__name__)


class NotificationArgs(TypedDict):
    notification_id: int


class RefundArgs(TypedDict):
    refund_id: int


@job("payments.apply_notification", queue="quick", max_tries=8, timeout=20)
def apply_notification(session: Session, args: NotificationArgs) -> None:
    """Keyed by the provider's transaction id; a stored notification is applied once.

    Queued only by the webhook, with a notification it stored but failed to apply (cash,
    reconciliation and a lost intent's answer store and apply in one transaction, or not at
    all); also runs rows queued before that change, finding them applied."""
    service.apply_notification(session, args["notification_id"])


@job("payments.refund", queue="slow", max_tries=8, timeout=30, backoff_base=30)
def refund(session: Session, args: RefundArgs) -> None:
    """Keyed by out_refund_no, which the provider also treats as idempotent."""
    row = session.get(Refund, args["refund_id"], with_for_update=True)
    if row is None or row.status != RefundStatus.REQUESTED:
        return
    intent = session.get(PaymentIntent, row.intent_id)
    assert intent is not None
    provider = providers.provider(intent.provider)
    try:
        result = provider.refund(
            out_trade_no=intent.out_trade_no,
            out_refund_no=row.out_refund_no,
            total_fen=intent.amount_fen,
            refund_fen=row.amount_fen,
            reason=row.reason,
        )
        if result.status == "PROCESSING":
            result = provider.refund_status(row.out_refund_no)
    except PaymentUnavailable as exc:
        raise TransientJobError(str(exc)) from exc
    except PaymentError as exc:
        # The refund stays "requested" (its amount stays reserved) and the dead letter shows
        # the admin why; re-driving it repeats the same out_refund_no, so it is never doubled.
        raise PermanentJobError(str(exc)) from exc
    if result.status == "PROCESSING":
        # Accepted; the bank is still moving it. Refunding again with the same out_refund_no
        # is safe, so the retry simply repeats both calls.
        raise TransientJobError(f"refund {row.out_refund_no} still processing")
    if result.status == "PENDING_CASH":
        row.status, row.refund_id = RefundStatus.PENDING_CASH, result.refund_id
        session.add(row)
        return
    if result.status != "SUCCESS":  # CLOSED, ABNORMAL, REFUNDCLOSE, CHANGE: a person must act
        raise PermanentJobError(f"refund {row.out_refund_no} ended {result.status}")
    service.complete_refund(session, row, result.refund_id)


@periodic("payments.reconcile", every_seconds=60)
def reconcile(session: Session) -> int:
    """Ask the provider about intents still waiting (a notification may have been lost)."""
    cutoff = utcnow() - timedelta(minutes=1)
    waiting = session.scalars(
        select(PaymentIntent)
        .join(Order, col(Order.id) == PaymentIntent.order_id)
        .where(
            col(PaymentIntent.status) == IntentStatus.CREATED,
            col(PaymentIntent.created_at) < cutoff,
        )
        .where(col(PaymentIntent.provider) != "cash")  # only staff can say cash was paid
        .where(col(Order.status).in_([OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED]))
        .limit(100)
    ).all()
    found = 0
    for intent in waiting:
        try:
            result = providers.provider(intent.provider).query(intent.out_trade_no)
        except PaymentError:
            continue
        found += service.record_provider_paid(session, intent, result, "reconciliation") is not None
    return found


def configured_v3() -> WeChatPayV3 | None:
    """The v3 provider when this installation has one configured, else None."""
    try:
        found = providers.provider("wechat_v3")
    except providers.PaymentFailed:
        return None
    return found if isinstance(found, WeChatPayV3) else None


@periodic("payments.refresh_platform_certificates", every_seconds=3600)
def refresh_platform_certificates(session: Session) -> int:
    """Download WeChat's platform certificates again (certificate mode): the only download
    besides start-up's, as a notification with an unknown serial is refused, not followed.
    A failure keeps the certificates held and is retried next hour."""
    provider = configured_v3()
    return provider.refresh_platform_certificates() if provider is not None else 0


@periodic("payments.check_bill", every_seconds=3600)
def check_bill(session: Session) -> bool:
    """Once a day, after WeChat publishes it, check yesterday's trade bill against our
    payments and refunds (differences become township alerts). Hourly, so that a failed
    download is tried again the next hour; a day already checked is left alone."""
    now = datetime.now(LOCAL_TZ)
    day = now.date() - timedelta(days=1)
    if now.hour < settings.bill_check_hour or reconciliation.checked(session, day):
        return False
    try:
        reconciliation.reconcile_day(session, day)
    except providers.PaymentFailed:
        return False  # WeChat Pay not configured (cash only, or the demo without simulator)
    except PaymentError as exc:
        log.warning("trade bill for %s not checked: %s", day, exc)
        return False
    return True
