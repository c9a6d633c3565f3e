"""The desk's pre-sales (预售): open one for a SKU, record its harvest, close overdue balances."""

from __future__ import annotations

from datetime import datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.errors import FarmgateError
from farmgate.models import Account, Batch, Presale, PresaleStatus, Product, Sku
from farmgate.presale import service as presale
from farmgate.presale import views as presale_views
from farmgate.storefront.common import see_other
from farmgate.storefront.coop.batches import read_date
from farmgate.storefront.coop.deps import DeskStaff, FormValues, SessionDep, check_csrf
from farmgate.storefront.coop.forms import Errors, desk_page
from farmgate.timeutil import LOCAL_TZ, local_today

router = APIRouter(include_in_schema=False)
FIELDS = {
    "sku_id": "sku_id",
    "cap": "cap",
    "ship_from": "ship_from",
    "ship_to": "ship_to",
    "deposit": "deposit",
    "balance_due": "balance_due",
    "batch_id": "batch_id",
    "units": "units",
}
DONE = {
    "opened": "预售已开始。该规格的库存已设为预售数量，卖完即止。",
    "harvest": (
        "采收结果已登记：够发的订单已进入待打包（或等买家付尾款），"
        "不够发的订单已自动全额退款，买家都会收到通知。"
    ),
    "closed": "预售已结束：逾期未付尾款的订单已取消，定金原路退回。",
}


def _skus(session: Session, staff: Account) -> list[tuple[Sku, Product]]:
    return [
        (sku, product)
        for sku, product in session.execute(
            select(Sku, Product)
            .join(Product, col(Product.id) == Sku.product_id)
            .where(col(Product.cooperative_id) == staff.cooperative_id)
            .order_by(col(Product.id), col(Sku.id))
        ).all()
    ]


def _list(
    request: Request,
    session: Session,
    staff: Account,
    values: dict[str, str],
    errors: Errors,
    notice: str | None = None,
) -> Response:
    sales = presale.of_coop(session, staff)
    names = {sku.id: f"{p.name}（{sku.spec}）" for sku, p in _skus(session, staff)}
    return desk_page(
        request,
        session,
        staff,
        "coop/presales.html",
        section="products",
        labels=PresaleStatus.labels(),
        sales=[(s, names.get(s.sku_id, ""), presale.ship_window(s)) for s in sales],
        sku_options=[(str(k), v) for k, v in names.items()],
        values=values,
        errors=errors,
        notice=notice,
    )


@router.get("/coop/presales", response_class=HTMLResponse)
def presale_list(
    request: Request, session: SessionDep, staff: DeskStaff, done: str = ""
) -> Response:
    today = str(local_today())
    values = {"harvest_from": today, "ship_from": today, "ship_to": today, "deposit": "0"}
    return _list(request, session, staff, values, Errors(), DONE.get(done))


@router.post("/coop/presales", response_class=HTMLResponse)
def presale_open(
    request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    errors = Errors()
    sku_id = errors.read_integer(form, "sku_id", "规格", low=1, high=2**31 - 1, example="1")
    if "sku_id" in errors:
        errors["sku_id"] = "请选择规格"
    harvest_from = read_date(form, errors, "harvest_from", "预计采收日期")
    ship_from = read_date(form, errors, "ship_from", "预计发货开始日期")
    ship_to = read_date(form, errors, "ship_to", "预计发货结束日期")
    cap = errors.read_integer(form, "cap", "预售数量", low=1, high=1_000_000, example="100")
    deposit = 0
    if (form.get("deposit") or "0").strip() not in ("", "0"):
        deposit = errors.read_price(form, "deposit")
    due = None
    if deposit:
        due_day = read_date(form, errors, "balance_due", "尾款截止日期")
        if due_day is not None:
            due = datetime.combine(due_day, time(23, 59), tzinfo=LOCAL_TZ)
    if not errors:
        try:
            presale.open_presale(
                session,
                staff,
                presale.PresaleIn(
                    sku_id=sku_id,
                    harvest_from=harvest_from,  # type: ignore[arg-type]
                    ship_from=ship_from,  # type: ignore[arg-type]
                    ship_to=ship_to,  # type: ignore[arg-type]
                    cap=cap,
                    deposit_fen=deposit,
                    balance_due=due,
                ),
            )
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()
            errors.absorb(exc, FIELDS, "sku_id")
        else:
            return see_other("/coop/presales?done=opened")
    return _list(request, session, staff, form, errors)


def _sale_page(
    request: Request,
    session: Session,
    staff: Account,
    sale: Presale,
    values: dict[str, str],
    errors: Errors,
    notice: str | None = None,
) -> Response:
    lots = session.scalars(
        select(Batch)
        .where(col(Batch.product_id) == sale.product_id, col(Batch.harvest_date).is_not(None))
        .order_by(col(Batch.id).desc())
    ).all()
    product = session.get(Product, sale.product_id)
    return desk_page(
        request,
        session,
        staff,
        "coop/presale.html",
        section="products",
        labels=PresaleStatus.labels(),
        sale=sale,
        product=product,
        window=presale.ship_window(sale),
        terms=presale.terms(sale),
        lot_options=[(str(b.id), f"{b.lot_code}（{b.harvest_date} 采收）") for b in lots],
        orders=presale_views.orders(session, sale),
        values=values,
        errors=errors,
        notice=notice,
    )


@router.get("/coop/presales/{presale_id:int}", response_class=HTMLResponse)
def presale_page(
    presale_id: int, request: Request, session: SessionDep, staff: DeskStaff, done: str = ""
) -> Response:
    sale = presale.get_for(session, staff, presale_id)
    return _sale_page(request, session, staff, sale, {}, Errors(), DONE.get(done))


@router.post("/coop/presales/{presale_id:int}/harvest", response_class=HTMLResponse)
def presale_harvest(
    presale_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    sale = presale.get_for(session, staff, presale_id)
    errors = Errors()
    batch_id = errors.read_integer(form, "batch_id", "批次", low=1, high=2**31 - 1, example="1")
    if "batch_id" in errors:
        errors["batch_id"] = "请选择已登记采收的批次"
    units = errors.read_integer(form, "units", "可发货数量", low=0, high=1_000_000, example="100")
    if not errors:
        try:
            presale.record_harvest(session, staff, presale_id, batch_id, units)
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()
            errors.absorb(exc, FIELDS, "units")
            sale = presale.get_for(session, staff, presale_id)
        else:
            return see_other(f"/coop/presales/{presale_id}?done=harvest")
    return _sale_page(request, session, staff, sale, form, errors)


@router.post("/coop/presales/{presale_id:int}/close", response_class=HTMLResponse)
def presale_close(
    presale_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    sale = presale.get_for(session, staff, presale_id)
    try:
        presale.close_overdue(session, staff, presale_id)
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        sale = presale.get_for(session, staff, presale_id)
        return _sale_page(request, session, staff, sale, form, Errors(close=exc.message))
    return see_other(f"/coop/presales/{presale_id}?done=closed")
