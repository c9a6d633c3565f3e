"""The job that sends one notification (rules in farmgate/jobs/__init__.py).

The channel is picked when the job runs, so an openid bound after the event still counts:
a WeChat template message when the order or its account has an openid and the kind's template
is configured; an SMS to the order's phone otherwise (and when WeChat refuses for good, e.g.
the buyer unfollowed). Timeouts and throttling are retried by the outbox; every try is recorded
on the notification, and the last failure dead-letters visibly (``farmgate jobs``).
"""

from __future__ import annotations

from typing import Any, TypedDict

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import update_row, utcnow
from farmgate.jobs.errors import PermanentJobError, TransientJobError
from farmgate.jobs.registry import job
from farmgate.models import (
    Account,
    Notification,
    NotificationKind,
    NotificationStatus,
    Order,
)
from farmgate.notify import messages, service
from farmgate.sms.sender import SmsError, SmsNotConfigured, SmsUnavailable, configured_sender
from farmgate.wechat import client as wechat
from farmgate.wechat import identity
from farmgate.wechat.errors import WeChatError, WeChatUnavailable

K = NotificationKind
S = NotificationStatus
NO_CHANNEL = "没有可用的发送渠道：订单没有绑定微信（或未配置模板消息），短信也未配置"


class SendArgs(TypedDict):
    notification_id: int


def wechat_template(kind: NotificationKind) -> str:
    """The template id configured for ``kind`` ("" when WeChat is not used for it)."""
    return {
        K.PAID: settings.notify_wechat_template_paid,
        K.SHIPPED: settings.notify_wechat_template_shipped,
        K.DELIVERED: settings.notify_wechat_template_delivered,
        K.REFUND_ACCEPTED: settings.notify_wechat_template_refund,
        K.REFUND_REFUSED: settings.notify_wechat_template_refund,
        K.RECALL: settings.notify_wechat_template_recall,
    }[kind]


def openid_for(session: Session, order: Order) -> str | None:
    """The WeChat user to tell: the one who paid the order, else its account's."""
    openid = identity.order_openid(session, order)
    if openid is None and order.account_id is not None:
        account = session.get(Account, order.account_id)
        openid = identity.account_openid(session, account) if account else None
    return openid


def _by_wechat(openid: str, template: str, order: Order, message: messages.Message) -> str:
    data = {
        "first": {"value": message.headline},
        "keyword1": {"value": order.number},
        "keyword2": {"value": message.news.removeprefix("的")},
        "remark": {"value": message.remark},
    }
    return str(wechat.send_template(openid, template, data, url=message.url))


def _by_sms(order: Order, message: messages.Message) -> str:
    sent = configured_sender().send(
        order.phone, settings.notify_sms_template, message.sms_params(order.number)
    )
    return sent.serial_no


def _failed(session: Session, args: dict[str, Any], error: str, dead: bool) -> None:
    """Each failed try, recorded beside the outbox's own record of it."""
    session.execute(
        update(Notification)
        .where(col(Notification.id) == args.get("notification_id"))
        .values(
            status=S.DEAD if dead else S.RETRYING,
            attempts=Notification.attempts + 1,
            error=error[:1000],
        )
    )


# The notification (locked), its order and whether its buyer opted out, in one statement
# built once.
_NOTE_AND_ORDER = (
    select(Notification, Order, service.opted_out_column(col(Order.id), col(Order.account_id)))
    .outerjoin(Order, col(Order.id) == Notification.order_id)
    .where(col(Notification.id) == bindparam("id"))
    .with_for_update(of=Notification)
    .execution_options(populate_existing=True)
)


@job(
    "notify.send",
    queue="quick",
    max_tries=6,
    timeout=30,
    backoff_base=30,
    backoff_max=1800,
    on_failure=_failed,
)
def send(session: Session, args: SendArgs) -> None:
    """Send one notification once: a sent or skipped one is left alone."""
    found = session.execute(_NOTE_AND_ORDER, {"id": args["notification_id"]}).first()
    if found is None:
        return
    note, order, opted_out = found
    if note.status in (S.SENT, S.SKIPPED) or order is None:
        return
    # This try and its outcome: one Core UPDATE. The notification object is not changed
    # before it, so the commit has nothing to flush.
    with session.no_autoflush:
        outcome = {"attempts": note.attempts + 1, **_send(session, note, order, opted_out)}
    update_row(session, note, outcome)


def _send(session: Session, note: Notification, order: Order, opted_out: bool) -> dict[str, object]:
    """Try to send ``note``: what the try changed on it (status, channel, error...)."""
    kind = K(note.kind)
    if kind not in service.ALWAYS_SENT and opted_out:
        return {"status": S.SKIPPED, "error": service.OPTED_OUT}
    message = messages.compose(session, note, order)
    openid = openid_for(session, order) if wechat.configured() else None
    template = wechat_template(kind)
    refused_by_wechat = ""
    if openid and template:
        try:
            provider_id = _by_wechat(openid, template, order, message)
            return {
                "provider_id": provider_id,
                "channel": "wechat",
                "status": S.SENT,
                "sent_at": utcnow(),
                "error": "",
            }
        except WeChatUnavailable as exc:
            raise TransientJobError(exc.message) from exc
        except WeChatError as exc:  # unfollowed, template gone: no retry helps; try SMS
            refused_by_wechat = f"微信：{exc.message}"
    if not order.phone:  # the buyer's account was erased: no number left to text
        return {"status": S.SKIPPED, "error": refused_by_wechat or NO_CHANNEL}
    try:
        provider_id = _by_sms(order, message)
    except SmsNotConfigured:
        return {"status": S.SKIPPED, "error": refused_by_wechat or NO_CHANNEL}
    except SmsUnavailable as exc:
        raise TransientJobError(str(exc)) from exc
    except SmsError as exc:
        raise PermanentJobError("; ".join(filter(None, [refused_by_wechat, str(exc)]))) from exc
    return {
        "provider_id": provider_id,
        "channel": "sms",
        "status": S.SENT,
        "sent_at": utcnow(),
        "error": refused_by_wechat,
    }
