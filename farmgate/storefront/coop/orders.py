"""The desk's orders: tabs by packing state, one order to pack (choosing lots), the courier,
a printable packing slip per order and a printable list of the day's parcels."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.errors import FarmgateError, InvalidTransition
from farmgate.logistics import township
from farmgate.models import Account, FulfilmentStatus
from farmgate.orders import desk, service
from farmgate.payments import requests as refund_requests
from farmgate.storefront.common import see_other
from farmgate.storefront.coop.deps import DeskStaff, FormValues, SessionDep, check_csrf
from farmgate.storefront.coop.forms import Errors, desk_page
from farmgate.timeutil import local_today
from farmgate.trace import service as trace

router = APIRouter(include_in_schema=False)

DONE = {
    "packed": "已标记为已打包。可以打印装箱单，交给快递或配送员。",
    "courier": "配送员已指派。",
}


@router.get("/coop/orders", response_class=HTMLResponse)
def order_list(
    request: Request, session: SessionDep, staff: DeskStaff, tab: str = "to_pack"
) -> Response:
    cash = tab == "cash"
    key = tab if tab in desk.TABS else "to_pack"
    rows = desk.cash_waiting(session, staff) if cash else desk.tab(session, staff, key)
    return desk_page(
        request,
        session,
        staff,
        "coop/orders.html",
        section="orders",
        tab="cash" if cash else key,
        tabs=[(k, label) for k, (label, _) in desk.TABS.items()],
        counts=desk.counts(session, staff),
        open_refunds=refund_requests.open_count(session, staff),
        rows=rows,
        today=local_today().isoformat(),
    )


def _order_page(
    request: Request,
    session: Session,
    staff: Account,
    fulfilment_id: int,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    row = desk.fulfilment(session, staff, fulfilment_id)
    lots = trace.lots_by_product(session, staff.cooperative_id or 0)
    return desk_page(
        request,
        session,
        staff,
        "coop/order.html",
        section="orders",
        row=row,
        part=row.order.fulfilments[0],
        lots=lots,
        couriers=township.couriers(session, staff),
        errors=errors or {},
        values=values or {},
        notice=notice,
    )


@router.get("/coop/orders/day", response_class=HTMLResponse)
def day_list(request: Request, session: SessionDep, staff: DeskStaff, day: str = "") -> Response:
    try:
        chosen = date.fromisoformat(day) if day else local_today()
    except ValueError:
        chosen = local_today()
    return desk_page(
        request,
        session,
        staff,
        "coop/day_parcels.html",
        section="orders",
        day=chosen,
        rows=desk.day_parcels(session, staff, chosen),
    )


@router.get("/coop/orders/{fulfilment_id:int}", response_class=HTMLResponse)
def order_page(
    fulfilment_id: int, request: Request, session: SessionDep, staff: DeskStaff, done: str = ""
) -> Response:
    return _order_page(request, session, staff, fulfilment_id, notice=DONE.get(done))


@router.get("/coop/orders/{fulfilment_id:int}/slip", response_class=HTMLResponse)
def packing_slip(
    fulfilment_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    row = desk.fulfilment(session, staff, fulfilment_id)
    lots = trace.lots_by_product(session, staff.cooperative_id or 0).values()
    batches = {b.id: b.lot_code for some in lots for b in some}
    return desk_page(
        request,
        session,
        staff,
        "coop/slip.html",
        section="orders",
        row=row,
        part=row.order.fulfilments[0],
        batches=batches,
    )


@router.post("/coop/orders/{fulfilment_id:int}/pack")
def pack(
    fulfilment_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    row = desk.fulfilment(session, staff, fulfilment_id)  # another cooperative's: 404
    errors = Errors()
    lots: dict[int, int] = {}
    for line in row.order.fulfilments[0].lines:
        value = form.get(f"lot_{line.id}", "")
        if value.isdigit():
            lots[line.id] = int(value)
        elif value:
            errors[f"lot_{line.id}"] = "请从列表里选择批次"
    if not errors:
        try:
            service.mark_packed(session, staff, fulfilment_id, lots)
            return see_other(f"/coop/orders/{fulfilment_id}?done=packed")
        except InvalidTransition:
            session.rollback()
            if row.fulfilment_status != FulfilmentStatus.TO_PACK:
                # Sent twice: the first one packed it; say so, change nothing.
                return see_other(f"/coop/orders/{fulfilment_id}?done=packed")
            raise
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()
            for field, message in exc.fields.items():
                line_id = field.removeprefix("lots.")
                errors[f"lot_{line_id}"] = message
            if not exc.fields:
                errors["pack"] = exc.message
    return _order_page(request, session, staff, fulfilment_id, errors=errors, values=form)


@router.post("/coop/orders/{fulfilment_id:int}/courier")
def assign_courier(
    fulfilment_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    row = desk.fulfilment(session, staff, fulfilment_id)
    parcel = next((p for p in row.order.parcels if p.carrier == "township"), None)
    courier = form.get("courier_account_id", "")
    errors = Errors()
    if parcel is None:
        errors["courier_account_id"] = "这个订单不由乡镇配送员送"
    elif not courier.isdigit():
        errors["courier_account_id"] = "请选择配送员"
    else:
        try:
            township.assign(session, staff, parcel.id, int(courier))
            return see_other(f"/coop/orders/{fulfilment_id}?done=courier")
        except FarmgateError as exc:
            if exc.status == 404 and not exc.fields:
                raise
            session.rollback()
            errors["courier_account_id"] = exc.message
    return _order_page(request, session, staff, fulfilment_id, errors=errors, values=form)
