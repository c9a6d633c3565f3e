"""Pages: browse, product detail, sign in / out and the cooperative's product desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import places
from farmgate.accounts import service as accounts
from farmgate.catalog import highlights, service, views
from farmgate.cooperatives import service as cooperatives
from farmgate.errors import (
    AuthenticationRequired,
    FarmgateError,
    PermissionDenied,
    ValidationFailed,
)
from farmgate.logistics import service as logistics
from farmgate.logistics import township
from farmgate.models import CATEGORIES, Account, Batch, FulfilmentStatus, Product, Role
from farmgate.orders import presenters
from farmgate.orders import service as orders
from farmgate.presale import service as presale
from farmgate.reviews import views as reviews
from farmgate.storefront import wechat_pages as wx
from farmgate.storefront.common import PageAccount, check_csrf, render, signed_in
from farmgate.trace import alerts as trace_alerts
from farmgate.trace import service as trace_service
from farmgate.trace import urls as trace_urls
from farmgate.validators import normalize_mobile
from farmgate.web.cookies import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from farmgate.web.requests import FormValues
from farmgate.web.session import SessionDep
from farmgate.web.unit import opens_own_read

router = APIRouter(include_in_schema=False)
# The public catalogue's pages, read far more than anything else: farmgate/app.py includes this
# router first, because FastAPI tries routes in order (the product page was the 250th).
catalogue_router = APIRouter(include_in_schema=False)


@catalogue_router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    village_id: str = "",
    category: str = "",
    page: str = "1",
) -> Response:
    # The filter form sends empty strings for "all": read leniently, never a 422 page.
    village = int(village_id) if village_id.isdigit() else None
    page_no = max(1, int(page)) if page.isdigit() else 1
    filters = service.CatalogFilters(
        village_id=village, category=category if category in CATEGORIES else None
    )
    items, total = service.list_public(session, filters, page_no, 24)
    front = village is None and not filters.category and page_no == 1
    return render(
        request,
        "index.html",
        account,
        items=items,
        total=total,
        page=page_no,
        pages=max(1, -(-total // 24)),
        villages=places.list_villages(session),
        categories=CATEGORIES,
        village_id=village,
        category=category,
        seasonal=highlights.seasonal(session) if front else [],
        best_sellers=highlights.best_sellers(session) if front else [],
    )


# The product and what else its page shows (its SKUs and photos, the lot it links to, whether it
# has open pre-sales, its reviews' count and average), in one statement of Core columns.
_REVIEW_COUNT, _REVIEW_AVERAGE = reviews.counts_of(Product.id)
_PRODUCT_PAGE = views.detail_statement(
    col(Batch.gtin).label("lot_gtin"),
    col(Batch.lot_code),
    col(Batch.harvest_date),
    presale.open_count_of(Product.id).label("presales"),
    _REVIEW_COUNT.label("review_count"),
    _REVIEW_AVERAGE.label("review_average"),
    outerjoin=(Batch, col(Batch.id) == trace_service.current_batch_id_of(Product.id)),
)


@dataclass(frozen=True)
class _Lot:
    """The product's current lot, as its page shows it (building a ``Batch`` costs more than
    the rest of the page's Python: its default factories are inspected on every build)."""

    gtin: str
    lot_code: str
    harvest_date: date


@catalogue_router.get("/products/{product_id}", response_class=HTMLResponse)
@opens_own_read  # a hot page: no dependency to solve, no BEGIN/COMMIT (farmgate/web/unit.py)
def product_page(product_id: int, request: Request, session: Session) -> Response:
    account = signed_in(request, session)
    product, row = views.public_detail_row(session, product_id, _PRODUCT_PAGE)
    batch = None
    trace_path = None
    if row.lot_code is not None:
        batch = _Lot(row.lot_gtin, row.lot_code, row.harvest_date)
        trace_path = trace_urls.trace_path(batch)
    photo = product.cover or (product.photos[0] if product.photos else None)
    card = wx.share_card(
        request,
        f"{product.name} {wx.yuan(product.price_min_fen)}起",
        f"{product.cooperative_name} · 产地 {product.village_name} · {product.description}"[:120],
        (photo.urls.get(640) or next(iter(photo.urls.values()), None)) if photo else None,
    )
    response = render(
        request,
        "product.html",
        account,
        product=product,
        presales=[
            {"sku_id": p.sku_id, "window": presale.ship_window(p), "terms": presale.terms(p)}
            for p in (presale.current_for_product(session, product_id) if row.presales else [])
        ],
        batch=batch,
        trace_path=trace_path,
        reviews=reviews.summary(session, product_id, counts=(row.review_count, row.review_average)),
        service_phone=row.service_phone or None,
        card=card,
    )
    return wx.with_share_csp(response, card)


@catalogue_router.get("/cooperatives/{cooperative_id}", response_class=HTMLResponse)
def cooperative_page(
    cooperative_id: int, request: Request, session: SessionDep, account: PageAccount
) -> Response:
    coop = cooperatives.get_public(session, cooperative_id)
    items, total = service.list_public(
        session, service.CatalogFilters(cooperative_id=cooperative_id), 1, 60
    )
    return render(
        request,
        "cooperative.html",
        account,
        coop=cooperatives.public_view(session, coop),
        items=items,
        total=total,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, account: PageAccount, next: str = "/") -> Response:
    return render(request, "login.html", account, next=next, error=None, phone="")


def _safe_next(target: str) -> str:
    # Only same-site paths: never redirect a signed-in user to another host.
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    phone: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_csrf(request, csrf_token)
    try:
        account = accounts.authenticate(session, normalize_mobile(phone), password)
    except (FarmgateError, ValueError) as exc:
        if isinstance(exc, FarmgateError) and exc.commit_anyway:
            session.commit()  # keep the failure count even though this request fails
        message = exc.message if isinstance(exc, FarmgateError) else str(exc)
        response = render(request, "login.html", None, next=next, error=message, phone=phone)
        response.status_code = 429 if getattr(exc, "status", 0) == 429 else 400
        return response
    issued = accounts.issue_token(session, account, "session")
    homes: dict[str, str] = {
        Role.COOPERATIVE: "/coop/products",
        Role.COURIER: "/courier",
        Role.STATION: "/station",
        Role.ADMIN: "/township",
    }
    landing = homes.get(account.role, "/") if next == "/" else _safe_next(next)
    response = RedirectResponse(landing, status_code=303)
    set_session_cookie(response, issued.token)
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf_token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.revoke_token(session, cookie)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response)
    return response


def _staff(account: Account | None) -> Account:
    if account is None:
        raise AuthenticationRequired("请先登录")
    if account.role != Role.COOPERATIVE:
        raise PermissionDenied("该页面仅供合作社账号使用")
    return account


@router.get("/coop", response_class=HTMLResponse)
def coop_desk(request: Request, session: SessionDep, account: PageAccount) -> Response:
    staff = _staff(account)
    products = [views.product_owner_view(session, p) for p in service.list_own(session, staff)]
    to_pack = orders.orders_of(
        session, orders.fulfilments_for(session, staff, FulfilmentStatus.TO_PACK)
    )
    fulfilments = [
        presenters.order_view(session, o, cooperative_id=staff.cooperative_id) for o in to_pack
    ]
    on_the_way = [
        presenters.order_view(session, o, cooperative_id=staff.cooperative_id)
        for o in orders.orders_of(
            session,
            orders.fulfilments_for(session, staff, FulfilmentStatus.PACKED)
            + orders.fulfilments_for(session, staff, FulfilmentStatus.SHIPPED),
        )[:30]
    ]
    return render(
        request,
        "coop_products.html",
        staff,
        products=products,
        fulfilments=fulfilments,
        on_the_way=on_the_way,
        couriers=township.couriers(session, staff),
        alerts=trace_alerts.recent_alerts(session, staff.cooperative_id),
        lots=trace_service.lots_by_product(session, staff.cooperative_id or 0),
        notice=request.query_params.get("ok"),
    )


_DESK_ACTIONS = {
    "submit": service.submit_for_review,
    "withdraw": service.withdraw,
    "delist": service.delist,
}


@router.post("/coop/fulfilments/{fulfilment_id}/pack")
def coop_pack(
    fulfilment_id: int,
    request: Request,
    form: FormValues,
    session: SessionDep,
    account: PageAccount,
) -> Response:
    staff = _staff(account)
    check_csrf(request, form.get("csrf_token", ""))
    lots = {
        int(key[4:]): int(value)
        for key, value in form.items()
        if key.startswith("lot_") and key[4:].isdigit() and value.isdigit()
    }
    orders.mark_packed(session, staff, fulfilment_id, lots)
    return RedirectResponse("/coop?ok=1", status_code=303)


@router.post("/coop/parcels/{parcel_id}/courier")
def coop_assign_courier(
    parcel_id: int,
    request: Request,
    session: SessionDep,
    account: PageAccount,
    courier_account_id: Annotated[int, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    staff = _staff(account)
    check_csrf(request, csrf_token)
    township.assign(session, staff, parcel_id, courier_account_id)
    return RedirectResponse("/coop?ok=1", status_code=303)


@router.post("/coop/parcels/{parcel_id}/waybill-check")
def coop_waybill_check(
    parcel_id: int,
    request: Request,
    session: SessionDep,
    account: PageAccount,
    waybill_no: Annotated[str, Form()] = "",
    recreate: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The number found in the carrier's portal, or (``recreate``) none was made."""
    staff = _staff(account)
    check_csrf(request, csrf_token)
    number = None if recreate else waybill_no.strip()
    if number == "":
        raise ValidationFailed(
            "请填写运单号，或确认没有生成运单后重新下单", fields={"waybill_no": "请填写运单号"}
        )
    logistics.resolve_check(session, staff, parcel_id, number)
    return RedirectResponse("/coop?ok=1", status_code=303)


@router.post("/coop/products/{product_id}/{action}")
def coop_product_action(
    product_id: int,
    action: str,
    request: Request,
    session: SessionDep,
    account: PageAccount,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    staff = _staff(account)
    check_csrf(request, csrf_token)
    if action not in _DESK_ACTIONS:
        raise PermissionDenied("不支持的操作")
    _DESK_ACTIONS[action](session, staff, product_id)
    return RedirectResponse("/coop?ok=1", status_code=303)
