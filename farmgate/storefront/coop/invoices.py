"""The desk's invoice requests (发票): the list, one request, mark it issued with the PDF."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from farmgate.config import settings
from farmgate.errors import FarmgateError
from farmgate.models import Account, InvoiceStatus, InvoiceTitleType, Order
from farmgate.orders import invoices
from farmgate.storefront.coop.deps import DeskStaff, Multipart, SessionDep, check_csrf
from farmgate.storefront.coop.forms import Errors, desk_page

router = APIRouter(include_in_schema=False)


@router.get("/coop/invoices", response_class=HTMLResponse)
def invoice_list(
    request: Request, session: SessionDep, staff: DeskStaff, show: str = ""
) -> Response:
    issued = show == "issued"
    return desk_page(
        request,
        session,
        staff,
        "coop/invoices.html",
        section="orders",
        rows=invoices.list_for_cooperative(session, staff, issued=issued),
        issued=issued,
        labels=InvoiceStatus.labels(),
        title_types=InvoiceTitleType.labels(),
    )


def _page(
    request: Request,
    session: Session,
    staff: Account,
    request_id: int,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    asked = invoices.get_for_staff(session, staff, request_id)
    order = session.get(Order, asked.order_id)
    return desk_page(
        request,
        session,
        staff,
        "coop/invoice.html",
        section="orders",
        status=422 if errors else 200,
        asked=asked,
        order=order,
        labels=InvoiceStatus.labels(),
        title_types=InvoiceTitleType.labels(),
        max_mb=max(1, settings.invoice_pdf_max_bytes // 1024 // 1024),
        errors=errors or {},
        values=values or {"invoice_no": asked.invoice_no},
        notice=notice,
    )


@router.get("/coop/invoices/{request_id:int}", response_class=HTMLResponse)
def invoice_page(
    request_id: int, request: Request, session: SessionDep, staff: DeskStaff, done: str = ""
) -> Response:
    notice = "已标记为已开票，买家现在可以下载这张发票。" if done == "issued" else None
    return _page(request, session, staff, request_id, notice=notice)


@router.post("/coop/invoices/{request_id:int}/issue")
def issue(
    request_id: int, request: Request, form: Multipart, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, str(form.get("csrf_token") or ""))
    invoices.get_for_staff(session, staff, request_id)  # another cooperative's: 404
    upload = form.get("pdf")
    data = b""
    if isinstance(upload, UploadFile):
        # One byte past the limit is enough for the check to refuse it.
        data = upload.file.read(settings.invoice_pdf_max_bytes + 1)
    invoice_no = str(form.get("invoice_no") or "")
    try:
        invoices.issue(session, staff, request_id, data, invoice_no)
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        errors = Errors()
        errors.absorb(exc, {"pdf": "pdf", "invoice_no": "invoice_no"}, "pdf")
        values = {"invoice_no": invoice_no}
        return _page(request, session, staff, request_id, errors=errors, values=values)
    return RedirectResponse(f"/coop/invoices/{request_id}?done=issued", status_code=303)
