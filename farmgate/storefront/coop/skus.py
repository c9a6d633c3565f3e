"""A product's SKUs on the desk: add one on the product page, change one on its own page.

One SKU per form and page: with several SKU forms on one page a person could change two and
press one button, losing the other change.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.catalog import service, stock
from farmgate.catalog.schemas import SkuCreate, SkuUpdate
from farmgate.errors import FarmgateError
from farmgate.models import Account
from farmgate.storefront.common import see_other
from farmgate.storefront.coop.deps import DeskStaff, FormValues, SessionDep, check_csrf
from farmgate.storefront.coop.forms import Errors, desk_page, sku_fields
from farmgate.storefront.coop.products import edit_page, stock_flag
from farmgate.storefront.templating import yuan

router = APIRouter(include_in_schema=False)

# How the service names a SKU's fields -> the ids on our forms.
SKU_FIELDS = {"spec": "spec", "price_fen": "price", "stock": "stock", "weight_g": "weight_g"}


@router.post("/coop/products/{product_id:int}/skus", response_class=HTMLResponse)
def add_sku(
    product_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    service.get_owned_product(session, staff, product_id)
    errors = Errors()
    values = {f"{k}-new": v for k, v in form.items()}
    fields = sku_fields(values, errors, "-new")
    if not errors:
        try:
            service.add_sku(session, staff, product_id, SkuCreate(**fields))  # type: ignore[arg-type]
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()
            errors.absorb(exc, {k: f"{v}-new" for k, v in SKU_FIELDS.items()}, "spec-new")
        else:
            return see_other(f"/coop/products/{product_id}?done=sku_added#skus")
    return edit_page(request, session, staff, product_id, new_sku=form, errors=errors)


def _sku_page(
    request: Request,
    session: Session,
    staff: Account,
    product_id: int,
    sku_id: int,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
) -> Response:
    product = service.get_owned_product(session, staff, product_id)
    sku = service.get_owned_sku(session, staff, product_id, sku_id)
    if values is None:
        values = {
            "spec": sku.spec,
            "price": yuan(sku.price_fen),
            "stock": str(sku.stock),
            "weight_g": str(sku.weight_g),
        }
    return desk_page(
        request,
        session,
        staff,
        "coop/sku_edit.html",
        product=product,
        sku=sku,
        values=values,
        errors=errors or Errors(),
        stock_flag=stock_flag,
    )


@router.get("/coop/products/{product_id:int}/skus/{sku_id:int}", response_class=HTMLResponse)
def sku_form(
    product_id: int, sku_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    return _sku_page(request, session, staff, product_id, sku_id)


@router.post("/coop/products/{product_id:int}/skus/{sku_id:int}", response_class=HTMLResponse)
def update_sku(
    product_id: int,
    sku_id: int,
    request: Request,
    form: FormValues,
    session: SessionDep,
    staff: DeskStaff,
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    service.get_owned_sku(session, staff, product_id, sku_id)
    errors = Errors()
    fields = sku_fields(form, errors)
    was = form.get("stock_was", "")
    if not errors:
        try:
            new_stock = fields.pop("stock")
            if str(new_stock) != was:
                # Orders may have sold some since the page was loaded: set it only if not.
                expected = {sku_id: int(was)} if was.isdigit() else None
                stock.set_stocks(session, staff, {sku_id: new_stock}, expected)  # type: ignore[dict-item]
            service.update_sku(session, staff, product_id, sku_id, SkuUpdate(**fields))  # type: ignore[arg-type]
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()
            errors.absorb(exc, SKU_FIELDS | {str(sku_id): "stock"}, "spec")
        else:
            return see_other(f"/coop/products/{product_id}?done=sku_saved#skus")
    # The hidden "was" is dropped: the page shows the stock as it is now.
    kept = {k: v for k, v in form.items() if k != "stock_was"}
    return _sku_page(request, session, staff, product_id, sku_id, kept, errors)


def _set_active(
    product_id: int,
    sku_id: int,
    active: bool,
    request: Request,
    form: dict[str, str],
    session: Session,
    staff: Account,
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    service.update_sku(session, staff, product_id, sku_id, SkuUpdate(is_active=active))
    return see_other(f"/coop/products/{product_id}?done={'sku_on' if active else 'sku_off'}#skus")


@router.post("/coop/products/{product_id:int}/skus/{sku_id:int}/deactivate")
def deactivate_sku(
    product_id: int,
    sku_id: int,
    request: Request,
    form: FormValues,
    session: SessionDep,
    staff: DeskStaff,
) -> Response:
    return _set_active(product_id, sku_id, False, request, form, session, staff)


@router.post("/coop/products/{product_id:int}/skus/{sku_id:int}/activate")
def activate_sku(
    product_id: int,
    sku_id: int,
    request: Request,
    form: FormValues,
    session: SessionDep,
    staff: DeskStaff,
) -> Response:
    return _set_active(product_id, sku_id, True, request, form, session, staff)
