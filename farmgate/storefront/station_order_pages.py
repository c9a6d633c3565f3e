"""Ordering for a villager at the station (代下单): three short pages that work without script.

1. choose: a search box and the in-stock SKUs grouped by product, one tap per SKU;
2. how many: one SKU, one quantity box, "加入订单";
3. the order: what was chosen (each removable), the villager, pickup or delivery, submit.

What was chosen travels in the address as qty_<sku id>=<n> (the same fields the final form
posts), so nothing is stored until the order is placed and the back button just works.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from farmgate.db import pk
from farmgate.errors import FarmgateError
from farmgate.messages import validation_fields
from farmgate.models import Account, Product, Sku
from farmgate.stations import catalogue
from farmgate.stations import orders as station_orders
from farmgate.storefront.common import PageAccount, check_csrf
from farmgate.storefront.station_pages import station_page, station_staff
from farmgate.web.requests import FormValues
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class BasketLine:
    """One chosen SKU on page 3 (``raw``: the quantity as it came, kept when it is wrong)."""

    key: str  # qty_<sku id>
    sku: Sku
    product: Product
    raw: str
    quantity: int | None
    total_fen: int | None
    remove: str  # the query string of the order without this line


def _basket(values: Mapping[str, str]) -> tuple[dict[int, int], dict[str, str]]:
    """The quantities named in ``values`` (qty_<sku id>), and a message per wrong one."""
    items: dict[int, int] = {}
    errors: dict[str, str] = {}
    for key, raw in values.items():
        if key.startswith("qty_") and key[4:].isdigit() and raw.strip():
            text = raw.strip()
            if not text.isdigit() or int(text) > catalogue.MAX_QUANTITY:
                errors[key] = "请填写0到999的整数"
            elif int(text) > 0:
                items[int(key[4:])] = int(text)
    return items, errors


def _basket_query(items: Mapping[int, int], **extra: str) -> str:
    pairs = [(f"qty_{sku}", str(n)) for sku, n in sorted(items.items())]
    return urlencode(pairs + [(k, v) for k, v in extra.items() if v])


def _order_form(
    request: Request,
    session: Session,
    staff: Account,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
) -> Response:
    """Page 3: what was chosen, the villager, and the button that places the order."""
    _, station = station_staff(session, staff)
    items, _ = _basket(values)
    named = [k for k in values if k.startswith("qty_") and k[4:].isdigit()]
    found = catalogue.skus_by_id(session, sorted({int(k[4:]) for k in named}))
    lines: list[BasketLine] = []
    for key in sorted(named, key=lambda k: int(k[4:])):
        sku_id = int(key[4:])
        if sku_id not in found or (sku_id not in items and not (errors or {}).get(key)):
            continue  # a zero, or a SKU that does not exist: nothing to show
        sku, product = found[sku_id]
        quantity = items.get(sku_id)
        lines.append(
            BasketLine(
                key=key,
                sku=sku,
                product=product,
                raw=values[key],
                quantity=quantity,
                total_fen=sku.price_fen * quantity if quantity else None,
                remove=_basket_query({k: v for k, v in items.items() if k != sku_id}),
            )
        )
    return station_page(
        request,
        staff,
        "station/order_new.html",
        station=station,
        lines=lines,
        total_fen=sum(line.total_fen or 0 for line in lines),
        basket=_basket_query(items),
        values=values,
        errors=errors or {},
    )


@router.get("/station/order", response_class=HTMLResponse)
def order_form(request: Request, session: SessionDep, account: PageAccount) -> Response:
    staff, _ = station_staff(session, account)
    values = dict(request.query_params)
    items, errors = _basket(values)
    add = values.pop("add", "")
    if add.isdigit():  # from page 2: one more SKU, then on to the order's canonical address
        sku, product = catalogue.sku_for_sale(session, int(add))
        raw = values.pop("n", "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= catalogue.MAX_QUANTITY:
            return _quantity_page(
                request, staff, sku, product, items, raw, "请填写1到999之间的整数"
            )
        items[pk(sku)] = min(items.get(pk(sku), 0) + int(raw), catalogue.MAX_QUANTITY)
        return RedirectResponse(f"/station/order?{_basket_query(items)}", status_code=303)
    if not items and not errors:
        return _choose_page(request, session, staff, items, "")
    return _order_form(request, session, staff, {"delivery_method": "pickup", **values})


def _choose_page(
    request: Request, session: Session, staff: Account, items: dict[int, int], query: str
) -> Response:
    """Page 1: find the product; every in-stock SKU is one row to tap."""
    rows = catalogue.skus_for_sale(session, query)
    groups: list[tuple[Product, list[Sku]]] = []
    for sku, product in rows:
        if groups and groups[-1][0].id == product.id:
            groups[-1][1].append(sku)
        else:
            groups.append((product, [sku]))
    return station_page(
        request,
        staff,
        "station/order_choose.html",
        groups=groups,
        query=query,
        basket=_basket_query(items),
        kept=[(f"qty_{k}", v) for k, v in sorted(items.items())],
        chosen=sum(items.values()),
    )


@router.get("/station/order/choose", response_class=HTMLResponse)
def choose(request: Request, session: SessionDep, account: PageAccount) -> Response:
    staff, _ = station_staff(session, account)
    items, _ = _basket(dict(request.query_params))
    query = request.query_params.get("q", "").strip()[:30]
    return _choose_page(request, session, staff, items, query)


def _quantity_page(
    request: Request,
    staff: Account,
    sku: Sku,
    product: Product,
    items: dict[int, int],
    raw: str = "1",
    error: str = "",
) -> Response:
    """Page 2: how many of one SKU."""
    return station_page(
        request,
        staff,
        "station/order_quantity.html",
        sku=sku,
        product=product,
        already=items.get(pk(sku), 0),
        kept=[(f"qty_{k}", v) for k, v in sorted(items.items())],
        back=_basket_query(items),
        values={"n": raw},
        errors={"n": error} if error else {},
    )


@router.get("/station/order/sku/{sku_id:int}", response_class=HTMLResponse)
def quantity(sku_id: int, request: Request, session: SessionDep, account: PageAccount) -> Response:
    staff, _ = station_staff(session, account)
    sku, product = catalogue.sku_for_sale(session, sku_id)
    items, _ = _basket(dict(request.query_params))
    return _quantity_page(request, staff, sku, product, items)


@router.post("/station/order", response_class=HTMLResponse)
def place_order(
    request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    values = dict(form)
    check_csrf(request, values.pop("csrf_token", ""))
    staff, _ = station_staff(session, account)
    items, errors = _basket(values)
    try:
        data = station_orders.VillagerOrderIn(
            villager_name=values.get("villager_name", ""),
            villager_phone=values.get("villager_phone", ""),
            delivery_method=values.get("delivery_method", ""),  # type: ignore[arg-type]
            address_detail=values.get("address_detail", ""),
            note=values.get("note", ""),
            items=items,
        )
    except ValidationError as exc:
        errors = {**validation_fields(list(exc.errors())), **errors}
        if "villager_name" in errors:
            errors["villager_name"] = "请填写村民姓名（30个字以内）"
    if errors:
        return _order_form(request, session, staff, values, errors)
    try:
        order = station_orders.place_for_villager(session, staff, data)
    except FarmgateError as exc:
        session.rollback()
        fields = {("qty_" + k[4:] if k.startswith("sku ") else k): v for k, v in exc.fields.items()}
        return _order_form(request, session, staff, values, {"_": exc.message, **fields})
    return RedirectResponse(f"/station/orders/{order.number}?done=placed", status_code=303)
