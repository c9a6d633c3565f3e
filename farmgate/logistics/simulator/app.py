"""The simulator's ASGI app: Kuaidi100's endpoints, the control API and the label pages.

Control API (not part of Kuaidi100, under /_simulator/):
- ``POST /_simulator/advance/{waybill}`` (optional JSON ``{"state": "5"}``): move the parcel to
  its next state (揽收, 在途, 派件, 签收) or to the given state, and push the full snapshot to the
  subscribed callback, signed with the subscription's salt. Answers the state and the
  callback's HTTP statuses.
- ``POST /_simulator/faults`` ``{"faults": [...], "timeout_seconds": 2}``: queue faults, each
  used once by the next call it applies to (see ``state.FAULTS``).
- ``GET /_simulator/parcels/{waybill}``: the simulator's record of a parcel.
- ``GET /_simulator/labels/{waybill}``: the "label" a waybill's label URL opens.
"""

from __future__ import annotations

import asyncio
import json
from html import escape
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from farmgate.logistics.kuaidi100 import dumps, label_sign, push_sign, query_sign
from farmgate.logistics.simulator.state import (
    FAULTS,
    CourierSimState,
    Delivery,
    SimParcel,
    Subscription,
)
from farmgate.simulation import SimulatorHeader, faults_route

BANNER = "模拟快递"
SIM_HEADER = {"X-Simulator": "kuaidi100"}
FINAL_STATES = frozenset({"3", "4"})


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json")


async def _injected_failure(state: CourierSimState) -> Response | None:
    """Consume an injected ``error_500`` (answer 503) or ``timeout`` (stall, then go on)."""
    fault = state.take_fault("error_500", "timeout")
    if fault == "error_500":
        return Response("simulated outage（模拟故障）", status_code=503, media_type="text/plain")
    if fault == "timeout":
        await asyncio.sleep(state.timeout_seconds)
    return None


def push_body(parcel: SimParcel, result: dict[str, Any], salt: str, forged: bool) -> bytes:
    """A push exactly as Kuaidi100 sends it: form ``param`` (JSON) + ``sign``."""
    param = dumps(
        {
            "status": "shutdown" if result["state"] in FINAL_STATES else "polling",
            "billstatus": "",
            "message": "",
            "autoCheck": "0",
            "comOld": "",
            "comNew": "",
            "lastResult": result,
        }
    )
    sign = push_sign(param, salt + "forged" if forged else salt)
    return urlencode({"param": param, "sign": sign}).encode()


async def deliver(state: CourierSimState, waybill: str, url: str, body: bytes) -> int:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, answer = 0, b""
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(url, content=body, headers={**headers, **SIM_HEADER})
        status, answer = response.status_code, response.content
    except httpx.HTTPError:
        pass  # Kuaidi100 would re-push later
    state.deliveries.append(Delivery(waybill, headers, body, status, answer))
    return status


def build_app(state: CourierSimState) -> ASGIApp:
    async def query(request: Request) -> Response:
        if (failure := await _injected_failure(state)) is not None:
            return failure
        form = await request.form()
        customer, sign, param = (str(form.get(k, "")) for k in ("customer", "sign", "param"))
        if customer != state.customer or sign != query_sign(param, state.key, state.customer):
            return _json({"result": False, "returnCode": "503", "message": "验证签名失败"})
        try:
            fields = json.loads(param)
            parcel = state.parcels.get(str(fields["num"]))
        except (ValueError, KeyError, TypeError):
            return _json({"result": False, "returnCode": "400", "message": "提交的数据不完整"})
        if parcel is None or parcel.state is None or parcel.carrier != fields.get("com"):
            return _json(
                {"result": False, "returnCode": "500", "message": "查询无结果，请隔段时间再查"}
            )
        return _json(parcel.last_result())

    async def poll(request: Request) -> Response:
        if (failure := await _injected_failure(state)) is not None:
            return failure
        form = await request.form()
        try:
            fields = json.loads(str(form.get("param", "")))
            number = str(fields["number"])
            parameters = fields.get("parameters") or {}
            callback = str(parameters["callbackurl"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return _json({"result": False, "returnCode": "700", "message": "订阅数据存在错误"})
        if fields.get("key") != state.key:
            return _json({"result": False, "returnCode": "600", "message": "您不是合法的订阅者"})
        if number in state.subscriptions:
            return _json({"result": False, "returnCode": "501", "message": "重复订阅"})
        state.subscriptions[number] = Subscription(callback, str(parameters.get("salt", "")))
        return _json({"result": True, "returnCode": "200", "message": "提交成功"})

    async def label(request: Request) -> Response:
        if (failure := await _injected_failure(state)) is not None:
            return failure
        form = await request.form()
        method = str(form.get("method") or request.query_params.get("method", ""))
        key, t, sign, param = (str(form.get(k, "")) for k in ("key", "t", "sign", "param"))
        if key != state.key or sign != label_sign(param, t, state.key, state.secret):
            return _label_answer(False, 30002, "验证签名失败")
        try:
            fields = json.loads(param)
        except ValueError:
            return _label_answer(False, 30001, "参数错误")
        if method == "order":
            return await _order(fields)
        if method == "query":
            waybill = state.by_order.get(str(fields.get("orderId", "")))
            if waybill is None:
                return _label_answer(False, 30009, "查无此单")
            return _label_answer(True, 200, "success", _order_data(state.parcels[waybill]))
        if method == "cancel":
            parcel = state.parcels.get(str(fields.get("kuaidinum", "")))
            if parcel is None:
                return _label_answer(False, 30009, "查无此单")
            if parcel.state is not None:
                return _label_answer(False, 30001, "快件已揽收，无法取消（模拟）")
            parcel.cancelled = True
            return _label_answer(True, 200, "success")
        return _label_answer(False, 30001, f"不支持的 method: {method}")

    async def _order(fields: dict[str, Any]) -> Response:
        try:
            rec = fields["recMan"]
            parcel = state.create_parcel(
                str(fields["kuaidicom"]),
                str(fields["orderId"]),
                str(rec["mobile"]),
                str(rec["printAddr"]),
            )
        except (KeyError, TypeError):
            return _label_answer(False, 30001, "参数错误")
        if state.take_fault("create_then_timeout"):
            await asyncio.sleep(state.timeout_seconds)
        return _label_answer(True, 200, "success", _order_data(parcel))

    def _order_data(parcel: SimParcel) -> dict[str, Any]:
        return {
            "taskId": parcel.task_id,
            "kuaidinum": parcel.waybill_no,
            "kuaidicom": parcel.carrier,
            "kdComOrderNum": parcel.kd_order_no,
            "label": f"{state.public_url}/_simulator/labels/{parcel.waybill_no}",
        }

    async def advance(request: Request) -> Response:
        parcel = state.parcels.get(request.path_params["waybill"])
        if parcel is None:
            return JSONResponse({"error": "no such parcel（模拟）"}, status_code=404)
        if parcel.cancelled:
            return JSONResponse({"error": "parcel cancelled（模拟）"}, status_code=409)
        body = await request.body()
        wanted = json.loads(body).get("state") if body.strip() else None
        result = parcel.advance(None if wanted is None else str(wanted))
        statuses: list[int] = []
        subscription = state.subscriptions.get(parcel.waybill_no)
        if subscription is not None:
            fault = state.take_fault("push_twice", "push_out_of_order", "push_forged")
            url, salt = subscription.callback_url, subscription.salt
            current = push_body(parcel, result, salt, forged=fault == "push_forged")
            statuses.append(await deliver(state, parcel.waybill_no, url, current))
            if fault == "push_twice":
                statuses.append(await deliver(state, parcel.waybill_no, url, current))
            if fault == "push_out_of_order" and len(parcel.results) >= 2:
                previous = push_body(parcel, parcel.results[-2], salt, forged=False)
                statuses.append(await deliver(state, parcel.waybill_no, url, previous))
        return JSONResponse(
            {"waybill": parcel.waybill_no, "state": parcel.state, "pushes": statuses}
        )

    async def parcel_record(request: Request) -> Response:
        parcel = state.parcels.get(request.path_params["waybill"])
        if parcel is None:
            return JSONResponse({"error": "no such parcel（模拟）"}, status_code=404)
        return JSONResponse(
            {
                "waybill": parcel.waybill_no,
                "carrier": parcel.carrier,
                "order_ref": parcel.order_ref,
                "state": parcel.state,
                "cancelled": parcel.cancelled,
                "events": parcel.events,
                "subscribed": parcel.waybill_no in state.subscriptions,
            }
        )

    async def label_page(request: Request) -> Response:
        parcel = state.parcels.get(request.path_params["waybill"])
        if parcel is None:
            return HTMLResponse(_page("运单不存在", ""), status_code=404)
        body = (
            f"<p>快递公司 {escape(parcel.carrier)}，运单号 <b>{escape(parcel.waybill_no)}</b></p>"
            f"<p>订单 {escape(parcel.order_ref)}</p>"
        )
        return HTMLResponse(_page("电子面单（模拟）", body))

    app = Starlette(
        routes=[
            Route("/poll/query.do", query, methods=["POST"]),
            Route("/poll", poll, methods=["POST"]),
            Route("/label/order", label, methods=["POST"]),
            Route("/_simulator/advance/{waybill}", advance, methods=["POST"]),
            faults_route(state, FAULTS),
            Route("/_simulator/parcels/{waybill}", parcel_record, methods=["GET"]),
            Route("/_simulator/labels/{waybill}", label_page, methods=["GET"]),
        ]
    )
    return SimulatorHeader(app, "kuaidi100")


def _label_answer(
    success: bool, code: int, message: str, data: dict[str, Any] | None = None
) -> Response:
    payload: dict[str, Any] = {"success": success, "code": code, "message": message, "time": 0}
    if data is not None:
        payload["data"] = data
    return _json(payload)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        f"<title>{title}（{BANNER}）</title><body style='font-family:sans-serif;padding:1rem'>"
        f"<p style='background:#fff3cd;padding:.5rem'><b>{BANNER}</b>："
        "这是 farmgate 的快递100模拟器，不会产生真实运单。</p>"
        f"<h1>{title}</h1>{body}</body></html>"
    )
