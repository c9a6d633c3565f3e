"""The simulator's trade bills (对账单): the day's payments and refunds from its own record.

Both APIs serve the same file, in WeChat Pay's documented text format: a header row, one row
per payment (交易状态 SUCCESS) or refund (REFUND) with every field led by a backquote, then a
summary header and row (count and totals in yuan). ``POST /_simulator/bill`` changes the NEXT
bill only, as a test needs it::

    {"drop": ["<out_trade_no or out_refund_no>"],
     "alter": {"<number>": {"amount_fen": 1, "state": "REFUND"}},
     "add": [{"out_trade_no": "X1", "amount_fen": 500}]}
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from farmgate.payments.simulator.state import SHANGHAI, SimState

HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,"
    "费率备注"
)
SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
EDIT_KEYS = frozenset({"drop", "alter", "add"})


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _rows(state: SimState, day: date) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for order in state.orders.values():
        base = {
            "transaction_id": order.transaction_id or "",
            "out_trade_no": order.out_trade_no,
            "trade_type": order.trade_type,
            "body": order.description,
            "openid": order.openid or "o_simulated_payer",
        }
        if order.paid_at is not None and order.paid_at.date() == day:
            rows.append(
                {**base, "time": order.paid_at, "state": "SUCCESS", "amount_fen": order.amount_fen}
            )
        for no, fee in order.refunds.items():
            at = order.refunded_at.get(no)
            if at is not None and at.date() == day:
                rows.append(
                    {
                        **base,
                        "time": at,
                        "state": "REFUND",
                        "amount_fen": 0,
                        "refund_id": order.refund_id(no),
                        "out_refund_no": no,
                        "refund_fen": fee,
                    }
                )
    rows.sort(key=lambda r: r["time"])
    return rows


def _number(row: dict[str, Any]) -> str:
    return str(row.get("out_refund_no") or row["out_trade_no"])


def _edited(rows: list[dict[str, Any]], edits: dict[str, Any], day: date) -> list[dict[str, Any]]:
    dropped = set(edits.get("drop") or [])
    altered: dict[str, dict[str, Any]] = edits.get("alter") or {}
    kept = [{**row, **altered.get(_number(row), {})} for row in rows if _number(row) not in dropped]
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI)
    for extra in edits.get("add") or []:
        row = {
            "time": noon,
            "transaction_id": "42" + secrets.token_hex(13),
            "trade_type": "NATIVE",
            "body": "",
            "openid": "o_simulated_payer",
            "state": "REFUND" if extra.get("out_refund_no") else "SUCCESS",
            "amount_fen": 0,
            **extra,
        }
        if row.get("out_refund_no"):
            row.setdefault("refund_id", "50" + secrets.token_hex(13))
            row.setdefault("refund_fen", 0)
        kept.append(row)
    return kept


def _line(state: SimState, row: dict[str, Any]) -> str:
    refund = row["state"] == "REFUND"
    fee = round(row["amount_fen"] * 0.006)
    fields = [
        row["time"].strftime("%Y-%m-%d %H:%M:%S"),
        state.appid,
        state.mch_id,
        "0",
        "",
        row["transaction_id"],
        row["out_trade_no"],
        row["openid"],
        row["trade_type"],
        row["state"],
        "OTHERS",
        "CNY",
        yuan(row["amount_fen"]),
        "0.00",
        row.get("refund_id", "0") if refund else "0",
        row.get("out_refund_no", "0") if refund else "0",
        yuan(row.get("refund_fen", 0)),
        "0.00",
        "ORIGINAL" if refund else "",
        "SUCCESS" if refund else "",
        row["body"].replace(",", "，"),
        "",
        yuan(fee),
        "0.60%",
        yuan(row["amount_fen"]),
        yuan(row.get("refund_fen", 0)),
        "",
    ]
    return ",".join("`" + f for f in fields)


def build(state: SimState, day: date) -> str | None:
    """The bill for ``day`` (Asia/Shanghai), with the queued edits used up; None: no trades."""
    edits, state.bill_edits = state.bill_edits, {}
    rows = _edited(_rows(state, day), edits, day)
    if not rows:
        return None
    paid = sum(r["amount_fen"] for r in rows)
    refunded = sum(r.get("refund_fen", 0) for r in rows if r["state"] == "REFUND")
    fees = sum(round(r["amount_fen"] * 0.006) for r in rows)
    summary = [
        str(len(rows)),
        yuan(paid),
        yuan(refunded),
        "0.00",
        yuan(fees),
        yuan(paid),
        yuan(refunded),
    ]
    lines = [HEADER, *(_line(state, r) for r in rows), SUMMARY, ",".join("`" + f for f in summary)]
    return "\r\n".join(lines) + "\r\n"


def control_route(state: SimState) -> Route:
    async def edit(request: Request) -> Response:
        payload = await request.json()
        if not isinstance(payload, dict) or set(payload) - EDIT_KEYS:
            return JSONResponse({"error": f"edits are {sorted(EDIT_KEYS)}"}, status_code=400)
        state.bill_edits = payload
        return JSONResponse({"next_bill": payload})

    return Route("/_simulator/bill", edit, methods=["POST"])
