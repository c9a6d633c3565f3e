"""How orders ask for parcels: an interface the logistics domain provides at bootstrap.

Orders only need to say "this order is paid, send it"; which carrier, waybill jobs and the
township's couriers are the logistics domain's business. ``farmgate.bootstrap.install()``
plugs the logistics service in, so this package never imports it.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from farmgate.models import Order, Parcel


class ParcelDesk(Protocol):
    def open_parcels(self, session: Session, order: Order) -> list[Parcel]:
        """One parcel per fulfilment sent by a carrier, called when the order is paid."""
        ...


_desk: ParcelDesk | None = None


def provide(desk: ParcelDesk) -> None:
    global _desk
    _desk = desk


def desk() -> ParcelDesk:
    if _desk is None:
        raise RuntimeError("no parcel desk: call farmgate.bootstrap.install() first")
    return _desk
