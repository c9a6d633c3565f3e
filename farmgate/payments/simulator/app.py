"""The simulator's ASGI app: WeChat Pay v2 + v3 endpoints, the control API and the pay pages.

Control API (not part of WeChat Pay, under /_simulator/):
- ``POST /_simulator/pay/{out_trade_no}``: the payer pays; the signed notification is POSTed to
  the order's notify_url (v2 XML or v3 JSON, as the order was created). JSON answer, or an HTML
  page when the browser asks for HTML.
- ``GET /_simulator/scan/{out_trade_no}``: what the code_url / mweb_url / h5_url opens: a page
  with a "pay" button (the demo's stand-in for the WeChat app). An H5 URL given
  ``redirect_url`` (as merchants append it) sends the browser back there after paying, as
  WeChat's H5 cashier does.
- ``POST /_simulator/faults`` ``{"faults": [...], "timeout_seconds": 2}``: queue faults, each used
  once: error_500, timeout, notify_twice, notify_forged, notify_wrong_amount.
- ``GET /_simulator/orders/{out_trade_no}``: the simulator's record of an order.
- ``POST /_simulator/bill`` ``{"drop": [...], "add": [...], "alter": {...}}``: change the next
  trade bill (v2 /pay/downloadbill, v3 /v3/bill/tradebill); see simulator/bills.py.
"""

from __future__ import annotations

from html import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from farmgate.payments.simulator import bills, v2, v3
from farmgate.payments.simulator.common import deliver
from farmgate.payments.simulator.state import FAULTS, SimState
from farmgate.simulation import SimulatorHeader, faults_route

BANNER = "模拟支付"


def build_app(state: SimState) -> ASGIApp:
    async def pay(request: Request) -> Response:
        """Control API: the payer pays; the signed notification goes to notify_url."""
        order = state.orders.get(request.path_params["out_trade_no"])
        if order is None:
            return JSONResponse({"error": "no such order"}, status_code=404)
        if order.state == "CLOSED":
            return JSONResponse({"error": "order closed", "state": order.state}, status_code=409)
        state.pay(order)
        fault = state.take_fault("notify_twice", "notify_forged", "notify_wrong_amount")
        build = v3.notification if order.api == "v3" else v2.notification
        headers, body = build(
            state,
            order,
            forged=fault == "notify_forged",
            amount=order.amount_fen + 1 if fault == "notify_wrong_amount" else None,
        )
        statuses = [await deliver(state, order, headers, body)]
        if fault == "notify_twice":
            statuses.append(await deliver(state, order, headers, body))
        back = await _redirect_url(request)
        if back:
            return RedirectResponse(back, status_code=303)
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(
                _page(
                    "支付成功（模拟）", "<p>已向商户发送支付通知。请返回商户页面查看订单状态。</p>"
                )
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
        no = escape(order.out_trade_no)
        back = _web_url(request.query_params.get("redirect_url"))
        hidden = f'<input type="hidden" name="redirect_url" value="{escape(back)}">' if back else ""
        body = (
            f"<p>订单 {no}，金额 ¥{order.amount_fen / 100:.2f}，状态 {escape(order.state)}</p>"
            f'<form method="post" action="/_simulator/pay/{no}">{hidden}'
            "<button style='min-height:44px'>确认支付（模拟）</button></form>"
        )
        return HTMLResponse(_page("微信支付（模拟）", body))

    async def order_record(request: Request) -> Response:
        order = state.orders.get(request.path_params["out_trade_no"])
        if order is None:
            return JSONResponse({"error": "no such order"}, status_code=404)
        return JSONResponse(
            {
                "out_trade_no": order.out_trade_no,
                "api": order.api,
                "trade_type": order.trade_type,
                "amount_fen": order.amount_fen,
                "state": order.state,
                "transaction_id": order.transaction_id,
                "refunds": order.refunds,
            }
        )

    app = Starlette(
        routes=[
            *v2.routes(state),
            *v3.routes(state),
            Route("/_simulator/pay/{out_trade_no}", pay, methods=["POST"]),
            Route("/_simulator/scan/{out_trade_no}", scan, methods=["GET"]),
            faults_route(state, FAULTS),
            bills.control_route(state),
            Route("/_simulator/orders/{out_trade_no}", order_record, methods=["GET"]),
        ]
    )
    return SimulatorHeader(app, "wechatpay")


def _web_url(value: str | None) -> str | None:
    return value if value and value.startswith(("http://", "https://")) else None


async def _redirect_url(request: Request) -> str | None:
    """The merchant page an H5 payment returns to (a form field of the scan page's button)."""
    if "form" not in request.headers.get("content-type", ""):
        return None
    form = await request.form()
    value = form.get("redirect_url")
    return _web_url(value if isinstance(value, str) else None)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{title}（{BANNER}）</title><body style='font-family:sans-serif;padding:1rem'>"
        f"<p style='background:#fff3cd;padding:.5rem'><b>{BANNER}</b>：这是 farmgate 的微信支付模拟器，不会产生真实扣款。</p>"
        f"<h1>{title}</h1>{body}</body></html>"
    )
