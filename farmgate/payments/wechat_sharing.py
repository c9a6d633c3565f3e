"""WeChat Pay API v3 profit-sharing (分账) calls, through wechatpayv3 on a ``WeChatPayV3``'s
client: add a receiver, create and query a sharing order, unfreeze the rest, return (回退)
and query a return.

wechatpayv3 encrypts a receiver's name with WeChat Pay's platform public key (RSA-OAEP, as
the API asks) and sends the key's id as Wechatpay-Serial; answers are verified like every
other v3 answer. Errors are sorted as the adapter sorts them (``PaymentUnavailable`` for
outages and "try again" codes, ``PaymentError`` with WeChat's code for refusals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from farmgate.payments.provider import PaymentError
from farmgate.payments.wechat_v3 import WeChatPayV3, _result, _translated

ReceiverType = Literal["MERCHANT_ID", "PERSONAL_OPENID"]
RECEIVER_TYPES: dict[str, str] = {"MERCHANT_ID": "商户号", "PERSONAL_OPENID": "个人微信（openid）"}


@dataclass(frozen=True)
class ReceiverResult:
    type: str
    account: str
    amount_fen: int
    result: str  # PENDING, SUCCESS, CLOSED
    fail_reason: str = ""


@dataclass(frozen=True)
class SharingOrder:
    out_order_no: str
    order_id: str  # 微信分账单号
    state: str  # PROCESSING, FINISHED
    receivers: tuple[ReceiverResult, ...] = ()

    def receiver(self, account: str) -> ReceiverResult | None:
        return next((r for r in self.receivers if r.account == account), None)


@dataclass(frozen=True)
class SharingReturn:
    out_return_no: str
    return_id: str
    amount_fen: int
    result: str  # PROCESSING, SUCCESS, FAILED
    fail_reason: str = ""


def _order(data: dict[str, Any]) -> SharingOrder:
    try:
        return SharingOrder(
            out_order_no=data["out_order_no"],
            order_id=data.get("order_id", ""),
            state=data["state"],
            receivers=tuple(
                ReceiverResult(
                    type=r.get("type", ""),
                    account=r["account"],
                    amount_fen=int(r["amount"]),
                    result=r.get("result", "PENDING"),
                    fail_reason=r.get("fail_reason", ""),
                )
                for r in data.get("receivers") or []
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PaymentError(f"profit-sharing answer lacks {exc}") from exc


def _return(data: dict[str, Any]) -> SharingReturn:
    try:
        return SharingReturn(
            out_return_no=data["out_return_no"],
            return_id=data.get("return_id", ""),
            amount_fen=int(data["amount"]),
            result=data["result"],
            fail_reason=data.get("fail_reason", ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PaymentError(f"profit-sharing return answer lacks {exc}") from exc


class WeChatProfitSharing:
    """The 分账 calls of one configured v3 merchant."""

    def __init__(self, provider: WeChatPayV3) -> None:
        self.client = provider.client

    def add_receiver(self, type: ReceiverType, account: str, name: str) -> None:
        """Register a receiver (WeChat answers the same for one already added)."""
        with _translated("add receiver"):
            _result(
                "add receiver",
                self.client.profitsharing_add_receiver(
                    account_type=type,
                    account=account,
                    relation_type="SUPPLIER",  # the cooperatives supply the goods sold
                    name=name or None,
                ),
            )

    def create(
        self,
        *,
        transaction_id: str,
        out_order_no: str,
        receiver: ReceiverResult,
        description: str,
        unfreeze_unsplit: bool = False,
    ) -> SharingOrder:
        """Ask for one receiver's share; the same ``out_order_no`` again is the same order."""
        with _translated("share"):
            data = _result(
                "share",
                self.client.profitsharing_order(
                    transaction_id=transaction_id,
                    out_order_no=out_order_no,
                    receivers=[
                        {
                            "type": receiver.type,
                            "account": receiver.account,
                            "amount": receiver.amount_fen,
                            "description": description[:80],
                        }
                    ],
                    unfreeze_unsplit=unfreeze_unsplit,
                ),
            )
        return _order(data)

    def query(self, *, transaction_id: str, out_order_no: str) -> SharingOrder:
        with _translated("share query"):
            data = _result(
                "share query",
                self.client.profitsharing_order_query(
                    transaction_id=transaction_id, out_order_no=out_order_no
                ),
            )
        return _order(data)

    def unfreeze(self, *, transaction_id: str, out_order_no: str, description: str) -> SharingOrder:
        """Give what was not shared of the transaction back to the merchant (解冻剩余资金)."""
        with _translated("unfreeze"):
            data = _result(
                "unfreeze",
                self.client.profitsharing_unfreeze(
                    transaction_id=transaction_id,
                    out_order_no=out_order_no,
                    description=description[:80],
                ),
            )
        return _order(data)

    def give_back(
        self,
        *,
        out_order_no: str,
        out_return_no: str,
        return_mchid: str,
        amount_fen: int,
        description: str,
    ) -> SharingReturn:
        """A merchant receiver returns part of its share (分账回退); idempotent on the number."""
        with _translated("return"):
            data = _result(
                "return",
                self.client.profitsharing_return(
                    out_return_no=out_return_no,
                    return_mchid=return_mchid,
                    amount=amount_fen,
                    description=description[:80],
                    out_order_no=out_order_no,
                ),
            )
        return _return(data)

    def return_status(self, *, out_order_no: str, out_return_no: str) -> SharingReturn:
        with _translated("return query"):
            data = _result(
                "return query",
                self.client.profitsharing_return_query(
                    out_order_no=out_order_no, out_return_no=out_return_no
                ),
            )
        return _return(data)
