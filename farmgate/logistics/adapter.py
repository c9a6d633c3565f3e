"""The interface every courier adapter implements, the types it speaks, and its errors.

A courier (or an aggregator such as Kuaidi100) does four things for us: it issues a waybill for
a parcel (keyed by our own ``order_ref``, the idempotency key), answers "where is it?" on
demand (``query``), pushes tracking snapshots to a callback we subscribe (``subscribe`` +
``parse_push``), and lets us cancel a waybill that was never handed over.

Pushes may arrive twice, late or out of order: adapters return each verified snapshot as it is;
deciding which one is newest is the caller's job (see ``newer``). Error messages are for logs
and operators (English); the service layer turns them into user-facing Chinese.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TrackingStatus(StrEnum):
    CREATED = "created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    PROBLEM = "problem"
    REJECTED = "rejected"
    RETURNING = "returning"
    RETURNED = "returned"


# How far along a parcel is, to break ties between snapshots with the same latest event time.
# A problem is ranked after in_transit (it is news about a moving parcel) and terminal states last.
STATUS_RANK: Mapping[TrackingStatus, int] = {
    TrackingStatus.CREATED: 0,
    TrackingStatus.PICKED_UP: 1,
    TrackingStatus.IN_TRANSIT: 2,
    TrackingStatus.PROBLEM: 3,
    TrackingStatus.OUT_FOR_DELIVERY: 4,
    TrackingStatus.REJECTED: 5,
    TrackingStatus.RETURNING: 6,
    TrackingStatus.RETURNED: 7,
    TrackingStatus.DELIVERED: 7,
}
FINAL_STATUSES = frozenset({TrackingStatus.DELIVERED, TrackingStatus.RETURNED})


class CourierError(Exception):
    """A definitive refusal by the courier, or an answer that cannot be trusted.

    ``code`` is the courier's error code when it gave one (Kuaidi100 ``returnCode``...).
    """

    def __init__(self, message: str = "", code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class CourierUnavailable(CourierError):
    """Transient: a timeout, a 5xx, a connection error, "busy". Retry later; after a timed-out
    create, ``find_waybill`` before creating again."""


class CourierNotReached(CourierUnavailable):
    """Transient, and the request never left: nothing can have been created."""


class SignatureInvalid(CourierError):
    """A push whose signature does not verify."""


class MalformedPush(CourierError):
    """A push that is not in the courier's wire format or lacks required fields."""


@dataclass(frozen=True)
class TrackingEvent:
    time: datetime  # timezone-aware
    context: str  # the courier's text, e.g. "【杭州市】已揽收"
    location: str = ""
    status: TrackingStatus | None = None


@dataclass(frozen=True)
class TrackingSnapshot:
    """Everything the courier knows about one parcel at one moment. ``events`` run oldest
    first; ``raw_state`` is the courier's own state code, kept for states we do not know."""

    carrier: str
    waybill: str
    status: TrackingStatus
    raw_state: str
    events: tuple[TrackingEvent, ...]
    is_final: bool
    # The carrier stopped following the parcel (Kuaidi100 "abort") or found that its carrier
    # code was wrong: subscribe again, under ``corrected_carrier`` when there is one.
    resubscribe: bool = False
    corrected_carrier: str | None = None

    @property
    def latest_time(self) -> datetime | None:
        return max((e.time for e in self.events), default=None)


@dataclass(frozen=True)
class WaybillRequest:
    order_ref: str  # our idempotency key (e.g. the fulfilment id); one waybill per order_ref
    carrier: str  # the courier's company code, e.g. "youzhengguonei", "ems"
    sender_name: str
    sender_phone: str
    sender_address: str
    recipient_name: str
    recipient_phone: str
    recipient_province: str
    recipient_city: str
    recipient_county: str
    recipient_address: str
    weight_g: int
    item_name: str


@dataclass(frozen=True)
class Waybill:
    carrier: str
    waybill_no: str
    order_ref: str
    label_url: str | None = None


def newer(a: TrackingSnapshot, b: TrackingSnapshot) -> TrackingSnapshot:
    """The more recent of two snapshots of one parcel: by latest event time, then by status
    rank; ``a`` (the one already stored) wins a full tie, so a repeated push changes nothing."""
    ta, tb = a.latest_time, b.latest_time
    if ta != tb:
        if ta is None:
            return b
        if tb is None:
            return a
        return a if ta > tb else b
    return b if STATUS_RANK[b.status] > STATUS_RANK[a.status] else a


class CourierAdapter(ABC):
    """One courier service, reached over its own wire protocol. No database, no web framework."""

    name: str
    # Whether ``find_waybill`` can really answer. Without it, a create whose answer was lost
    # cannot be told apart from one that never happened, and a person has to look.
    can_find_waybill: bool = False

    @abstractmethod
    def create_waybill(self, req: WaybillRequest) -> Waybill:
        """Issue the waybill for ``req.order_ref``. ``CourierUnavailable`` on a timeout: the
        waybill may exist anyway, so call ``find_waybill`` before creating again."""

    @abstractmethod
    def find_waybill(self, order_ref: str) -> Waybill | None:
        """The waybill already issued for ``order_ref``, or None ("look before you create")."""

    @abstractmethod
    def cancel(self, waybill: Waybill) -> None:
        """Cancel a waybill that was never handed to the courier."""

    @abstractmethod
    def query(self, carrier: str, waybill_no: str, phone_tail: str | None) -> TrackingSnapshot:
        """Ask the courier where the parcel is now."""

    @abstractmethod
    def subscribe(self, carrier: str, waybill_no: str, callback_url: str, salt: str) -> None:
        """Ask the courier to push tracking snapshots to ``callback_url``, signed with ``salt``.
        Subscribing twice is fine."""

    @abstractmethod
    def parse_push(self, headers: Mapping[str, str], body: bytes, salt: str) -> TrackingSnapshot:
        """Verify then read a push: ``SignatureInvalid`` / ``MalformedPush``."""

    @abstractmethod
    def ack(self, ok: bool) -> tuple[int, str, bytes]:
        """(status, content type, body) to answer a push with; not ok asks for a re-push."""
