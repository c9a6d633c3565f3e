"""The village service station's phone pages (/station): one task per page, no script.

Cash received, a parcel arrived, a parcel handed over with the buyer's pickup code, a
household's harvest (orders for villagers, 代下单: station_order_pages.py). Staff see only
their own station's orders (others: 404).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from farmgate.errors import FarmgateError
from farmgate.messages import validation_fields
from farmgate.models import Account, DeliveryMethod, Role
from farmgate.orders import presenters
from farmgate.stations import harvest, records
from farmgate.stations import orders as station_orders
from farmgate.storefront.common import PageAccount, check_csrf, page_user, render
from farmgate.web.requests import FormValues
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)
NOTICES = {
    "placed": "订单已提交。请收取现金并在下面登记。",
    "cash": "已登记收到现金，订单已付款，合作社会尽快发货。",
    "cash_again": "这笔现金已经登记过了，没有重复记账。",
    "arrived": "已登记到站，买家会收到取货通知。",
    "picked": "已交付，订单完成签收。",
}


def station_staff(session: Session, account: Account | None) -> tuple[Account, object]:
    staff = page_user(account, Role.STATION, "只有村服务站工作人员可以使用此页面")
    return staff, records.station_of(session, staff)


def station_page(
    request: Request, staff: Account, template: str, status: int = 200, **ctx: object
) -> Response:
    ctx.setdefault("errors", {})
    ctx.setdefault("values", {})
    response = render(request, template, staff, **ctx)
    response.status_code = 422 if ctx["errors"] and status == 200 else status
    return response


@router.get("/station", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, account: PageAccount) -> Response:
    staff, station = station_staff(session, account)
    return station_page(
        request,
        staff,
        "station/home.html",
        station=station,
        rows=station_orders.station_orders(session, staff),
    )


def _order_page(
    request: Request,
    session: Session,
    staff: Account,
    number: str,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    _, station = station_staff(session, staff)
    row = station_orders.order_for_staff(session, staff, number)
    return station_page(
        request,
        staff,
        "station/order.html",
        status=status,
        station=station,
        row=row,
        view=presenters.order_view(session, row.order),
        pickup=row.order.delivery_method == DeliveryMethod.PICKUP,
        notice=NOTICES.get(request.query_params.get("done", "")),
        errors=errors or {},
        values=values or {},
    )


@router.get("/station/orders/{number}", response_class=HTMLResponse)
def order_page(
    number: str, request: Request, session: SessionDep, account: PageAccount
) -> Response:
    staff, _ = station_staff(session, account)
    return _order_page(request, session, staff, number)


@router.post("/station/orders/{number}/cash", response_class=HTMLResponse)
def cash_received(
    number: str, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    staff, _ = station_staff(session, account)
    try:
        new = station_orders.confirm_cash(session, staff, number, form.get("receipt_no", ""))
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        errors = dict(exc.fields) or {"receipt_no": exc.message}
        return _order_page(request, session, staff, number, errors, dict(form))
    done = "cash" if new else "cash_again"
    return RedirectResponse(f"/station/orders/{number}?done={done}", status_code=303)


@router.post("/station/orders/{number}/arrived", response_class=HTMLResponse)
def arrived(
    number: str, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    staff, _ = station_staff(session, account)
    try:
        station_orders.mark_arrived(session, staff, number)
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _order_page(request, session, staff, number, {"arrived": exc.message}, status=409)
    return RedirectResponse(f"/station/orders/{number}?done=arrived", status_code=303)


@router.get("/station/pickup", response_class=HTMLResponse)
def pickup_form(request: Request, session: SessionDep, account: PageAccount) -> Response:
    staff, station = station_staff(session, account)
    return station_page(request, staff, "station/pickup.html", station=station)


@router.post("/station/pickup", response_class=HTMLResponse)
def pickup(
    request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    staff, station = station_staff(session, account)
    try:
        order = station_orders.hand_over(session, staff, form.get("code", ""))
    except FarmgateError as exc:
        session.rollback()
        errors = dict(exc.fields) or {"code": exc.message}
        return station_page(
            request, staff, "station/pickup.html", station=station, errors=errors, values=dict(form)
        )
    return RedirectResponse(f"/station/orders/{order.number}?done=picked", status_code=303)


def _harvest_page(
    request: Request,
    session: Session,
    staff: Account,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    _, station = station_staff(session, staff)
    return station_page(
        request,
        staff,
        "station/harvest.html",
        station=station,
        skus=harvest.skus_of_station(session, staff),
        values=values or {},
        errors=errors or {},
        notice=notice,
    )


@router.get("/station/harvest", response_class=HTMLResponse)
def harvest_form(request: Request, session: SessionDep, account: PageAccount) -> Response:
    staff, _ = station_staff(session, account)
    return _harvest_page(request, session, staff)


@router.post("/station/harvest", response_class=HTMLResponse)
def list_harvest(
    request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    values = dict(form)
    check_csrf(request, values.pop("csrf_token", ""))
    staff, _ = station_staff(session, account)
    try:
        data = harvest.HarvestIn(
            villager_name=values.get("villager_name", ""),
            sku_id=values.get("sku_id", ""),  # type: ignore[arg-type]
            units=values.get("units", ""),  # type: ignore[arg-type]
            harvest_date=values.get("harvest_date") or None,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        errors = validation_fields(list(exc.errors()))
        words = {
            "villager_name": "请填写农户姓名",
            "sku_id": "请选择商品",
            "units": "请填写1到999的整数",
            "harvest_date": "请按 2026-12-05 的格式填写日期",
        }
        errors = {k: words.get(k, v) for k, v in errors.items()}
        return _harvest_page(request, session, staff, values, errors)
    try:
        batch = harvest.list_harvest(session, staff, data)
    except FarmgateError as exc:
        session.rollback()
        return _harvest_page(request, session, staff, values, {"_": exc.message, **exc.fields})
    notice = f"已登记批次 {batch.lot_code}（生产者：{batch.producer}），库存增加 {data.units}。"
    return _harvest_page(request, session, staff, notice=notice)
