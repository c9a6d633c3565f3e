"""Buying without JavaScript: cart, checkout, order confirmation and "my orders"."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import pk
from farmgate.errors import FarmgateError
from farmgate.messages import validation_fields
from farmgate.models import AFTER_SALES_REASONS, Account, DeliveryMethod, Order
from farmgate.orders import (
    addresses,
    buyer_views,
    guest_limits,
    presenters,
    receipt,
    service,
    state,
)
from farmgate.orders import cart as carts
from farmgate.orders import checkout as checkouts
from farmgate.orders import shipping as shipping_fees
from farmgate.orders.schemas import AddressIn, CartView, CheckoutIn
from farmgate.payments import aftersales
from farmgate.payments import service as payments
from farmgate.payments.qr import qr_svg
from farmgate.presale import service as presale
from farmgate.presale import views as presale_views
from farmgate.stations import orders as station_orders
from farmgate.stations import records as stations
from farmgate.storefront import wechat_pages as wx
from farmgate.storefront.common import PageAccount, check_csrf, check_same_origin_or_csrf, render
from farmgate.validators import normalize_mobile
from farmgate.web.cookies import CART_COOKIE, set_cart_cookie
from farmgate.web.requests import FormValues, client_ip
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)


def _cart_ref(
    request: Request, session: SessionDep, account: PageAccount, create: bool
) -> carts.CartRef | None:
    return carts.get_cart(session, account, request.cookies.get(CART_COOKIE), create=create)


def _with_cart_cookie(response: Response, ref: carts.CartRef | None) -> Response:
    if ref is not None and ref.new_token:
        set_cart_cookie(response, ref.new_token)
    return response


@router.post("/cart/add")
def add_to_cart(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    sku_id: Annotated[int, Form()],
    quantity: Annotated[int, Form(ge=1, le=999)] = 1,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_same_origin_or_csrf(request, csrf_token)  # the product page's form carries no token
    ref = _cart_ref(request, session, account, create=True)
    assert ref is not None
    carts.set_quantity(session, ref.cart, sku_id, quantity, add=True)
    return _with_cart_cookie(RedirectResponse("/cart", status_code=303), ref)


@router.post("/cart/set")
def set_cart_quantity(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    sku_id: Annotated[int, Form()],
    quantity: Annotated[int, Form(ge=0, le=999)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    ref = _cart_ref(request, session, account, create=False)
    if ref is not None:
        carts.set_quantity(session, ref.cart, sku_id, quantity)
    return RedirectResponse("/cart", status_code=303)


@router.get("/cart", response_class=HTMLResponse)
def cart_page(request: Request, session: SessionDep, account: PageAccount) -> Response:
    ref = _cart_ref(request, session, account, create=False)
    cart = carts.view(session, ref.cart if ref else None)
    # An estimate to the buyer's default address (or the township's own province); checkout
    # quotes again for the address given.
    default = addresses.default_for(session, account) if account else None
    province = default.province if default else addresses.local_defaults(session)["province"]
    fees = _shipping(session, cart, {"province": province, "delivery_method": "courier"})
    return render(
        request,
        "cart.html",
        account,
        cart=cart,
        fees=fees,
        fee_province=province,
        ship_dates=_ship_dates(session, cart),
    )


def _ship_dates(session: Session, cart: CartView) -> dict[int, str]:
    """Pre-sale lines' expected ship window, by SKU id (shown on the cart and checkout)."""
    ids = [line.sku_id for g in cart.groups for line in g.lines]
    return {k: presale.ship_window(v) for k, v in presale.for_skus(session, ids).items()}


class Fees:
    """The shipping quote shown on the cart and checkout: per cooperative, and the total."""

    def __init__(
        self, parcels: dict[int, shipping_fees.ParcelQuote], error: str | None = None
    ) -> None:
        self.parcels = parcels
        self.error = error
        self.total_fen = sum(q.fen for q in parcels.values())


def _shipping(session: Session, cart: CartView, fields: dict[str, str]) -> Fees:
    province = (fields.get("province") or "").strip()
    method = fields.get("delivery_method") or "courier"
    if method == "courier" and not province:
        return Fees({}, "填写收货省份后显示运费")
    if method not in {m.value for m in DeliveryMethod}:
        return Fees({}, "选择配送方式后显示运费")
    items = [(line.sku_id, line.quantity) for g in cart.groups for line in g.lines]
    try:
        return Fees(shipping_fees.quote_items(session, items, method, province))
    except FarmgateError as exc:
        return Fees({}, exc.message)


def _checkout_form(
    request: Request,
    account: PageAccount,
    cart: object,
    values: dict[str, str],
    errors: dict[str, str],
    session: Session | None = None,
) -> Response:
    saved = addresses.list_for(session, account) if session is not None and account else []
    fees = None
    if session is not None and isinstance(cart, CartView):
        fields = dict(values)
        chosen = values.get("address_id", "new")
        if account is not None and chosen.isdigit():
            known = {str(a.id): a for a in saved}
            if chosen in known:
                fields.update(addresses.as_values(known[chosen]))
        fees = _shipping(session, cart, fields)
        values = {**values, "quoted_fen": "" if fees.error else str(fees.total_fen)}
    response = render(
        request,
        "checkout.html",
        account,
        cart=cart,
        ship_dates=_ship_dates(session, cart) if session is not None else {},  # type: ignore[arg-type]
        values=values,
        errors=errors,
        delivery_labels=DeliveryMethod.labels(),
        guest_rule=guest_limits.rule_text() if account is None else None,
        saved=saved,
        villages=addresses.village_choices(session) if session is not None else [],
        stations=stations.list_stations(session) if session is not None else [],
        fees=fees,
    )
    if errors:
        response.status_code = 422
    return response


def _bad_lines(cart: CartView) -> dict[str, str]:
    """The lines that cannot be bought now, as the form's errors (empty when all can)."""
    bad = {
        f"sku {line.sku_id}": f"{line.product_name}（{line.sku_spec}）{line.problem_message}"
        for g in cart.groups
        for line in g.lines
        if not line.available
    }
    if bad:
        bad["_"] = "购物车里有商品现在不能购买，请先移除或减少数量"
    return bad


@router.get("/checkout", response_class=HTMLResponse)
def checkout_page(request: Request, session: SessionDep, account: PageAccount) -> Response:
    ref = _cart_ref(request, session, account, create=False)
    cart = carts.view(session, ref.cart if ref else None)
    if not cart.count:
        return RedirectResponse("/cart", status_code=303)
    if wx.oauth_needed(request, session, account):  # in WeChat: learn the openid now, silently
        return wx.oauth_start("/checkout")
    values = {
        **addresses.local_defaults(session),
        "phone": account.phone if account else "",
        "delivery_method": "courier",
    }
    default = addresses.default_for(session, account) if account else None
    values["address_id"] = str(default.id) if default else "new"
    response = _checkout_form(request, account, cart, values, _bad_lines(cart), session)
    response.status_code = 200  # the page opens; only placing the order is refused
    return response


@router.post("/checkout", response_class=HTMLResponse)
def place_order(
    request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    values = dict(form)
    check_csrf(request, values.pop("csrf_token", ""))
    ref = _cart_ref(request, session, account, create=False)
    cart = carts.view(session, ref.cart if ref else None)
    if ref is None or not cart.count:
        return RedirectResponse("/cart", status_code=303)
    if cart.unavailable:
        return _checkout_form(request, account, cart, values, _bad_lines(cart), session)
    if values.pop("action", "") == "quote":  # "更新运费": the same form, the fee for its address
        return _checkout_form(request, account, cart, values, {}, session)
    quoted = values.get("quoted_fen", "")
    fields = dict(values)
    chosen = values.get("address_id", "new")
    if account is not None and chosen.isdigit():  # a saved address: its fields, not the typed
        fields.update(addresses.as_values(addresses.get_for(session, account, int(chosen))))
    station = None
    if values.get("delivery_method") == DeliveryMethod.PICKUP:  # no street address asked
        try:
            chosen_station = values.get("station_id", "")
            station = station_orders.open_station(
                session, int(chosen_station) if chosen_station.isdigit() else None
            )
        except FarmgateError as exc:
            errors = {"_": exc.message, **exc.fields}
            return _checkout_form(request, account, cart, values, errors, session)
        fields.update(station_orders.pickup_address(session, station))
        chosen = "station"  # the station's address is not saved to the address book
    try:
        data = CheckoutIn(**fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = validation_fields(list(exc.errors()))
        return _checkout_form(request, account, cart, values, errors, session)
    try:
        if account is not None and chosen == "new" and values.get("save_address") == "1":
            known = addresses.list_for(session, account)
            if not any(addresses.same(a, fields) for a in known):
                address = AddressIn(**{k: fields.get(k, "") for k in addresses.FIELDS})
                addresses.add(session, account, address)
        expected = int(quoted) if quoted.isdigit() else None
        order = checkouts.checkout(session, ref.cart, data, account, expected)
        if station is not None:
            station_orders.attach(session, order, station)
    except FarmgateError as exc:
        session.rollback()
        errors = {"_": exc.message, **exc.fields}
        return _checkout_form(request, account, cart, values, errors, session)
    wx.bind_order_payer(request, session, account, order)
    url = f"/orders/{order.number}?t={service.access_token(order)}"
    return RedirectResponse(url, status_code=303)


@router.get("/orders/{number}", response_class=HTMLResponse)
def order_page(
    number: str,
    request: Request,
    session: SessionDep,
    account: PageAccount,
    t: str | None = None,
    done: str = "",
    paying: str | None = None,
) -> Response:
    order = service.get_by_number(session, number, account, t)
    notice = buyer_notice(done)
    return order_response(request, session, account, order, t, notice=notice, paying=paying)


def buyer_notice(done: str) -> str | None:
    return {
        "cancelled": "订单已取消，库存已释放。",
        "confirmed": "已确认收货，订单完成。感谢您的购买！",
        "asked": "售后申请已提交，合作社会尽快答复，每一步都会显示在本页。",
    }.get(done)


def order_response(
    request: Request,
    session: Session,
    account: Account | None,
    order: Order,
    t: str | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    paying: str | None = None,
) -> Response:
    """The order's page, with a notice after an action or the reason an action was refused."""
    view = presenters.order_view(session, order)
    pending = order.status == state.OS.PENDING_PAYMENT
    intent = payments.open_intent(session, order) if pending else None
    code_url = intent.client.get("code_url") if intent else None
    token = t or service.access_token(order)
    order_path = f"/orders/{order.number}?t={token}"
    mweb_url = intent.client.get("mweb_url") if intent and intent.channel == "mweb" else None
    if mweb_url:  # WeChat's H5 page sends the buyer back here when done
        back = quote(f"{settings.public_base_url}{order_path}&paying=1", safe="")
        mweb_url += ("&" if "?" in mweb_url else "?") + f"redirect_url={back}"
    jsapi = intent.client.get("jsapi") if intent and intent.channel == "jsapi" else None
    extra = buyer_views.extras(session, [order])[pk(order)]
    delivered = receipt.delivered_at(session, order) if order.status == "delivered" else None
    sales = presale.of_order(session, order)
    balance = (
        payments.open_intent(session, order) if sales and order.status == state.OS.PAID else None
    )
    balance_url = balance.client.get("code_url") if balance else None
    refunded, refunding = presale_views.refund_sums(session, [pk(order)]).get(pk(order), (0, 0))
    response = render(
        request,
        "order.html",
        account,
        presales=[
            {
                "part": p.part,
                "presale": p.presale,
                "window": presale.ship_window(p.presale),
                "balance_open": p.balance_open,
                "late": p.late,
                "refund_text": "逾期未付尾款，订单已取消，定金原路退回。"
                if p.presale.status == "closed"
                else "采收不足，按付款先后发货，本单已全额自动退款。",
                "refunded_fen": refunded,
                "refunding_fen": refunding,
            }
            for p in sales
        ],
        pay_fen=order.total_fen - payments.presale_balance_fen(session, order),
        balance_fen=balance.amount_fen if balance else 0,
        balance_url=balance_url,
        balance_qr=qr_svg(balance_url) if balance_url else None,
        order=view,
        extra=extra,
        phones=buyer_views.service_phones(session, [f.cooperative_id for f in view.fulfilments]),
        requests=[
            (r, refund, aftersales.photo_url)
            for r, refund in aftersales.for_order(session, pk(order))
        ],
        reasons=AFTER_SALES_REASONS,
        auto_confirm_at=receipt.auto_confirm_due(order, delivered),
        notice=notice,
        error=error,
        token=token,
        delivery_labels=DeliveryMethod.labels(),
        pending=pending,
        code_url=code_url,
        qr_svg=qr_svg(code_url) if code_url else None,
        mweb_url=mweb_url,
        jsapi=jsapi if jsapi and wx.in_wechat(request) else None,
        paying=pending and paying is not None,
        status_url=f"/orders/{order.number}/status?t={token}",
        cash=intent.client if intent and intent.channel == "cash" else None,
        cash_enabled=settings.cash_payments and payments.cash_allowed(session, order),
        station=station_orders.station_view(session, order),
        simulator=settings.simulator,
    )
    if error:
        response.status_code = 409
    return response


@router.get("/orders/{number}/status")
def order_status(
    number: str, session: SessionDep, account: PageAccount, t: str | None = None
) -> Response:
    """What the order page polls while WeChat confirms a payment."""
    order = service.get_by_number(session, number, account, t)
    return JSONResponse(
        {"status": order.status, "pending": order.status == state.OS.PENDING_PAYMENT},
        headers={"cache-control": "no-store"},
    )


@router.get("/my-orders", response_class=HTMLResponse)
def my_orders(request: Request, session: SessionDep, account: PageAccount) -> Response:
    found = service.list_for(session, account) if account else []
    orders = [presenters.order_view(session, o) for o in found]
    extras = buyer_views.extras(session, found)
    return render(
        request,
        "my_orders.html",
        account,
        orders=orders,
        extras=extras,
        tokens={o.id: service.access_token(o) for o in found},
        error=None,
    )


@router.post("/my-orders", response_class=HTMLResponse)
def lookup_order(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    number: Annotated[str, Form()],
    phone: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    try:
        order = service.find_for_guest(session, number, normalize_mobile(phone))
    except (FarmgateError, ValueError) as exc:
        response = render(
            request,
            "my_orders.html",
            account,
            orders=[],
            extras={},
            tokens={},
            error=getattr(exc, "message", str(exc)),
        )
        response.status_code = 404
        return response
    return RedirectResponse(
        f"/orders/{order.number}?t={service.access_token(order)}", status_code=303
    )


@router.post("/orders/{number}/balance")
def pay_balance(
    number: str,
    request: Request,
    session: SessionDep,
    account: PageAccount,
    t: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A pre-sale's balance (尾款), the order's second payment; refused after the deadline."""
    check_csrf(request, csrf_token)
    order = service.get_by_number(session, number, account, t or None)
    try:
        presale.pay_balance(session, order, "native", client_ip=client_ip(request))
    except FarmgateError as exc:
        session.rollback()
        order = service.get_by_number(session, number, account, t or None)
        return order_response(request, session, account, order, t or None, error=exc.message)
    return RedirectResponse(
        f"/orders/{number}?t={t or service.access_token(order)}#presale", status_code=303
    )


@router.post("/orders/{number}/pay")
def pay_order(
    number: str,
    request: Request,
    session: SessionDep,
    account: PageAccount,
    t: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    method: Annotated[str, Form()] = "wechat",
) -> Response:
    """Start paying: WeChat Pay (JSAPI inside WeChat when the official account is configured,
    the H5 page in other phone browsers, a QR code otherwise) or cash at the service station.

    Every answer goes back to the order page, which shows the next step: the H5 page is a
    plain link there (our CSP's form-action stops a form from redirecting to WeChat's host).
    """
    check_csrf(request, csrf_token)
    order = service.get_by_number(session, number, account, t or None)
    order_path = f"/orders/{number}?t={t or service.access_token(order)}"
    openid = None
    if method == "cash":
        channel = "cash"
    elif method == "qr":
        channel = "native"
    elif wx.in_wechat(request) and wx.jsapi_enabled():
        if wx.oauth_needed(request, session, account):
            return wx.oauth_start(order_path)
        openid = wx.bind_order_payer(request, session, account, order)
        channel = "jsapi" if openid else "native"
    else:
        channel = "mweb" if wx.in_phone_browser(request) else "native"
    try:
        payments.create_intent(
            session,
            order,
            channel,  # type: ignore[arg-type]
            client_ip=client_ip(request),
            openid=openid,
        )
    except FarmgateError as exc:
        if exc.code != "cash_not_local":
            raise
        session.rollback()  # nothing changed: the same page says why
        return order_response(request, session, account, order, t or None, error=exc.message)
    return RedirectResponse(
        order_path + ("&paying=1" if channel == "jsapi" else ""), status_code=303
    )
