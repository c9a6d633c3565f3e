"""Cash on delivery / at the village service station: pending until staff confirm."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from farmgate.payments.cash import CashProvider
from farmgate.payments.provider import MalformedNotification, PaymentError


def test_intent_is_pending_and_deterministic() -> None:
    cash = CashProvider("station")
    intent = cash.create_intent(
        out_trade_no="C1", amount_fen=3600, description="大米 10 斤", channel="cash"
    )
    assert intent == cash.create_intent(
        out_trade_no="C1", amount_fen=3600, description="大米 10 斤", channel="cash"
    )
    assert intent.client["trade_type"] == "CASH" and "村服务站" in intent.client["instructions"]
    assert cash.query("C1").state == "NOTPAY"  # nobody to ask: the shop's records decide
    cash.close("C1")
    with pytest.raises(PaymentError):
        cash.create_intent(out_trade_no="C2", amount_fen=100, description="x", channel="native")
    with pytest.raises(PaymentError):
        cash.create_intent(out_trade_no="C3", amount_fen=0, description="x", channel="cash")


def test_staff_confirmation_is_a_notification_keyed_by_receipt() -> None:
    cash = CashProvider()
    when = datetime(2025, 3, 8, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    note = cash.confirm(
        out_trade_no="C1",
        amount_fen=3600,
        receipt_no="TJC-0042",
        received_by="张姐",
        received_at=when,
    )
    again = cash.confirm(
        out_trade_no="C1",
        amount_fen=3600,
        receipt_no="TJC-0042",
        received_by="张姐",
        received_at=when,
    )
    assert note == again and note.transaction_id == "CASH-TJC-0042"  # stored once
    assert (note.paid, note.amount_fen, note.currency, note.paid_at) == (True, 3600, "CNY", when)
    assert note.raw["received_by"] == "张姐"
    assert (
        cash.confirm(
            out_trade_no="C1", amount_fen=1, receipt_no="R1", received_by="x"
        ).paid_at.tzinfo
        is not None
    )  # type: ignore[union-attr]
    with pytest.raises(PaymentError):
        cash.confirm(out_trade_no="C1", amount_fen=1, receipt_no="bad receipt", received_by="x")
    with pytest.raises(PaymentError):
        cash.confirm(
            out_trade_no="C1",
            amount_fen=1,
            receipt_no="R2",
            received_by="x",
            received_at=datetime(2025, 3, 8),  # naive: refused
        )
    with pytest.raises(MalformedNotification):
        cash.parse_notification({}, b"{}")


def test_refunds_wait_for_staff() -> None:
    cash = CashProvider()
    refund = cash.refund(
        out_trade_no="C1", out_refund_no="C1R1", total_fen=3600, refund_fen=1200, reason="坏了两个"
    )
    assert (refund.refund_fen, refund.status) == (1200, "PENDING_CASH")
    assert refund == cash.refund(
        out_trade_no="C1", out_refund_no="C1R1", total_fen=3600, refund_fen=1200, reason="坏了两个"
    )
    with pytest.raises(PaymentError):
        cash.refund(
            out_trade_no="C1", out_refund_no="C1R2", total_fen=3600, refund_fen=3601, reason=""
        )
    assert cash.ack(True)[0] == 200 and cash.ack(False)[0] == 400
