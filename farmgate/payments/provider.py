"""The interface every payment provider implements, and the errors it raises.

Modelled on Stripe's PaymentIntent: the shop creates an intent keyed by its own
``out_trade_no`` (the idempotency key), the payer completes it elsewhere (WeChat, or cash at the
door), and the provider tells the shop through a signed notification, or when asked (``query``).

Error messages here are for logs and operators (English); the service layer turns them into
user-facing Chinese. Money is integer fen everywhere; times are timezone-aware.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Channel = Literal["native", "jsapi", "mweb", "cash"]
WECHAT_CHANNELS: tuple[Channel, ...] = ("native", "jsapi", "mweb")
# Provider error codes that mean "try again later with the same keys", not "no".
TRANSIENT_CODES = frozenset(
    {"SYSTEMERROR", "SYSTEM_ERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED", "BANKERROR"}
)


class PaymentError(Exception):
    """A definitive refusal by the provider, or an answer that cannot be trusted.

    ``code`` is the provider's error code when it gave one (``ORDERPAID``, ``NOTENOUGH``...).
    """

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PaymentUnavailable(PaymentError):
    """Transient: a timeout, a 5xx, a connection error, a "system busy". Retry with the same key."""


class SignatureInvalid(PaymentError):
    """A notification or response whose signature (or AEAD tag, or timestamp) does not verify."""


class MalformedNotification(PaymentError):
    """A notification that is not in the provider's wire format or lacks required fields."""


class AlreadyPaid(PaymentError):
    """``create_intent`` for a trade that is already paid: nothing to pay, never charge twice.

    ``result`` is the provider's record (state, transaction id, amount): apply it like a
    notification after comparing the amount.
    """

    def __init__(self, message: str, result: QueryResult) -> None:
        super().__init__(message, code="ORDERPAID")
        self.result = result


class TradeClosed(PaymentError):
    """``create_intent`` for a trade number that was closed: a new ``out_trade_no`` is needed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="ORDER_CLOSED")


@dataclass(frozen=True)
class IntentCreated:
    """What the payer needs to pay.

    ``client`` by channel: native ``{"trade_type": "NATIVE", "code_url": ...}`` (draw it as a QR
    code), jsapi ``{"trade_type": "JSAPI", "jsapi": {appId, timeStamp, nonceStr, package,
    signType, paySign}}`` (for ``WeixinJSBridge.invoke("getBrandWCPayRequest", ...)``), mweb
    ``{"trade_type": "MWEB", "mweb_url": ...}`` (redirect the phone browser), cash
    ``{"trade_type": "CASH", "pay_at": ..., "instructions": ...}``.
    """

    provider_ref: str  # prepay_id (WeChat) or the trade number itself (cash)
    client: dict[str, Any]

    @property
    def code_url(self) -> str | None:
        return self.client.get("code_url")

    @property
    def mweb_url(self) -> str | None:
        return self.client.get("mweb_url")

    @property
    def jsapi(self) -> dict[str, str] | None:
        return self.client.get("jsapi")


@dataclass(frozen=True)
class Notification:
    """A verified "this trade was paid" message. The caller MUST compare ``amount_fen`` and
    ``currency`` with its own intent before marking anything paid."""

    out_trade_no: str
    transaction_id: str  # the provider's id: the key to store notifications under, once
    amount_fen: int
    currency: str
    paid: bool
    paid_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryResult:
    state: str  # SUCCESS, NOTPAY, CLOSED, REFUND, PAYERROR, USERPAYING, REVOKED, NOT_FOUND
    transaction_id: str | None
    amount_fen: int | None
    paid_at: datetime | None = None


@dataclass(frozen=True)
class RefundResult:
    """An accepted refund. ``status``: SUCCESS (money returned), PROCESSING (accepted, the
    provider is still moving it), or PENDING_CASH (staff must hand the cash back)."""

    out_refund_no: str
    refund_id: str
    refund_fen: int
    status: str = "SUCCESS"


class PaymentProvider(ABC):
    """One payment service. ``out_trade_no`` is the idempotency key of an intent, and
    ``out_refund_no`` the idempotency key of a refund: calling again with the same key never
    moves money twice."""

    name: str

    @abstractmethod
    def create_intent(
        self,
        *,
        out_trade_no: str,
        amount_fen: int,
        description: str,
        channel: Channel,
        notify_url: str,
        client_ip: str,
        openid: str | None = None,
    ) -> IntentCreated:
        """Create (or find again) the intent for ``out_trade_no``.

        Raises ``AlreadyPaid`` (with the provider's record) when the trade was paid already,
        ``TradeClosed`` when it was closed, ``PaymentUnavailable`` on transient failures and
        ``PaymentError`` on refusals (e.g. the same number with a different amount).
        """

    @abstractmethod
    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify and read a notification; ``SignatureInvalid`` / ``MalformedNotification``."""

    @abstractmethod
    def ack(self, ok: bool, message: str = "") -> tuple[int, str, bytes]:
        """(status, content type, body) to answer a notification with."""

    @abstractmethod
    def query(self, out_trade_no: str) -> QueryResult:
        """The provider's record of a trade; state ``NOT_FOUND`` when it has none."""

    @abstractmethod
    def close(self, out_trade_no: str) -> None:
        """Stop a trade from being paid (before cancelling its order). Closing twice is fine."""

    @abstractmethod
    def refund(
        self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, reason: str
    ) -> RefundResult:
        """Refund all or part of a paid trade; idempotent by ``out_refund_no``."""

    def explain_used(self, out_trade_no: str, amount_fen: int, exc: PaymentError) -> None:
        """``out_trade_no`` is taken: ask the provider why, so a paid trade is never offered
        again. Raises ``AlreadyPaid``, ``TradeClosed`` or a ``PaymentError`` about the clash."""
        found = self.query(out_trade_no)
        if found.state in ("SUCCESS", "REFUND"):
            raise AlreadyPaid(f"ORDERPAID: {out_trade_no} is already paid", found) from exc
        if found.state in ("CLOSED", "REVOKED"):
            raise TradeClosed(f"{exc.code}: {out_trade_no} was closed") from exc
        raise PaymentError(
            f"OUT_TRADE_NO_USED: {out_trade_no} exists with other parameters "
            f"({found.amount_fen} fen there, {amount_fen} asked)",
            code="OUT_TRADE_NO_USED",
        ) from exc

    @abstractmethod
    def refund_status(self, out_refund_no: str) -> RefundResult:
        """Where an accepted refund stands: SUCCESS, PROCESSING, or CLOSED/ABNORMAL (failed)."""
