"""The console's money: cash at the village station, and refund requests the township answers.

Every action goes through ``farmgate.payments.township`` (which writes the audit entry); a form
sent twice acts once and the second answer says it was already done.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import pk
from farmgate.errors import FarmgateError
from farmgate.models import Account, Order, RefundRequestStatus, RefundStatus, Role
from farmgate.models import RefundRequestStatus as RS
from farmgate.payments import requests, township
from farmgate.stations import orders as station_orders
from farmgate.storefront.coop.forms import Errors
from farmgate.storefront.township import orders_pages
from farmgate.storefront.township.deps import (
    ConsoleAdmin,
    FormValues,
    SessionDep,
    check_csrf,
    console_page,
    see_other,
    undo_refusal,
)

router = APIRouter(include_in_schema=False)
CASH_ROWS, RETURN_ROWS, REQUEST_ROWS = 12, 6, 25
router.include_router(orders_pages.router)  # the section's order search and order story


def _done(url: str, message: str) -> Response:
    return see_other(f"{url}?done={quote(message)}")


def _cash_page(
    request: Request, session: Session, admin: Account, errors: Errors | None = None, **kw: Any
) -> Response:
    return console_page(
        request,
        admin,
        "township/orders_cash.html",
        section="orders",
        # Each row is a form: a short list keeps the page under 30 KB; the rest follow as
        # these are recorded (the ones due first are on top).
        waiting=(waiting := township.cash_waiting(session, limit=CASH_ROWS + 1)),
        station_names=station_orders.station_names(session, [pk(o) for o, _ in waiting]),
        to_return=township.cash_to_return(session, limit=RETURN_ROWS + 1),
        cash_rows=CASH_ROWS,
        return_rows=RETURN_ROWS,
        errors=errors or {},
        **kw,
    )


@router.get("/township/cash", response_class=HTMLResponse)
def cash(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    return _cash_page(request, session, admin)


@router.post("/township/cash/{order_id:int}/received")
def cash_received(
    order_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    errors = Errors()
    ids = {"receipt_no": f"receipt_no-{order_id}", "station": f"station-{order_id}"}
    try:
        done = township.receive_cash(
            session,
            admin,
            order_id,
            receipt_no=form.get("receipt_no", ""),
            station=form.get("station", ""),
        )
    except FarmgateError as exc:
        undo_refusal(session, exc)
        errors.absorb(exc, ids, ids["receipt_no"])
        values = {ids[k]: form.get(k, "") for k in ids}
        return _cash_page(request, session, admin, errors, values=values, failed=order_id)
    order = session.get(Order, order_id)
    number = order.number if order else order_id
    if not done:
        return _done("/township/cash", f"订单 {number} 的现金已经登记过了，没有重复记账。")
    return _done("/township/cash", f"已登记收到订单 {number} 的现金，订单已付款。")


@router.post("/township/cash/refunds/{refund_id:int}/returned")
def cash_returned(
    refund_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    errors = Errors()
    try:
        done = township.return_cash(session, admin, refund_id, station=form.get("station", ""))
    except FarmgateError as exc:
        undo_refusal(session, exc)
        key = f"refund-station-{refund_id}"
        errors.absorb(exc, {"station": key}, key)
        return _cash_page(request, session, admin, errors, values={key: form.get("station", "")})
    if not done:
        return _done("/township/cash", "这笔现金退款已经登记过了，没有重复记账。")
    return _done("/township/cash", "已登记现金已退还给买家。")


@router.get("/township/refunds", response_class=HTMLResponse)
def refund_list(
    request: Request, session: SessionDep, admin: ConsoleAdmin, show: str = "open"
) -> Response:
    show = show if show in ("open", "late", "all") else "open"
    asked = requests.list_all(
        session,
        status=RS.OPEN if show == "open" else None,
        late_only=show == "late",
        limit=REQUEST_ROWS,
    )
    orders = {r.order_id: session.get(Order, r.order_id) for r in asked}
    return console_page(
        request,
        admin,
        "township/orders_refunds.html",
        section="orders",
        show=show,
        asked=asked,
        orders=orders,
        late={r.id for r in asked if requests.is_late(r)},
        refunds=township.refunds(session, limit=REQUEST_ROWS),
        hours=settings.refund_answer_hours,
        request_label=RefundRequestStatus.label_of,
        refund_label=RefundStatus.label_of,
    )


def _request_page(
    request: Request,
    session: Session,
    admin: Account,
    request_id: int,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    template: str = "township/orders_refund.html",
    **kw: Any,
) -> Response:
    asked = township.get_request(session, admin, request_id)
    order = session.get(Order, asked.order_id)
    answerer = session.get(Account, asked.answered_by) if asked.answered_by else None
    by_township = answerer is not None and answerer.role == Role.ADMIN
    return console_page(
        request,
        admin,
        template,
        section="orders",
        asked=asked,
        order=order,
        late=requests.is_late(asked),
        answered_by="乡镇管理员代合作社" if by_township else "合作社",
        due=requests.answer_due(asked),
        refundable=requests.refundable_fen(session, asked),
        hours=settings.refund_answer_hours,
        request_label=RefundRequestStatus.label_of,
        errors=errors or {},
        values=values or {},
        **kw,
    )


@router.get("/township/refunds/{request_id:int}", response_class=HTMLResponse)
def refund_page(
    request_id: int, request: Request, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    return _request_page(request, session, admin, request_id)


def _step_in_allowed(session: Session, admin: Account, request_id: int) -> str | None:
    """Why the township may not answer (yet): None when it may."""
    asked = township.get_request(session, admin, request_id)  # unknown: 404
    if asked.status != RS.OPEN:
        return "already"
    if not requests.is_late(asked):
        return "not_late"
    return None


def _not_now(request_id: int, why: str) -> Response:
    url = f"/township/refunds/{request_id}"
    if why == "already":
        return _done(url, "这个退款申请已经处理过了，没有重复操作。")
    return _done(url, f"合作社还在答复期限内（{settings.refund_answer_hours} 小时），请等待。")


@router.post("/township/refunds/{request_id:int}/accept")
def accept(
    request_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    why = _step_in_allowed(session, admin, request_id)
    if why:
        return _not_now(request_id, why)
    errors = Errors()
    amount = None
    if form.get("how") == "part":
        amount = errors.read_price(form, "amount")
        if "amount" in errors:
            errors["amount"] = errors["amount"].replace("价格", "退款金额")
        elif amount <= 0:
            errors["amount"] = "退款金额必须大于0"
    if not errors:
        asked = township.get_request(session, admin, request_id)
        limit = requests.refundable_fen(session, asked)
        if amount is not None and amount > limit:
            errors["amount"] = f"最多可退 {limit // 100}.{limit % 100:02d} 元"
        elif form.get("confirmed") != "yes":
            # Money cannot be taken back: show what will happen and ask once more.
            return _request_page(
                request,
                session,
                admin,
                request_id,
                values=form,
                template="township/orders_refund_check.html",
                amount=limit if amount is None else amount,
            )
    if not errors:
        try:
            township.step_in_accept(session, admin, request_id, amount)
            return _done(
                f"/township/refunds/{request_id}",
                "已代合作社同意退款。到站付现金的，请在「服务站现金」里登记退还。",
            )
        except FarmgateError as exc:
            undo_refusal(session, exc)
            errors.absorb(exc, {"amount": "amount"}, "amount")
    return _request_page(request, session, admin, request_id, errors=errors, values=form)


@router.post("/township/refunds/{request_id:int}/refuse")
def refuse(
    request_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    why = _step_in_allowed(session, admin, request_id)
    if why:
        return _not_now(request_id, why)
    errors = Errors()
    try:
        township.step_in_refuse(session, admin, request_id, form.get("answer", ""))
        return _done(f"/township/refunds/{request_id}", "已代合作社拒绝退款，买家会看到理由。")
    except FarmgateError as exc:
        undo_refusal(session, exc)
        errors.absorb(exc, {"answer": "answer"}, "answer")
    return _request_page(request, session, admin, request_id, errors=errors, values=form)
