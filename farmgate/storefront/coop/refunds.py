"""The desk's refund and after-sales requests: the list, one request, accept or refuse."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.errors import FarmgateError
from farmgate.models import Account
from farmgate.models import RefundRequestStatus as RS
from farmgate.orders import desk
from farmgate.payments import requests
from farmgate.storefront.common import see_other
from farmgate.storefront.coop.deps import DeskStaff, FormValues, SessionDep, check_csrf
from farmgate.storefront.coop.forms import Errors, desk_page

router = APIRouter(include_in_schema=False)

STATUS = {RS.OPEN: "待处理", RS.ACCEPTED: "已同意退款", RS.REFUSED: "已拒绝"}
DONE = {
    "accepted": "已同意退款。钱会按原路退回买家；到站付现金的，由村服务站退还现金。",
    "refused": "已拒绝。买家会看到您填写的理由。",
}


@router.get("/coop/refunds", response_class=HTMLResponse)
def refund_list(request: Request, session: SessionDep, staff: DeskStaff) -> Response:
    rows = [
        (r, desk.fulfilment(session, staff, r.fulfilment_id).order)
        for r in requests.list_for(session, staff)
    ]
    return desk_page(
        request, session, staff, "coop/refunds.html", section="orders", rows=rows, labels=STATUS
    )


def _request_page(
    request: Request,
    session: Session,
    staff: Account,
    request_id: int,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    asked = requests.get_for(session, staff, request_id)
    row = desk.fulfilment(session, staff, asked.fulfilment_id)
    return desk_page(
        request,
        session,
        staff,
        "coop/refund.html",
        section="orders",
        asked=asked,
        row=row,
        part=row.order.fulfilments[0],
        refundable=requests.refundable_fen(session, asked),
        labels=STATUS,
        errors=errors or {},
        values=values or {},
        notice=notice,
    )


@router.get("/coop/refunds/{request_id:int}", response_class=HTMLResponse)
def refund_page(
    request_id: int, request: Request, session: SessionDep, staff: DeskStaff, done: str = ""
) -> Response:
    return _request_page(request, session, staff, request_id, notice=DONE.get(done))


def _answer(
    request_id: int,
    request: Request,
    form: dict[str, str],
    session: Session,
    staff: Account,
    accept: bool,
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    asked = requests.get_for(session, staff, request_id)  # another cooperative's: 404
    done = "accepted" if accept else "refused"
    if asked.status != RS.OPEN:
        # Sent twice (or answered by a colleague meanwhile): nothing more happens.
        return see_other(f"/coop/refunds/{request_id}")
    errors = Errors()
    try:
        if accept:
            amount = None
            if form.get("how") == "part":
                amount = errors.read_price(form, "amount")
                if "amount" in errors:
                    errors["amount"] = errors["amount"].replace("价格", "退款金额")
            if not errors:
                requests.accept(session, staff, request_id, amount)
        else:
            requests.refuse(session, staff, request_id, form.get("answer", ""))
        if not errors:
            return see_other(f"/coop/refunds/{request_id}?done={done}")
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        errors.absorb(
            exc, {"amount": "amount", "answer": "answer"}, "amount" if accept else "answer"
        )
    return _request_page(request, session, staff, request_id, errors=errors, values=form)


@router.post("/coop/refunds/{request_id:int}/accept")
def accept(
    request_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    return _answer(request_id, request, form, session, staff, accept=True)


@router.post("/coop/refunds/{request_id:int}/refuse")
def refuse(
    request_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    return _answer(request_id, request, form, session, staff, accept=False)
