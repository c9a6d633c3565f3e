"""Cart, checkout and orders for consumers (signed in or guests); fulfilments for cooperatives."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.callbacks import API_PREFIX
from farmgate.errors import ValidationFailed
from farmgate.models import Account, DeliveryMethod, FulfilmentStatus, OrderStatus, Sku
from farmgate.orders import cart as carts
from farmgate.orders import checkout as checkouts
from farmgate.orders import presenters, service
from farmgate.orders import shipping as shipping_fees
from farmgate.orders.schemas import CartItemIn, CartQuantityIn, CartView, CheckoutIn, OrderOut
from farmgate.validators import normalize_mobile
from farmgate.web.auth import CurrentAccount, CurrentAdmin, CurrentCooperativeStaff, OptionalAccount
from farmgate.web.cookies import CART_COOKIE, set_cart_cookie
from farmgate.web.session import SessionDep
from farmgate.web.unit import reads_only

router = APIRouter(prefix=API_PREFIX, tags=["购物车与订单"])
CartToken = Annotated[str | None, Header(alias="X-Cart-Token", description="游客购物车令牌")]


def _token(request: Request, header: str | None) -> str | None:
    return header or request.cookies.get(CART_COOKIE)


def _cart_for_change(
    session: Session, account: Account | None, token: str | None
) -> tuple[carts.CartRef, list[carts.Line] | None]:
    """The cart a line changes in (made if need be), and its lines when they came with it:
    signed in with no guest cart to merge, the account's cart and its lines are one
    statement."""
    if account is not None and token is None:
        cart, lines = carts.account_cart(session, account)
        return carts.CartRef(cart), lines
    ref = carts.get_cart(session, account, token, create=True)
    assert ref is not None
    return ref, None


def _remember(response: Response, ref: carts.CartRef | None) -> None:
    if ref is not None and ref.new_token:
        response.headers["X-Cart-Token"] = ref.new_token
        set_cart_cookie(response, ref.new_token)


@router.get("/cart", response_model=CartView, summary="查看购物车")
def get_cart(
    request: Request, session: SessionDep, account: OptionalAccount, x_cart_token: CartToken = None
) -> CartView:
    ref = carts.get_cart(session, account, _token(request, x_cart_token), create=False)
    return carts.view(session, ref.cart if ref else None)


@router.post("/cart/items", response_model=CartView, summary="加入购物车（数量累加）")
def add_item(
    data: CartItemIn,
    request: Request,
    response: Response,
    session: SessionDep,
    account: OptionalAccount,
    x_cart_token: CartToken = None,
) -> CartView:
    ref, lines = _cart_for_change(session, account, _token(request, x_cart_token))
    lines = carts.set_quantity(session, ref.cart, data.sku_id, data.quantity, add=True, lines=lines)
    _remember(response, ref)
    return carts.view(session, ref.cart, lines)


@router.put("/cart/items/{sku_id}", response_model=CartView, summary="修改数量（0 为删除）")
def set_item(
    sku_id: int,
    data: CartQuantityIn,
    request: Request,
    response: Response,
    session: SessionDep,
    account: OptionalAccount,
    x_cart_token: CartToken = None,
) -> CartView:
    ref, lines = _cart_for_change(session, account, _token(request, x_cart_token))
    lines = carts.set_quantity(session, ref.cart, sku_id, data.quantity, lines=lines)
    _remember(response, ref)
    return carts.view(session, ref.cart, lines)


@router.delete("/cart/items/{sku_id}", response_model=CartView, summary="从购物车删除")
def remove_item(
    sku_id: int,
    request: Request,
    session: SessionDep,
    account: OptionalAccount,
    x_cart_token: CartToken = None,
) -> CartView:
    ref = carts.get_cart(session, account, _token(request, x_cart_token), create=False)
    if ref is not None:
        carts.set_quantity(session, ref.cart, sku_id, 0)
    return carts.view(session, ref.cart if ref else None)


@router.post("/checkout", response_model=OrderOut, status_code=201, summary="结算下单（预留库存）")
def checkout(
    data: CheckoutIn,
    request: Request,
    session: SessionDep,
    account: OptionalAccount,
    x_cart_token: CartToken = None,
    expected_shipping_fen: Annotated[
        int | None,
        Query(
            ge=0,
            description="买家看到的运费合计（分）；运费规则已变时拒绝下单（409 shipping_changed）",
        ),
    ] = None,
) -> OrderOut:
    token = _token(request, x_cart_token)
    cart = None  # signed in, no guest cart to merge: place() reads the account's own
    if account is None or token is not None:
        ref = carts.get_cart(session, account, token, create=False)
        if ref is None:
            raise ValidationFailed("购物车是空的", code="empty_cart")
        cart = ref.cart
    placed = checkouts.place(session, cart, data, account, expected_shipping_fen)
    return presenters.placed_view(placed.order, placed.fulfilments, [placed.event])


class QuoteIn(BaseModel):
    province: str = Field(default="", max_length=20, description="收货省份，如 广东省")
    delivery_method: DeliveryMethod = DeliveryMethod.COURIER
    items: list[CartItemIn] | None = Field(
        default=None, max_length=100, description="要报价的规格与数量；省略时按当前购物车"
    )


class ParcelQuoteOut(BaseModel):
    cooperative_id: int
    weight_g: int
    items_fen: int
    zone: str
    base_fen: int
    cold_fen: int
    fen: int
    storage: str
    free: bool
    note: str


class QuoteOut(BaseModel):
    parcels: list[ParcelQuoteOut]
    shipping_fen: int


@router.post("/shipping/quote", response_model=QuoteOut, summary="运费报价（按合作社分包裹）")
def shipping_quote(
    data: QuoteIn,
    request: Request,
    session: SessionDep,
    account: OptionalAccount,
    x_cart_token: CartToken = None,
) -> QuoteOut:
    """The same quote checkout charges: pass ``shipping_fen`` back to checkout as
    ``expected_shipping_fen`` to be refused rather than charged a changed fee."""
    if data.delivery_method == DeliveryMethod.COURIER and not data.province.strip():
        raise ValidationFailed("请填写收货省份", fields={"province": "请填写收货省份"})
    if data.items is None:
        ref = carts.get_cart(session, account, _token(request, x_cart_token), create=False)
        view = carts.view(session, ref.cart if ref else None)
        items = [(line.sku_id, line.quantity) for g in view.groups for line in g.lines]
    else:
        items = [(i.sku_id, i.quantity) for i in data.items]
    quotes = shipping_fees.quote_items(session, items, data.delivery_method, data.province)
    known = {q.cooperative_id for q in quotes.values()}
    if items and not known:
        raise ValidationFailed("没有找到这些商品", fields={"items": "没有找到这些商品"})
    if data.items is not None and len({s for s, _ in items}) != _found(session, items):
        raise ValidationFailed("有的商品规格不存在", fields={"items": "有的商品规格不存在"})
    parcels = [ParcelQuoteOut(**vars(q)) for q in quotes.values()]
    return QuoteOut(parcels=parcels, shipping_fen=sum(p.fen for p in parcels))


def _found(session: SessionDep, items: list[tuple[int, int]]) -> int:
    ids = list({s for s, _ in items})
    return len(session.scalars(select(col(Sku.id)).where(col(Sku.id).in_(ids))).all())


@router.get("/orders", response_model=list[OrderOut], summary="我的订单")
def my_orders(
    session: SessionDep, account: CurrentAccount, status: OrderStatus | None = None
) -> list[OrderOut]:
    return [presenters.order_view(session, o) for o in service.list_for(session, account, status)]


class Lookup(BaseModel):
    number: str = Field(min_length=8, max_length=24)
    phone: str

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalize_mobile(v)


@router.post("/orders/lookup", response_model=OrderOut, summary="游客凭订单号和手机号查询订单")
def lookup(data: Lookup, session: SessionDep) -> OrderOut:
    return presenters.order_view(session, service.find_for_guest(session, data.number, data.phone))


@router.get("/orders/{order_id}", response_model=OrderOut, summary="订单详情")
@reads_only  # polled by a buyer waiting for the payment to show
def get_order(order_id: int, session: SessionDep, account: CurrentAccount) -> OrderOut:
    return presenters.visible_order_view(session, account, order_id)


@router.post("/orders/{order_id}/cancel", response_model=OrderOut, summary="取消待付款订单")
def cancel(order_id: int, session: SessionDep, account: CurrentAccount) -> OrderOut:
    order = service.get_for(session, account, order_id, lock=True)
    return presenters.order_view(session, service.cancel(session, order, account, note="买家取消"))


@router.get("/my/fulfilments", response_model=list[OrderOut], summary="本合作社的发货单")
def my_fulfilments(
    session: SessionDep, staff: CurrentCooperativeStaff, status: FulfilmentStatus | None = None
) -> list[OrderOut]:
    orders = service.orders_of(session, service.fulfilments_for(session, staff, status))
    return [presenters.order_view(session, o, cooperative_id=staff.cooperative_id) for o in orders]


class PackIn(BaseModel):
    lots: dict[int, int] = Field(
        default_factory=dict, description="每一行发出的批次：{订单行 id: 批次 id}（可选）"
    )


@router.post("/my/fulfilments/{fulfilment_id}/pack", response_model=OrderOut, summary="标记已打包")
def pack(
    fulfilment_id: int,
    session: SessionDep,
    staff: CurrentCooperativeStaff,
    data: PackIn | None = None,
) -> OrderOut:
    lots = data.lots if data else {}
    fulfilment = service.mark_packed(session, staff, fulfilment_id, lots)
    order = service.get_order(session, fulfilment.order_id)
    return presenters.order_view(session, order, cooperative_id=staff.cooperative_id)


@router.get("/admin/orders", response_model=list[OrderOut], summary="全部订单（乡镇管理员）")
def all_orders(
    session: SessionDep, admin: CurrentAdmin, status: OrderStatus | None = None
) -> list[OrderOut]:
    return [
        presenters.order_view(session, o)
        for o in service.list_for(session, admin, status, limit=200)
    ]
