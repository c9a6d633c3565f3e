"""Cart, checkout and orders for consumers (signed in or guests); fulfilments for cooperatives."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, Field, field_validator

from farmgate.errors import ValidationFailed
from farmgate.models import FulfilmentStatus, OrderStatus
from farmgate.orders import cart as carts
from farmgate.orders import checkout as checkouts
from farmgate.orders import presenters, service
from farmgate.orders.schemas import CartItemIn, CartQuantityIn, CartView, CheckoutIn, OrderOut
from farmgate.validators import normalize_mobile
from farmgate.web.auth import CurrentAccount, CurrentAdmin, CurrentCooperativeStaff, OptionalAccount
from farmgate.web.cookies import CART_COOKIE, set_cart_cookie
from farmgate.web.session import SessionDep

router = APIRouter(tags=["购物车与订单"])
CartToken = Annotated[str | None, Header(alias="X-Cart-Token", description="游客购物车令牌")]


def _token(request: Request, header: str | None) -> str | None:
    return header or request.cookies.get(CART_COOKIE)


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
    ref = carts.get_cart(session, account, _token(request, x_cart_token), create=True)
    assert ref is not None
    carts.set_quantity(session, ref.cart, data.sku_id, data.quantity, add=True)
    _remember(response, ref)
    return carts.view(session, ref.cart)


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
    ref = carts.get_cart(session, account, _token(request, x_cart_token), create=True)
    assert ref is not None
    carts.set_quantity(session, ref.cart, sku_id, data.quantity)
    _remember(response, ref)
    return carts.view(session, ref.cart)


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
) -> OrderOut:
    ref = carts.get_cart(session, account, _token(request, x_cart_token), create=False)
    if ref is None:
        raise ValidationFailed("购物车是空的", code="empty_cart")
    order = checkouts.checkout(session, ref.cart, data, account)
    return presenters.order_view(session, order)


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
def get_order(order_id: int, session: SessionDep, account: CurrentAccount) -> OrderOut:
    return presenters.order_view(session, service.get_for(session, account, order_id))


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
