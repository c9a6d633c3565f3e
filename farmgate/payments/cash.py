"""Cash on delivery, or at the village service station: no provider round-trip.

The intent stays pending until staff confirm they received the money; ``confirm`` then builds
the same ``Notification`` a WeChat notification would give, so the shop stores and applies it
on the one path (verify -> store keyed by transaction id -> apply once). The receipt number the
staff write on the paper receipt makes the transaction id, so confirming twice stores once.
This provider keeps no state: the shop's own records are the truth, and ``query`` says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from farmgate.payments.provider import (
    Channel,
    IntentCreated,
    MalformedNotification,
    Notification,
    PaymentError,
    PaymentProvider,
    QueryResult,
    RefundResult,
)

PayAt = Literal["delivery", "station"]
INSTRUCTIONS: dict[PayAt, str] = {
    "delivery": "货到付款：请在收货时将现金交给配送员，并索取收据。",
    "station": "到村服务站付款：请携带订单号到村服务站付款取货，并索取收据。",
}
_RECEIPT = re.compile(r"^[A-Za-z0-9-]{1,32}$")


class CashProvider(PaymentProvider):
    """Cash paid to a courier (``pay_at="delivery"``) or at the service station."""

    name = "cash"

    def __init__(self, pay_at: PayAt = "delivery") -> None:
        self.pay_at: PayAt = pay_at

    def create_intent(
        self,
        *,
        out_trade_no: str,
        amount_fen: int,
        description: str,
        channel: Channel = "cash",
        notify_url: str = "",
        client_ip: str = "",
        openid: str | None = None,
    ) -> IntentCreated:
        """Nothing to ask anyone: the same inputs always give the same intent."""
        if channel != "cash":
            raise PaymentError(f"channel {channel} is not cash")
        if amount_fen <= 0:
            raise PaymentError("amount must be positive")
        return IntentCreated(
            out_trade_no,
            {
                "trade_type": "CASH",
                "pay_at": self.pay_at,
                "amount_fen": amount_fen,
                "instructions": INSTRUCTIONS[self.pay_at],
            },
        )

    def confirm(
        self,
        *,
        out_trade_no: str,
        amount_fen: int,
        receipt_no: str,
        received_by: str,
        received_at: datetime | None = None,
    ) -> Notification:
        """Staff received ``amount_fen`` in cash: a notification to store and apply once.

        The caller compares ``amount_fen`` with the intent, as for any notification.
        """
        if not _RECEIPT.match(receipt_no):
            raise PaymentError("receipt number must be 1-32 letters, digits or '-'")
        if amount_fen <= 0:
            raise PaymentError("amount must be positive")
        when = received_at or datetime.now(UTC)
        if when.tzinfo is None:
            raise PaymentError("received_at must be timezone-aware")
        return Notification(
            out_trade_no=out_trade_no,
            transaction_id=f"CASH-{receipt_no}",
            amount_fen=amount_fen,
            currency="CNY",
            paid=True,
            paid_at=when,
            raw={
                "source": "cash",
                "pay_at": self.pay_at,
                "receipt_no": receipt_no,
                "received_by": received_by,
            },
        )

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        raise MalformedNotification("cash payments have no provider notifications; use confirm()")

    def ack(self, ok: bool, message: str = "") -> tuple[int, str, bytes]:
        body = json.dumps({"ok": ok, "message": message}, ensure_ascii=False).encode()
        return (200 if ok else 400), "application/json", body

    def query(self, out_trade_no: str) -> QueryResult:
        """No provider to ask: "NOTPAY" until the shop's records say staff confirmed."""
        return QueryResult("NOTPAY", None, None)

    def close(self, out_trade_no: str) -> None:
        """Nothing to close: no one can pay a cancelled cash order without staff noticing."""

    def refund(
        self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, reason: str
    ) -> RefundResult:
        """Staff hand the cash back; the refund stays PENDING_CASH until they confirm it."""
        if not 0 < refund_fen <= total_fen:
            raise PaymentError(f"refund {refund_fen} fen is outside 1..{total_fen}")
        return RefundResult(
            out_refund_no, f"CASH-REFUND-{out_refund_no}", refund_fen, status="PENDING_CASH"
        )

    def refund_status(self, out_refund_no: str) -> RefundResult:
        """Only staff know: the shop's refund row says whether the cash was handed back."""
        return RefundResult(out_refund_no, f"CASH-REFUND-{out_refund_no}", 0, status="PENDING_CASH")
