"""The simulator's HTTP endpoints (WeChat Pay v2 wire format) and its control API."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import xmltodict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from farmgate.payments.wechat_v2 import hmac_sha256_sign

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAULTS = {"error_500", "timeout", "notify_twice", "notify_forged", "notify_wrong_amount"}


def md5_sign(params: dict[str, Any], api_key: str) -> str:
    text = "&".join(
        f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, "")
    )
    return hashlib.md5(f"{text}&key={api_key}".encode()).hexdigest().upper()


@dataclass
class SimOrder:
    out_trade_no: str
    amount_fen: int
    notify_url: str
    trade_type: str
    prepay_id: str
    state: str = "NOTPAY"
    transaction_id: str | None = None
    time_end: str | None = None
    refunds: dict[str, int] = field(default_factory=dict)


@dataclass
class SimState:
    appid: str
    mch_id: str
    api_key: str
    public_url: str = ""
    orders: dict[str, SimOrder] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    timeout_seconds: float = 15.0
    sent: list[bytes] = field(default_factory=list)  # every notification body, delivered or not

    def take_fault(self, *names: str) -> str | None:
        for name in names:
            if name in self.faults:
                self.faults.remove(name)
                return name
        return None


def _xml(data: dict[str, Any]) -> Response:
    body = (
        "<xml>"
        + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in data.items() if v is not None)
        + "</xml>"
    )
    return Response(body, media_type="application/xml", headers={"X-Simulator": "wechatpay"})


def build_app(state: SimState) -> Starlette:
    def signed(data: dict[str, Any], sign_type: str) -> Response:
        data = {
            "return_code": "SUCCESS",
            "return_msg": "OK",
            "appid": state.appid,
            "mch_id": state.mch_id,
            "nonce_str": secrets.token_hex(16),
            **data,
        }
        sign = hmac_sha256_sign if sign_type == "HMAC-SHA256" else md5_sign
        data["sign"] = sign(data, state.api_key)
        return _xml(data)

    async def parse(request: Request) -> tuple[dict[str, Any] | None, Response | None, str]:
        fault = state.take_fault("error_500", "timeout")
        if fault == "error_500":
            return (
                None,
                Response("simulated outage", status_code=503, headers={"X-Simulator": "wechatpay"}),
                "",
            )
        if fault == "timeout":
            await asyncio.sleep(state.timeout_seconds)
        try:
            data = xmltodict.parse(await request.body())["xml"]
        except Exception:
            return None, _xml({"return_code": "FAIL", "return_msg": "XML格式错误"}), ""
        sign_type = data.get("sign_type", "MD5")
        expected = (hmac_sha256_sign if sign_type == "HMAC-SHA256" else md5_sign)(
            data, state.api_key
        )
        if data.get("sign") != expected or data.get("mch_id") != state.mch_id:
            return None, _xml({"return_code": "FAIL", "return_msg": "签名错误"}), sign_type
        return data, None, sign_type

    def fail(code: str, message: str, sign_type: str) -> Response:
        return signed({"result_code": "FAIL", "err_code": code, "err_code_des": message}, sign_type)

    async def unifiedorder(request: Request) -> Response:
        data, error, sign_type = await parse(request)
        if error:
            return error
        assert data is not None
        no, amount = data["out_trade_no"], int(data["total_fee"])
        order = state.orders.get(no)
        if order is not None:
            if order.state == "SUCCESS":
                return fail("ORDERPAID", "该订单已支付", sign_type)
            if order.amount_fen != amount or order.state == "CLOSED":
                return fail("OUT_TRADE_NO_USED", "商户订单号重复", sign_type)
        else:
            order = SimOrder(
                no, amount, data["notify_url"], data["trade_type"], "wx" + secrets.token_hex(14)
            )
            state.orders[no] = order
        result: dict[str, Any] = {
            "result_code": "SUCCESS",
            "trade_type": order.trade_type,
            "prepay_id": order.prepay_id,
        }
        if order.trade_type == "NATIVE":
            result["code_url"] = f"{state.public_url}/_simulator/scan/{no}"
        if order.trade_type == "MWEB":
            result["mweb_url"] = f"{state.public_url}/_simulator/scan/{no}"
        return signed(result, sign_type)

    async def orderquery(request: Request) -> Response:
        data, error, sign_type = await parse(request)
        if error:
            return error
        order = state.orders.get(data["out_trade_no"])  # type: ignore[index]
        if order is None:
            return fail("ORDERNOTEXIST", "此交易订单号不存在", sign_type)
        return signed(
            {
                "result_code": "SUCCESS",
                "trade_state": order.state,
                "out_trade_no": order.out_trade_no,
                "total_fee": order.amount_fen,
                "transaction_id": order.transaction_id,
                "time_end": order.time_end,
            },
            sign_type,
        )

    async def closeorder(request: Request) -> Response:
        data, error, sign_type = await parse(request)
        if error:
            return error
        order = state.orders.get(data["out_trade_no"])  # type: ignore[index]
        if order is None:
            return fail("ORDERNOTEXIST", "此交易订单号不存在", sign_type)
        if order.state == "SUCCESS":
            return fail("ORDERPAID", "订单已支付，不能关闭", sign_type)
        order.state = "CLOSED"
        return signed({"result_code": "SUCCESS"}, sign_type)

    async def refund(request: Request) -> Response:
        data, error, sign_type = await parse(request)
        if error:
            return error
        order = state.orders.get(data["out_trade_no"])  # type: ignore[index]
        if order is None or order.state not in ("SUCCESS", "REFUND"):
            return fail("ORDERNOTEXIST", "订单不存在或未支付", sign_type)
        refund_no, fee = data["out_refund_no"], int(data["refund_fee"])
        if refund_no not in order.refunds:
            if int(data["total_fee"]) != order.amount_fen:
                return fail("INVALID_REQUEST", "订单金额不一致", sign_type)
            if sum(order.refunds.values()) + fee > order.amount_fen:
                return fail("NOTENOUGH", "退款金额超过可退金额", sign_type)
            order.refunds[refund_no] = fee
            order.state = "REFUND"
        return signed(
            {
                "result_code": "SUCCESS",
                "out_trade_no": order.out_trade_no,
                "out_refund_no": refund_no,
                "refund_id": "50" + hashlib.sha256(refund_no.encode()).hexdigest()[:26],
                "refund_fee": order.refunds[refund_no],
                "total_fee": order.amount_fen,
            },
            sign_type,
        )

    def notification(order: SimOrder, *, forged: bool = False, amount: int | None = None) -> bytes:
        data: dict[str, Any] = {
            "return_code": "SUCCESS",
            "result_code": "SUCCESS",
            "appid": state.appid,
            "mch_id": state.mch_id,
            "nonce_str": secrets.token_hex(16),
            "openid": "o_simulated_payer",
            "trade_type": order.trade_type,
            "bank_type": "OTHERS",
            "total_fee": amount if amount is not None else order.amount_fen,
            "fee_type": "CNY",
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "time_end": order.time_end,
            "sign_type": "HMAC-SHA256",
        }
        data["sign"] = hmac_sha256_sign(
            data, "forged-key-" + state.api_key if forged else state.api_key
        )
        return (
            "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in data.items()) + "</xml>"
        ).encode()

    async def send(order: SimOrder, body: bytes) -> int:
        state.sent.append(body)
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(
                    order.notify_url, content=body, headers={"Content-Type": "text/xml"}
                )
        except httpx.HTTPError:
            return 0  # the merchant is unreachable; WeChat would retry, reconciliation catches it
        return response.status_code

    async def pay(request: Request) -> Response:
        """Control API: the payer pays; the signed notification goes to notify_url."""
        order = state.orders.get(request.path_params["out_trade_no"])
        if order is None:
            return JSONResponse({"error": "no such order"}, status_code=404)
        if order.state == "NOTPAY":
            order.state = "SUCCESS"
            order.transaction_id = "42" + secrets.token_hex(13)
            order.time_end = datetime.now(SHANGHAI).strftime("%Y%m%d%H%M%S")
        fault = state.take_fault("notify_twice", "notify_forged", "notify_wrong_amount")
        body = notification(
            order,
            forged=fault == "notify_forged",
            amount=order.amount_fen + 1 if fault == "notify_wrong_amount" else None,
        )
        statuses = [await send(order, body)]
        if fault == "notify_twice":
            statuses.append(await send(order, body))
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(
                _page("支付成功（模拟）", "已向商户发送支付通知。请返回商户页面查看订单状态。")
            )
        return JSONResponse(
            {
                "state": order.state,
                "transaction_id": order.transaction_id,
                "notify_status": statuses,
            }
        )

    async def scan(request: Request) -> Response:
        order = state.orders.get(request.path_params["out_trade_no"])
        if order is None:
            return HTMLResponse(_page("订单不存在", ""), status_code=404)
        body = (
            f"<p>订单 {order.out_trade_no}，金额 ¥{order.amount_fen / 100:.2f}，状态 {order.state}</p>"
            f'<form method="post" action="/_simulator/pay/{order.out_trade_no}"><button>确认支付（模拟）</button></form>'
        )
        return HTMLResponse(_page("微信支付（模拟）", body))

    async def faults(request: Request) -> Response:
        payload = await request.json()
        names = payload.get("faults", [])
        unknown = set(names) - FAULTS
        if unknown:
            return JSONResponse({"error": f"unknown faults {sorted(unknown)}"}, status_code=400)
        state.faults.extend(names)
        return JSONResponse({"faults": state.faults})

    return Starlette(
        routes=[
            Route("/pay/unifiedorder", unifiedorder, methods=["POST"]),
            Route("/pay/orderquery", orderquery, methods=["POST"]),
            Route("/pay/closeorder", closeorder, methods=["POST"]),
            Route("/secapi/pay/refund", refund, methods=["POST"]),
            Route("/_simulator/pay/{out_trade_no}", pay, methods=["POST"]),
            Route("/_simulator/scan/{out_trade_no}", scan, methods=["GET"]),
            Route("/_simulator/faults", faults, methods=["POST"]),
        ]
    )


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{title}</title><body style='font-family:sans-serif;padding:1rem'>"
        "<p style='background:#fff3cd;padding:.5rem'><b>模拟支付</b>：这是 farmgate 的微信支付模拟器，不会产生真实扣款。</p>"
        f"<h1>{title}</h1>{body}</body></html>"
    )
