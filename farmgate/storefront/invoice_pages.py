"""The buyer's 发票 pages: ask for a 普通发票 on a paid order, then download it once issued.
The cooperative's side is on the desk (storefront/coop/invoices.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from farmgate.errors import AuthenticationRequired, FarmgateError
from farmgate.models import Account, InvoiceStatus, InvoiceTitleType, Order
from farmgate.orders import invoices, service
from farmgate.storefront.common import PageAccount, check_csrf, render
from farmgate.web.downloads import download
from farmgate.web.requests import FormValues
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)


def _own_order(session: Session, number: str, account: Account | None) -> Order:
    """The signed-in buyer's order (invoices are for accounts: the admin reads, never asks)."""
    if account is None:
        raise AuthenticationRequired("请先登录")
    return service.get_by_number(session, number, account, None)


def _page(
    request: Request,
    session: Session,
    account: Account,
    order: Order,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    done: bool = False,
) -> Response:
    rows = invoices.for_order(session, order)
    response = render(
        request,
        "invoice.html",
        account,
        order=order,
        rows=rows,
        names=invoices.cooperative_names(session, rows),
        can_ask=invoices.can_ask(order) and order.account_id == account.id,
        title_types=InvoiceTitleType.labels(),
        status_labels=InvoiceStatus.labels(),
        errors=errors or {},
        values=values or {"title_type": "personal"},
        done=done,
    )
    response.status_code = status
    return response


@router.get("/orders/{number}/invoice", response_class=HTMLResponse)
def invoice_page(
    number: str, request: Request, session: SessionDep, account: PageAccount, done: str = ""
) -> Response:
    order = _own_order(session, number, account)
    assert account is not None  # _own_order refused the signed-out
    return _page(request, session, account, order, done=done == "asked")


@router.post("/orders/{number}/invoice", response_class=HTMLResponse)
def ask_invoice(
    number: str, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    order = _own_order(session, number, account)
    assert account is not None
    asked = invoices.InvoiceForm(
        title_type=form.get("title_type", ""),
        title=form.get("title", ""),
        tax_number=form.get("tax_number", ""),
    )
    try:
        invoices.ask(session, account, order, asked)
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        errors = dict(exc.fields) or {"title": exc.message}
        return _page(request, session, account, order, errors=errors, values=form, status=422)
    return RedirectResponse(f"/orders/{number}/invoice?done=asked", status_code=303)


@router.get("/invoices/{request_id:int}/pdf")
def invoice_pdf(request_id: int, session: SessionDep, account: PageAccount) -> Response:
    """The issued PDF, for its buyer, the issuing cooperative's staff and the admin only."""
    row, number, data = invoices.pdf_for(session, account, request_id)
    response = download(data, "application/pdf", f"发票-{number}-{row.id}.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response
