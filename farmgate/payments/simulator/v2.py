"""Simulated WeChat Pay API v2: XML bodies signed HMAC-SHA256 (or MD5, as the request asks)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

import xmltodict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from farmgate.payments.simulator import bills
from farmgate.payments.simulator.common import SIM_HEADER, injected_failure
from farmgate.payments.simulator.state import SimOrder, SimState
from farmgate.payments.wechat_v2 import hmac_sha256_sign


def md5_sign(params: dict[str, Any], api_key: str) -> str:
    text = "&".join(
        f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, "")
    )
    return hashlib.md5(f"{text}&key={api_key}".encode()).hexdigest().upper()


def to_xml(data: dict[str, Any]) -> bytes:
    return (
        "<xml>"
        + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in data.items() if v is not None)
        + "</xml>"
    ).encode()


def _xml(data: dict[str, Any]) -> Response:
    return Response(to_xml(data), media_type="application/xml", headers=SIM_HEADER)


def notification(
    state: SimState, order: SimOrder, *, forged: bool = False, amount: int | None = None
) -> tuple[dict[str, str], bytes]:
    """The payment result notification WeChat POSTs to notify_url (v2 XML)."""
    data: dict[str, Any] = {
        "return_code": "SUCCESS",
        "result_code": "SUCCESS",
        "appid": state.appid,
        "mch_id": state.mch_id,
        "nonce_str": secrets.token_hex(16),
        "openid": order.openid or "o_simulated_payer",
        "trade_type": order.trade_type,
        "bank_type": "OTHERS",
        "total_fee": amount if amount is not None else order.amount_fen,
        "fee_type": "CNY",
        "transaction_id": order.transaction_id,
        "out_trade_no": order.out_trade_no,
        "time_end": order.time_end,
        "sign_type": "HMAC-SHA256",
    }
    key = "forged-key-" + state.api_key if forged else state.api_key
    data["sign"] = hmac_sha256_sign(data, key)
    return {"Content-Type": "text/xml"}, to_xml(data)


def routes(state: SimState) -> list[Route]:
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
        failure = await injected_failure(state)
        if failure is not None:
            return None, failure, ""
        try:
            data = xmltodict.parse(await request.body())["xml"]
        except Exception:
            return None, _xml({"return_code": "FAIL", "return_msg": "XML格式错误"}), ""
        if not 0 < len(data.get("nonce_str") or "") <= 32:  # required, at most 32 characters
            return None, _xml({"return_code": "FAIL", "return_msg": "nonce_str参数错误"}), ""
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
        if data is None:
            assert error is not None  # parse gives back either data or the error answer
            return error
        no, amount, trade_type = data["out_trade_no"], int(data["total_fee"]), data["trade_type"]
        order = state.orders.get(no)
        if order is not None:
            if order.state in ("SUCCESS", "REFUND"):
                return fail("ORDERPAID", "该订单已支付", sign_type)
            if order.state == "CLOSED":
                return fail("ORDERCLOSED", "订单已关闭", sign_type)
            if order.api != "v2" or order.amount_fen != amount or order.trade_type != trade_type:
                return fail("OUT_TRADE_NO_USED", "商户订单号重复", sign_type)
        else:
            order = SimOrder(
                no,
                amount,
                data["notify_url"],
                trade_type,
                "wx" + secrets.token_hex(14),
                description=data.get("body", ""),
                openid=data.get("openid"),
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
        if data is None:
            assert error is not None  # parse gives back either data or the error answer
            return error
        order = state.orders.get(data["out_trade_no"])
        if order is None:
            return fail("ORDERNOTEXIST", "此交易订单号不存在", sign_type)
        return signed(
            {
                "result_code": "SUCCESS",
                "trade_state": order.state,
                "out_trade_no": order.out_trade_no,
                "total_fee": order.amount_fen,
                "fee_type": "CNY",
                "transaction_id": order.transaction_id,
                "time_end": order.time_end,
            },
            sign_type,
        )

    async def closeorder(request: Request) -> Response:
        data, error, sign_type = await parse(request)
        if data is None:
            assert error is not None  # parse gives back either data or the error answer
            return error
        order = state.orders.get(data["out_trade_no"])
        if order is None:
            return fail("ORDERNOTEXIST", "此交易订单号不存在", sign_type)
        if order.state in ("SUCCESS", "REFUND"):
            return fail("ORDERPAID", "订单已支付，不能关闭", sign_type)
        order.state = "CLOSED"
        return signed({"result_code": "SUCCESS"}, sign_type)

    async def refund(request: Request) -> Response:
        data, error, sign_type = await parse(request)
        if data is None:
            assert error is not None  # parse gives back either data or the error answer
            return error
        order = state.orders.get(data["out_trade_no"])
        if order is None or order.state not in ("SUCCESS", "REFUND"):
            return fail("ORDERNOTEXIST", "订单不存在或未支付", sign_type)
        refund_no, fee = data["out_refund_no"], int(data["refund_fee"])
        if refund_no not in order.refunds:  # the same out_refund_no answers the first refund
            if int(data["total_fee"]) != order.amount_fen:
                return fail("INVALID_REQUEST", "订单金额不一致", sign_type)
            if fee <= 0 or sum(order.refunds.values()) + fee > order.amount_fen:
                return fail("NOTENOUGH", "退款金额超过可退金额", sign_type)
            state.record_refund(order, refund_no, fee)
            if state.take_fault("refund_processing"):
                state.processing_refunds.add(refund_no)
        return signed(
            {
                "result_code": "SUCCESS",
                "out_trade_no": order.out_trade_no,
                "transaction_id": order.transaction_id,
                "out_refund_no": refund_no,
                "refund_id": order.refund_id(refund_no),
                "refund_fee": order.refunds[refund_no],
                "total_fee": order.amount_fen,
            },
            sign_type,
        )

    async def refundquery(request: Request) -> Response:
        data, error, sign_type = await parse(request)
        if data is None:
            assert error is not None  # parse gives back either data or the error answer
            return error
        refund_no = data.get("out_refund_no", "")
        for order in state.orders.values():
            if refund_no in order.refunds:
                processing = refund_no in state.processing_refunds
                state.processing_refunds.discard(refund_no)
                return signed(
                    {
                        "result_code": "SUCCESS",
                        "out_trade_no": order.out_trade_no,
                        "transaction_id": order.transaction_id,
                        "refund_count": 1,
                        "out_refund_no_0": refund_no,
                        "refund_id_0": order.refund_id(refund_no),
                        "refund_fee_0": order.refunds[refund_no],
                        "refund_status_0": "PROCESSING" if processing else "SUCCESS",
                    },
                    sign_type,
                )
        return fail("REFUNDNOTEXIST", "退款单不存在", sign_type)

    async def downloadbill(request: Request) -> Response:
        """The day's trade bill as text; an XML FAIL (No Bill Exist) for a day without trades."""
        data, error, _ = await parse(request)
        if data is None:
            assert error is not None  # parse gives back either data or the error answer
            return error
        try:
            day = datetime.strptime(data.get("bill_date", ""), "%Y%m%d").date()
        except ValueError:
            return _xml(
                {"return_code": "FAIL", "return_msg": "invalid bill_date", "error_code": "20001"}
            )
        text = bills.build(state, day)
        if text is None:
            return _xml(
                {"return_code": "FAIL", "return_msg": "No Bill Exist", "error_code": "20002"}
            )
        return Response(text.encode(), media_type="text/plain; charset=utf-8", headers=SIM_HEADER)

    return [
        Route("/pay/downloadbill", downloadbill, methods=["POST"]),
        Route("/pay/unifiedorder", unifiedorder, methods=["POST"]),
        Route("/pay/refundquery", refundquery, methods=["POST"]),
        Route("/pay/orderquery", orderquery, methods=["POST"]),
        Route("/pay/closeorder", closeorder, methods=["POST"]),
        Route("/secapi/pay/refund", refund, methods=["POST"]),
    ]
