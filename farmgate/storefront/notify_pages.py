"""Order notifications, for buyers: turn them off or on for the account, or (a guest) for
one order from its page; and see what was sent. Recalls are always sent (food safety)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from farmgate.errors import AuthenticationRequired
from farmgate.models import Account, NotificationKind, NotificationStatus, Order
from farmgate.notify import service as notify
from farmgate.orders import service as orders
from farmgate.storefront.common import PageAccount, check_csrf, render, see_other
from farmgate.web.requests import FormValues
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)
CHANNELS = {"wechat": "微信", "sms": "短信", "": ""}
DONE = {"off": "已关闭订单通知。召回等安全提醒仍会发送。", "on": "已开启订单通知。"}


def _signed_in(account: Account | None) -> Account:
    if account is None:
        raise AuthenticationRequired("请先登录")
    return account


@router.get("/account/notifications", response_class=HTMLResponse)
def account_notifications(
    request: Request, session: SessionDep, account: PageAccount, done: str = ""
) -> Response:
    buyer = _signed_in(account)
    return render(
        request,
        "notifications.html",
        account,
        action="/account/notifications",
        off=notify.account_opted_out(session, buyer),
        scope="您账号下的所有订单",
        order=None,
        token="",
        account_off=False,
        history=[],
        notice=DONE.get(done),
    )


@router.post("/account/notifications")
def set_account_notifications(
    request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    buyer = _signed_in(account)
    off = form.get("notifications") == "off"
    notify.set_opt_out(session, off=off, account=buyer)  # sent twice: the same outcome
    return see_other(f"/account/notifications?done={'off' if off else 'on'}")


def _history(session: SessionDep, order: Order) -> list[dict[str, str]]:
    return [
        {
            "at": n.sent_at or n.created_at,  # type: ignore[dict-item]
            "kind": NotificationKind.label_of(n.kind),
            "channel": CHANNELS.get(n.channel, n.channel),
            "status": NotificationStatus.label_of(n.status),
        }
        for n in notify.for_order(session, order)
    ]


@router.get("/orders/{number}/notifications", response_class=HTMLResponse)
def order_notifications(
    number: str,
    request: Request,
    session: SessionDep,
    account: PageAccount,
    t: str | None = None,
    done: str = "",
) -> Response:
    order = orders.get_by_number(session, number, account, t)
    owner = session.get(Account, order.account_id) if order.account_id else None
    return render(
        request,
        "notifications.html",
        account,
        action=f"/orders/{order.number}/notifications",
        off=notify.order_opted_out(session, order),
        scope=f"订单 {order.number}",
        order=order,
        token=t or orders.access_token(order),
        account_off=owner is not None and notify.account_opted_out(session, owner),
        history=_history(session, order),
        notice=DONE.get(done),
    )


@router.post("/orders/{number}/notifications")
def set_order_notifications(
    number: str, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    token = form.get("t", "")
    order = orders.get_by_number(session, number, account, token or None)
    off = form.get("notifications") == "off"
    notify.set_opt_out(session, off=off, order=order)
    token = token or orders.access_token(order)
    return see_other(
        f"/orders/{order.number}/notifications?t={token}&done={'off' if off else 'on'}"
    )
