"""The interface every payment provider implements, and the errors it raises."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Channel = Literal["native", "jsapi", "mweb", "cash"]


class PaymentError(Exception):
    """A provider refused or could not be understood."""


class PaymentUnavailable(PaymentError):
    """Transient: a timeout, a 5xx, a connection error. Worth retrying."""


class SignatureInvalid(PaymentError):
    """A notification or response whose signature does not verify."""


class MalformedNotification(PaymentError):
    pass


@dataclass(frozen=True)
class IntentCreated:
    """What the payer needs: a QR URL (native), JS bridge params (jsapi) or a URL (mweb)."""

    provider_ref: str  # prepay_id
    client: dict[str, Any]


@dataclass(frozen=True)
class Notification:
    out_trade_no: str
    transaction_id: str
    amount_fen: int
    currency: str
    paid: bool
    paid_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryResult:
    state: str  # SUCCESS, NOTPAY, CLOSED, REFUND, PAYERROR, USERPAYING, NOT_FOUND
    transaction_id: str | None
    amount_fen: int | None
    paid_at: datetime | None = None


@dataclass(frozen=True)
class RefundResult:
    out_refund_no: str
    refund_id: str
    refund_fen: int


class PaymentProvider(ABC):
    """One payment service. ``out_trade_no`` is the idempotency key of an intent."""

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
    ) -> IntentCreated: ...

    @abstractmethod
    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification: ...

    @abstractmethod
    def ack(self, ok: bool, message: str = "") -> tuple[int, str, bytes]:
        """(status, content type, body) to answer a notification with."""

    @abstractmethod
    def query(self, out_trade_no: str) -> QueryResult: ...

    @abstractmethod
    def close(self, out_trade_no: str) -> None: ...

    @abstractmethod
    def refund(
        self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, reason: str
    ) -> RefundResult: ...
