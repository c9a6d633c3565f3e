"""The ledger's account names. A cooperative's accounts are liabilities: credits (negative
amounts) are money the platform owes it."""

from __future__ import annotations

COMMISSION = "platform:commission"
BANK = "platform:bank"  # payouts leave from here; station cash handed over arrives here
UNAPPLIED = "platform:unapplied"  # paid after the order was cancelled: refunded in full
# A pre-sale's deposit (定金) while its balance is owed: the buyer's money, not yet any
# cooperative's. Released to the cooperatives with the balance, or refunded.
PRESALE_DEPOSITS = "platform:presale_deposits"
STATION_CASH = "station_cash"
CLEARING = {"wechat_v2": "clearing:wechat", "wechat_v3": "clearing:wechat"}
OTHER_CLEARING = "clearing:other"

PENDING, AVAILABLE = "pending", "available"

# Statement lines by entry kind, in the statement's order, with the Chinese label.
KINDS: dict[str, str] = {
    "goods": "货款",
    "shipping": "运费",
    "commission": "平台佣金",
    "refund": "退款",
    "payout": "打款",
    "payout_back": "打款退回",
    "adjustment": "调整",
}


def payment(provider: str | None) -> str:
    """Where a buyer's money sits once paid: the provider's clearing account, or station cash."""
    if provider == "cash":
        return STATION_CASH
    return CLEARING.get(provider or "", OTHER_CLEARING)


def cooperative(cooperative_id: int, part: str) -> str:
    return f"coop:{cooperative_id}:{part}"
