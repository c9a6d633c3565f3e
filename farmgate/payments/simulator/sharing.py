"""Simulated WeChat Pay v3 profit-sharing (分账): receivers, sharing orders, unfreeze, returns.

The same signed wire format as the rest of v3 (requests checked by ``authenticate``, answers
signed by ``answer``), with state kept per sharing order. A receiver's ``name`` arrives
encrypted with the platform public key (RSA-OAEP, SHA-1) and is decrypted here with the
platform private key, so a provider that forgot to encrypt it is refused.

Rules kept, as WeChat Pay keeps them: receivers must be added before an order names them;
the orders on one transaction never share more than ``max_sharing_bp`` of it (RULE_LIMIT)
nor more than it has left (NOT_ENOUGH); once unfrozen, a transaction takes no more orders;
one ``out_order_no`` / ``out_return_no`` asked again is the same order / return. Faults:
``share_receiver_missing``, ``share_ratio_exceeded``, ``share_processing`` (the order
answers PROCESSING until queried), ``share_receiver_closed``, ``return_processing``, and the
shared ``error_500`` / ``timeout``.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from farmgate.payments.simulator.state import SHANGHAI, SimOrder, SimReturn, SimShare, SimState

Answer = Callable[..., Response]
Error = Callable[[int, str, str], Response]
Authenticate = Callable[[Request], Awaitable[tuple[Any, Response | None]]]
RECEIVER_TYPES = ("MERCHANT_ID", "PERSONAL_OPENID")


def _now() -> str:
    return datetime.now(SHANGHAI).isoformat(timespec="seconds")


def decrypt_name(state: SimState, ciphertext: str) -> str | None:
    """A receiver's name as the merchant encrypted it with the platform public key."""
    try:
        plain = state.platform_key.decrypt(
            base64.b64decode(ciphertext),
            padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
        )
        return plain.decode("utf-8")
    except (ValueError, TypeError):
        return None


def _transaction(state: SimState, transaction_id: str) -> SimOrder | None:
    return next(
        (o for o in state.orders.values() if o.transaction_id == transaction_id and o.api == "v3"),
        None,
    )


def _shared(state: SimState, transaction_id: str) -> int:
    """What the transaction's sharing orders gave (or are giving) away, less returns."""
    return sum(
        int(r["amount"]) - share.returned
        for share in state.shares.values()
        if share.transaction_id == transaction_id and not share.unfreeze
        for r in share.receivers
        if r["result"] != "CLOSED"
    )


def _order_body(share: SimShare) -> dict[str, Any]:
    return {
        "transaction_id": share.transaction_id,
        "out_order_no": share.out_order_no,
        "order_id": share.order_id,
        "state": share.state,
        "receivers": share.receivers,
    }


def _return_body(back: SimReturn, order_id: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "out_order_no": back.out_order_no,
        "out_return_no": back.out_return_no,
        "return_id": back.return_id,
        "return_mchid": back.return_mchid,
        "amount": back.amount_fen,
        "description": back.description,
        "result": back.result,
        "fail_reason": "",
        "create_time": _now(),
        "finish_time": _now(),
    }


def routes(
    state: SimState, answer: Answer, error: Error, authenticate: Authenticate
) -> list[Route]:
    async def add_receiver(request: Request) -> Response:
        data, failure = await authenticate(request)
        if failure is not None:
            return failure
        kind, account = data.get("type"), data.get("account")
        if kind not in RECEIVER_TYPES or not account or not data.get("relation_type"):
            return error(400, "PARAM_ERROR", "参数错误")
        if data.get("appid") != state.appid:
            return error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        name = ""
        if data.get("name"):
            if not request.headers.get("wechatpay-serial"):
                return error(400, "PARAM_ERROR", "加密敏感信息须带 Wechatpay-Serial")
            found = decrypt_name(state, data["name"])
            if found is None:
                return error(400, "PARAM_ERROR", "name 解密失败")
            name = found
        elif kind == "MERCHANT_ID":
            return error(400, "PARAM_ERROR", "商户号接收方须填写商户全称")
        state.receivers[(kind, account)] = name
        return answer(200, {"type": kind, "account": account, "relation_type": "SUPPLIER"})

    async def create(request: Request) -> Response:
        data, failure = await authenticate(request)
        if failure is not None:
            return failure
        try:
            tx, no = data["transaction_id"], data["out_order_no"]
            wanted = [
                (r["type"], r["account"], int(r["amount"]), r.get("description", ""))
                for r in data["receivers"]
            ]
            unfreeze = bool(data["unfreeze_unsplit"])
        except (KeyError, TypeError, ValueError):
            return error(400, "PARAM_ERROR", "缺少必填参数")
        if no in state.shares:  # the same out_order_no again is the same order
            return answer(200, _order_body(_public(state.shares[no])))
        order = _transaction(state, tx)
        if order is None or order.state not in ("SUCCESS", "REFUND"):
            return error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if any(s.unfreeze and s.transaction_id == tx for s in state.shares.values()):
            return error(400, "INVALID_REQUEST", "订单已解冻，不能再分账")
        if state.take_fault("share_receiver_missing"):
            state.receivers.clear()
        if any((kind, account) not in state.receivers for kind, account, _, _ in wanted):
            return error(400, "RECEIVER_INVALID", "分账接收方未添加")
        total = sum(amount for _, _, amount, _ in wanted)
        if any(amount <= 0 for _, _, amount, _ in wanted):
            return error(400, "PARAM_ERROR", "分账金额必须大于0")
        cap = order.amount_fen * state.max_sharing_bp // 10_000
        if state.take_fault("share_ratio_exceeded") or _shared(state, tx) + total > cap:
            return error(403, "RULE_LIMIT", "分账金额超出最大分账比例")
        if _shared(state, tx) + total > order.amount_fen - sum(order.refunds.values()):
            return error(403, "NOT_ENOUGH", "分账金额不足")
        processing = state.take_fault("share_processing") is not None
        closed = state.take_fault("share_receiver_closed") is not None
        share = SimShare(
            no,
            tx,
            "30" + secrets.token_hex(13),
            [
                {
                    "type": kind,
                    "account": account,
                    "amount": amount,
                    "description": text,
                    "result": "PENDING" if processing else ("CLOSED" if closed else "SUCCESS"),
                    "fail_reason": "ACCOUNT_ABNORMAL" if closed else "",
                    "detail_id": "36" + secrets.token_hex(13),
                    "create_time": _now(),
                    "finish_time": _now(),
                    "_closes": closed,  # what a PENDING receiver ends as (dropped on output)
                }
                for kind, account, amount, text in wanted
            ],
            state="PROCESSING" if processing else "FINISHED",
        )
        state.shares[no] = share
        if unfreeze:
            _unfreeze(tx, f"{no}-unfreeze")
        return answer(200, _order_body(_public(share)))

    def _public(share: SimShare) -> SimShare:
        receivers = [{k: v for k, v in r.items() if not k.startswith("_")} for r in share.receivers]
        return SimShare(
            share.out_order_no, share.transaction_id, share.order_id, receivers, share.state
        )

    def _unfreeze(tx: str, no: str) -> SimShare:
        order = _transaction(state, tx)
        assert order is not None
        rest = order.amount_fen - sum(order.refunds.values()) - _shared(state, tx)
        share = SimShare(
            no,
            tx,
            "30" + secrets.token_hex(13),
            [
                {
                    "type": "MERCHANT_ID",
                    "account": state.mch_id,
                    "amount": max(0, rest),
                    "description": "解冻给分账方",
                    "result": "SUCCESS",
                    "fail_reason": "",
                    "detail_id": "36" + secrets.token_hex(13),
                    "create_time": _now(),
                    "finish_time": _now(),
                }
            ],
            unfreeze=True,
        )
        state.shares[no] = share
        return share

    async def query(request: Request) -> Response:
        _, failure = await authenticate(request)
        if failure is not None:
            return failure
        share = state.shares.get(request.path_params["no"])
        if share is None or share.transaction_id != request.query_params.get("transaction_id"):
            return error(404, "RESOURCE_NOT_EXISTS", "分账单不存在")
        if share.state == "PROCESSING":  # finished by the time it is asked about
            share.state = "FINISHED"
            for r in share.receivers:
                r["result"] = "CLOSED" if r.get("_closes") else "SUCCESS"
                r["fail_reason"] = "ACCOUNT_ABNORMAL" if r.get("_closes") else ""
        return answer(200, _order_body(_public(share)))

    async def unfreeze(request: Request) -> Response:
        data, failure = await authenticate(request)
        if failure is not None:
            return failure
        try:
            tx, no = data["transaction_id"], data["out_order_no"]
            if not data["description"]:
                raise ValueError
        except (KeyError, TypeError, ValueError):
            return error(400, "PARAM_ERROR", "缺少必填参数")
        if no in state.shares:
            return answer(200, _order_body(state.shares[no]))
        if _transaction(state, tx) is None:
            return error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if any(s.unfreeze and s.transaction_id == tx for s in state.shares.values()):
            return error(400, "INVALID_REQUEST", "订单已解冻")
        if any(s.transaction_id == tx and s.state == "PROCESSING" for s in state.shares.values()):
            return error(400, "INVALID_REQUEST", "有分账单处理中，请稍后再解冻")
        return answer(200, _order_body(_unfreeze(tx, no)))

    async def give_back(request: Request) -> Response:
        data, failure = await authenticate(request)
        if failure is not None:
            return failure
        try:
            no, back_no = data["out_order_no"], data["out_return_no"]
            mchid, amount = data["return_mchid"], int(data["amount"])
            description = data["description"]
        except (KeyError, TypeError, ValueError):
            return error(400, "PARAM_ERROR", "缺少必填参数")
        share = state.shares.get(no)
        if share is None or share.unfreeze:
            return error(404, "RESOURCE_NOT_EXISTS", "分账单不存在")
        if back_no in state.share_returns:
            return answer(200, _return_body(state.share_returns[back_no], share.order_id))
        receiver = next(
            (r for r in share.receivers if r["account"] == mchid and r["type"] == "MERCHANT_ID"),
            None,
        )
        if receiver is None or receiver["result"] != "SUCCESS":
            return error(400, "INVALID_REQUEST", "回退商户号不是该分账单的成功接收方")
        if amount <= 0 or share.returned + amount > int(receiver["amount"]):
            return error(403, "NOT_ENOUGH", "回退金额超过可回退金额")
        share.returned += amount
        back = SimReturn(
            back_no,
            no,
            "50" + secrets.token_hex(13),
            mchid,
            amount,
            description,
            result="PROCESSING" if state.take_fault("return_processing") else "SUCCESS",
        )
        state.share_returns[back_no] = back
        return answer(200, _return_body(back, share.order_id))

    async def query_return(request: Request) -> Response:
        _, failure = await authenticate(request)
        if failure is not None:
            return failure
        back = state.share_returns.get(request.path_params["no"])
        if back is None or back.out_order_no != request.query_params.get("out_order_no"):
            return error(404, "RESOURCE_NOT_EXISTS", "回退单不存在")
        back.result = "SUCCESS"  # done by the time it is asked about
        return answer(200, _return_body(back, state.shares[back.out_order_no].order_id))

    return [
        Route("/v3/profitsharing/receivers/add", add_receiver, methods=["POST"]),
        Route("/v3/profitsharing/orders/unfreeze", unfreeze, methods=["POST"]),
        Route("/v3/profitsharing/orders", create, methods=["POST"]),
        Route("/v3/profitsharing/orders/{no}", query, methods=["GET"]),
        Route("/v3/profitsharing/return-orders", give_back, methods=["POST"]),
        Route("/v3/profitsharing/return-orders/{no}", query_return, methods=["GET"]),
    ]
