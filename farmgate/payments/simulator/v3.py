"""Simulated WeChat Pay API v3: JSON, RSA-signed both ways, AES-256-GCM notification resources.

Requests must carry ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=..,nonce_str=..,
signature=..,timestamp=..,serial_no=..`` signed with the merchant key; every answer and
notification is signed with the platform key (Wechatpay-Timestamp/Nonce/Signature/Serial).
This is written straight on ``cryptography`` so that it checks the provider, not itself.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import secrets
import time
import uuid
from datetime import date, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from farmgate.payments.simulator import bills, sharing
from farmgate.payments.simulator.common import SIM_HEADER, injected_failure
from farmgate.payments.simulator.state import SHANGHAI, SimOrder, SimState, rsa_sign

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
TRADE_TYPES = {"native": "NATIVE", "jsapi": "JSAPI", "h5": "MWEB"}
_AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')


def aes_gcm_encrypt(apiv3_key: str, plaintext: str, associated_data: str) -> dict[str, str]:
    nonce = secrets.token_hex(6)  # 12 ASCII characters, used as the 96-bit GCM nonce
    sealed = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), plaintext.encode(), associated_data.encode()
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": nonce,
        "associated_data": associated_data,
        "ciphertext": base64.b64encode(sealed).decode(),
    }


def platform_headers(state: SimState, body: str, *, forged: bool = False) -> dict[str, str]:
    """Wechatpay-* headers signing ``body`` (forged: with a key WeChat never had)."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    key = state.forger_key if forged else state.platform_key
    serial = (
        state.platform_public_key_id
        if state.platform_mode == "public_key"
        else state.platform_serial_no
    )
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(key, f"{timestamp}\n{nonce}\n{body}\n"),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds") if value else None


def transaction(state: SimState, order: SimOrder, amount: int | None = None) -> dict[str, Any]:
    """The v3 transaction object (query answer, and the decrypted notification resource)."""
    data: dict[str, Any] = {
        "appid": state.appid,
        "mchid": state.mch_id,
        "out_trade_no": order.out_trade_no,
        "trade_type": order.trade_type,
        "trade_state": order.state,
        "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭"}.get(
            order.state, order.state
        ),
        "amount": {
            "total": order.amount_fen if amount is None else amount,
            "currency": "CNY",
        },
    }
    if order.transaction_id:
        total = data["amount"]["total"]
        data.update(
            transaction_id=order.transaction_id,
            bank_type="OTHERS",
            success_time=_iso(order.paid_at),
            payer={"openid": order.openid or "o_simulated_payer"},
        )
        data["amount"].update(payer_total=total, payer_currency="CNY")
    return data


def notification(
    state: SimState, order: SimOrder, *, forged: bool = False, amount: int | None = None
) -> tuple[dict[str, str], bytes]:
    """TRANSACTION.SUCCESS as WeChat POSTs it: signed headers, encrypted resource."""
    resource = json.dumps(transaction(state, order, amount), ensure_ascii=False)
    body = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "create_time": _iso(datetime.now(SHANGHAI)),
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                **aes_gcm_encrypt(state.apiv3_key, resource, "transaction"),
            },
        },
        ensure_ascii=False,
    )
    headers = platform_headers(state, body, forged=forged)
    return {"Content-Type": "application/json", **headers}, body.encode()


def routes(state: SimState) -> list[Route]:
    def answer(status: int, data: dict[str, Any] | None = None) -> Response:
        body = "" if data is None else json.dumps(data, ensure_ascii=False)
        headers = {**platform_headers(state, body), **SIM_HEADER}
        return Response(
            body, status_code=status, headers=headers, media_type="application/json; charset=utf-8"
        )

    def error(status: int, code: str, message: str) -> Response:
        return answer(status, {"code": code, "message": message})

    async def authenticate(request: Request) -> tuple[Any, Response | None]:
        """The merchant's signature over method, path?query, timestamp, nonce and body."""
        failure = await injected_failure(state)
        if failure is not None:
            return None, failure
        raw = (await request.body()).decode()
        scheme, _, rest = request.headers.get("authorization", "").partition(" ")
        auth = dict(_AUTH_FIELD.findall(rest))
        url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        message = f"{request.method}\n{url}\n{auth.get('timestamp')}\n{auth.get('nonce_str')}\n"
        try:
            fresh = abs(time.time() - int(auth.get("timestamp", "0"))) < 300
            state.merchant_key.public_key().verify(
                base64.b64decode(auth.get("signature", "")),
                f"{message}{raw}\n".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            fresh = False
        if (
            scheme != SIGNATURE_TYPE
            or not fresh
            or auth.get("mchid") != state.mch_id
            or auth.get("serial_no") != state.merchant_serial_no
        ):
            return None, error(401, "SIGN_ERROR", "签名错误")
        try:
            return (json.loads(raw) if raw else {}), None
        except ValueError:
            return None, error(400, "PARAM_ERROR", "请求体不是合法的JSON")

    async def create(request: Request) -> Response:
        data, failure = await authenticate(request)
        if failure is not None:
            return failure
        kind = request.path_params["kind"]
        if kind not in TRADE_TYPES:
            return error(404, "NOT_FOUND", "不支持的交易类型")
        try:
            no, amount = data["out_trade_no"], int(data["amount"]["total"])
            notify_url, appid = data["notify_url"], data["appid"]
            openid = (data.get("payer") or {}).get("openid")
        except (KeyError, TypeError, ValueError):
            return error(400, "PARAM_ERROR", "缺少必填参数")
        if appid != state.appid or data.get("mchid") != state.mch_id:
            return error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if kind == "jsapi" and not openid:
            return error(400, "PARAM_ERROR", "JSAPI支付必须传openid")
        order = state.orders.get(no)
        if order is not None:
            if order.state in ("SUCCESS", "REFUND"):
                return error(403, "ORDERPAID", "该订单已支付")
            if order.state == "CLOSED":
                return error(400, "ORDER_CLOSED", "订单已关闭")
            if (order.api, order.amount_fen, order.trade_type) != ("v3", amount, TRADE_TYPES[kind]):
                return error(403, "OUT_TRADE_NO_USED", "商户订单号重复")
        else:
            order = SimOrder(
                no,
                amount,
                notify_url,
                TRADE_TYPES[kind],
                "wx" + secrets.token_hex(14),
                api="v3",
                description=data.get("description", ""),
                openid=openid,
            )
            state.orders[no] = order
        scan = f"{state.public_url}/_simulator/scan/{no}"
        if kind == "native":
            return answer(200, {"code_url": scan})
        if kind == "h5":
            return answer(200, {"h5_url": scan})
        return answer(200, {"prepay_id": order.prepay_id})

    async def query(request: Request) -> Response:
        _, failure = await authenticate(request)
        if failure is not None:
            return failure
        order = state.orders.get(request.path_params["no"])
        if order is None or order.api != "v3":
            return error(404, "ORDER_NOT_EXIST", "订单不存在")
        return answer(200, transaction(state, order))

    async def close(request: Request) -> Response:
        _, failure = await authenticate(request)
        if failure is not None:
            return failure
        order = state.orders.get(request.path_params["no"])
        if order is None or order.api != "v3":
            return error(404, "ORDER_NOT_EXIST", "订单不存在")
        if order.state in ("SUCCESS", "REFUND"):
            return error(400, "ORDERPAID", "订单已支付，不能关闭")
        order.state = "CLOSED"
        return answer(204)

    def refund_body(order: SimOrder, refund_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        return {
            "refund_id": order.refund_id(refund_no),
            "out_refund_no": refund_no,
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "channel": "ORIGINAL",
            "status": status,  # at once, unless the "refund_processing" fault was injected
            "create_time": _iso(datetime.now(SHANGHAI)),
            "amount": {
                "total": order.amount_fen,
                "refund": order.refunds[refund_no],
                "payer_total": order.amount_fen,
                "payer_refund": order.refunds[refund_no],
                "currency": "CNY",
            },
        }

    async def refund(request: Request) -> Response:
        data, failure = await authenticate(request)
        if failure is not None:
            return failure
        try:
            no, refund_no = data["out_trade_no"], data["out_refund_no"]
            fee, total = int(data["amount"]["refund"]), int(data["amount"]["total"])
        except (KeyError, TypeError, ValueError):
            return error(400, "PARAM_ERROR", "缺少必填参数")
        order = state.orders.get(no)
        if order is None or order.api != "v3":
            return error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if refund_no not in order.refunds:  # the same out_refund_no answers the first refund
            if order.state not in ("SUCCESS", "REFUND"):
                return error(403, "INVALID_REQUEST", "订单未支付，不能退款")
            if total != order.amount_fen:
                return error(400, "INVALID_REQUEST", "订单金额与原订单不一致")
            if fee <= 0 or sum(order.refunds.values()) + fee > order.amount_fen:
                return error(403, "NOT_ENOUGH", "申请退款金额超过订单可退金额")
            state.record_refund(order, refund_no, fee)
            if state.take_fault("refund_processing"):
                state.processing_refunds.add(refund_no)
        status = "PROCESSING" if refund_no in state.processing_refunds else "SUCCESS"
        return answer(200, refund_body(order, refund_no, status))

    async def query_refund(request: Request) -> Response:
        _, failure = await authenticate(request)
        if failure is not None:
            return failure
        refund_no = request.path_params["refund_no"]
        for order in state.orders.values():
            if refund_no in order.refunds and order.api == "v3":
                processing = refund_no in state.processing_refunds
                state.processing_refunds.discard(refund_no)  # done by the next time it is asked
                return answer(
                    200, refund_body(order, refund_no, "PROCESSING" if processing else "SUCCESS")
                )
        return error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")

    async def certificates(request: Request) -> Response:
        """Platform certificates, encrypted with the APIv3 key (the older verification mode)."""
        state.certificate_requests += 1
        _, failure = await authenticate(request)
        if failure is not None:
            return failure
        cert = state.platform_cert
        return answer(
            200,
            {
                "data": [
                    {
                        "serial_no": state.platform_serial_no,
                        "effective_time": _iso(cert.not_valid_before_utc),
                        "expire_time": _iso(cert.not_valid_after_utc),
                        "encrypt_certificate": aes_gcm_encrypt(
                            state.apiv3_key, state.platform_cert_pem, "certificate"
                        ),
                    }
                ]
            },
        )

    async def tradebill(request: Request) -> Response:
        """申请交易账单: where to download the day's bill, and its SHA1."""
        _, failure = await authenticate(request)
        if failure is not None:
            return failure
        try:
            day = date.fromisoformat(request.query_params.get("bill_date", ""))
        except ValueError:
            return error(400, "PARAM_ERROR", "bill_date 格式错误")
        text = bills.build(state, day)
        if text is None:
            return error(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        raw = text.encode()
        if request.query_params.get("tar_type") == "GZIP":
            raw = gzip.compress(raw)
        token = secrets.token_urlsafe(16)
        state.bill_files[token] = raw
        return answer(
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(text.encode()).hexdigest(),
                "download_url": f"{state.public_url}/v3/billdownload/file?token={token}",
            },
        )

    async def billdownload(request: Request) -> Response:
        """The bill file itself (unsigned, as WeChat's is; the request is signed)."""
        _, failure = await authenticate(request)
        if failure is not None:
            return failure
        raw = state.bill_files.pop(request.query_params.get("token", ""), None)
        if raw is None:
            return error(404, "RESOURCE_NOT_EXISTS", "账单文件不存在或已过期")
        return Response(raw, media_type="application/octet-stream", headers=SIM_HEADER)

    return [
        Route("/v3/bill/tradebill", tradebill, methods=["GET"]),
        Route("/v3/billdownload/file", billdownload, methods=["GET"]),
        Route("/v3/pay/transactions/{kind:str}", create, methods=["POST"]),
        Route("/v3/pay/transactions/out-trade-no/{no}", query, methods=["GET"]),
        Route("/v3/pay/transactions/out-trade-no/{no}/close", close, methods=["POST"]),
        Route("/v3/refund/domestic/refunds", refund, methods=["POST"]),
        Route("/v3/refund/domestic/refunds/{refund_no}", query_refund, methods=["GET"]),
        Route("/v3/certificates", certificates, methods=["GET"]),
        *sharing.routes(state, answer, error, authenticate),
    ]
