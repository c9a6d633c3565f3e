"""After the purchase, for buyers: the address book, cancelling an unpaid order, confirming
receipt, after-sales requests; and the favicon browsers ask for at the site's root."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from farmgate.config import settings
from farmgate.errors import AuthenticationRequired, FarmgateError, InvalidTransition
from farmgate.messages import validation_fields
from farmgate.models import AFTER_SALES_REASONS, Account, Order
from farmgate.orders import addresses, presenters, receipt, service
from farmgate.orders.schemas import AddressIn
from farmgate.payments import aftersales
from farmgate.storefront.common import PageAccount, check_csrf, render, see_other
from farmgate.storefront.coop.deps import Multipart
from farmgate.storefront.shop import order_response
from farmgate.web.requests import FormValues
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=301)


def _buyer(account: Account | None) -> Account:
    if account is None:
        raise AuthenticationRequired("请先登录")
    return account


# --- the address book -----------------------------------------------------------------------


@router.get("/addresses", response_class=HTMLResponse)
def address_book(
    request: Request, session: SessionDep, account: PageAccount, done: str = ""
) -> Response:
    buyer = _buyer(account)
    notice = {"saved": "地址已保存。", "deleted": "地址已删除。", "default": "已设为默认地址。"}
    return render(
        request,
        "addresses.html",
        buyer,
        addresses=addresses.list_for(session, buyer),
        notice=notice.get(done),
    )


def _address_form(
    request: Request,
    session: Session,
    buyer: Account,
    values: dict[str, str],
    errors: dict[str, str],
    address_id: int | None = None,
) -> Response:
    response = render(
        request,
        "address_form.html",
        buyer,
        values=values,
        errors=errors,
        address_id=address_id,
        villages=addresses.village_choices(session),
    )
    if errors:
        response.status_code = 422
    return response


@router.get("/addresses/new", response_class=HTMLResponse)
def new_address(request: Request, session: SessionDep, account: PageAccount) -> Response:
    buyer = _buyer(account)
    values = {**addresses.local_defaults(session), "phone": buyer.phone}
    return _address_form(request, session, buyer, values, {})


@router.get("/addresses/{address_id:int}", response_class=HTMLResponse)
def edit_address(
    address_id: int, request: Request, session: SessionDep, account: PageAccount
) -> Response:
    buyer = _buyer(account)
    address = addresses.get_for(session, buyer, address_id)
    return _address_form(
        request, session, buyer, addresses.as_values(address), {}, address_id=address_id
    )


def _save(
    request: Request,
    session: Session,
    buyer: Account,
    form: dict[str, str],
    address_id: int | None,
) -> Response:
    values = dict(form)
    check_csrf(request, values.pop("csrf_token", ""))
    try:
        data = AddressIn(**values)
    except ValidationError as exc:
        errors = validation_fields(list(exc.errors()))
        return _address_form(request, session, buyer, values, errors, address_id)
    try:
        if address_id is None:
            addresses.add(session, buyer, data, default=values.get("is_default") == "1")
        else:
            addresses.update(session, buyer, address_id, data)
            if values.get("is_default") == "1":
                addresses.set_default(session, buyer, address_id)
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        errors = {"_": exc.message, **exc.fields}
        return _address_form(request, session, buyer, values, errors, address_id)
    return see_other("/addresses?done=saved")


@router.post("/addresses", response_class=HTMLResponse)
def add_address(
    request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    return _save(request, session, _buyer(account), form, None)


@router.post("/addresses/{address_id:int}", response_class=HTMLResponse)
def update_address(
    address_id: int, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    return _save(request, session, _buyer(account), form, address_id)


@router.post("/addresses/{address_id:int}/default")
def make_default(
    address_id: int, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    buyer = _buyer(account)
    check_csrf(request, form.get("csrf_token", ""))
    addresses.set_default(session, buyer, address_id)
    return see_other("/addresses?done=default")


@router.post("/addresses/{address_id:int}/delete")
def delete_address(
    address_id: int, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    buyer = _buyer(account)
    check_csrf(request, form.get("csrf_token", ""))
    addresses.delete(session, buyer, address_id)
    return see_other("/addresses?done=deleted")


# --- an order's buyer actions -----------------------------------------------------------------


def _order_url(order: Order, token: str, done: str = "") -> str:
    suffix = f"&done={done}" if done else ""
    return f"/orders/{order.number}?t={token or service.access_token(order)}{suffix}"


@router.post("/orders/{number}/cancel")
def cancel_order(
    number: str, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    """The buyer cancels an unpaid order; its stock goes back. A paid one is refused."""
    check_csrf(request, form.get("csrf_token", ""))
    token = form.get("t", "")
    order = service.get_by_number(session, number, account, token or None)
    if order.status == "cancelled":
        return see_other(_order_url(order, token))  # sent twice: already done
    try:
        service.cancel(session, order, account, note="买家取消订单")
    except InvalidTransition as exc:
        session.rollback()
        return order_response(request, session, account, order, token, error=exc.message)
    return see_other(_order_url(order, token, "cancelled"))


@router.post("/orders/{number}/confirm")
def confirm_receipt(
    number: str, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    """Delivered -> completed; a second confirmation changes nothing."""
    check_csrf(request, form.get("csrf_token", ""))
    token = form.get("t", "")
    order = service.get_by_number(session, number, account, token or None)
    try:
        changed = receipt.confirm(session, order, account)
    except InvalidTransition as exc:
        session.rollback()
        return order_response(request, session, account, order, token, error=exc.message)
    return see_other(_order_url(order, token, "confirmed" if changed else ""))


def _after_sales_page(
    request: Request,
    session: Session,
    account: Account | None,
    order: Order,
    token: str,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    parts = aftersales.parts(session, order)
    view = presenters.order_view(session, order)
    response = render(
        request,
        "after_sales.html",
        account,
        order=view,
        token=token or service.access_token(order),
        parts=[
            (
                p,
                next(f for f in view.fulfilments if f.id == p.id),
                aftersales.refundable(session, order, p),
            )
            for p in parts
        ],
        reasons=AFTER_SALES_REASONS,
        can_ask=aftersales.can_ask(order) and bool(parts),
        values=values,
        errors=errors,
        max_photos=aftersales.MAX_PHOTOS,
        max_mb=settings.max_upload_bytes // 1024 // 1024,
    )
    if errors:
        response.status_code = 422
    return response


@router.get("/orders/{number}/after-sales", response_class=HTMLResponse)
def after_sales_form(
    number: str,
    request: Request,
    session: SessionDep,
    account: PageAccount,
    t: str = "",
    part: str = "",
) -> Response:
    order = service.get_by_number(session, number, account, t or None)
    parts = aftersales.parts(session, order)
    chosen = part if part.isdigit() else (str(parts[0].id) if parts else "")
    values = {"part": chosen}
    if chosen:
        found = next((p for p in parts if str(p.id) == chosen), None)
        if found is not None:
            fen = aftersales.refundable(session, order, found)
            values["amount"] = f"{fen // 100}.{fen % 100:02d}"
    return _after_sales_page(request, session, account, order, t, values, {})


@router.post("/orders/{number}/after-sales", response_class=HTMLResponse)
def ask_after_sales(
    number: str, request: Request, form: Multipart, session: SessionDep, account: PageAccount
) -> Response:
    check_csrf(request, str(form.get("csrf_token") or ""))
    token = str(form.get("t") or "")
    order = service.get_by_number(session, number, account, token or None)  # else: 404
    values = {k: str(v) for k, v in form.items() if not isinstance(v, UploadFile)}
    photos = []
    for upload in form.getlist("photos"):
        if isinstance(upload, UploadFile):
            data = upload.file.read(settings.max_upload_bytes + 1)
            if upload.filename or data:
                photos.append((upload.filename or "", data))
    part = values.get("part", "")
    try:
        aftersales.ask(
            session,
            account,
            order,
            fulfilment_id=int(part) if part.isdigit() else 0,
            kind=values.get("kind", ""),
            amount=values.get("amount", ""),
            note=values.get("note", ""),
            photos=photos,
        )
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        errors = {"_": exc.message, **exc.fields}
        return _after_sales_page(request, session, account, order, token, values, errors)
    return see_other(_order_url(order, token, "asked"))
