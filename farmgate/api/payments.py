"""Paying for orders, WeChat Pay's notifications, refunds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from farmgate import callbacks
from farmgate.callbacks import API_PREFIX
from farmgate.errors import NotFound
from farmgate.models import Refund
from farmgate.orders import presenters
from farmgate.orders import service as orders
from farmgate.orders.schemas import OrderOut
from farmgate.payments import requests, service
from farmgate.payments.provider import Channel
from farmgate.web.auth import CurrentAccount, CurrentAdmin
from farmgate.web.guard import body_limit
from farmgate.web.requests import RawBody, client_ip
from farmgate.web.session import SessionDep
from farmgate.wechat import identity

router = APIRouter(prefix=API_PREFIX, tags=["支付"])


class PayIn(BaseModel):
    channel: Channel = Field(
        description="native（扫码）、jsapi（微信内）、mweb（手机浏览器）、cash（到村服务站现金付款）"
    )
    openid: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",  # what WeChat issues; anything else could only fail there
        description="jsapi：付款人的 openid；不填则用账号已绑定的微信（网页授权时绑定）",
    )


class IntentOut(BaseModel):
    out_trade_no: str
    channel: str
    amount_fen: int
    status: str
    client: dict[str, Any]


class CashReceivedIn(BaseModel):
    receipt_no: str = Field(min_length=1, max_length=32, description="纸质收据编号")
    amount_fen: int = Field(gt=0, description="实收金额（分），须与订单金额一致")


class RefundIn(BaseModel):
    amount_fen: int | None = Field(default=None, gt=0, description="不填为全额退款")
    reason: str = Field(default="", max_length=80)


@router.post(
    "/orders/{order_id}/pay",
    response_model=IntentOut,
    summary="发起微信支付（同一订单重复请求返回同一支付单）",
)
def pay(
    order_id: int, data: PayIn, request: Request, session: SessionDep, account: CurrentAccount
) -> IntentOut:
    order, prior = service.order_to_pay(session, account, order_id, data.channel)
    openid = data.openid
    if data.channel == "jsapi" and not openid:
        openid = identity.account_openid(session, account)
    if data.channel == "jsapi" and openid:
        identity.bind_order(session, order, openid)
    intent = service.create_intent(
        session, order, data.channel, client_ip=client_ip(request), openid=openid, prior=prior
    )
    return IntentOut.model_validate(intent, from_attributes=True)


@router.post(callbacks.WECHAT_PAY_NOTIFY, include_in_schema=False)
def wechat_notify(request: Request, body: RawBody, session: SessionDep) -> Response:
    """verify -> apply and store -> acknowledge (a failed apply is left to a job)."""
    limit = body_limit(request.url.path)
    if limit is not None and len(body) > limit:  # sent chunked, past the guard's length check
        return Response(status_code=413)
    status, content_type, payload = service.receive_notification(session, request.headers, body)
    return Response(payload, status_code=status, media_type=content_type)


@router.post("/orders/{order_id}/refund-request", response_model=OrderOut, summary="申请退款")
def refund_request(order_id: int, session: SessionDep, account: CurrentAccount) -> OrderOut:
    order = orders.get_for(session, account, order_id, lock=True)
    requests.ask(session, account, order)  # each cooperative answers on its desk
    return presenters.order_view(session, order)


@router.post(
    "/admin/orders/{order_id}/refund", response_model=OrderOut, summary="退款（全额或部分）"
)
def refund(order_id: int, data: RefundIn, session: SessionDep, admin: CurrentAdmin) -> OrderOut:
    order = orders.get_for(session, admin, order_id, lock=True)
    service.approve_refund(session, order, data.amount_fen, data.reason or "乡镇管理员同意退款")
    return presenters.order_view(session, order)


@router.post(
    "/admin/orders/{order_id}/cash-received",
    response_model=OrderOut,
    summary="服务站确认已收到现金（同一收据重复确认只记一次）",
)
def cash_received(
    order_id: int, data: CashReceivedIn, session: SessionDep, admin: CurrentAdmin
) -> OrderOut:
    order = orders.get_for(session, admin, order_id, lock=True)
    service.confirm_cash(
        session, order, receipt_no=data.receipt_no, amount_fen=data.amount_fen, staff=admin
    )
    return presenters.order_view(session, order)


@router.post(
    "/admin/refunds/{refund_id}/cash-returned",
    response_model=OrderOut,
    summary="服务站确认已将现金退还买家",
)
def cash_returned(refund_id: int, session: SessionDep, admin: CurrentAdmin) -> OrderOut:
    refund = session.get(Refund, refund_id, with_for_update=True)
    if refund is None:
        raise NotFound("退款记录不存在")
    service.cash_returned(session, refund, admin)
    order = orders.get_for(session, admin, refund.order_id)
    return presenters.order_view(session, order)
