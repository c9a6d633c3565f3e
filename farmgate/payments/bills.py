"""Reading WeChat Pay's trade bill (对账单), the same text for API v2 and v3.

A header row of column names; one row per trade, every field led by a backquote (so that a
spreadsheet keeps long numbers as text); then a summary header (总交易单数, ...) and one summary
row. Payments have 交易状态 SUCCESS; refunds are rows of their own with state REFUND and the
商户退款单号. Amounts are yuan with two decimals. Columns are found by name, not position.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from farmgate.payments.provider import PaymentError
from farmgate.timeutil import LOCAL_TZ

SUMMARY_FIRST = "总交易单数"


class BillUnreadable(PaymentError):
    """The bill is not in the documented format (or its summary does not add up)."""


@dataclass(frozen=True)
class BillLine:
    traded_at: datetime
    transaction_id: str
    out_trade_no: str
    state: str  # SUCCESS, REFUND, REVOKED, ...
    amount_fen: int  # the order's amount (payments); 0 on refund rows
    out_refund_no: str  # "" unless a refund row
    refund_id: str
    refund_fen: int
    refund_status: str

    @property
    def is_refund(self) -> bool:
        return self.state == "REFUND" or bool(self.out_refund_no)

    @property
    def number(self) -> str:
        """Our number for the record: the out_refund_no of a refund, else the out_trade_no."""
        return self.out_refund_no if self.is_refund else self.out_trade_no


def _fields(line: str) -> list[str]:
    line = line.strip().lstrip("\ufeff")
    if line.startswith("`"):
        # Every field starts with a backquote: split on ",`" so a comma in a name survives.
        return [f.strip() for f in line[1:].split(",`")]
    return [f.strip() for f in line.split(",")]


def to_fen(value: str) -> int:
    try:
        return int((Decimal(value or "0") * 100).to_integral_value())
    except InvalidOperation as exc:
        raise BillUnreadable(f"not an amount: {value!r}") from exc


def _no(value: str) -> str:
    return "" if value in ("", "0") else value


def parse(text: str) -> list[BillLine]:
    """Every trade row of a bill (an empty text: no trades that day)."""
    rows = [line for line in text.splitlines() if line.strip()]
    if not rows:
        return []
    header = _fields(rows[0])
    need = ("交易时间", "微信订单号", "商户订单号", "交易状态")
    if any(name not in header for name in need):
        raise BillUnreadable("bill header lacks " + ", ".join(n for n in need if n not in header))
    col = {name: i for i, name in enumerate(header)}

    def get(fields: list[str], name: str) -> str:
        i = col.get(name)
        return fields[i] if i is not None and i < len(fields) else ""

    lines: list[BillLine] = []
    summary: list[str] | None = None
    for i, raw in enumerate(rows[1:], start=1):
        fields = _fields(raw)
        if fields and fields[0] == SUMMARY_FIRST:
            summary = _fields(rows[i + 1]) if i + 1 < len(rows) else []
            break
        if len(fields) < len(need):
            raise BillUnreadable(f"bill row {i} is short")
        try:
            at = datetime.strptime(get(fields, "交易时间"), "%Y-%m-%d %H:%M:%S")
        except ValueError as exc:
            raise BillUnreadable(f"bill row {i}: bad time") from exc
        amount = get(fields, "订单金额") or get(fields, "应结订单金额")
        lines.append(
            BillLine(
                traded_at=at.replace(tzinfo=LOCAL_TZ),
                transaction_id=get(fields, "微信订单号"),
                out_trade_no=get(fields, "商户订单号"),
                state=get(fields, "交易状态"),
                amount_fen=to_fen(amount),
                out_refund_no=_no(get(fields, "商户退款单号")),
                refund_id=_no(get(fields, "微信退款单号")),
                refund_fen=to_fen(get(fields, "退款金额") or get(fields, "申请退款金额")),
                refund_status=get(fields, "退款状态"),
            )
        )
    if summary is None:
        raise BillUnreadable("bill has no summary (cut short?)")
    if not summary or not summary[0].isdigit() or int(summary[0]) != len(lines):
        raise BillUnreadable(f"bill summary counts {summary[:1]} rows, the bill has {len(lines)}")
    return lines


def yuan_text(fen: int) -> str:
    """Fen as yuan with two decimals (the bill's own notation)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
